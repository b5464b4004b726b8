// Every WebAssembly kernel against its plain-TypeScript twin (src/kernels/ref.ts), on random data
// and odd shapes, for both builds (baseline SIMD and relaxed SIMD) and for 1 vs 2 threads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GGMLType, rowBytes } from "../../src/format/ggml-types.js";
import { floatToBf16, floatToHalf, halfToFloat } from "../../src/format/f16.js";
import { quantizeRow } from "../../src/format/quantize.js";
import { Rng } from "../../src/util/rng.js";
import { VARIANTS, fillF32, maxRelErr, setup } from "../helpers/kernels.js";
import { Pool } from "../../src/kernels/pool.js";
import { detectVariant, type KernelExports } from "../../src/kernels/wasm.js";




/** Random weights of `type`, `rows` x `cols`, written at ptr. */
function fillWeights(mem: WebAssembly.Memory, ptr: number, type: number, rows: number, cols: number, rng: Rng): void {
  const rb = rowBytes(type, cols);
  const u8 = new Uint8Array(mem.buffer, ptr, rows * rb);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) row[i] = rng.normal() * 0.5;
    let bytes: Uint8Array;
    if (type === GGMLType.F32) bytes = new Uint8Array(row.slice().buffer);
    else if (type === GGMLType.F16) bytes = new Uint8Array(Uint16Array.from(row, floatToHalf).buffer);
    else if (type === GGMLType.BF16) bytes = new Uint8Array(Uint16Array.from(row, floatToBf16).buffer);
    else bytes = quantizeRow(type, row);
    u8.set(bytes, r * rb);
  }
}


const variants = VARIANTS;

test("relaxed SIMD is detected on this Node", () => {
  // Node 20's V8 supports relaxed SIMD behind a flag, which wasm.ts sets at run time; Node >= 22 ships
  // it. Which relaxed build runs (relaxed or dotadd) depends on how V8 lowers the dot-add instruction.
  assert.ok(["relaxed", "dotadd"].includes(detectVariant()), detectVariant());
});

for (const variant of variants) {
  const types = [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0];
  for (const type of types) {
    test(`matmul ${GGMLType[type]} (${variant}) matches the reference on odd shapes`, () => {
      const s = setup(variant);
      const rng = new Rng([7, type]);
      const q8 = type === GGMLType.Q8_0 || type === GGMLType.Q4_0;
      const shapes: [number, number, number][] = q8 || type !== GGMLType.F32
        ? [[1, 32, 1], [3, 64, 2], [5, 96, 9], [17, 256, 17], [67, 4096, 3], [8, 1024, 8]]
        : [[1, 1, 1], [3, 7, 2], [5, 33, 9], [17, 130, 17], [67, 4096, 3], [8, 1023, 8]];
      for (const [rows, cols, nTok] of shapes) {
        if (type !== GGMLType.F32 && !q8 && cols % 4 !== 0) continue;
        s.reset();
        const rb = rowBytes(type, cols);
        const w = s.alloc(rows * rb);
        fillWeights(s.memory, w, type, rows, cols, rng);
        const xf = s.alloc(nTok * cols * 4);
        fillF32(s.memory, xf, nTok * cols, rng);
        let x = xf, xStride = cols * 4;
        if (q8) {
          xStride = s.k.q8Stride(cols);
          x = s.alloc(nTok * xStride);
          s.k.quantize_q8_0(xf, cols, x, cols, 0, nTok);
        }
        const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
        s.k.matmul(type, w, rb, x, xStride, y1, rows, cols, nTok, 0, rows);
        s.ref.matmul(type, w, rb, x, xStride, y2, rows, cols, nTok, 0, rows);
        const a = new Float32Array(s.memory.buffer, y1, nTok * rows), b = new Float32Array(s.memory.buffer, y2, nTok * rows);
        // f32 accumulation against float64: relative to the size of the terms (sqrt(cols) * |w||x|).
        const err = maxRelErr(a, b, Math.sqrt(cols) * 0.5);
        assert.ok(err < 1e-5, `${GGMLType[type]} ${rows}x${cols} x${nTok}: max error ${err}`);
      }
    });
  }

  test(`quantize_q8_0 (${variant}) is bit-identical to the reference`, () => {
    const s = setup(variant);
    const rng = new Rng(3);
    const cols = 4096, nTok = 5;
    const xf = s.alloc(nTok * cols * 4);
    const v = fillF32(s.memory, xf, nTok * cols, rng);
    v.fill(0, 0, 32); // an all-zero block
    for (let i = 32; i < 64; i++) v[i] = (i - 48) * 0.5; // exact .5 ties after scaling
    const st = s.k.q8Stride(cols);
    const a = s.alloc(nTok * st), b = s.alloc(nTok * st);
    s.k.quantize_q8_0(xf, cols, a, cols, 0, nTok);
    s.ref.quantize_q8_0(xf, cols, b, cols, 0, nTok);
    assert.deepEqual(new Uint8Array(s.memory.buffer, a, nTok * st), new Uint8Array(s.memory.buffer, b, nTok * st));
  });

  test(`rmsnorm, rope, silu_mul, add, store_kv (${variant}) match the reference`, () => {
    const s = setup(variant);
    const rng = new Rng(11);
    const n = 130, nTok = 3;
    const x = s.alloc(n * nTok * 4), w = s.alloc(n * 4), y1 = s.alloc(n * nTok * 4), y2 = s.alloc(n * nTok * 4);
    fillF32(s.memory, x, n * nTok, rng); fillF32(s.memory, w, n, rng);
    s.k.rmsnorm(x, w, y1, n, 1e-5, 0, nTok); s.ref.rmsnorm(x, w, y2, n, 1e-5, 0, nTok);
    const f = (p: number, m: number) => new Float32Array(s.memory.buffer, p, m);
    assert.ok(maxRelErr(f(y1, n * nTok), f(y2, n * nTok), 1) < 1e-5);

    const headDim = 8, nHeads = 3, stride = 30; // 24 rotated values of 30 per token
    const cs = s.alloc(nTok * headDim * 4);
    const c = f(cs, nTok * headDim);
    for (let t = 0; t < nTok; t++) for (let i = 0; i < headDim; i += 2) {
      const ang = (t + 5) * Math.pow(1e6, -i / headDim);
      c[t * headDim + i] = Math.cos(ang); c[t * headDim + i + 1] = Math.sin(ang);
    }
    const r1 = s.alloc(stride * nTok * 4), r2 = s.alloc(stride * nTok * 4);
    fillF32(s.memory, r1, stride * nTok, rng);
    f(r2, stride * nTok).set(f(r1, stride * nTok));
    s.k.rope(r1, stride, nHeads, headDim, cs, 0, nTok); s.ref.rope(r2, stride, nHeads, headDim, cs, 0, nTok);
    assert.ok(maxRelErr(f(r1, stride * nTok), f(r2, stride * nTok), 1) < 1e-6);
    // the 6 values past the heads are untouched
    assert.deepEqual(f(r1 + 24 * 4, 6), f(r2 + 24 * 4, 6));

    const g = s.alloc(n * 4), u = s.alloc(n * 4), o1 = s.alloc(n * 4), o2 = s.alloc(n * 4);
    fillF32(s.memory, g, n, rng, 4); fillF32(s.memory, u, n, rng);
    s.k.silu_mul(g, u, o1, 0, n); s.ref.silu_mul(g, u, o2, 0, n);
    assert.ok(maxRelErr(f(o1, n), f(o2, n), 1) < 1e-6);

    f(o2, n).set(f(o1, n));
    s.k.add(o1, g, n); s.ref.add(o2, g, n);
    assert.deepEqual(f(o1, n), f(o2, n));

    const h1 = s.alloc(n * 2), h2 = s.alloc(n * 2);
    const xs = f(g, n);
    xs[0] = 65519; xs[1] = 65520; xs[2] = 2 ** -25; xs[3] = 3 * 2 ** -26; xs[4] = -0; xs[5] = 1e-8; // rounding edges
    s.k.store_kv(g, h1, n, 1); s.ref.store_kv(g, h2, n, 1); // f16
    assert.deepEqual(new Uint16Array(s.memory.buffer, h1, n), new Uint16Array(s.memory.buffer, h2, n));

    // f16 cache rows are converted eight at a time: every f16 value, the midpoints (ties) between
    // neighbours and a quarter-step either side of them, both signs, and the specials, against the
    // reference's scalar rounding (the count is odd so the one-at-a-time tail runs too)
    const sweep: number[] = [NaN, -NaN, Infinity, -Infinity, 65504, -65504, 65505, 65519.99, -65520, 1e30, 2 ** -149, -(2 ** -126)];
    const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
    for (let h = 0; h < 0x7c00; h++) {
      const v = halfToFloat(h), next = halfToFloat(h + 1), mid = (v + next) / 2, q = (next - v) / 4;
      for (const x of [v, mid, mid - q, mid + q]) { sweep.push(x, -x); }
      u32[0] = (Math.imul(h, 2654435761) >>> 0); sweep.push(f32[0]); // an arbitrary bit pattern
    }
    const m = sweep.length | 1, src = s.alloc(m * 4), k1 = s.alloc(m * 2), k2 = s.alloc(m * 2);
    f(src, m).set(sweep.slice(0, m));
    s.k.store_kv(src, k1, m, 1); s.ref.store_kv(src, k2, m, 1);
    assert.deepEqual(new Uint16Array(s.memory.buffer, k1, m), new Uint16Array(s.memory.buffer, k2, m));
  });

  for (const kvt of [0, 1, 2]) {
    const kvName = ["f32", "f16", "q8_0"][kvt];
    test(`attention with GQA (${variant}, ${kvName} cache) matches the reference`, () => {
      // a causal chunk of ten tokens plus one of another sequence: prefill goes four tokens at a time
      // through K and V where it can (f16 cache); starting at position 1, the first tokens see fewer
      // than four positions; a query value of 70000 makes one-token decode over an f16 cache take
      // its unscaled path (queries are multiplied by 2^112 only when every |q| < 2^16)
      for (const [posBase, bigQ] of [[37, false], [1, false], [9, true]] as const) {
        const s = setup(variant);
        const rng = new Rng([13, posBase]);
        const headDim = 32, nHeads = 4, nKV = 2, nTok = 11;
        const kvDim = nKV * headDim, npos = posBase + nTok;
        const q = s.alloc(nTok * nHeads * headDim * 4);
        fillF32(s.memory, q, nTok * nHeads * headDim, rng);
        if (bigQ) new Float32Array(s.memory.buffer, q, nTok * nHeads * headDim)[headDim + 3] = 70000;
        const row = s.k.kv_bytes(kvt, kvDim);
        assert.equal(row, s.ref.kv_bytes(kvt, kvDim));
        const kc = s.alloc(npos * row), vc = s.alloc(npos * row);
        const tmp = s.alloc(kvDim * 4), chk = s.alloc(row);
        for (let p = 0; p < npos; p++) {
          fillF32(s.memory, tmp, kvDim, rng); s.k.store_kv(tmp, kc + p * row, kvDim, kvt);
          s.ref.store_kv(tmp, chk, kvDim, kvt); // the stored bytes are bit-identical to the reference's
          assert.deepEqual(new Uint8Array(s.memory.buffer, kc + p * row, row), new Uint8Array(s.memory.buffer, chk, row));
          fillF32(s.memory, tmp, kvDim, rng); s.k.store_kv(tmp, vc + p * row, kvDim, kvt);
        }
        const o1 = s.alloc(nTok * nHeads * headDim * 4), o2 = s.alloc(nTok * nHeads * headDim * 4);
        const sc = s.alloc(npos * 4 * (2 * headDim + 4));
        const qs = nHeads * headDim;
        // per token (K ptr, V ptr, positions seen): a causal chunk of one sequence, except that the
        // last token belongs to another "sequence" whose cache starts 3 positions later and is shorter
        const info = s.alloc(nTok * 12);
        const iv = new Int32Array(s.memory.buffer, info, nTok * 3);
        for (let t = 0; t < nTok; t++) iv.set([kc, vc, posBase + t + 1], t * 3);
        iv.set([kc + 3 * row, vc + 3 * row, Math.min(17, npos - 3)], (nTok - 1) * 3);
        s.k.attention(q, qs, info, o1, sc, headDim, nHeads, nKV, kvt, nTok, npos, 0, nTok * nHeads);
        s.ref.attention(q, qs, info, o2, sc, headDim, nHeads, nKV, kvt, nTok, npos, 0, nTok * nHeads);
        // any split of the items, and one token at a time, give the same bits as the whole batch
        const o3 = s.alloc(nTok * nHeads * headDim * 4), o4 = s.alloc(nTok * nHeads * headDim * 4);
        s.k.attention(q, qs, info, o3, sc, headDim, nHeads, nKV, kvt, nTok, npos, 0, 7);
        s.k.attention(q, qs, info, o3, sc, headDim, nHeads, nKV, kvt, nTok, npos, 7, 13);
        s.k.attention(q, qs, info, o3, sc, headDim, nHeads, nKV, kvt, nTok, npos, 13, nTok * nHeads);
        for (let t = 0; t < nTok; t++) {
          s.k.attention(q + t * qs * 4, qs, info + t * 12, o4 + t * qs * 4, sc, headDim, nHeads, nKV, kvt, 1, npos, 0, nHeads);
        }
        const whole = new Uint8Array(s.memory.buffer, o1, nTok * qs * 4);
        assert.deepEqual(new Uint8Array(s.memory.buffer, o3, nTok * qs * 4), whole);
        assert.deepEqual(new Uint8Array(s.memory.buffer, o4, nTok * qs * 4), whole);
        const a = new Float32Array(s.memory.buffer, o1, nTok * qs), b = new Float32Array(s.memory.buffer, o2, nTok * qs);
        assert.ok(maxRelErr(a, b, 1) < 2e-6, `max error ${maxRelErr(a, b, 1)}`);
      }
    });
  }
}

test("the 2-thread pool gives bit-identical results to one thread", async () => {
  const variant = detectVariant();
  const s = setup(variant);
  const rng = new Rng(5);
  const rows = 203, cols = 512, nTok = 3, type = GGMLType.Q4_0;
  const rb = rowBytes(type, cols);
  const w = s.alloc(rows * rb);
  fillWeights(s.memory, w, type, rows, cols, rng);
  const xf = s.alloc(nTok * cols * 4);
  fillF32(s.memory, xf, nTok * cols, rng);
  const st = s.k.q8Stride(cols);
  const x = s.alloc(nTok * st);
  const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
  const pool = await Pool.create({ nThreads: 2, variant, memories: [s.memory], lutPtrs: [s.lut] });
  try {
    pool.run(0, "quantize_q8_0", xf, cols, x, cols, 0, nTok);
    for (let rep = 0; rep < 50; rep++) pool.run(0, "matmul", type, w, rb, x, st, y1, rows, cols, nTok, 0, rows);
    s.k.matmul(type, w, rb, x, st, y2, rows, cols, nTok, 0, rows);
    assert.deepEqual(new Float32Array(s.memory.buffer, y1, nTok * rows), new Float32Array(s.memory.buffer, y2, nTok * rows));
  } finally {
    await pool.close();
  }
});

export type { KernelExports };

test("x4 repacking is an exact in-place round trip (TypeScript and wasm alike), and the x4 kernels match the reference", async () => {
  const { KIND_Q4_0X4, KIND_Q8_0X4, kernelKind, repackX4, unpackX4Row, BadScaleError } = await import("../../src/kernels/repack.js");
  assert.equal(kernelKind(GGMLType.Q4_0, 8), KIND_Q4_0X4);
  assert.equal(kernelKind(GGMLType.Q4_0, 6), GGMLType.Q4_0); // rows not a multiple of 4 keep the GGUF layout
  for (const variant of variants) {
    for (const [type, kind] of [[GGMLType.Q8_0, KIND_Q8_0X4], [GGMLType.Q4_0, KIND_Q4_0X4]]) {
      for (const [rows, cols, nTok] of [[4, 32, 1], [12, 96, 3], [36, 4096, 9], [8, 1024, 5], [8, 160, 2], [16, 4096, 1], [40, 256, 1], [104, 96, 1]]) {
        const s = setup(variant);
        const rng = new Rng([17, type, rows]);
        const rb = rowBytes(type, cols);
        const w = s.alloc(rows * rb);
        fillWeights(s.memory, w, type, rows, cols, rng);
        const bytes = new Uint8Array(s.memory.buffer, w, rows * rb);
        const gguf = bytes.slice();
        // the wasm repacking (what the loader runs) gives the TypeScript twin's bytes
        const tmp = s.alloc(4 * rb);
        assert.equal(s.k.repack_x4(kind, w, rows, cols, tmp), 0);
        const viaWasm = bytes.slice();
        bytes.set(gguf);
        repackX4(kind, bytes, rows, cols);
        assert.deepEqual(viaWasm, bytes.slice());
        if (rows > 4) assert.notDeepEqual(bytes.slice(), gguf);
        for (let r = 0; r < rows; r++) assert.deepEqual(unpackX4Row(kind, bytes, r, cols), gguf.subarray(r * rb, (r + 1) * rb));
        const xf = s.alloc(nTok * cols * 4);
        fillF32(s.memory, xf, nTok * cols, rng);
        const st = s.k.q8Stride(cols), x = s.alloc(nTok * st);
        s.k.quantize_q8_0(xf, cols, x, cols, 0, nTok);
        const y1 = s.alloc(nTok * rows * 4), y2 = s.alloc(nTok * rows * 4);
        s.k.matmul(kind, w, rb, x, st, y1, rows, cols, nTok, 0, rows);
        s.ref.matmul(kind, w, rb, x, st, y2, rows, cols, nTok, 0, rows);
        const err = maxRelErr(new Float32Array(s.memory.buffer, y1, nTok * rows), new Float32Array(s.memory.buffer, y2, nTok * rows), Math.sqrt(cols) * 0.5);
        assert.ok(err < 1e-5, `${variant} kind ${kind} ${rows}x${cols} x${nTok}: ${err}`);
      }
      {
        // every kind of finite scale decodes exactly: zeros of both signs, subnormals, the largest
        const s = setup(variant);
        const rows = 64, cols = 128, rb = rowBytes(type, cols), blk = rb / 4;
        const w = s.alloc(rows * rb);
        fillWeights(s.memory, w, type, rows, cols, new Rng(9));
        const dv = new DataView(s.memory.buffer, w, rows * rb);
        const halves = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0xbc00];
        for (let r = 0; r < rows; r++) for (let b = 0; b < 4; b++) dv.setUint16(r * rb + b * blk, halves[(r * 4 + b) % halves.length], true);
        assert.equal(s.k.repack_x4(kind, w, rows, cols, s.alloc(4 * rb)), 0);
        const xf = s.alloc(cols * 4);
        fillF32(s.memory, xf, cols, new Rng(10));
        const st = s.k.q8Stride(cols), x = s.alloc(st);
        s.k.quantize_q8_0(xf, cols, x, cols, 0, 1);
        const y1 = s.alloc(rows * 4), y2 = s.alloc(rows * 4);
        s.k.matmul(kind, w, rb, x, st, y1, rows, cols, 1, 0, rows);
        s.ref.matmul(kind, w, rb, x, st, y2, rows, cols, 1, 0, rows);
        const a = new Float32Array(s.memory.buffer, y1, rows), e = new Float32Array(s.memory.buffer, y2, rows);
        for (let r = 0; r < rows; r++) assert.ok(Math.abs(a[r] - e[r]) <= 1e-5 * Math.max(1, Math.abs(e[r])), `${variant} kind ${kind} row ${r}: ${a[r]} vs ${e[r]}`);
      }
      // an inf or NaN scale is refused by both, naming its row and block
      const s = setup(variant);
      const rows = 8, cols = 96, rb = rowBytes(type, cols);
      const w = s.alloc(rows * rb);
      fillWeights(s.memory, w, type, rows, cols, new Rng(5));
      const bytes = new Uint8Array(s.memory.buffer, w, rows * rb);
      bytes[5 * rb + 2 * (rb / 3) + 1] = 0x7e; // row 5, block 2: f16 NaN
      const gguf = bytes.slice();
      assert.throws(() => repackX4(kind, bytes, rows, cols), (e: unknown) => e instanceof BadScaleError && e.row === 5 && e.block === 2 && /NaN/.test(e.message));
      bytes.set(gguf);
      assert.equal(s.k.repack_x4(kind, w, rows, cols, s.alloc(4 * rb)), 1 + 5 * 3 + 2);
    }
  }
});

test("Q8_0x4 and Q4_0x4 give exact integer results at the extremes, decode and prefill alike", async () => {
  // Block scales of 1 (weights and activations), so every result is an integer below 2^24: the
  // integer dot products (Q8_0 decode splits activations into max(x, 0) and max(-x, 0) in the relaxed
  // build) must be exact. Weight bytes take the whole int8 range (-128 included, which a file may
  // hold) or the nibble extremes; activations the quantiser's range [-127, 127].
  const { KIND_Q4_0X4, KIND_Q8_0X4 } = await import("../../src/kernels/repack.js");
  for (const variant of variants) {
    for (const [type, kind] of [[GGMLType.Q8_0, KIND_Q8_0X4], [GGMLType.Q4_0, KIND_Q4_0X4]]) {
      const s = setup(variant);
      const rng = new Rng([31, type]);
      // 48 rows: one run of the eight-stream decode kernel (32 rows) and a four-row remainder
      const rows = 48, cols = 256, nTok = 9, bs = type === GGMLType.Q8_0 ? 34 : 18, nb = cols / 32;
      const rb = rowBytes(type, cols);
      const w = s.alloc(rows * rb);
      const wb = new Uint8Array(s.memory.buffer, w, rows * rb), dv = new DataView(s.memory.buffer);
      const wq: number[][] = []; // the weights' integer values
      for (let r = 0; r < rows; r++) {
        const vals: number[] = [];
        for (let b = 0; b < nb; b++) {
          const o = r * rb + b * bs;
          dv.setUint16(w + o, 0x3c00, true);
          for (let i = 0; i < bs - 2; i++) {
            const byte = r % 4 === 1 ? 0x80 : r % 4 === 2 ? (type === GGMLType.Q8_0 ? 0x7f : 0xff) : r % 4 === 3 ? 0x00 : rng.nextU32() & 0xff;
            wb[o + 2 + i] = byte;
          }
          if (type === GGMLType.Q8_0) for (let i = 0; i < 32; i++) vals.push((wb[o + 2 + i] << 24) >> 24);
          else {
            for (let i = 0; i < 16; i++) vals[b * 32 + i] = (wb[o + 2 + i] & 15) - 8;
            for (let i = 0; i < 16; i++) vals[b * 32 + 16 + i] = (wb[o + 2 + i] >> 4) - 8;
          }
        }
        wq.push(vals);
      }
      assert.equal(s.k.repack_x4(kind, w, rows, cols, s.alloc(4 * rb)), 0);
      const st = s.k.q8Stride(cols), x = s.alloc(nTok * st);
      const xq: number[][] = [];
      for (let t = 0; t < nTok; t++) {
        const qs = new Int8Array(s.memory.buffer, x + t * st, cols);
        for (let i = 0; i < cols; i++) qs[i] = t === 0 ? -127 : t === 1 ? 127 : t === 2 ? (i & 1 ? 127 : -127) : (rng.nextU32() % 255) - 127;
        xq.push(Array.from(qs));
        for (let b = 0; b < nb; b++) {
          dv.setFloat32(x + t * st + cols + b * 4, 1, true);
          let sum = 0;
          for (let i = 0; i < 32; i++) sum += qs[b * 32 + i];
          dv.setInt32(x + t * st + cols + nb * 4 + b * 4, 8 * sum, true);
        }
      }
      const yBatch = s.alloc(nTok * rows * 4), yOne = s.alloc(nTok * rows * 4);
      s.k.matmul(kind, w, rb, x, st, yBatch, rows, cols, nTok, 0, rows);
      for (let t = 0; t < nTok; t++) s.k.matmul(kind, w, rb, x + t * st, st, yOne + t * rows * 4, rows, cols, 1, 0, rows);
      const exact = new Float32Array(nTok * rows);
      for (let t = 0; t < nTok; t++) for (let r = 0; r < rows; r++) {
        let acc = 0;
        for (let i = 0; i < cols; i++) acc += wq[r][i] * xq[t][i];
        exact[t * rows + r] = acc;
      }
      assert.deepEqual(new Float32Array(s.memory.buffer, yBatch, nTok * rows), exact, `${GGMLType[type]} (${variant}) prefill`);
      assert.deepEqual(new Float32Array(s.memory.buffer, yOne, nTok * rows), exact, `${GGMLType[type]} (${variant}) decode`);
    }
  }
});
