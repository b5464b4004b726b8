// The forward pass against llama.cpp (the real peer, node-llama-cpp 3.22.1) on tiny random models
// that the test writes with our GGUF writer: vocab 32016 (llama SPM + Code Llama pieces), GQA.
// F32 weights with an F32 KV cache must match to 1e-4 and give the same greedy continuation;
// quantised weights must agree within llamacpp-peer.md §2's tolerances (top-1 and top-10 overlap).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama, type SynthType } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { peerGreedy, peerTokenize } from "../helpers/peer-model.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { Tokenizer } from "../../src/tokenizer/index.js";

mkdirSync(SCRATCH, { recursive: true });
const PROMPT_TEXT = "def fib(n):\n    if n < 2:\n        return n";
const N = 32;
/** BOS + our tokens of PROMPT_TEXT; the first test checks they equal llama.cpp's. */
let PROMPT: number[] = [];

function makeModel(type: SynthType, ropeTheta: number): string {
  const path = join(SCRATCH, `parity-${type}-${ropeTheta}.gguf`);
  const shape = type.endsWith("_k") ? { dim: 256, ffn: 512, heads: 8, kvHeads: 2 } : { dim: 128, ffn: 352, heads: 4, kvHeads: 2 };
  writeSynthLlama(path, {
    ...shape, layers: 3, type, ropeTheta, vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 7, normNoise: 0.1,
    // a wider output layer spreads the logits, so the top-1 margins are not ties
    outputStd: 0.2, name: "codellama-parity",
  });
  return path;
}

/** Our greedy continuation with all logits: after each prompt position, then after each generated token. */
async function ours(path: string, kvType: "f16" | "f32", threads: number, batch: number) {
  const f = openModel(path);
  const m = await LlamaModel.load(f, { kvType, threads, batch, ctx: 256 });
  try {
    const V = m.config.vocabSize;
    const all = m.prefill(PROMPT, 0, "all");
    const logits: Float32Array[] = [];
    for (let i = 0; i < PROMPT.length; i++) logits.push(all.subarray(i * V, (i + 1) * V));
    const tokens: number[] = [];
    let last = logits[logits.length - 1];
    for (let pos = PROMPT.length; tokens.length < N; pos++) {
      const next = argmax(last);
      tokens.push(next);
      if (tokens.length === N) break;
      last = m.forward([next], pos, "last");
      logits.push(last);
    }
    return { logits, tokens };
  } finally {
    await m.close();
    f.close();
  }
}

function argmax(v: Float32Array): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
}
function topK(v: Float32Array, k: number): number[] {
  return [...v.keys()].sort((a, b) => v[b] - v[a]).slice(0, k);
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("the prompt's token ids are identical to llama.cpp's", async () => {
  const path = makeModel("f32", 1e6);
  const g = GGUFFile.open(path);
  try {
    PROMPT = Tokenizer.fromGGUF(g).encode(PROMPT_TEXT, { bos: true });
  } finally { g.close(); }
  assert.deepEqual(PROMPT, [1, ...(await peerTokenize(path, PROMPT_TEXT))]);
  assert.equal(PROMPT.length, 18);
});

for (const theta of [1e6, 1e4]) {
  test(`F32 weights, F32 KV cache, rope theta ${theta}: logits within 1e-4 and the same 32 greedy tokens as llama.cpp`, async () => {
    const path = makeModel("f32", theta);
    const peer = await peerGreedy(path, PROMPT, N, { kv: "f32", flashAttention: false, allPositions: true });
    // chunked prefill (batch 5: chunks start at positions 0, 5, 10, 15) and 2 threads
    const me = await ours(path, "f32", 2, 5);
    assert.deepEqual(me.tokens, peer.tokens);
    assert.equal(me.logits.length, peer.logits.length);
    let worst = 0;
    me.logits.forEach((l, i) => { worst = Math.max(worst, maxAbsDiff(l, peer.logits[i])); });
    assert.ok(worst < 1e-4, `max |logit difference| ${worst}`);
  });
}

/** Top-1 equal at every step, top-10 overlap >= 8, logits within `tol`, same greedy tokens. */
function assertClose(me: { logits: Float32Array[]; tokens: number[] }, peer: { logits: Float32Array[]; tokens: number[] }, tol: number): number {
  let worst = 0;
  for (let i = 0; i < peer.logits.length; i++) {
    const a = me.logits[i], b = peer.logits[i];
    worst = Math.max(worst, maxAbsDiff(a, b));
    assert.equal(argmax(a), argmax(b), `top-1 differs at step ${i}`);
    const overlap = topK(a, 10).filter((t) => topK(b, 10).includes(t)).length;
    assert.ok(overlap >= 8, `top-10 overlap ${overlap} at step ${i}`);
  }
  assert.deepEqual(me.tokens, peer.tokens);
  assert.ok(worst < tol, `max |logit difference| ${worst} (tolerance ${tol})`);
  return worst;
}

// Quantised weights with an F32 KV cache on both sides: this isolates the weight kernels. We quantise
// activations exactly as llama.cpp does (Q8_0 blocks for Q8_0/Q4_0, Q8_K for K-quants), so what is
// left is summation order, and the rare activation that lands on the other side of a rounding step
// because of it: measured 1e-5 (Q8_0) to 0.014 (Q4_0) here, inside §2's tolerance of 0.05.
for (const type of ["f16", "bf16", "q8_0", "q4_0"] as SynthType[]) {
  test(`${type} weights: the same continuation as llama.cpp, top-1 equal at every step, top-10 overlap`, async () => {
    const path = makeModel(type, 1e6);
    const peer = await peerGreedy(path, PROMPT, N, { kv: "f32", flashAttention: false, allPositions: true });
    const me = await ours(path, "f32", 2, 64);
    // F16/BF16: llama.cpp rounds the activations to f16/bf16 before the dot product; we keep f32.
    assertClose(me, peer, 0.05);
  });
}

// The F16 KV cache. llama.cpp's attention (flash or not) also rounds q and the softmax weights to
// f16, which we do not; with this model's wide output layer (logits ~10) that moves logits by up to ~0.1.
test("F16 KV cache: top-1 equal and top-10 overlap with llama.cpp's F16 cache", async () => {
  const path = makeModel("f32", 1e6);
  const peer = await peerGreedy(path, PROMPT, N, { kv: "f16", flashAttention: false, allPositions: true });
  const me = await ours(path, "f16", 2, 64);
  assertClose(me, peer, 0.25);
});
