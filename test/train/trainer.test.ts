// The training loop (src/train/trainer.ts) on a tiny model: overfitting one batch, a 200-step run
// on a real packed dataset (src/data) whose validation loss must fall, a pinned 200-step run, and
// exact resumption (N steps + resume + N steps = 2N steps, bit for bit, across thread counts).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildDataset } from "../../src/data/build.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { detectVariant } from "../../src/kernels/wasm.js";
import { buildInstructDataset } from "../../src/data/instruct.js";
import { ArraySource, sequenceTargets } from "../../src/train/data.js";
import { learningRate } from "../../src/train/optimizer.js";
import { train } from "../../src/train/trainer.js";
import { SCRATCH } from "../helpers/paths.js";
import { corpusText, loadVocab, sequencesOf, tinyConfig, writeCorpusDir, writeVocab } from "./fixtures.js";

const fresh = (dir: string) => { rmSync(join(SCRATCH, dir), { recursive: true, force: true }); return dir; };

/** The f32 weights of every tensor of a GGUF, as raw bytes. */
function tensorBytes(path: string): Map<string, Buffer> {
  const g = GGUFFile.open(path);
  try { return new Map(g.tensors.map((t) => [t.name, Buffer.from(g.tensorBytes(t))])); } finally { g.close(); }
}

describe("training loop", () => {
  let vocab: ReturnType<typeof loadVocab>;
  let vocabPath: string;
  before(() => { vocabPath = writeVocab("bytes"); vocab = loadVocab(vocabPath); });

  it("the schedule warms up linearly, then decays by a cosine to minLrRatio x lr at the last step", () => {
    const o = { lr: 1e-3, minLrRatio: 0.1, warmup: 10, steps: 110, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };
    assert.equal(learningRate(0, o), 1e-4);
    assert.equal(learningRate(9, o), 1e-3);
    assert.ok(Math.abs(learningRate(10, o) - 1e-3) < 1e-12);
    assert.ok(Math.abs(learningRate(59.5, o) - 0.55e-3) < 1e-9);
    assert.ok(Math.abs(learningRate(109, o) - 1e-4) < 1e-12);
  });

  it("overfits one batch: the training loss falls below 0.05 nats per token within 150 steps", async () => {
    // exactly 4 sequences = one batch, the same every step (in a different order)
    const batch = new ArraySource("one-batch", 32, Int32Array.from(vocab.tokenizer.encode(corpusText(1, 12), { bos: true }).slice(0, 128)));
    const cfg = tinyConfig(fresh("train-overfit"), { steps: 150, lr: 1e-2, warmup: 10, minLrRatio: 1, weightDecay: 0, evalEvery: 0, ckptEvery: 0 });
    const r = await train(cfg, { sources: { train: [batch], vocabSize: vocab.size, tokenizer: vocab.metadata } });
    assert.ok(r.log[0].loss > 5, `initial loss ${r.log[0].loss} (about ln ${vocab.size})`);
    assert.ok(r.lastLoss < 0.05, `final loss ${r.lastLoss}`);
  });

  it("200 steps on a packed FIM dataset lower the validation loss by more than 2 nats", async () => {
    const dir = writeCorpusDir(join(SCRATCH, "train-corpus"), 40, 30);
    const ds = join(SCRATCH, "train-dataset-64");
    buildDataset({ src: [dir], out: ds, tokenizer: vocab.tokenizer, tokenizerFile: vocabPath, languages: ["py"], ctx: 64, val: 0.1, seed: 1, force: true });
    const cfg = tinyConfig(fresh("train-200"), { data: ds, seqLen: 64, steps: 200, evalEvery: 50, evalSequences: 16, ckptEvery: 100, warmup: 20 });
    const r = await train(cfg);
    const vals = r.log.filter((l) => l.valLoss !== undefined).map((l) => l.valLoss!);
    assert.equal(vals.length, 4);
    assert.ok(vals[0] < Math.log(vocab.size), `val after 50 steps ${vals[0]} below ln V`);
    assert.ok(vals[3] < vals[0], `validation loss falls: ${vals.join(", ")}`);
    assert.ok(vals[3] < Math.log(vocab.size) - 2, `val ${vals[3]} vs ln V ${Math.log(vocab.size)}`);
    for (const f of ["model.gguf", "loss.svg", "log.jsonl", "latest.json"]) assert.ok(existsSync(join(cfg.out, f)), f);
    assert.match(readFileSync(join(cfg.out, "loss.svg"), "utf8"), /data-name="validation"/);
    assert.equal(readFileSync(join(cfg.out, "log.jsonl"), "utf8").trim().split("\n").length, 200);
  });

  it("a pinned 200-step run: the final validation loss equals the recorded value (to 1e-4)", async () => {
    const train1 = sequencesOf("pin-train", vocab.tokenizer, corpusText(7, 400), 32);
    const val1 = sequencesOf("pin-val", vocab.tokenizer, corpusText(8, 40), 32);
    const cfg = tinyConfig(fresh("train-pinned"), { steps: 200, evalEvery: 200, evalSequences: 32, ckptEvery: 0 });
    const r = await train(cfg, { sources: { train: [train1], val: val1, vocabSize: vocab.size, tokenizer: vocab.metadata } });
    // Recorded with this repository's kernels; the baseline and relaxed-SIMD (FMA) builds round
    // differently (the dot-add build trains with the relaxed build's kernels).
    const recorded = detectVariant() === "simd" ? PINNED.simd : PINNED.relaxed;
    assert.ok(Math.abs(r.valLoss! - recorded) < 1e-4, `final validation loss ${r.valLoss} vs recorded ${recorded}`);
  });

  it("N steps, a stop, then --resume give the same bits as 2N steps (data mix, gradient accumulation, 1 then 2 threads)", async () => {
    const a = sequencesOf("mix-a", vocab.tokenizer, corpusText(21, 200), 32);
    const b = sequencesOf("mix-b", vocab.tokenizer, corpusText(22, 100), 32);
    const val = sequencesOf("mix-val", vocab.tokenizer, corpusText(23, 20), 32);
    const sources = { train: [a, b], val, vocabSize: vocab.size, tokenizer: vocab.metadata };
    const layer = { data: [{ path: "a", weight: 0.7 }, { path: "b", weight: 0.3 }], gradAccum: 2, steps: 16, ckptEvery: 3, evalEvery: 4 };
    const whole = tinyConfig(fresh("train-whole"), layer);
    const rw = await train(whole, { sources });
    const split = tinyConfig(fresh("train-split"), { ...layer, threads: 1 });
    const r1 = await train(split, { sources, stopAfter: 8 });
    assert.equal(r1.finished, false);
    assert.equal(r1.step, 8);
    assert.deepEqual(readdirSync(split.out).filter((f) => f.endsWith(".tmp")), [], "no temporary files left");
    const r2 = await train({ ...split, threads: 2 }, { sources, resume: split.out });
    assert.equal(r2.finished, true);
    const x = tensorBytes(join(whole.out, "model.gguf")), y = tensorBytes(join(split.out, "model.gguf"));
    for (const [name, bytes] of x) assert.ok(bytes.equals(y.get(name)!), `${name} differs`);
    assert.deepEqual(r2.log.map((l) => [l.step, l.loss, l.valLoss]), rw.log.map((l) => [l.step, l.loss, l.valLoss]));
    // old checkpoints were pruned to keepCheckpoints (2)
    assert.deepEqual(readdirSync(split.out).filter((f) => f.endsWith(".gguf") && f.startsWith("step-")).sort(), ["step-000015.gguf", "step-000016.gguf"]);
  });
});

describe("F16 checkpoints", () => {
  it("keep f32 master weights in the state file, so a resume from them is still exact", async () => {
    const vocab = loadVocab(writeVocab("bytes"));
    const src = sequencesOf("f16", vocab.tokenizer, corpusText(41, 100), 32);
    const sources = { train: [src], vocabSize: vocab.size, tokenizer: vocab.metadata };
    const layer = { weightsType: "f16" as const, steps: 6, ckptEvery: 2, evalEvery: 0 };
    const whole = tinyConfig(fresh("train-f16-whole"), layer);
    await train(whole, { sources });
    const split = tinyConfig(fresh("train-f16-split"), layer);
    await train(split, { sources, stopAfter: 3 });
    const g = GGUFFile.open(join(split.out, "step-000003.gguf"));
    try { assert.equal(g.tensor("blk.0.attn_q.weight")!.type, 1 /* F16 */); } finally { g.close(); }
    await train(split, { sources, resume: join(split.out, "step-000003.gguf") });
    const x = tensorBytes(join(whole.out, "model.gguf")), y = tensorBytes(join(split.out, "model.gguf"));
    for (const [name, bytes] of x) assert.ok(bytes.equals(y.get(name)!), `${name} differs`);
  });
});

describe("instruction tuning (masked loss)", () => {
  it("targets are the next tokens where the mask is 1; the last position has none", () => {
    const tokens = Int32Array.from([1, 10, 11, 12, 13, 2]), mask = Uint8Array.from([0, 0, 0, 1, 1, 1]);
    const inp = new Int32Array(6), tgt = new Int32Array(6), isT = new Uint8Array(6);
    assert.equal(sequenceTargets(tokens, mask, inp, tgt, isT), 3);
    assert.deepEqual([...inp], [1, 10, 11, 12, 13, 2]);
    assert.deepEqual([...isT], [0, 0, 1, 1, 1, 0]);
    assert.deepEqual([...tgt].filter((_, i) => isT[i]), [12, 13, 2]);
  });

  it("stage instruct trains on an instruction dataset (loss on the answers only) and refuses a pretraining one", async () => {
    const vocabPath = writeVocab("bytes"), vocab = loadVocab(vocabPath);
    const jsonl = join(SCRATCH, "train-dialogs.jsonl");
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const a = i % 7, b = (i * 3) % 5;
      lines.push(JSON.stringify({ dialog: [{ role: "user", content: `add ${a} and ${b}` }, { role: "assistant", content: `${a} + ${b} = ${a + b}` }] }));
    }
    writeFileSync(jsonl, lines.join("\n") + "\n");
    const ds = join(SCRATCH, "train-instruct-ds");
    buildInstructDataset({ input: jsonl, out: ds, tokenizer: vocab.tokenizer, tokenizerFile: vocabPath, ctx: 64, val: 0.1, seed: 1, force: true });
    const cfg = tinyConfig(fresh("train-instruct"), { stage: "instruct", data: ds, seqLen: 64, steps: 60, lr: 5e-3, evalEvery: 30, ckptEvery: 0 });
    const r = await train(cfg);
    assert.ok(r.lastLoss < r.log[0].loss - 1, `loss on the answers ${r.log[0].loss} -> ${r.lastLoss}`);
    const pre = join(SCRATCH, "train-dataset-pre64");
    buildDataset({ src: [writeCorpusDir(join(SCRATCH, "train-corpus-small"), 4, 10)], out: pre, tokenizer: vocab.tokenizer, tokenizerFile: vocabPath, languages: ["py"], ctx: 64, val: 0, seed: 1, force: true });
    await assert.rejects(train(tinyConfig(fresh("train-instruct-bad"), { stage: "instruct", data: pre, seqLen: 64 })), /stage "instruct" trains on instruction datasets .* is a pretrain dataset/);
  });
});

/** Final validation loss of the pinned run, per kernel build. */
const PINNED = { simd: 1.3826318750939062, relaxed: 1.382631889754726 };
