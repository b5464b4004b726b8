// A 16K-token prompt on a tiny model: logits at positions past 8K and the greedy continuation equal
// llama.cpp's (F32 weights and cache), and chunked prefill equals one forward per segment, bit for bit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { Rng } from "../../src/util/rng.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { peerGreedy } from "../helpers/peer-model.js";

const N = 16384;
const CHECK = [8200, 12000, N - 1]; // positions whose next-token logits are compared
const GEN = 8;

test("16K tokens: the same logits past 8K and the same continuation as llama.cpp; chunked = unchunked", async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "long-f32.gguf");
  writeSynthLlama(path, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", ropeTheta: 1e6, ctx: 16384, vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 9, normNoise: 0.1, outputStd: 0.2 });
  const rng = new Rng(16);
  const ids = [1, ...Array.from({ length: N - 1 }, () => 3 + rng.int(31990))];
  const peer = await peerGreedy(path, ids, GEN, { kv: "f32", flashAttention: false, positions: CHECK, contextSize: N + GEN + 8, batchSize: 512 });

  const f = openModel(path);
  const run = async (batch: number) => {
    const m = await LlamaModel.load(f, { kvType: "f32", threads: 2, batch, ctx: N + GEN });
    try {
      const logits: Float32Array[] = [];
      let pos = 0;
      for (const p of CHECK) { logits.push(m.prefill(ids.slice(pos, p + 1), pos, "last")); pos = p + 1; }
      const tokens: number[] = [];
      let last = logits[logits.length - 1];
      for (let i = 0; i < GEN; i++) {
        let b = 0;
        for (let j = 1; j < last.length; j++) if (last[j] > last[b]) b = j;
        tokens.push(b);
        if (i + 1 < GEN) { last = m.forward([b], N + i, "last"); logits.push(last); }
      }
      return { logits, tokens };
    } finally { await m.close(); }
  };
  try {
    const chunked = await run(64);
    const whole = await run(N); // each segment in one forward call, starting at positions 0, 8201, 12001
    assert.deepEqual(whole.logits, chunked.logits);
    assert.deepEqual(chunked.tokens, peer.tokens);
    assert.equal(peer.logits.length, chunked.logits.length);
    let worst = 0;
    chunked.logits.forEach((l, i) => { for (let j = 0; j < l.length; j++) worst = Math.max(worst, Math.abs(l[j] - peer.logits[i][j])); });
    assert.ok(worst < 1e-4, `max |logit difference| ${worst}`);
  } finally { f.close(); }
});
