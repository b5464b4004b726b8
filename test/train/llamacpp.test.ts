// Checkpoints written by the trainer are Llama GGUFs that llama.cpp (the real peer, node-llama-cpp)
// loads: a tiny model trained on Code Llama's 32016-piece vocabulary gives the same greedy
// continuation in llama.cpp as in our engine, for the final model, a step checkpoint (with the
// private codellama.train.* keys) and its F16 / Q8_0 re-encodings by `quantizeModel`.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { quantizeModel } from "../../src/train/quantize-model.js";
import { train } from "../../src/train/trainer.js";
import { SCRATCH } from "../helpers/paths.js";
import { peerGreedy } from "../helpers/peer-model.js";
import { corpusText, loadVocab, sequencesOf, tinyConfig, writeVocab } from "./fixtures.js";

const N = 24;

async function ourGreedy(path: string, prompt: number[]): Promise<{ tokens: number[]; first: Float32Array }> {
  const f = openModel(path);
  const m = await LlamaModel.load(f, { kvType: "f32", threads: 2, ctx: 256 });
  try {
    let logits = m.prefill(prompt, 0, "last");
    const first = logits.slice();
    const tokens: number[] = [];
    for (let pos = prompt.length; tokens.length < N; pos++) {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      tokens.push(best);
      if (tokens.length < N) logits = m.forward([best], pos, "last");
    }
    return { tokens, first };
  } finally {
    await m.close();
    f.close();
  }
}

describe("trained checkpoints in llama.cpp", () => {
  let out: string;
  let prompt: number[];
  before(async () => {
    const vocab = loadVocab(writeVocab("codellama"));
    const cfg = tinyConfig("train-llamacpp", {
      model: { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128 }, seqLen: 64, steps: 80, lr: 5e-3, warmup: 10,
      evalEvery: 0, ckptEvery: 40, keepCheckpoints: 3,
    });
    rmSync(cfg.out, { recursive: true, force: true });
    out = cfg.out;
    const src = sequencesOf("corpus", vocab.tokenizer, corpusText(31, 300), 64);
    await train(cfg, { sources: { train: [src], vocabSize: vocab.size, tokenizer: vocab.metadata } });
    prompt = vocab.tokenizer.encode("def compute_total(total, count):\n", { bos: true });
  });

  for (const file of ["model.gguf", "step-000040.gguf"]) {
    it(`${file}: llama.cpp gives our engine's greedy continuation and logits (F32)`, async () => {
      const path = join(out, file);
      const ours = await ourGreedy(path, prompt);
      const peer = await peerGreedy(path, prompt, N, { kv: "f32" });
      assert.deepEqual(ours.tokens, peer.tokens);
      assert.ok(new Set(ours.tokens).size >= 5, "the trained model continues with varied code, not one repeated token");
      const a = ours.first, b = peer.logits[0];
      let spread = 0, diff = 0;
      for (let i = 0; i < a.length; i++) { spread = Math.max(spread, Math.abs(b[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
      assert.ok(diff / spread < 1e-4, `logits differ by ${diff} (max |logit| ${spread})`);
    });
  }

  for (const type of ["f16", "q8_0"] as const) {
    it(`quantized to ${type} (norms F32): llama.cpp and our engine agree`, async () => {
      const path = join(SCRATCH, `train-llamacpp-${type}.gguf`);
      const r = quantizeModel(join(out, "model.gguf"), path, type);
      const g = GGUFFile.open(path);
      try {
        assert.equal(g.tensor("blk.0.attn_norm.weight")!.type, GGMLType.F32);
        assert.equal(g.tensor("blk.0.ffn_down.weight")!.type, type === "f16" ? GGMLType.F16 : GGMLType.Q8_0);
        assert.equal(g.has("codellama.train.step"), false);
      } finally {
        g.close();
      }
      assert.ok(r.tensors.length > 0);
      const ours = await ourGreedy(path, prompt);
      const peer = await peerGreedy(path, prompt, N, { kv: "f32" });
      assert.deepEqual(ours.tokens, peer.tokens);
    });
  }
});
