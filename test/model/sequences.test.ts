// Several KV sequences in one model: a batch that mixes sequences computes, bit for bit, what each
// sequence computes alone; and a copied prompt cache behaves like a freshly prefilled one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { SCRATCH } from "../helpers/paths.js";

test("a batch over 4 sequences equals 4 separate runs, and copySeq equals a fresh prefill", async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "seqs-q4_0.gguf");
  writeSynthLlama(path, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, type: "q4_0", seed: 8 });
  const f = openModel(path);
  const m = await LlamaModel.load(f, { ctx: 64, threads: 2, batch: 16, nSeq: 4 });
  try {
    const V = m.config.vocabSize;
    const prompt = [1, 40, 41, 42, 43, 44, 45];
    // reference: each sequence alone in slot 0: prompt, then its own next token
    const alone: Float32Array[] = [];
    for (let s = 0; s < 4; s++) {
      m.prefill(prompt, 0, "none", 0);
      alone.push(m.forward([100 + s], prompt.length, "last", 0));
    }
    // prompt once in slot 0, copied to slots 1..3, then one batched step over all four
    m.prefill(prompt, 0, "none", 0);
    for (let s = 1; s < 4; s++) m.copySeq(0, s, prompt.length);
    const batch = m.forwardBatch([100, 101, 102, 103], [0, 1, 2, 3], [7, 7, 7, 7], "all");
    for (let s = 0; s < 4; s++) assert.deepEqual(batch.subarray(s * V, (s + 1) * V), alone[s], `sequence ${s}`);
    // sequences at different positions in one batch: slot 2 goes on for two more tokens alone...
    const a = m.forward([7, 8], 8, "all", 2);
    // ...and the same through a mixed batch with slot 3 (which has its own history)
    m.prefill(prompt, 0, "none", 2); m.forward([102], 7, "none", 2);
    const mixed = m.forwardBatch([7, 8, 55], [2, 2, 3], [8, 9, 8], "all");
    assert.deepEqual(mixed.subarray(0, 2 * V), a);
    assert.throws(() => m.forwardBatch([1], [4], [0]), /sequence 4 does not exist/);
  } finally {
    await m.close();
    f.close();
  }
});
