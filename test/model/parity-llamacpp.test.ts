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
  // K-quants need rows that are multiples of 256
  const shape = type.includes("_k") ? { dim: 256, ffn: 512, heads: 8, kvHeads: 2 } : { dim: 128, ffn: 352, heads: 4, kvHeads: 2 };
  writeSynthLlama(path, {
    ...shape, layers: 3, type, ropeTheta, vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 7, normNoise: 0.1,
    // a wider output layer spreads the logits, so the top-1 margins are not ties
    outputStd: 0.2, name: "codellama-parity",
  });
  return path;
}

/**
 * Our logits after each prompt position, then after each continuation token: our own greedy
 * continuation, or (teacher forcing) the given tokens, so both sides are compared on the same text.
 */
async function ours(path: string, kvType: "f16" | "f32" | "q8_0", threads: number, batch: number, forced?: number[]) {
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
      const next = forced ? forced[tokens.length] : argmax(last);
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

/** Standard deviation of a logit vector. */
function std(v: Float32Array): number {
  let m = 0, q = 0;
  for (const x of v) { m += x; q += x * x; }
  m /= v.length;
  return Math.sqrt(q / v.length - m * m);
}

/**
 * Along the same continuation (ours is fed llama.cpp's greedy tokens): logits within `rel` times the
 * logits' standard deviation, top-10 overlap >= 8, and top-1 equal at every step except where
 * llama.cpp's own top-2 are closer than that tolerance (a near tie either side may break). Returns
 * the number of such ties. llamacpp-peer.md §2 gives 0.05 at a logit std of 0.46, about 0.11 std;
 * this test's models have a wider output layer (std ~3), so the bound is stated relative.
 */
function assertClose(me: { logits: Float32Array[] }, peer: { logits: Float32Array[] }, rel: number): number {
  const tol = rel * std(peer.logits[0]);
  let worst = 0, ties = 0;
  assert.equal(me.logits.length, peer.logits.length);
  for (let i = 0; i < peer.logits.length; i++) {
    const a = me.logits[i], b = peer.logits[i];
    worst = Math.max(worst, maxAbsDiff(a, b));
    const [b1, b2] = topK(b, 2);
    if (argmax(a) !== b1) {
      assert.ok(b[b1] - b[b2] < tol, `top-1 differs at step ${i} (${argmax(a)} vs ${b1}) with a clear margin ${b[b1] - b[b2]}`);
      ties++;
    }
    const overlap = topK(a, 10).filter((t) => topK(b, 10).includes(t)).length;
    assert.ok(overlap >= 8, `top-10 overlap ${overlap} at step ${i}`);
  }
  assert.ok(worst < tol, `max |logit difference| ${worst} (tolerance ${tol.toFixed(3)} = ${rel} x logit std)`);
  assert.ok(ties <= 2, `${ties} near-ties broke differently`);
  return ties;
}

// Quantised weights with an F32 KV cache on both sides: this isolates the weight kernels. We quantise
// activations exactly as llama.cpp does (Q8_0 blocks for Q8_0/Q4_0, Q8_K for K-quants), so what is
// left is summation order, and the rare activation that lands on the other side of a rounding step
// because of it: measured 1e-5 (Q8_0) to 0.17 (Q4_K, one flipped Q8_K activation) here, with a
// logit std of ~3.2; bit-exact at every position before the first flip.
for (const type of ["f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m"] as SynthType[]) {
  test(`${type} weights: along llama.cpp's continuation, top-1 equal (but for near ties), top-10 overlap, logits within tolerance`, async () => {
    const path = makeModel(type, 1e6);
    const peer = await peerGreedy(path, PROMPT, N, { kv: "f32", flashAttention: false, allPositions: true });
    const me = await ours(path, "f32", 2, 64, peer.tokens);
    // F16/BF16: llama.cpp rounds the activations to f16/bf16 before the dot product; we keep f32.
    assertClose(me, peer, 0.11);
  });
}

// The F16 KV cache. llama.cpp's attention (flash or not) also rounds q and the softmax weights to
// f16, which we do not; measured up to ~0.08 here (0.025 std).
test("F16 KV cache: top-1 equal and top-10 overlap with llama.cpp's F16 cache", async () => {
  const path = makeModel("f32", 1e6);
  const peer = await peerGreedy(path, PROMPT, N, { kv: "f16", flashAttention: false, allPositions: true });
  const me = await ours(path, "f16", 2, 64, peer.tokens);
  assertClose(me, peer, 0.11);
});

// The Q8_0 KV cache (--kv q8_0). llama.cpp quantises K and V rows the same way (Q8_0 blocks of the
// row) and needs flash attention for a quantised V cache, which also rounds q and the weights to f16.
test("Q8_0 KV cache: top-1 equal and top-10 overlap with llama.cpp's Q8_0 cache", async () => {
  const path = makeModel("f32", 1e6);
  const peer = await peerGreedy(path, PROMPT, N, { kv: "q8_0", flashAttention: true, allPositions: true });
  const me = await ours(path, "q8_0", 2, 64, peer.tokens);
  assertClose(me, peer, 0.11);
});
