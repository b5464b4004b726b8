// The dot-add build (kernels-dotadd.wasm: integer kernels on i32x4.relaxed_dot_i8x16_i7x16_add_s)
// against the relaxed build: Q4_0x4 and Q8_0x4 give the same bits, decode and prefill alike; the
// K-quants group their (exact) integer sums into other lanes, so they agree to rounding, and decode
// and prefill still give the same bits within the build. The exact-integer extremes tests in
// kernels.test.ts and kquants.test.ts run on every available build, this one included. And
// CODELLAMA_KERNELS picks a build, or says what it supports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { GGMLType, rowBytes } from "../../src/format/ggml-types.js";
import { quantizeRow } from "../../src/format/quantize.js";
import { activationFormat, activationStride } from "../../src/kernels/formats.js";
import { KIND_Q4_0X4, KIND_Q8_0X4 } from "../../src/kernels/repack.js";
import { availableVariants } from "../../src/kernels/wasm.js";
import { packageRoot } from "../../src/util/package-root.js";
import { Rng } from "../../src/util/rng.js";
import { fillF32, setup } from "../helpers/kernels.js";

// Node 20 expands the dot-add into pmaddubsw, which saturates on bytes past 127: the build is not used there.
// (Node 24 on an AVX-VNNI CPU runs these; CI does, through CODELLAMA_TEST_NODE.)
const skip = availableVariants().includes("dotadd") ? false : "this runtime cannot run the dot-add build";

/** `codellama complete` (greedy, 12 tokens, JSON) with CODELLAMA_KERNELS=variant. */
const cli = join(packageRoot(), "dist", "src", "cli", "main.js");
const args = [cli, "complete", "--prompt", "def add(a, b):", "--max-tokens", "12", "--temperature", "0", "--threads", "1", "--json"];
const runCli = (variant: string) => spawnSync(process.execPath, args, { env: { ...process.env, CODELLAMA_KERNELS: variant }, encoding: "utf8" });

/** y = W x for `nTok` tokens in one call (prefill tiles) and one token per call (decode), in `variant`. */
function run(variant: "relaxed" | "dotadd", type: number, kind: number, rows: number, cols: number, nTok: number): Float32Array[] {
  const s = setup(variant);
  const rng = new Rng([7, type]);
  const rb = rowBytes(type, cols);
  const w = s.alloc(rows * rb);
  const wb = new Uint8Array(s.memory.buffer, w, rows * rb);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) row[i] = rng.normal() * 0.5;
    wb.set(quantizeRow(type, row), r * rb);
  }
  if (kind !== type) assert.equal(s.k.repack_x4(kind, w, rows, cols, s.alloc(4 * rb)), 0);
  const xf = s.alloc(nTok * cols * 4);
  fillF32(s.memory, xf, nTok * cols, rng, 3);
  const fmt = activationFormat(kind)!;
  const st = activationStride(fmt, cols), x = s.alloc(nTok * st);
  if (fmt === "q8_K") s.k.quantize_q8_K(xf, cols, x, cols, 0, nTok);
  else s.k.quantize_q8_0(xf, cols, x, cols, 0, nTok);
  const yBatch = s.alloc(nTok * rows * 4), yOne = s.alloc(nTok * rows * 4);
  s.k.matmul(kind, w, rb, x, st, yBatch, rows, cols, nTok, 0, rows);
  for (let t = 0; t < nTok; t++) s.k.matmul(kind, w, rb, x + t * st, st, yOne + t * rows * 4, rows, cols, 1, 0, rows);
  return [new Float32Array(s.memory.buffer, yBatch, nTok * rows).slice(), new Float32Array(s.memory.buffer, yOne, nTok * rows).slice()];
}

test("the dot-add build gives the relaxed build's bits on Q4_0x4 and Q8_0x4, decode and prefill", { skip }, () => {
  // (the kernel families with a dot-add form; the others are the same code in both builds)
  // 44 rows: one run of the eight-group decode kernel and three groups after it; 13 tokens: an
  // eight-token tile (Q4_0x4), four-token tiles and a single token; cols 4096 as in a 7B model
  for (const [name, type, kind] of [["Q4_0x4", GGMLType.Q4_0, KIND_Q4_0X4], ["Q8_0x4", GGMLType.Q8_0, KIND_Q8_0X4]] as const) {
    const [rb, ro] = run("relaxed", type, kind, 44, 4096, 13);
    const [db, dOne] = run("dotadd", type, kind, 44, 4096, 13);
    assert.ok(rb.some((v) => v !== 0) && rb.every(Number.isFinite), `${name}: results are finite and not all zero`);
    assert.deepEqual(db, rb, `${name} prefill`);
    assert.deepEqual(dOne, ro, `${name} decode`);
  }
});

test("the dot-add build's K-quants agree with the relaxed build to rounding, and its decode and prefill agree bit for bit", { skip }, () => {
  for (const type of [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    const [rb] = run("relaxed", type, type, 44, 4096, 13);
    const [db, dOne] = run("dotadd", type, type, 44, 4096, 13);
    assert.deepEqual(dOne, db, `${GGMLType[type]}: decode vs prefill`);
    let err = 0, scale = 0;
    for (let i = 0; i < rb.length; i++) { err = Math.max(err, Math.abs(db[i] - rb[i])); scale = Math.max(scale, Math.abs(rb[i])); }
    assert.ok(scale > 1 && err <= scale * 1e-6, `${GGMLType[type]}: max |dotadd - relaxed| ${err} at scale ${scale}`);
  }
});

test("CODELLAMA_KERNELS=dotadd gives the relaxed build's tokens", { skip }, () => {
  const tokens = (variant: string) => {
    const r = runCli(variant);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).tokens as number[];
  };
  const relaxed = tokens("relaxed");
  assert.equal(relaxed.length, 12);
  assert.deepEqual(tokens("dotadd"), relaxed);
});

test("CODELLAMA_KERNELS: an unknown build, or one this runtime cannot run, is one line naming what is supported", () => {
  const bad = runCli("avx512");
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "codellama: CODELLAMA_KERNELS=avx512: unknown kernel build (supported: simd, relaxed, dotadd)\n");
  const d = runCli("dotadd");
  if (availableVariants().includes("dotadd")) assert.equal(d.status, 0, d.stderr);
  else {
    // Node 20: its dot-add saturates on the Q8_0 path's unsigned bytes
    assert.equal(d.status, 1);
    assert.equal(d.stderr, "codellama: CODELLAMA_KERNELS=dotadd: this runtime's dot-add instruction is not exact on unsigned bytes (supported here: simd, relaxed)\n");
  }
  assert.equal(runCli("simd").status, 0);
});
