/**
 * Reference dequantisers against blocks built by hand from the documented layouts
 * (docs/llamacpp-peer.md §3 and ggml's block structs). Expected values are computed here from
 * the layout description, with half scales given as literal fractions, never by calling the
 * code under test. Where C evaluates in f32, the expectation applies Math.fround at the same
 * points (that is the specification being tested).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dequantizeRow, dequantizeTensor } from "../../src/format/dequant.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { UserError } from "../../src/util/errors.js";

const fr = Math.fround;

/** Halves used as scales: bits and their exact value. */
const H = {
  one: { bits: 0x3c00, v: 1 },
  half: { bits: 0x3800, v: 0.5 },
  quarter: { bits: 0x3400, v: 0.25 },
  third: { bits: 0x3555, v: 1365 / 4096 }, // e=13, m=341: (1024+341) * 2^-12
  tenth: { bits: 0x2e66, v: 1638 / 16384 }, // e=11, m=614: (1024+614) * 2^-14
  negOneQuarter: { bits: 0xbd00, v: -1.25 },
  negZero: { bits: 0x8000, v: -0 },
  tiny: { bits: 0x0001, v: 2 ** -24 }, // smallest subnormal
  sub: { bits: 0x03ff, v: 1023 * 2 ** -24 }, // largest subnormal
  inf: { bits: 0x7c00, v: Infinity },
  max: { bits: 0x7bff, v: 65504 },
} as const;

function putHalf(b: Uint8Array, o: number, bits: number) { b[o] = bits & 0xff; b[o + 1] = bits >> 8; }
function putF32(b: Uint8Array, o: number, v: number) { new DataView(b.buffer, b.byteOffset).setFloat32(o, v, true); }

/** Exact equality that distinguishes -0 from +0 and accepts NaN = NaN, with the index in the message. */
function assertSame(actual: Float32Array, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = fr(expected[i]);
    if (!Object.is(a, e)) assert.fail(`${what}[${i}]: got ${Object.is(a, -0) ? "-0" : a}, expected ${Object.is(e, -0) ? "-0" : e}`);
  }
}

// ------------------------------------------------------------------ plain float types

test("F32 reads little-endian floats, including -0, NaN, ±inf and subnormals", () => {
  const vals = [0, -0, 1.5, -2.25, Infinity, -Infinity, NaN, 1e-45, -3.4028234663852886e38, 0.1];
  const b = new Uint8Array(4 * vals.length + 1).subarray(1); // unaligned on purpose
  vals.forEach((v, i) => putF32(b, 4 * i, v));
  assertSame(dequantizeRow(GGMLType.F32, b, vals.length), vals, "F32");
});

test("F16 decodes sign, exponent and mantissa fields exactly (constants, all 65536 monotonic with exact spacing)", () => {
  const all = new Uint8Array(2 * 65536);
  for (let h = 0; h < 65536; h++) putHalf(all, 2 * h, h);
  const v = dequantizeRow(GGMLType.F16, all, 65536);
  for (const { bits, v: want } of Object.values(H)) assert.ok(Object.is(v[bits], want), `half 0x${bits.toString(16)}`);
  assert.ok(Object.is(v[0x8000], -0));
  assert.equal(v[0xfc00], -Infinity);
  assert.equal(v[0x3bff], 1 - 2 ** -11);
  assert.equal(v[0x0400], 2 ** -14); // smallest normal
  // Positive finite halves grow by exactly one ulp: 2^-24 for exponents 0 and 1, then doubling.
  for (let h = 0; h < 0x7bff; h++) {
    const e = h >> 10;
    assert.equal(v[h + 1] - v[h], 2 ** (Math.max(e, 1) - 25), `spacing after 0x${h.toString(16)}`);
    assert.ok(Object.is(v[h | 0x8000], -v[h]), `sign of 0x${h.toString(16)}`);
  }
  for (let m = 1; m < 0x400; m++) {
    assert.ok(Number.isNaN(v[0x7c00 | m]) && Number.isNaN(v[0xfc00 | m]), `NaN 0x${(0x7c00 | m).toString(16)}`);
  }
});

test("BF16 is the top half of an f32", () => {
  const pats = [0x0000, 0x8000, 0x3f80, 0xbf80, 0x4049, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x7f7f];
  const b = new Uint8Array(2 * pats.length);
  pats.forEach((p, i) => putHalf(b, 2 * i, p));
  const out = dequantizeRow(GGMLType.BF16, b, pats.length);
  const bits = new Uint32Array(out.buffer);
  pats.forEach((p, i) => assert.equal(bits[i], p << 16 >>> 0, `bf16 0x${p.toString(16)}`));
  assert.equal(out[2], 1);
  assert.equal(out[3], -1);
  assert.equal(out[4], 3.140625);
});

// ------------------------------------------------------------------ 32-blocks

test("Q4_0: every nibble in both positions, plus -0, subnormal and infinite scales", () => {
  const scales = [H.half, H.negZero, H.tiny, H.inf, H.third];
  const b = new Uint8Array(18 * scales.length);
  const want: number[] = [];
  scales.forEach((s, i) => {
    putHalf(b, 18 * i, s.bits);
    const lo: number[] = [], hi: number[] = [];
    for (let j = 0; j < 16; j++) {
      const a = (j + i) % 16, c = 15 - a; // low nibble a (weight j), high nibble c (weight j+16)
      b[18 * i + 2 + j] = a | (c << 4);
      lo.push((a - 8) * s.v);
      hi.push((c - 8) * s.v);
    }
    want.push(...lo, ...hi);
  });
  const got = dequantizeRow(GGMLType.Q4_0, b, 32 * scales.length);
  assertSame(got, want, "Q4_0");
  // Spot checks of the edge cases, written out.
  assert.ok(Object.is(got[32 + 0], -0) === false && Object.is(got[32 + 8], -0)); // (8-8) * -0 = -0
  assert.equal(got[32 + 0], 0); // (1-8) * -0 = +0 (block 1 starts at nibble 1)
  assert.equal(got[96 + 16], Infinity); // high nibble 15-3=12 -> 4 * inf
  assert.ok(Number.isNaN(got[96 + 5])); // nibble 8 -> 0 * inf
  assert.equal(got[64 + 0], (2 - 8) * 2 ** -24);
});

test("Q4_1: w = nibble * d + m", () => {
  const b = new Uint8Array(20);
  putHalf(b, 0, H.third.bits);
  putHalf(b, 2, H.negOneQuarter.bits);
  const want = new Array(32);
  for (let j = 0; j < 16; j++) {
    b[4 + j] = j | ((15 - j) << 4);
    want[j] = fr(j * H.third.v) - 1.25;
    want[j + 16] = fr((15 - j) * H.third.v) - 1.25;
  }
  assertSame(dequantizeRow(GGMLType.Q4_1, b, 32), want, "Q4_1");
});

/** Q5 blocks: the 5th bit of weight j is bit j of the u32 qh. */
function q5Block(qh: number, nib: (j: number) => number): { qs: Uint8Array; q: number[] } {
  const qs = new Uint8Array(16), q: number[] = [];
  for (let j = 0; j < 16; j++) qs[j] = nib(j) | (nib(j + 16) << 4);
  for (let j = 0; j < 32; j++) q.push(nib(j) | (((qh >>> j) & 1) << 4));
  return { qs, q };
}

test("Q5_0 and Q5_1: every 5-bit value, high bits from qh", () => {
  const qh = 0xa5c30f1e;
  const { qs, q } = q5Block(qh, (j) => (j * 7) % 16);
  const b0 = new Uint8Array(22);
  putHalf(b0, 0, H.quarter.bits);
  new DataView(b0.buffer).setUint32(2, qh, true);
  b0.set(qs, 6);
  assertSame(dequantizeRow(GGMLType.Q5_0, b0, 32), q.map((v) => (v - 16) * 0.25), "Q5_0");
  const b1 = new Uint8Array(24);
  putHalf(b1, 0, H.tenth.bits);
  putHalf(b1, 2, H.negOneQuarter.bits);
  new DataView(b1.buffer).setUint32(4, qh, true);
  b1.set(qs, 8);
  assertSame(dequantizeRow(GGMLType.Q5_1, b1, 32), q.map((v) => fr(v * H.tenth.v) - 1.25), "Q5_1");
  // Both bit positions of qh are used: values >= 16 appear in both halves of the block.
  assert.ok(q.slice(0, 16).some((v) => v >= 16) && q.slice(16).some((v) => v >= 16));
});

test("Q8_0: every int8 value over 8 blocks", () => {
  const b = new Uint8Array(34 * 8);
  const want: number[] = [];
  for (let i = 0; i < 8; i++) {
    const s = i % 2 ? H.third : H.sub;
    putHalf(b, 34 * i, s.bits);
    for (let j = 0; j < 32; j++) {
      const q = 32 * i + j - 128;
      b[34 * i + 2 + j] = q & 0xff;
      want.push(q * s.v);
    }
  }
  assertSame(dequantizeRow(GGMLType.Q8_0, b, 256), want, "Q8_0");
});

// ------------------------------------------------------------------ K-quants

test("Q2_K: 2-bit quants, 4-bit scale/min pairs, d and dmin at the end", () => {
  const b = new Uint8Array(84);
  for (let k = 0; k < 16; k++) b[k] = (k & 15) | ((15 - k) << 4); // scale k, min 15-k
  for (let t = 0; t < 64; t++) b[16 + t] = (t * 37 + 11) & 0xff;
  putHalf(b, 80, H.third.bits);
  putHalf(b, 82, H.tenth.bits);
  const want = new Array(256);
  for (let h = 0; h < 2; h++) for (let j = 0; j < 4; j++) for (let p = 0; p < 2; p++) for (let l = 0; l < 16; l++) {
    const q = (b[16 + 32 * h + 16 * p + l] >> (2 * j)) & 3;
    const k = 8 * h + 2 * j + p;
    want[128 * h + 32 * j + 16 * p + l] = fr(fr(H.third.v * k) * q) - fr(H.tenth.v * (15 - k));
  }
  assertSame(dequantizeRow(GGMLType.Q2_K, b, 256), want, "Q2_K");
});

test("Q3_K: 6-bit signed scales packed in 12 bytes, high bit from hmask", () => {
  const b = new Uint8Array(110);
  const hmask = 0, qs = 32, sc = 96;
  for (let t = 0; t < 32; t++) b[hmask + t] = (t * 73 + 5) & 0xff;
  for (let t = 0; t < 64; t++) b[qs + t] = (t * 151 + 3) & 0xff;
  // 6-bit scales 0..63 (value - 32 is used): low 4 bits of k < 8 in the low nibble of byte k,
  // of k >= 8 in the high nibble of byte k-8; the top 2 bits in byte 8 + k%4 at bit 2*floor(k/4).
  const six = [0, 63, 32, 31, 1, 17, 48, 5, 62, 33, 16, 47, 9, 40, 24, 55];
  for (let k = 0; k < 16; k++) {
    if (k < 8) b[sc + k] |= six[k] & 15;
    else b[sc + k - 8] |= (six[k] & 15) << 4;
    b[sc + 8 + (k % 4)] |= (six[k] >> 4) << (2 * Math.floor(k / 4));
  }
  putHalf(b, 108, H.third.bits);
  const want = new Array(256);
  for (let h = 0; h < 2; h++) for (let j = 0; j < 4; j++) for (let p = 0; p < 2; p++) for (let l = 0; l < 16; l++) {
    const lo = (b[qs + 32 * h + 16 * p + l] >> (2 * j)) & 3;
    const hb = (b[hmask + 16 * p + l] >> (4 * h + j)) & 1;
    const k = 8 * h + 2 * j + p;
    want[128 * h + 32 * j + 16 * p + l] = fr(H.third.v * (six[k] - 32)) * (lo - (hb ? 0 : 4));
  }
  assertSame(dequantizeRow(GGMLType.Q3_K, b, 256), want, "Q3_K");
});

/** Pack eight 6-bit (scale, min) pairs into 12 bytes as documented for Q4_K/Q5_K. */
function packK4(sc: number[], m: number[]): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6); // j < 4: low 6 bits; bits 6-7 carry sc[j+4]'s top bits
    s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  return s;
}

// Scales and mins with high bits set on both sides of j = 4 (values >= 16 and up to 63).
const K_SC = [1, 17, 33, 63, 5, 46, 58, 31];
const K_M = [0, 63, 20, 41, 62, 15, 37, 48];

test("Q4_K: scale/min packing for j < 4 and j >= 4, every nibble, two super-blocks", () => {
  const b = new Uint8Array(144 * 2);
  const blocks = [{ d: H.third, dm: H.tenth }, { d: H.half, dm: H.negZero }];
  const want: number[] = [];
  blocks.forEach(({ d, dm }, i) => {
    const o = 144 * i;
    putHalf(b, o, d.bits);
    putHalf(b, o + 2, dm.bits);
    b.set(packK4(K_SC, K_M), o + 4);
    for (let t = 0; t < 128; t++) b[o + 16 + t] = ((t + i) % 16) | ((15 - (t % 16)) << 4);
    for (let w = 0; w < 256; w++) {
      const c = w >> 6, l = w & 31, high = (w >> 5) & 1; // chunk, position, which nibble
      const byte = b[o + 16 + 32 * c + l];
      const q = high ? byte >> 4 : byte & 15;
      const j = 2 * c + high;
      want.push(fr(fr(d.v * K_SC[j]) * q) - fr(dm.v * K_M[j]));
    }
  });
  assertSame(dequantizeRow(GGMLType.Q4_K, b, 512), want, "Q4_K");
});

test("Q4_K with infinite d and subnormal dmin", () => {
  const b = new Uint8Array(144);
  putHalf(b, 0, H.inf.bits);
  putHalf(b, 2, H.tiny.bits);
  b.set(packK4(K_SC, K_M), 4);
  for (let t = 0; t < 128; t++) b[16 + t] = t % 2 ? 0x00 : 0x31; // nibbles 1 / 3, or 0 / 0
  const got = dequantizeRow(GGMLType.Q4_K, b, 256);
  assert.equal(got[0], Infinity); // inf*1*1 - tiny*0
  assert.ok(Number.isNaN(got[1])); // inf*1*0 = NaN
  assert.equal(got[32], Infinity); // sub-block 1: inf*17*3 - 63 * 2^-24
});

test("Q5_K: 5th bit from qh bit 2c / 2c+1, scale packing as Q4_K", () => {
  const b = new Uint8Array(176);
  putHalf(b, 0, H.third.bits);
  putHalf(b, 2, H.tenth.bits);
  b.set(packK4(K_SC, K_M), 4);
  for (let l = 0; l < 32; l++) b[16 + l] = (l * 89 + 7) & 0xff; // qh
  for (let t = 0; t < 128; t++) b[48 + t] = (t % 16) | (((t * 5) % 16) << 4);
  const want = new Array(256);
  for (let w = 0; w < 256; w++) {
    const c = w >> 6, l = w & 31, high = (w >> 5) & 1;
    const byte = b[48 + 32 * c + l];
    const q = (high ? byte >> 4 : byte & 15) + (((b[16 + l] >> (2 * c + high)) & 1) ? 16 : 0);
    const j = 2 * c + high;
    want[w] = fr(fr(H.third.v * K_SC[j]) * q) - fr(H.tenth.v * K_M[j]);
  }
  assertSame(dequantizeRow(GGMLType.Q5_K, b, 256), want, "Q5_K");
});

test("Q6_K: every 6-bit value, signed 8-bit scales, d last", () => {
  const b = new Uint8Array(210);
  const q6 = Array.from({ length: 256 }, (_, i) => (i * 29) % 64); // each of 0..63 four times
  assert.equal(new Set(q6).size, 64);
  // Half h, l = 0..31: ql[64h+l] = q[l] | q[l+64] << 4; ql[64h+l+32] = q[l+32] | q[l+96] << 4;
  // qh[32h+l] = q[l]>>4 | (q[l+32]>>4) << 2 | (q[l+64]>>4) << 4 | (q[l+96]>>4) << 6.
  for (let h = 0; h < 2; h++) {
    const q = q6.slice(128 * h, 128 * h + 128);
    for (let l = 0; l < 32; l++) {
      b[64 * h + l] = (q[l] & 15) | ((q[l + 64] & 15) << 4);
      b[64 * h + l + 32] = (q[l + 32] & 15) | ((q[l + 96] & 15) << 4);
      b[128 + 32 * h + l] = (q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6);
    }
  }
  const scales = [-128, 127, -1, 0, 1, 64, -64, 100, -100, 3, -3, 77, -77, 12, -12, 5];
  scales.forEach((s, k) => { b[192 + k] = s & 0xff; });
  putHalf(b, 208, H.third.bits);
  // Weight 128h + 32k + l uses scale 8h + 2k + floor(l/16).
  const want = q6.map((q, w) => {
    const h = w >> 7, k = (w >> 5) & 3, l = w & 31;
    return fr(H.third.v * scales[8 * h + 2 * k + (l >> 4)]) * (q - 32);
  });
  assertSame(dequantizeRow(GGMLType.Q6_K, b, 256), want, "Q6_K");
});

test("Q8_K: f32 d times int8, bsums ignored", () => {
  const b = new Uint8Array(292);
  const d = fr(-0.0123);
  putF32(b, 0, d);
  for (let j = 0; j < 256; j++) b[4 + j] = j; // int8 -128..127 as bytes 0..255
  for (let k = 0; k < 32; k++) b[260 + k] = 0xee; // garbage bsums
  const want = Array.from({ length: 256 }, (_, j) => d * ((j << 24) >> 24));
  assertSame(dequantizeRow(GGMLType.Q8_K, b, 256), want, "Q8_K");
});

// ------------------------------------------------------------------ API

test("dequantizeRow writes into a given buffer and dequantizeTensor matches", () => {
  const b = new Uint8Array(34);
  putHalf(b, 0, H.half.bits);
  for (let j = 0; j < 32; j++) b[2 + j] = j;
  const dst = new Float32Array(40).fill(7);
  const r = dequantizeRow(GGMLType.Q8_0, b, 32, dst);
  assert.equal(r, dst);
  assert.equal(dst[31], 15.5);
  assert.equal(dst[32], 7); // untouched past n
  assert.deepEqual(dequantizeTensor(GGMLType.Q8_0, b, 32), dst.subarray(0, 32));
});

test("unknown or unsupported types and bad sizes give clear errors", () => {
  assert.throws(() => dequantizeRow(99, new Uint8Array(64), 32), (e: Error) =>
    e instanceof UserError && /unknown\(99\)/.test(e.message) && /Q4_K/.test(e.message) && /BF16/.test(e.message));
  assert.throws(() => dequantizeRow(GGMLType.Q8_1, new Uint8Array(64), 32), (e: Error) =>
    e instanceof UserError && /Q8_1/.test(e.message) && /supported: /.test(e.message));
  assert.throws(() => dequantizeRow(GGMLType.Q4_0, new Uint8Array(64), 31), /multiple of the Q4_0 block size 32/);
  assert.throws(() => dequantizeRow(GGMLType.Q6_K, new Uint8Array(209), 256), /need 210 bytes, got 209/);
  assert.throws(() => dequantizeRow(GGMLType.F16, new Uint8Array(8), 4, new Float32Array(3)), /destination holds 3/);
});
