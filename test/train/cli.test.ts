// `codellama train` and `codellama quantize` through the real CLI: one-line errors for bad configs
// (unknown keys, impossible shapes, bad values), missing datasets and mismatched resumes; a whole
// run from a config file; a run killed with SIGKILL at a random moment resumes from an intact
// checkpoint and ends with the same weights as an uninterrupted run.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildDataset } from "../../src/data/build.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { CLI, assertUserError, runCli } from "../helpers/cli.js";
import { REPO_ROOT, SCRATCH } from "../helpers/paths.js";
import { loadVocab, writeCorpusDir, writeVocab } from "./fixtures.js";

const dir = join(SCRATCH, "train-cli");
const ds = join(dir, "dataset");

/** A config file for a tiny run on the test dataset; returns its path. */
function config(name: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    model: { dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64 }, data: ds, out: join(dir, `run-${name}`),
    seqLen: 32, batchSize: 2, steps: 6, warmup: 2, lr: 3e-3, evalEvery: 3, evalSequences: 4, ckptEvery: 3, threads: 2, ...extra,
  }));
  return path;
}

function tensors(path: string): Map<string, Buffer> {
  const g = GGUFFile.open(path);
  try { return new Map(g.tensors.map((t) => [t.name, Buffer.from(g.tensorBytes(t))])); } finally { g.close(); }
}

describe("codellama train (CLI)", () => {
  before(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const vocabPath = writeVocab("bytes");
    const corpus = writeCorpusDir(join(dir, "corpus"), 12, 20);
    buildDataset({ src: [corpus], out: ds, tokenizer: loadVocab(vocabPath).tokenizer, tokenizerFile: vocabPath, languages: ["py"], ctx: 32, val: 0.2, seed: 1 });
  });

  it("an unknown key is refused with its name and the file", () => {
    const p = config("unknown", { lrr: 1e-3 });
    assertUserError(runCli(["train", "--config", p]), /config .*unknown\.json: unknown key "lrr" \(known keys: .*\blr\b/);
    const q = config("unknown-model", { model: { dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64, hidden: 3 } });
    assertUserError(runCli(["train", "--config", q]), /unknown key "model\.hidden"/);
  });

  it("impossible shapes and bad values name the key", () => {
    assertUserError(runCli(["train", "--config", config("heads", { model: { dim: 30, layers: 2, heads: 4, kvHeads: 2, ffn: 64 } })]), /"model\.dim" \(30\) is not divisible by "model\.heads" \(4\)/);
    assertUserError(runCli(["train", "--config", config("kv", { model: { dim: 32, layers: 2, heads: 4, kvHeads: 3, ffn: 64 } })]), /"model\.heads" \(4\) is not divisible by "model\.kvHeads" \(3\)/);
    assertUserError(runCli(["train", "--config", config("hd", { model: { dim: 24, layers: 2, heads: 4, kvHeads: 2, ffn: 64 } })]), /head dimension .* = 6 must be a multiple of 4/);
    assertUserError(runCli(["train", "--config", config("lr", { lr: "fast" })]), /"lr": expected number, received string \(got "fast"\)/);
    assertUserError(runCli(["train", "--config", config("steps", { steps: 2.5 })]), /"steps": expected int/);
    assertUserError(runCli(["train", "--config", config("warm", { warmup: 6 })]), /"warmup" \(6\) must be smaller than "steps" \(6\)/);
    assertUserError(runCli(["train", "--config", config("seq", { seqLen: 64 })]), /holds sequences of 32 tokens but "seqLen" is 64/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    assertUserError(runCli(["train", "--config", bad]), /config .*bad\.json: not valid JSON/);
    assertUserError(runCli(["train", "--preset", "medium", "--data", ds, "--out", join(dir, "x")]), /unknown preset "medium" \(known: pretrain, lcft, python, instruct\)/);
    assertUserError(runCli(["train", "--config", config("set"), "--set", "model.dim=33"]), /"model\.dim" \(33\) is not divisible/);
  });

  it("a missing dataset or init model is a one-line error", () => {
    assertUserError(runCli(["train", "--config", config("nodata", { data: join(dir, "nope") })]), /dataset .*nope does not exist/);
    assertUserError(runCli(["train", "--config", config("noinit", { init: join(dir, "nope.gguf") })]), /"init" .*nope\.gguf: no such file/);
    assertUserError(runCli(["train", "--preset", "pretrain"]), /no training data: give "data" in the config or --data/);
  });

  it("trains from a config file, then refuses to resume with different settings", () => {
    const p = config("run");
    const r = runCli(["train", "--config", p], { timeout: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^trained 6 steps: loss \d+\.\d+, validation loss \d+\.\d+; model .*run-run[/\\]model\.gguf\n$/);
    for (const f of ["model.gguf", "step-000006.gguf", "step-000006.state", "latest.json", "log.jsonl", "loss.svg"]) assert.ok(existsSync(join(dir, "run-run", f)), f);
    assertUserError(runCli(["train", "--config", p, "--resume", "--set", "lr=0.001"]), /--resume .*: the checkpoint was trained with "lr" = 0\.003, this config has 0\.001/);
    assertUserError(runCli(["train", "--config", config("noresume"), "--resume"]), /--resume: the run folder .* does not exist/);
    assertUserError(runCli(["train", "--config", p]), /run-run already holds a training run; continue it with --resume, or start over with --force/);
  });

  it("a run killed with SIGKILL resumes from an intact checkpoint and ends with the uninterrupted run's weights", async () => {
    const settings = { steps: 300, ckptEvery: 1, evalEvery: 0, keepCheckpoints: 2 };
    const whole = config("whole", settings);
    assert.equal(runCli(["train", "--config", whole], { timeout: 600_000 }).code, 0);
    const p = config("killed", settings);
    const out = join(dir, "run-killed");
    const child = spawn(process.execPath, [...CLI, "train", "--config", p], { cwd: REPO_ROOT, stdio: "ignore" });
    // kill it some time after the first checkpoint appears (mid-step or mid-write)
    const t0 = Date.now();
    while (!existsSync(join(out, "latest.json")) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 300)));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const ptr = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { step: number; gguf: string };
    assert.ok(ptr.step >= 1 && ptr.step < 300, `killed at step ${ptr.step}`);
    GGUFFile.open(join(out, ptr.gguf)).close(); // a complete GGUF
    const r = runCli(["train", "--config", p, "--resume"], { timeout: 600_000 });
    assert.equal(r.code, 0, r.stderr);
    const a = tensors(join(dir, "run-whole", "model.gguf")), b = tensors(join(out, "model.gguf"));
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs after kill + resume`);
  });
});

describe("codellama quantize (CLI)", () => {
  it("re-encodes a trained model, keeps norms F32, and refuses bad types and missing files", () => {
    const src = join(dir, "run-run", "model.gguf");
    const out = join(dir, "q8.gguf");
    const r = runCli(["quantize", src, out, "--type", "q8_0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /q8\.gguf: [\d.]+ MiB; tensors 16 Q8_0, 5 F32\n$/);
    const g = GGUFFile.open(out);
    try {
      assert.equal(g.tensor("output_norm.weight")!.type, GGMLType.F32);
      assert.equal(g.tensor("blk.1.attn_q.weight")!.type, GGMLType.Q8_0);
      assert.equal(g.getNumber("general.file_type"), 7);
    } finally {
      g.close();
    }
    // rows of 32 do not divide into K-quant blocks of 256: llama.cpp's fallbacks (Q4_K -> Q5_0; output Q6_K -> Q8_0)
    const k = runCli(["quantize", src, join(dir, "q4k.gguf"), "--type", "q4_k", "--json"]);
    assert.equal(k.code, 0, k.stderr);
    const types = new Map((JSON.parse(k.stdout) as { tensors: { name: string; type: string }[] }).tensors.map((t) => [t.name, t.type]));
    assert.equal(types.get("blk.0.attn_q.weight"), "Q5_0");
    assert.equal(types.get("output.weight"), "Q8_0");
    assertUserError(runCli(["quantize", src, join(dir, "x.gguf"), "--type", "q3_k"]), /--type q3_k: not supported \(supported: f32, f16, bf16, q8_0/);
    assertUserError(runCli(["quantize", join(dir, "none.gguf"), join(dir, "x.gguf"), "--type", "q8_0"]), /none\.gguf: no such file/);
  });
});
