// The K-quant kernels (Q8_K activation quantiser; Q4_K, Q5_K, Q6_K x Q8_K matmul) against their
// plain-TypeScript twins (src/kernels/ref.ts) and llama.cpp's reference quantiser, for both builds
// (baseline SIMD and relaxed SIMD), and the 2-thread pool against one thread.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dequantizeRow } from "../../src/format/dequant.js";
import { GGMLType, rowBytes } from "../../src/format/ggml-types.js";
import { quantizeRow } from "../../src/format/quantize.js";
import { Rng } from "../../src/util/rng.js";
import { VARIANTS, fillF32, maxRelErr, setup } from "../helpers/kernels.js";
import { activationStride } from "../../src/kernels/formats.js";
import { OP_INDEX } from "../../src/kernels/ops.js";
import { Pool } from "../../src/kernels/pool.js";
import { detectVariant } from "../../src/kernels/wasm.js";

const K_TYPES = [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K];
const HALF_ONE = 0x3c00; // 1.0 as an IEEE half



/** Random weights of a K-quant `type` (valid blocks from quantizeRow), `rows` x `cols`, at ptr. */
function fillWeights(mem: WebAssembly.Memory, ptr: number, type: number, rows: number, cols: number, rng: Rng): void {
  const rb = rowBytes(type, cols);
  const u8 = new Uint8Array(mem.buffer, ptr, rows * rb);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    // Sub-blocks of different sizes and signs, so scales and mins vary within a super-block.
    for (let i = 0; i < cols; i++) row[i] = rng.normal() * 0.5 * (1 + ((i >> 5) % 3)) / 2 + (((i >> 5) % 4) - 1.5) * 0.1;
    u8.set(quantizeRow(type, row), r * rb);
  }
}


const variants = VARIANTS;

test("relaxed SIMD is detected on this Node", () => {
  // relaxed or dotadd, depending on how V8 lowers the dot-add instruction (wasm.ts)
  assert.ok(["relaxed", "dotadd"].includes(detectVariant()), detectVariant());
});

test("quantize_q8_K is split over tokens by the pool", () => {
  assert.ok(OP_INDEX.has("quantize_q8_K"));
});

/** llama.cpp's block_q8_K (f32 d | i8 qs[256] | i16 bsums[16]) in the kernels' activation layout (plus the sums of 32). */
function q8KFromGGUF(bytes: Uint8Array, cols: number): Uint8Array {
  const nb = cols >> 8;
  const out = new Uint8Array(activationStride("q8_K", cols));
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dst = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    const o = 292 * b;
    out.set(bytes.subarray(o + 4, o + 260), 256 * b);
    dst.setFloat32(cols + 4 * b, src.getFloat32(o, true), true);
    for (let g = 0; g < 16; g++) dst.setInt16(cols + 4 * nb + 2 * (16 * b + g), src.getInt16(o + 260 + 2 * g, true), true);
    for (let j = 0; j < 8; j++) {
      dst.setInt16(cols + 36 * nb + 2 * (8 * b + j), src.getInt16(o + 260 + 4 * j, true) + src.getInt16(o + 262 + 4 * j, true), true);
    }
  }
  return out;
}

for (const variant of variants) {
  test(`quantize_q8_K (${variant}) is bit-identical to the reference and to llama.cpp's quantize_row_q8_K_ref`, () => {
    const s = setup(variant);
    const rng = new Rng(17);
    const cols = 4096, nTok = 5, xStride = cols + 32; // a token stride wider than a row
    const xf = s.alloc(nTok * xStride * 4);
    const v = fillF32(s.memory, xf, nTok * xStride, rng);
    // Token 0: special blocks.
    v.fill(0, 0, 256); // all zero
    for (let i = 256; i < 512; i++) v[i] = -0; // all negative zero
    v[512] = 127; // iscale = -1 exactly: every other value is a .5 tie
    for (let i = 513; i < 768; i++) v[i] = ((i * 37) % 254) - 127 + 0.5; // -126.5 .. 126.5
    for (let i = 768; i < 1024; i++) v[i] = (i % 7) - 3; // |max| = 3 reached by +3 first (769), then -3
    for (let i = 1024; i < 1280; i++) v[i] = 3 - (i % 7); // -3 first (1028), then +3
    for (let i = 1280; i < 1536; i++) v[i] = -Math.abs(v[i]); // negative values only
    for (let i = 1536; i < 1792; i++) v[i] = Math.abs(v[i]) * 1e-30; // tiny values
    v.fill(0, 1792, 2048); v[1792 + 200] = -2.5; // a single nonzero value
    for (let i = 2048; i < 2304; i++) v[i] = v[i] * 1e30; // huge values
    const st = activationStride("q8_K", cols);
    const a = s.alloc(nTok * st), b = s.alloc(nTok * st);
    new Uint8Array(s.memory.buffer, a, nTok * st).fill(0xa5);
    new Uint8Array(s.memory.buffer, b, nTok * st).fill(0x5a);
    s.k.quantize_q8_K(xf, xStride, a, cols, 0, nTok);
    s.ref.quantize_q8_K(xf, xStride, b, cols, 0, nTok);
    assert.deepEqual(new Uint8Array(s.memory.buffer, a, nTok * st), new Uint8Array(s.memory.buffer, b, nTok * st));
    // The format's llama.cpp-exact quantiser gives the same quants, d and bsums.
    for (let t = 0; t < nTok; t++) {
      const row = new Float32Array(s.memory.buffer, xf + t * xStride * 4, cols).slice();
      const want = q8KFromGGUF(quantizeRow(GGMLType.Q8_K, row), cols);
      assert.deepEqual(new Uint8Array(s.memory.buffer, a + t * st, st), want, `token ${t}`);
    }
    // Ties in magnitude: the first value wins, and decides the sign of d.
    const d0 = new Float32Array(s.memory.buffer, a + cols, cols >> 8);
    assert.equal(d0[2], -1);
    assert.ok(d0[3] < 0 && d0[4] > 0, `d of the tie blocks: ${d0[3]}, ${d0[4]}`);
    assert.ok(Object.is(d0[0], 0) && Object.is(d0[1], 0));
    // Only the asked tokens are written.
    const c = s.alloc(nTok * st);
    const cu = new Uint8Array(s.memory.buffer, c, nTok * st).fill(0x77);
    s.k.quantize_q8_K(xf, xStride, c, cols, 2, 3);
    assert.deepEqual(cu.subarray(2 * st, 3 * st), new Uint8Array(s.memory.buffer, a + 2 * st, st));
    assert.ok(cu.subarray(0, 2 * st).every((u) => u === 0x77) && cu.subarray(3 * st).every((u) => u === 0x77));
  });

  for (const type of K_TYPES) {
    test(`matmul ${GGMLType[type]} (${variant}) matches the reference on odd shapes`, () => {
      const s = setup(variant);
      const rng = new Rng([23, type]);
      const shapes: [number, number, number][] = [
        [1, 256, 1], [3, 512, 2], [5, 768, 9], [17, 256, 17], [67, 4096, 3], [8, 1024, 8], [13, 2816, 11], [6, 1280, 1],
        [19, 512, 1], [64, 256, 1], // decode: eight row streams and a remainder
      ];
      for (const [rows, cols, nTok] of shapes) {
        s.reset();
        const rb = rowBytes(type, cols);
        const w = s.alloc(rows * rb);
        fillWeights(s.memory, w, type, rows, cols, rng);
        const xf = s.alloc(nTok * cols * 4);
        fillF32(s.memory, xf, nTok * cols, rng);
        const xStride = activationStride("q8_K", cols);
        const x = s.alloc(nTok * xStride);
        s.k.quantize_q8_K(xf, cols, x, cols, 0, nTok);
        const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
        s.k.matmul(type, w, rb, x, xStride, y1, rows, cols, nTok, 0, rows);
        s.ref.matmul(type, w, rb, x, xStride, y2, rows, cols, nTok, 0, rows);
        const a = new Float32Array(s.memory.buffer, y1, nTok * rows), b = new Float32Array(s.memory.buffer, y2, nTok * rows);
        const err = maxRelErr(a, b, Math.sqrt(cols) * 0.5);
        assert.ok(err < 1e-5, `${GGMLType[type]} ${rows}x${cols} x${nTok}: max error ${err}`);
        // And the Q8_K activations mean what they should: close to the f32 product of the dequantised weights.
        const f = new Float32Array(nTok * rows);
        const xv = new Float32Array(s.memory.buffer, xf, nTok * cols);
        for (let r = 0; r < rows; r++) {
          const wr = dequantizeRow(type, new Uint8Array(s.memory.buffer, w + r * rb, rb), cols);
          for (let t = 0; t < nTok; t++) {
            let acc = 0;
            for (let i = 0; i < cols; i++) acc += wr[i] * xv[t * cols + i];
            f[t * rows + r] = acc;
          }
        }
        const qerr = maxRelErr(b, f, Math.sqrt(cols) * 0.5);
        assert.ok(qerr < 0.03, `${GGMLType[type]} ${rows}x${cols}: Q8_K activations are off the f32 product by ${qerr}`);
      }
    });

    test(`matmul ${GGMLType[type]} (${variant}) gives exact integer results at the extremes`, () => {
      // Weight and activation scales of 1, so every product is an integer: the integer dot products
      // (relaxed or not) must be exact. Quant bytes, scales and mins are raw random bytes (every 6-bit
      // scale/min pattern, int8 Q6_K scales down to -128) or extremes; activations use the full int8
      // range including -128, which the quantiser itself never produces.
      const s = setup(variant);
      const rng = new Rng([29, type]);
      const cols = 256, rows = 13, nTok = 10;
      const rb = rowBytes(type, cols);
      const w = s.alloc(rows * rb);
      const wb = new Uint8Array(s.memory.buffer, w, rows * rb);
      for (let i = 0; i < wb.length; i++) wb[i] = rng.nextU32() & 0xff;
      const dv = new DataView(s.memory.buffer, w, rows * rb);
      for (let r = 0; r < rows; r++) {
        const o = r * rb;
        const pattern = r % 4; // 0: random, 1: largest quants, 2: smallest quants, 3: random with one sub-block
        if (type === GGMLType.Q6_K) {
          dv.setUint16(o + 208, HALF_ONE, true);
          if (pattern === 1) { wb.fill(0xff, o, o + 192); }
          if (pattern === 2) { wb.fill(0x00, o, o + 192); }
          if (pattern !== 0) {
            wb.fill(0, o + 192, o + 208);
            wb[o + 192 + (r % 16)] = pattern === 1 ? 0x80 : 0x7f; // -128 or 127
            wb[o + 192 + ((r + 5) % 16)] = pattern === 1 ? 64 : 0xc0; // 64 or -64
          } else {
            for (let g = 0; g < 16; g++) wb[o + 192 + g] = (wb[o + 192 + g] & 0x3f) - 32; // keep sums below 2^24
          }
        } else {
          dv.setUint16(o, HALF_ONE, true);
          dv.setUint16(o + 2, HALF_ONE, true);
          // the quant bytes start at o + 16 (Q5_K: qh[32], then qs)
          if (pattern === 1) wb.fill(0xff, o + 16, o + rb);
          if (pattern === 2) wb.fill(0x00, o + 16, o + rb);
          if (pattern === 0) {
            for (let i = 0; i < 4; i++) wb[o + 4 + i] &= 0x5f; // scales below 32, to keep sums below 2^24
          } else {
            // one sub-block j with scale 63 (for j >= 4 its top bits sit in byte j - 4), mins 63
            const j = r % 8;
            wb.fill(0, o + 4, o + 16);
            if (j < 4) { wb[o + 4 + j] = 63; } else { wb[o + 4 + j + 4] = 0x0f; wb[o + 4 + j - 4] = 0xc0; }
            for (let m = 0; m < 8; m++) {
              if (m < 4) wb[o + 4 + m + 4] |= 63; else { wb[o + 4 + m + 4] |= 0xf0; wb[o + 4 + m] |= 0xc0; }
            }
          }
        }
      }
      const st = activationStride("q8_K", cols);
      const x = s.alloc(nTok * st);
      const xv = new DataView(s.memory.buffer, x, nTok * st);
      for (let t = 0; t < nTok; t++) {
        const qs = new Int8Array(s.memory.buffer, x + t * st, cols);
        for (let i = 0; i < cols; i++) {
          if (t === 0) qs[i] = -128;
          else if (t === 1) qs[i] = 127;
          else if (t === 2) qs[i] = i & 1 ? 127 : -128;
          else if (type === GGMLType.Q6_K) qs[i] = (rng.nextU32() & 0x7f) - 64;
          else qs[i] = (rng.nextU32() & 0xff) - 128;
        }
        xv.setFloat32(t * st + cols, 1, true);
        for (let g = 0; g < 16; g++) {
          let sum = 0;
          for (let i = 0; i < 16; i++) sum += qs[16 * g + i];
          xv.setInt16(t * st + cols + 4 + 2 * g, sum, true);
        }
        for (let j = 0; j < 8; j++) {
          let sum = 0;
          for (let i = 0; i < 32; i++) sum += qs[32 * j + i];
          xv.setInt16(t * st + cols + 36 + 2 * j, sum, true);
        }
      }
      // Every partial sum stays below 2^24, so the f32 results are exact too.
      for (let r = 0; r < rows; r++) {
        const wr = dequantizeRow(type, new Uint8Array(s.memory.buffer, w + r * rb, rb), cols);
        for (let t = 0; t < nTok; t++) {
          const qs = new Int8Array(s.memory.buffer, x + t * st, cols);
          let bound = 0;
          for (let i = 0; i < cols; i++) {
            assert.ok(Number.isInteger(wr[i]));
            bound += Math.abs(wr[i] * qs[i]);
          }
          assert.ok(bound < 2 ** 24, `row ${r} token ${t}: |terms| sum to ${bound}`);
        }
      }
      const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
      s.k.matmul(type, w, rb, x, st, y1, rows, cols, nTok, 0, rows);
      s.ref.matmul(type, w, rb, x, st, y2, rows, cols, nTok, 0, rows);
      const a = new Float32Array(s.memory.buffer, y1, nTok * rows), b = new Float32Array(s.memory.buffer, y2, nTok * rows);
      for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i], `${GGMLType[type]} row ${i % rows} token ${Math.floor(i / rows)}`);
    });
  }
}

test("the 2-thread pool gives bit-identical K-quant results to one thread", async () => {
  const variant = detectVariant();
  const s = setup(variant);
  const rng = new Rng(31);
  const rows = 203, cols = 1280, nTok = 11;
  const xf = s.alloc(nTok * cols * 4);
  fillF32(s.memory, xf, nTok * cols, rng);
  const st = activationStride("q8_K", cols);
  const x1 = s.alloc(nTok * st), x2 = s.alloc(nTok * st);
  const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
  const pool = await Pool.create({ nThreads: 2, variant, memories: [s.memory], lutPtrs: [s.lut] });
  try {
    pool.run(0, "quantize_q8_K", xf, cols, x1, cols, 0, nTok);
    s.k.quantize_q8_K(xf, cols, x2, cols, 0, nTok);
    assert.deepEqual(new Uint8Array(s.memory.buffer, x1, nTok * st), new Uint8Array(s.memory.buffer, x2, nTok * st));
    for (const type of K_TYPES) {
      const rb = rowBytes(type, cols);
      const w = s.alloc(rows * rb);
      fillWeights(s.memory, w, type, rows, cols, rng);
      for (let rep = 0; rep < 20; rep++) pool.run(0, "matmul", type, w, rb, x1, st, y1, rows, cols, nTok, 0, rows);
      s.k.matmul(type, w, rb, x1, st, y2, rows, cols, nTok, 0, rows);
      assert.deepEqual(new Float32Array(s.memory.buffer, y1, nTok * rows), new Float32Array(s.memory.buffer, y2, nTok * rows), GGMLType[type]);
    }
  } finally {
    await pool.close();
  }
});
