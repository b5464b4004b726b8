/**
 * f16/bf16 conversions and the quantisers.
 *  - Conversions: exhaustive round trips, every rounding tie, and comparison with independent
 *    reference conversions written here (ggml's float-arithmetic f32->f16 trick; a by-value
 *    nearest-neighbour search for bf16).
 *  - llama.cpp-exact quantisers: hand-checked bytes for ties, all-zero blocks, sign of max,
 *    and the "d rounded to f16 only after the quants" rule.
 *  - Simple K-quantisers: dequant(quant(x)) within the error bound stated in quantize.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToFloat, f32Bits, f32FromBits, floatToBf16, floatToHalf, halfTable, halfToFloat } from "../../src/format/f16.js";
import { dequantizeRow } from "../../src/format/dequant.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { quantizeRow, quantizeTensor } from "../../src/format/quantize.js";
import { Rng } from "../../src/util/rng.js";
import { UserError } from "../../src/util/errors.js";

const fr = Math.fround;
const hex = (n: number) => "0x" + n.toString(16);

// ------------------------------------------------------------------ independent references

/** ggml's portable GGML_FP32_TO_FP16 (float-arithmetic version), transcribed with f32 rounding. */
function refFp32ToFp16(f: number): number {
  const base0 = fr(fr(Math.abs(f) * 2 ** 112) * 2 ** -110);
  const w = f32Bits(f);
  const shl1w = (w * 2) % 2 ** 32;
  const sign = w & 0x80000000;
  let bias = (shl1w & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  const base = fr(f32FromBits((bias >>> 1) + 0x07800000) + base0);
  const bits = f32Bits(base);
  const nonsign = ((bits >>> 13) & 0x7c00) + (bits & 0x0fff);
  return (sign >>> 16) | (shl1w > 0xff000000 ? 0x7e00 : nonsign);
}

/** Nearest bf16 by value (ties to even mantissa); finite non-NaN input. */
function refBf16(f: number): number {
  const w = f32Bits(f);
  const down = w >>> 16, up = down + 1;
  const vd = f32FromBits(down << 16);
  // The upper neighbour may be past the largest finite value: treat it as 2^128 (IEEE rounding).
  const vu = (up & 0x7fff) === 0x7f80 ? Math.sign(vd || 1) * 2 ** 128 : f32FromBits((up << 16) >>> 0);
  const x = f32FromBits(w);
  const dd = Math.abs(x - vd), du = Math.abs(vu - x);
  if (dd < du) return down;
  if (du < dd) return up & 0xffff;
  return down % 2 === 0 ? down : up & 0xffff;
}

// ------------------------------------------------------------------ f16

test("f16 -> f32 -> f16 is the identity for all 65536 halves (NaNs stay NaN), and the table agrees", () => {
  const T = halfTable();
  const tBits = new Uint32Array(T.buffer);
  for (let h = 0; h < 65536; h++) {
    const v = halfToFloat(h);
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) {
      assert.ok(Number.isNaN(v) && Number.isNaN(T[h]), hex(h));
      const back = floatToHalf(v);
      assert.ok((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0, `NaN ${hex(h)} -> ${hex(back)}`);
      assert.equal(tBits[h], (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0, `NaN payload ${hex(h)}`);
    } else {
      if (floatToHalf(v) !== h) assert.fail(`${hex(h)} -> ${v} -> ${hex(floatToHalf(v))}`);
      assert.ok(Object.is(T[h], v), `table ${hex(h)}`);
    }
  }
});

test("f32 -> f16 ties go to the even half, everywhere (normal, subnormal, overflow)", () => {
  for (let h = 0; h < 0x7bff; h++) {
    const a = halfToFloat(h), b = halfToFloat(h + 1);
    const mid = (a + b) / 2; // 12 significant bits: exact in f32
    assert.equal(fr(mid), mid);
    const even = h % 2 === 0 ? h : h + 1;
    if (floatToHalf(mid) !== even) assert.fail(`tie between ${hex(h)} and ${hex(h + 1)}`);
    if (floatToHalf(-mid) !== (even | 0x8000)) assert.fail(`negative tie ${hex(h)}`);
    // One f32 ulp either side of the tie picks the nearer half.
    const below = f32FromBits(f32Bits(mid) - 1), above = f32FromBits(f32Bits(mid) + 1);
    if (h > 0 && floatToHalf(below) !== h) assert.fail(`just below tie ${hex(h)}`);
    if (floatToHalf(above) !== h + 1) assert.fail(`just above tie ${hex(h)}`);
  }
  assert.equal(floatToHalf(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal -> 0
  assert.equal(floatToHalf(3 * 2 ** -25), 0x0002); // tie between 1 and 2 -> 2
  assert.equal(floatToHalf(-(2 ** -26)), 0x8000); // underflow keeps the sign
  assert.equal(floatToHalf(1e-45), 0x0000);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(f32FromBits(0x477fefff)), 0x7bff); // just below 65520
  assert.equal(floatToHalf(65520), 0x7c00); // tie between 65504 and 65536 -> even -> inf
  assert.equal(floatToHalf(-1e10), 0xfc00);
  assert.equal(floatToHalf(Infinity), 0x7c00);
  assert.equal(floatToHalf(NaN), 0x7e00);
  assert.equal(floatToHalf(f32FromBits(0xffc00123)), 0xfe00); // negative NaN keeps its sign (ggml)
  assert.equal(floatToHalf(-0), 0x8000);
  assert.equal(floatToHalf(1 / 3), 0x3555);
  // The argument is rounded to f32 first: 1 + 2^-11 + 2^-40 is an f32 tie after that rounding.
  assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -40), 0x3c00);
});

test("f32 -> f16 agrees with ggml's float-arithmetic conversion on 300000 random f32 patterns", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 300000; i++) {
    // Mix raw bit patterns with values concentrated in the half range.
    const bits = i % 2 ? rng.nextU32() : ((rng.nextU32() & 0x80ffffff) | ((96 + (rng.nextU32() % 64)) << 23)) >>> 0;
    const f = f32FromBits(bits);
    const a = floatToHalf(f), b = refFp32ToFp16(f);
    if (a !== b) assert.fail(`f32 ${hex(bits)}: ${hex(a)} vs ggml ${hex(b)}`);
  }
});

// ------------------------------------------------------------------ bf16

test("bf16: all 65536 round-trip (NaNs made quiet), ties to even, ggml's NaN and overflow rules", () => {
  for (let b = 0; b < 65536; b++) {
    const v = bf16ToFloat(b);
    const isNaN = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    assert.equal(floatToBf16(v), isNaN ? (f32Bits(v) >>> 16) | 64 : b, hex(b));
  }
  const cases: [number, number][] = [
    [0x3f808000, 0x3f80], // tie, even below
    [0x3f818000, 0x3f82], // tie, even above
    [0x3f808001, 0x3f81], // just above the tie
    [0x3f807fff, 0x3f80], // just below
    [0x7f7fffff, 0x7f80], // largest f32 rounds to +inf (as ggml)
    [0x7f800000, 0x7f80],
    [0xff800000, 0xff80],
    [0x7f800001, 0x7fc0], // signalling NaN made quiet
    [0xff812345, 0xffc1],
    [0x00000001, 0x0000], // f32 subnormal rounds (ggml does not flush)
    [0x00008000, 0x0000], // tie, even below
    [0x00018000, 0x0002],
    [0x80000000, 0x8000],
  ];
  for (const [x, want] of cases) assert.equal(floatToBf16(f32FromBits(x)), want, hex(x));
  const rng = new Rng(11);
  for (let i = 0; i < 100000; i++) {
    const bits = rng.nextU32();
    if ((bits & 0x7fffffff) > 0x7f800000) continue;
    const f = f32FromBits(bits);
    if (floatToBf16(f) !== refBf16(f)) assert.fail(`bf16 of ${hex(bits)}: ${hex(floatToBf16(f))} vs ${hex(refBf16(f))}`);
  }
});

// ------------------------------------------------------------------ Q8_0

/** The block's half scale bits and int8 quants. */
function q8_0Block(bytes: Uint8Array, i = 0): { d: number; q: number[] } {
  const o = 34 * i;
  return { d: bytes[o] | (bytes[o + 1] << 8), q: Array.from(bytes.subarray(o + 2, o + 34), (b) => (b << 24) >> 24) };
}

test("Q8_0: d = amax/127, roundf ties away from zero, d stored as f16 after quantising", () => {
  // amax = 127 -> d = 1, id = 1: x*id is x itself, so .5 cases are exact ties.
  const x = new Float32Array(32);
  x.set([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127, -127, 0.49999997, -0.49999997, 3.4999998]);
  const { d, q } = q8_0Block(quantizeRow(GGMLType.Q8_0, x));
  assert.equal(d, 0x3c00);
  assert.deepEqual(q.slice(0, 12), [1, 2, 3, -1, -2, -3, 127, 127, -127, 0, 0, 3]);
  // amax = 100: d = 100/127 = 0.787401..., whose half is 1613 * 2^-11 = 0.78759765625 (0x3A4D).
  // The quants use the f32 id = 1/d: x = 100.51 d gives 100.51 -> 101, where dividing by the
  // stored half would give 100.485 -> 100.
  const y = new Float32Array(32);
  y[0] = 100;
  y[1] = fr(100.51 * fr(100 / 127));
  y[2] = -100;
  const b = q8_0Block(quantizeRow(GGMLType.Q8_0, y));
  assert.equal(b.d, 0x3a4d);
  assert.deepEqual(b.q.slice(0, 3), [127, 101, -127]);
});

test("Q8_0: all-zero blocks (also -0) give d = +0 and zero quants; several blocks in a row", () => {
  const x = new Float32Array(96);
  x.fill(-0, 0, 32);
  x[40] = -3; // block 1: amax from a negative value, d = 3/127 > 0
  x[41] = 1.5;
  const out = quantizeRow(GGMLType.Q8_0, x);
  assert.equal(out.length, 3 * 34);
  assert.deepEqual([...out.subarray(0, 34)], new Array(34).fill(0));
  const b1 = q8_0Block(out, 1);
  assert.equal(b1.d & 0x8000, 0);
  assert.deepEqual(b1.q.slice(8, 10), [-127, 64]); // 1.5 * 127/3 = 63.5 -> 64 (away from zero)
  assert.deepEqual([...out.subarray(68)], new Array(34).fill(0));
});

// ------------------------------------------------------------------ Q4_0

function q4_0Block(bytes: Uint8Array): { d: number; q: number[] } {
  const q: number[] = [];
  for (let j = 0; j < 16; j++) q[j] = bytes[2 + j] & 15;
  for (let j = 0; j < 16; j++) q[j + 16] = bytes[2 + j] >> 4;
  return { d: bytes[0] | (bytes[1] << 8), q };
}

test("Q4_0: d = max/-8 keeps the sign of the largest value; q = min(15, trunc(x*id + 8.5))", () => {
  // Largest magnitude is negative (-8): d = 1, id = 1.
  const x = new Float32Array(32);
  x.set([-8, 7, 6.5, -0.5, -0.6, 0.5, 2.5, -2.5, 7.4, 8], 0);
  let { d, q } = q4_0Block(quantizeRow(GGMLType.Q4_0, x));
  assert.equal(d, 0x3c00);
  // -8 -> 0; 7 -> 15; 6.5 -> 15; -0.5 -> 8; -0.6 -> 7; 0.5 -> 9; 2.5 -> 11; -2.5 -> 6; 7.4 -> 15;
  // 8 (same magnitude as -8 but later, so not the max) -> 16 -> clamped to 15.
  assert.deepEqual(q.slice(0, 10), [0, 15, 15, 8, 7, 9, 11, 6, 15, 15]);
  assert.equal(q[10], 8); // zeros map to 8
  // Largest magnitude positive, listed first: d = -1, and the later -8 is not the max.
  const y = new Float32Array(32);
  y.set([8, -8, -7, 3.5]);
  ({ d, q } = q4_0Block(quantizeRow(GGMLType.Q4_0, y)));
  assert.equal(d, 0xbc00);
  assert.deepEqual(q.slice(0, 4), [0, 15, 15, 5]); // 8*-1+8.5=0.5->0; 16.5->15; 15.5->15; 5.0->5
});

test("Q4_0: an all-zero block stores d = -0 (0/-8), like ggml, and quants 8", () => {
  const out = quantizeRow(GGMLType.Q4_0, new Float32Array(32));
  assert.deepEqual([...out], [0x00, 0x80, ...new Array(16).fill(0x88)]);
});

test("Q4_0: quants use the f32 id, the f16 d comes after", () => {
  // max = -7.3: d = 0.9125 (f32 0.91250002), its half is 0.91259765625 (0x3B4D: 1869 * 2^-11).
  // x = 5.5 d: x*id = 5.5 exactly-ish -> 14.0 -> 14 either way; x = 1.5001 d -> 10.0001 -> 10 with
  // the f32 id, but 1.50 d/d16 = 1.4999 -> 9.9999 -> 9 with the half.
  const x = new Float32Array(32);
  const d = fr(-7.3 / -8);
  x[0] = -7.3;
  x[1] = fr(1.5001 * d);
  const { d: dh, q } = q4_0Block(quantizeRow(GGMLType.Q4_0, x));
  assert.equal(dh, 0x3b4d);
  assert.equal(q[0], 0);
  assert.equal(q[1], 10);
});

// ------------------------------------------------------------------ Q8_K

test("Q8_K: iscale = -127/max, nearest_int ties to even, min(127), bsums, f32 d = 1/iscale", () => {
  const x = new Float32Array(256);
  x.set([127, 2.5, 3.5, -0.5, -1.5, -127, 0.5, 1.5]);
  const out = quantizeRow(GGMLType.Q8_K, x);
  const dv = new DataView(out.buffer, out.byteOffset);
  assert.equal(dv.getFloat32(0, true), -1); // iscale = -1
  const q = Array.from(out.subarray(4, 260), (b) => (b << 24) >> 24);
  // 127 -> -127; 2.5 -> -2.5 -> -2; 3.5 -> -3.5 -> -4; -0.5 -> 0; -1.5 -> 2; -127 -> 127; 0.5 -> 0; 1.5 -> -2
  assert.deepEqual(q.slice(0, 8), [-127, -2, -4, 0, 2, 127, 0, -2]);
  assert.equal(dv.getInt16(260, true), -127 - 2 - 4 + 0 + 2 + 127 + 0 - 2);
  for (let k = 1; k < 16; k++) assert.equal(dv.getInt16(260 + 2 * k, true), 0);
  // Negative max: iscale = +127/|max|, d > 0.
  const y = new Float32Array(256);
  y[17] = -0.3;
  y[18] = 0.15;
  const o2 = quantizeRow(GGMLType.Q8_K, y);
  const iscale = fr(-127 / fr(-0.3));
  assert.equal(new DataView(o2.buffer).getFloat32(0, true), fr(1 / iscale));
  assert.equal((o2[4 + 17] << 24) >> 24, -127);
  assert.equal((o2[4 + 18] << 24) >> 24, 64); // 63.5000... -> 64 (0.15*127/0.3 is just above 63.5 in f32)
  assert.equal(new DataView(o2.buffer).getInt16(262, true), -63);
  // All zero: everything zero.
  assert.deepEqual([...quantizeRow(GGMLType.Q8_K, new Float32Array(256))], new Array(292).fill(0));
});

// ------------------------------------------------------------------ round trips with bounds

/** Inputs that stress scale choice: normal, offset, one-signed, mixed sub-block magnitudes, outliers, zeros. */
function testInputs(n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const gen = (f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return [
    gen(() => 0.02 * rng.normal()),
    gen(() => 1 + 0.1 * rng.normal()), // all positive
    gen(() => -3 + rng.normal()), // mostly negative
    gen((i) => rng.normal() * 10 ** (((i >> 4) % 5) - 2)), // magnitudes differ per 16/32-group
    gen((i) => (i % 97 === 0 ? 50 : rng.normal())), // outliers
    gen((i) => ((i >> 5) % 3 === 0 ? 0 : rng.normal())), // whole zero sub-blocks
  ];
}

test("Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 round trips stay within one step of the block scale", () => {
  for (const x of testInputs(1024, 3)) {
    for (const [type, bs, levels] of [[GGMLType.Q8_0, 32, 127], [GGMLType.Q4_0, 32, 8], [GGMLType.Q5_0, 32, 16]] as const) {
      const y = dequantizeRow(type, quantizeRow(type, x), x.length);
      for (let b = 0; b < x.length / bs; b++) {
        let amax = 0;
        for (let j = 0; j < bs; j++) amax = Math.max(amax, Math.abs(x[b * bs + j]));
        const step = amax / levels;
        // Q8_0 rounds (half a step); Q4_0/Q5_0 may clamp the value opposite the max (one step);
        // plus the f16 rounding of d times the largest quant.
        const bound = (type === GGMLType.Q8_0 ? 0.5 : 1) * step + levels * step * 2 ** -11 + 1e-30;
        for (let j = 0; j < bs; j++) {
          const e = Math.abs(y[b * bs + j] - x[b * bs + j]);
          if (!(e <= bound)) assert.fail(`type ${type} block ${b}: error ${e} > ${bound}`);
        }
      }
    }
    for (const [type, levels] of [[GGMLType.Q4_1, 15], [GGMLType.Q5_1, 31]] as const) {
      const y = dequantizeRow(type, quantizeRow(type, x), x.length);
      for (let b = 0; b < x.length / 32; b++) {
        let lo = Infinity, hi = -Infinity;
        for (let j = 0; j < 32; j++) { lo = Math.min(lo, x[32 * b + j]); hi = Math.max(hi, x[32 * b + j]); }
        // Half a step, plus the f16 rounding of d (times up to `levels`) and of the min.
        const step = (hi - lo) / levels;
        const bound = 0.5 * step + levels * step * 2 ** -11 + Math.abs(lo) * 2 ** -11 + 1e-7;
        for (let j = 0; j < 32; j++) {
          const e = Math.abs(y[32 * b + j] - x[32 * b + j]);
          if (!(e <= bound)) assert.fail(`type ${type} block ${b}: error ${e} > ${bound}`);
        }
      }
    }
  }
});

/** The smallest half >= v is at most v(1 + 2^-10) + 2^-24 (relative spacing, or subnormal spacing). */
const halfUp = (v: number) => v * (1 + 2 ** -10) + 2 ** -24;

test("Q4_K / Q5_K (simple): |w - x| <= step_j/2 with step_j <= (hi_j - lo_j + dmin)/nmax + d", () => {
  for (const x of testInputs(2048, 5)) {
    for (const [type, nmax] of [[GGMLType.Q4_K, 15], [GGMLType.Q5_K, 31]] as const) {
      const y = dequantizeRow(type, quantizeRow(type, x), x.length);
      let worst = 0;
      for (let sb = 0; sb < x.length / 256; sb++) {
        // Bound from the input alone: lo_j = min(0, min), hi_j = max; dmin and d as the
        // smallest halves above maxMin/63 and maxNeed/63 (see kScalesMins).
        const lo: number[] = [], hi: number[] = [];
        for (let j = 0; j < 8; j++) {
          const s = x.subarray(256 * sb + 32 * j, 256 * sb + 32 * j + 32);
          lo.push(Math.min(0, ...s));
          hi.push(Math.max(...s));
        }
        const dmin = halfUp(Math.max(...lo.map((v) => -v)) / 63);
        const need = hi.map((h, j) => (h - lo[j] + dmin) / nmax);
        const d = halfUp(Math.max(...need) / 63);
        for (let j = 0; j < 8; j++) {
          const bound = 0.5 * (need[j] + d) * (1 + 1e-6) + 1e-7 * Math.max(Math.abs(lo[j]), Math.abs(hi[j]));
          for (let l = 0; l < 32; l++) {
            const k = 256 * sb + 32 * j + l;
            const e = Math.abs(y[k] - x[k]);
            if (!(e <= bound)) assert.fail(`type ${type} super-block ${sb} sub-block ${j}: error ${e} > ${bound}`);
            worst = Math.max(worst, e / (need[j] || 1));
          }
        }
      }
      // The bound is not vacuous: errors do reach a good part of half a step.
      assert.ok(worst > 0.3, `type ${type}: worst error ${worst} steps`);
    }
  }
});

test("Q6_K (simple): |w - x| <= (amax_k/31 + d)/2 per group of 16", () => {
  for (const x of testInputs(2048, 9)) {
    const y = dequantizeRow(GGMLType.Q6_K, quantizeRow(GGMLType.Q6_K, x), x.length);
    for (let sb = 0; sb < x.length / 256; sb++) {
      const need: number[] = [];
      for (let k = 0; k < 16; k++) {
        let a = 0;
        for (let l = 0; l < 16; l++) a = Math.max(a, Math.abs(x[256 * sb + 16 * k + l]));
        need.push(a / 31);
      }
      const d = halfUp(Math.max(...need) / 127);
      for (let k = 0; k < 16; k++) {
        const bound = 0.5 * (need[k] + d) * (1 + 1e-6) + 1e-7 * 31 * need[k];
        for (let l = 0; l < 16; l++) {
          const i = 256 * sb + 16 * k + l;
          const e = Math.abs(y[i] - x[i]);
          if (!(e <= bound)) assert.fail(`Q6_K super-block ${sb} group ${k}: error ${e} > ${bound}`);
        }
      }
    }
  }
});

test("K-quants of all-zero input decode to exact zeros; Q6_K of all-zero is an all-zero block", () => {
  for (const type of [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    const z = new Float32Array(512);
    const y = dequantizeRow(type, quantizeRow(type, z), 512);
    assert.ok(y.every((v) => v === 0), `type ${type}`);
  }
  assert.ok(quantizeRow(GGMLType.Q6_K, new Float32Array(256)).every((b) => b === 0));
});

test("F32/F16/BF16 rows encode value by value", () => {
  const x = Float32Array.from([1, -2.5, 1 / 3, 65504, 1e-5, -0]);
  const f32 = quantizeRow(GGMLType.F32, x);
  assert.deepEqual(new Float32Array(f32.slice().buffer), x);
  const f16 = quantizeRow(GGMLType.F16, x);
  assert.deepEqual([...new Uint16Array(f16.slice().buffer)], [0x3c00, 0xc100, 0x3555, 0x7bff, 0x00a8, 0x8000]);
  const bf = quantizeRow(GGMLType.BF16, x);
  assert.deepEqual([...new Uint16Array(bf.slice().buffer)], [0x3f80, 0xc020, 0x3eab, 0x4780, 0x3728, 0x8000]);
});

test("quantize API: destination buffers, tensors by rows, clear errors", () => {
  const x = new Float32Array(64).fill(1);
  const dst = new Uint8Array(100).fill(0xaa);
  const r = quantizeRow(GGMLType.Q8_0, x, dst);
  assert.equal(r.length, 68);
  assert.equal(r.buffer, dst.buffer);
  assert.equal(dst[68], 0xaa);
  assert.deepEqual(quantizeTensor(GGMLType.Q8_0, x, 32), quantizeRow(GGMLType.Q8_0, x));
  assert.throws(() => quantizeTensor(GGMLType.Q4_K, new Float32Array(512), 128), (e: Error) => e instanceof UserError && /multiple of 256/.test(e.message));
  assert.throws(() => quantizeRow(GGMLType.Q2_K, new Float32Array(256)), (e: Error) => e instanceof UserError && /Q2_K/.test(e.message) && /supported: .*Q6_K/.test(e.message));
  assert.throws(() => quantizeRow(99, new Float32Array(32)), (e: Error) => e instanceof UserError && /unknown\(99\)/.test(e.message));
  assert.throws(() => quantizeRow(GGMLType.Q4_0, new Float32Array(33)), /not a multiple of the Q4_0 block size 32/);
  assert.throws(() => quantizeRow(GGMLType.Q4_0, new Float32Array(32), new Uint8Array(17)), /needs 18/);
});
