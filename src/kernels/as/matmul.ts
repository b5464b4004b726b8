// Matrix products y[t][r] = dot(W[r,:], x[t,:]) for rows r in [r0, r1) and tokens t in [0, nTok).
//
// W stays in its GGUF layout, one row after another (`rowBytes` apart). Activations:
//   - float weights (F32, F16, BF16): x is f32 [nTok][cols];
//   - Q8_0 and Q4_0 weights: x is a Q8 activation buffer (see `quantize_q8_0` in ops.ts):
//     per token qs i8[cols] | d f32[cols/32] | s i32[cols/32] (8 x sum of the block's qs: Q4_0 weights
//     are nibble - 8, so a block's dot is sum(nibble * q_x) - s), `q8Stride(cols)` bytes per token;
//   - Q4_K, Q5_K and Q6_K weights: x is a Q8_K activation buffer (see kquants.ts):
//     per token qs i8[cols] | d f32[cols/256] | bsums i16[cols/16] | bsums32 i16[cols/32], `q8KStride(cols)`
//     bytes per token.
// y is f32 [nTok][yStride]. Rows are done four at a time so each activation load feeds four rows;
// tokens are tiled so the four weight rows stay in L1 while a tile of tokens streams past. Decode
// (one token) streams eight evenly spaced groups or rows at once (dot8s_*), which is what keeps
// DRAM busy from WebAssembly. Q8_0 and Q4_0 matrices whose rows come in fours are repacked at load
// time into the interleaved Q8_0x4 / Q4_0x4 layouts, whose kernels are in x4.ts.
import { h2f_u32 } from "./f16";
import { hsum } from "./vec";
import { dot4_q4_0x4, dot4_q8_0x4, dot8s_q4_0x4, dot8s_q8_0x4, KIND_Q4_0X4, KIND_Q8_0X4, mm4x4_q4_0x4, mm4x4_q8_0x4, mm4x8_q4_0x4 } from "./x4";
import { dot4_q4_K, dot4_q5_K, dot4_q6_K, dot8s_q4_K, dot8s_q5_K, dot8s_q6_K, mm1x4_q4_K, mm1x4_q5_K, mm1x4_q6_K } from "./kquants";

const TT: i32 = 8; // token tile
let ROW1: bool = true; // decode: Q8_0/Q4_0 rows one at a time (see dot1_*)
export function set_row1(on: bool): void { ROW1 = on; }

let f16lut: usize = 0;
/**
 * The relaxed build uses `i16x8.relaxed_dot_i8x16_i7x16_s` (Q4_0 and the K-quants), always with a
 * 7-bit second operand, where the spec makes the result exact. This probe checks that before the host
 * picks the relaxed build (see wasm.ts), and also that the i32x4 form is right: V8 11.3's baseline
 * compiler (Liftoff) drops its accumulator and doubles the product, which is one reason the host
 * compiles with --no-liftoff. Returns 1 when both behave, else 0.
 */
export function relaxed_dot_factor(): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 1;
  const a = i8x16(3, -5, 7, 0, 0, 0, 0, 0, -128, 0, 0, 0, 0, 0, 0, 0);
  const b = i8x16(11, 13, 2, 0, 0, 0, 0, 0, 127, 127, 0, 0, 0, 0, 0, 0);
  const h = i16x8.relaxed_dot_i8x16_i7x16_s(a, b);
  const ok16 = i16x8.extract_lane_s(h, 0) == 3 * 11 - 5 * 13 && i16x8.extract_lane_s(h, 1) == 7 * 2
    && i16x8.extract_lane_s(h, 2) == 0 && i16x8.extract_lane_s(h, 4) == -128 * 127;
  const r = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, i32x4(100, 1, -7, 0));
  const ok32 = i32x4.extract_lane(r, 0) == 100 - 18 && i32x4.extract_lane(r, 1) == 1
    && i32x4.extract_lane(r, 2) == -7 - 128 * 127 && i32x4.extract_lane(r, 3) == 0;
  return ok16 && ok32 ? 1 : 0;
}

/** Each instance (thread) calls this once: `p` is a 65536-entry f16 -> f32 table in shared memory. */
export function set_f16_lut(p: usize): void { f16lut = p; }
// @ts-ignore: decorator
@inline export function h2f_lut(h: u32): f32 { return load<f32>(f16lut + (<usize>h << 2)); }

export function q8Stride(cols: i32): i32 { return cols + (cols >> 5) * 8; }

// ------------------------------------------------------------------------------------------ F32

function dot4_f32(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const n4 = cols & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w + o), xv));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w + rb + o), xv));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(w + 2 * rb + o), xv));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(w + 3 * rb + o), xv));
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (let i = n4; i < cols; i++) {
    const o = <usize>i << 2;
    const xv = load<f32>(x + o);
    s0 += load<f32>(w + o) * xv; s1 += load<f32>(w + rb + o) * xv;
    s2 += load<f32>(w + 2 * rb + o) * xv; s3 += load<f32>(w + 3 * rb + o) * xv;
  }
  store<f32>(y, s0);
  if (nrows > 1) store<f32>(y + 4, s1);
  if (nrows > 2) store<f32>(y + 8, s2);
  if (nrows > 3) store<f32>(y + 12, s3);
}

// ------------------------------------------------------------------------------------ F16, BF16

// @ts-ignore: decorator
@inline function ld_f16x4(p: usize): v128 { return h2f_u32(v128.load16x4_u(p)); }
// @ts-ignore: decorator
@inline function ld_bf16x4(p: usize): v128 { return i32x4.shl(v128.load16x4_u(p), 16); }

function dot4_f16(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32, bf: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const n4 = cols & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 1;
    const xv = v128.load(x + (<usize>i << 2));
    if (bf) {
      a0 = f32x4.add(a0, f32x4.mul(ld_bf16x4(w + o), xv));
      a1 = f32x4.add(a1, f32x4.mul(ld_bf16x4(w + rb + o), xv));
      a2 = f32x4.add(a2, f32x4.mul(ld_bf16x4(w + 2 * rb + o), xv));
      a3 = f32x4.add(a3, f32x4.mul(ld_bf16x4(w + 3 * rb + o), xv));
    } else {
      a0 = f32x4.add(a0, f32x4.mul(ld_f16x4(w + o), xv));
      a1 = f32x4.add(a1, f32x4.mul(ld_f16x4(w + rb + o), xv));
      a2 = f32x4.add(a2, f32x4.mul(ld_f16x4(w + 2 * rb + o), xv));
      a3 = f32x4.add(a3, f32x4.mul(ld_f16x4(w + 3 * rb + o), xv));
    }
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (let i = n4; i < cols; i++) {
    const o = <usize>i << 1;
    const xv = load<f32>(x + (<usize>i << 2));
    if (bf) {
      s0 += reinterpret<f32>(<u32>load<u16>(w + o) << 16) * xv;
      s1 += reinterpret<f32>(<u32>load<u16>(w + rb + o) << 16) * xv;
      s2 += reinterpret<f32>(<u32>load<u16>(w + 2 * rb + o) << 16) * xv;
      s3 += reinterpret<f32>(<u32>load<u16>(w + 3 * rb + o) << 16) * xv;
    } else {
      s0 += h2f_lut(load<u16>(w + o)) * xv; s1 += h2f_lut(load<u16>(w + rb + o)) * xv;
      s2 += h2f_lut(load<u16>(w + 2 * rb + o)) * xv; s3 += h2f_lut(load<u16>(w + 3 * rb + o)) * xv;
    }
  }
  store<f32>(y, s0);
  if (nrows > 1) store<f32>(y + 4, s1);
  if (nrows > 2) store<f32>(y + 8, s2);
  if (nrows > 3) store<f32>(y + 12, s3);
}

// ------------------------------------------------------------------------------------ Q8 helpers

/** [sum(a), sum(b), sum(c), sum(d)] of four i32x4 (a 4x4 transpose-add). */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7)); // a02 b02 a13 b13
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** The f16 scales of block b in four rows `rb` apart (via the table), as f32x4. */
// @ts-ignore: decorator
@inline function scales4(p: usize, rb: usize): v128 {
  let v = f32x4.splat(h2f_lut(load<u16>(p)));
  v = f32x4.replace_lane(v, 1, h2f_lut(load<u16>(p + rb)));
  v = f32x4.replace_lane(v, 2, h2f_lut(load<u16>(p + 2 * rb)));
  return f32x4.replace_lane(v, 3, h2f_lut(load<u16>(p + 3 * rb)));
}

// @ts-ignore: decorator
@inline export function store4(y: usize, acc: v128, nrows: i32): void {
  if (nrows == 4) { v128.store(y, acc); return; }
  store<f32>(y, f32x4.extract_lane(acc, 0));
  if (nrows > 1) store<f32>(y + 4, f32x4.extract_lane(acc, 1));
  if (nrows > 2) store<f32>(y + 8, f32x4.extract_lane(acc, 2));
}

// ------------------------------------------------------------------------------------------ Q8_0
// Block: f16 d, i8 q[32] (34 bytes). Block dot with Q8 activations: d_w * d_x * sum(q_w * q_x).
// The four rows' integer sums of a block are reduced into one vector, converted and scaled at once.

// @ts-ignore: decorator
@inline function isum_q8_0(p: usize, xl0: v128, xh0: v128, xl1: v128, xh1: v128): v128 {
  const q0 = v128.load(p + 2), q1 = v128.load(p + 18);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q0), xl0);
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q0), xh0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q1), xl1));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q1), xh1));
}

function dot4_q8_0(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 5);
    const x0 = v128.load(xb), x1 = v128.load(xb + 16);
    const xl0 = i16x8.extend_low_i8x16_s(x0), xh0 = i16x8.extend_high_i8x16_s(x0);
    const xl1 = i16x8.extend_low_i8x16_s(x1), xh1 = i16x8.extend_high_i8x16_s(x1);
    const p = w + <usize>b * 34;
    const s = hsum4(isum_q8_0(p, xl0, xh0, xl1, xh1), isum_q8_0(p + rb, xl0, xh0, xl1, xh1),
      isum_q8_0(p + 2 * rb, xl0, xh0, xl1, xh1), isum_q8_0(p + 3 * rb, xl0, xh0, xl1, xh1));
    const d = f32x4.mul(scales4(p, rb), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), d));
  }
  store4(y, acc, nrows);
}

// ------------------------------------------------------------------------------------------ Q4_0
// Block: f16 d, u8 qs[16] (18 bytes); weight j = low nibble of qs[j], weight j+16 = high nibble,
// value d * (nibble - 8). We dot the unsigned nibbles with the activations and subtract s = 8 * sum(q_x)
// once per block for all four rows (the rows share the activations).

// @ts-ignore: decorator
@inline function isum_q4_0(p: usize, x0: v128, x1: v128, xl0: v128, xh0: v128, xl1: v128, xh1: v128): v128 {
  const q = v128.load(p + 2);
  const lo = v128.and(q, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(q, 4);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // i16 pair sums are at most 2 x 127 x 15 = 3810, so lo + hi (7620) cannot overflow i16
    return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi)));
  }
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), xl0);
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), xh0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), xl1));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), xh1));
}

function dot4_q4_0(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 5);
    const x0 = v128.load(xb), x1 = v128.load(xb + 16);
    let xl0 = x0, xh0 = x0, xl1 = x1, xh1 = x1;
    if (!ASC_FEATURE_RELAXED_SIMD) {
      xl0 = i16x8.extend_low_i8x16_s(x0); xh0 = i16x8.extend_high_i8x16_s(x0);
      xl1 = i16x8.extend_low_i8x16_s(x1); xh1 = i16x8.extend_high_i8x16_s(x1);
    }
    const p = w + <usize>b * 18;
    let s = hsum4(isum_q4_0(p, x0, x1, xl0, xh0, xl1, xh1), isum_q4_0(p + rb, x0, x1, xl0, xh0, xl1, xh1),
      isum_q4_0(p + 2 * rb, x0, x1, xl0, xh0, xl1, xh1), isum_q4_0(p + 3 * rb, x0, x1, xl0, xh0, xl1, xh1));
    s = i32x4.sub(s, i32x4.splat(load<i32>(xs + (<usize>b << 2))));
    const d = f32x4.mul(scales4(p, rb), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), d));
  }
  store4(y, acc, nrows);
}

// ------------------------------------------------------------ one row at a time (decode, Q8_0/Q4_0)
// From DRAM a single row stream is faster than four interleaved ones. Four consecutive blocks of the
// row are reduced into one vector, converted once and scaled by their four scales at once.

// @ts-ignore: decorator
@inline function wscales4(p: usize, bs: usize): v128 {
  let v = f32x4.splat(h2f_lut(load<u16>(p)));
  v = f32x4.replace_lane(v, 1, h2f_lut(load<u16>(p + bs)));
  v = f32x4.replace_lane(v, 2, h2f_lut(load<u16>(p + 2 * bs)));
  return f32x4.replace_lane(v, 3, h2f_lut(load<u16>(p + 3 * bs)));
}

/** dot(W row, x) for a Q8_0 row `w` and Q8 activations x (layout of quantize_q8_0). */
function dot1_q8_0(w: usize, x: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const p = w + <usize>b * 34, xb = x + (<usize>b << 5);
    const s0 = isum_q8_0(p, i16x8.extend_low_i8x16_s(v128.load(xb)), i16x8.extend_high_i8x16_s(v128.load(xb)), i16x8.extend_low_i8x16_s(v128.load(xb + 16)), i16x8.extend_high_i8x16_s(v128.load(xb + 16)));
    const s1 = isum_q8_0(p + 34, i16x8.extend_low_i8x16_s(v128.load(xb + 32)), i16x8.extend_high_i8x16_s(v128.load(xb + 32)), i16x8.extend_low_i8x16_s(v128.load(xb + 48)), i16x8.extend_high_i8x16_s(v128.load(xb + 48)));
    const s2 = isum_q8_0(p + 68, i16x8.extend_low_i8x16_s(v128.load(xb + 64)), i16x8.extend_high_i8x16_s(v128.load(xb + 64)), i16x8.extend_low_i8x16_s(v128.load(xb + 80)), i16x8.extend_high_i8x16_s(v128.load(xb + 80)));
    const s3 = isum_q8_0(p + 102, i16x8.extend_low_i8x16_s(v128.load(xb + 96)), i16x8.extend_high_i8x16_s(v128.load(xb + 96)), i16x8.extend_low_i8x16_s(v128.load(xb + 112)), i16x8.extend_high_i8x16_s(v128.load(xb + 112)));
    const d = f32x4.mul(wscales4(p, 34), v128.load(xd + (<usize>b << 2)));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(hsum4(s0, s1, s2, s3)), d));
  }
  let sum = hsum(acc);
  for (; b < nb; b++) {
    const p = w + <usize>b * 34, xb = x + (<usize>b << 5);
    const s = isum_q8_0(p, i16x8.extend_low_i8x16_s(v128.load(xb)), i16x8.extend_high_i8x16_s(v128.load(xb)), i16x8.extend_low_i8x16_s(v128.load(xb + 16)), i16x8.extend_high_i8x16_s(v128.load(xb + 16)));
    sum += <f32>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)) * h2f_lut(load<u16>(p)) * load<f32>(xd + (<usize>b << 2));
  }
  return sum;
}

// @ts-ignore: decorator
@inline function isum1_q4_0(p: usize, xb: usize): v128 {
  const x0 = v128.load(xb), x1 = v128.load(xb + 16);
  if (ASC_FEATURE_RELAXED_SIMD) return isum_q4_0(p, x0, x1, x0, x0, x1, x1);
  return isum_q4_0(p, x0, x1, i16x8.extend_low_i8x16_s(x0), i16x8.extend_high_i8x16_s(x0), i16x8.extend_low_i8x16_s(x1), i16x8.extend_high_i8x16_s(x1));
}

/** dot(W row, x) for a Q4_0 row `w` and Q8 activations x (layout of quantize_q8_0). */
function dot1_q4_0(w: usize, x: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const p = w + <usize>b * 18, xb = x + (<usize>b << 5);
    let s = hsum4(isum1_q4_0(p, xb), isum1_q4_0(p + 18, xb + 32), isum1_q4_0(p + 36, xb + 64), isum1_q4_0(p + 54, xb + 96));
    s = i32x4.sub(s, v128.load(xs + (<usize>b << 2)));
    const d = f32x4.mul(wscales4(p, 18), v128.load(xd + (<usize>b << 2)));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), d));
  }
  let sum = hsum(acc);
  for (; b < nb; b++) {
    const p = w + <usize>b * 18;
    const s = isum1_q4_0(p, x + (<usize>b << 5));
    const tot = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3) - load<i32>(xs + (<usize>b << 2));
    sum += <f32>tot * h2f_lut(load<u16>(p)) * load<f32>(xd + (<usize>b << 2));
  }
  return sum;
}

// --------------------------------------------------------------- Q4_0, 4 rows x 4 tokens (relaxed)
// Prefill: the four rows' nibbles of a block are unpacked once and used for four tokens.

// @ts-ignore: decorator
@inline function rdot(x0: v128, lo: v128, x1: v128, hi: v128): v128 {
  // as isum_q4_0: i16 pair sums cannot overflow, widened once
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi)));
}

// @ts-ignore: decorator
@inline function step4_q4_0(xt: usize, xo: usize, dOff: usize, sOff: usize, ws: v128,
  l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, acc: v128): v128 {
  const x0 = v128.load(xt + xo), x1 = v128.load(xt + xo + 16);
  let s = hsum4(rdot(x0, l0, x1, h0), rdot(x0, l1, x1, h1), rdot(x0, l2, x1, h2), rdot(x0, l3, x1, h3));
  s = i32x4.sub(s, i32x4.splat(load<i32>(xt + sOff)));
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(ws, f32x4.splat(load<f32>(xt + dOff)))));
}

/** Four rows (rb apart) x four tokens (xs bytes apart) of Q4_0; y rows of 4 floats, ys bytes apart. */
function mm4x4_q4_0(w: usize, rb: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  const nb = cols >> 5;
  const d0 = <usize>cols, s0 = d0 + (<usize>nb << 2);
  const m = i8x16.splat(0x0f);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 18;
    const q0 = v128.load(p + 2), q1 = v128.load(p + rb + 2), q2 = v128.load(p + 2 * rb + 2), q3 = v128.load(p + 3 * rb + 2);
    const l0 = v128.and(q0, m), h0 = i8x16.shr_u(q0, 4), l1 = v128.and(q1, m), h1 = i8x16.shr_u(q1, 4);
    const l2 = v128.and(q2, m), h2 = i8x16.shr_u(q2, 4), l3 = v128.and(q3, m), h3 = i8x16.shr_u(q3, 4);
    const ws = scales4(p, rb);
    const xo = <usize>b << 5, dOff = d0 + (<usize>b << 2), sOff = s0 + (<usize>b << 2);
    a0 = step4_q4_0(x, xo, dOff, sOff, ws, l0, h0, l1, h1, l2, h2, l3, h3, a0);
    a1 = step4_q4_0(x + xs, xo, dOff, sOff, ws, l0, h0, l1, h1, l2, h2, l3, h3, a1);
    a2 = step4_q4_0(x + 2 * xs, xo, dOff, sOff, ws, l0, h0, l1, h1, l2, h2, l3, h3, a2);
    a3 = step4_q4_0(x + 3 * xs, xo, dOff, sOff, ws, l0, h0, l1, h1, l2, h2, l3, h3, a3);
  }
  v128.store(y, a0); v128.store(y + ys, a1); v128.store(y + 2 * ys, a2); v128.store(y + 3 * ys, a3);
}

// ------------------------------------------------------------------------------------- drivers

const KIND_F32: i32 = 0, KIND_F16: i32 = 1, KIND_BF16: i32 = 30, KIND_Q8_0: i32 = 8, KIND_Q4_0: i32 = 2;
const KIND_Q4_K: i32 = 12, KIND_Q5_K: i32 = 13, KIND_Q6_K: i32 = 14;

// @ts-ignore: decorator
@inline function dot4(kind: i32, w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  if (kind == KIND_F32) dot4_f32(w, rb, x, cols, y, nrows);
  else if (kind == KIND_F16) dot4_f16(w, rb, x, cols, y, nrows, false);
  else if (kind == KIND_BF16) dot4_f16(w, rb, x, cols, y, nrows, true);
  else if (kind == KIND_Q8_0) dot4_q8_0(w, rb, x, cols, y, nrows);
  else if (kind == KIND_Q4_0) dot4_q4_0(w, rb, x, cols, y, nrows);
  else if (kind == KIND_Q4_K) dot4_q4_K(w, rb, x, cols, y, nrows);
  else if (kind == KIND_Q5_K) dot4_q5_K(w, rb, x, cols, y, nrows);
  else if (kind == KIND_Q6_K) dot4_q6_K(w, rb, x, cols, y, nrows);
  else unreachable();
}

/**
 * y[t][r] = W[r,:] . x[t] for r in [r0, r1), t in [0, nTok). `kind` is the ggml type id of W,
 * `xStride`/`yStride` are the byte / element strides between tokens of x / y.
 * Rows go four at a time; a short last group (1-3 rows) is done one row at a time.
 */
export function matmul(kind: i32, w: usize, rowBytes: i32, x: usize, xStride: i32, y: usize, yStride: i32,
  cols: i32, nTok: i32, r0: i32, r1: i32): void {
  const rb = <usize>rowBytes;
  if (nTok == 1 && (kind == KIND_Q4_0X4 || kind == KIND_Q8_0X4)) {
    // decode: this thread's groups in eight equal runs, streamed side by side; the rest below
    const q = (r1 - r0) >> 5; // groups per run
    const gd = <usize>(q << 2) * rb;
    for (let g = 0; g < q; g++) {
      const r = r0 + (g << 2);
      if (kind == KIND_Q4_0X4) dot8s_q4_0x4(w + <usize>r * rb, gd, x, cols, y + (<usize>r << 2), <usize>q << 4);
      else dot8s_q8_0x4(w + <usize>r * rb, gd, x, cols, y + (<usize>r << 2), <usize>q << 4);
    }
    r0 += q << 5;
  } else if (nTok == 1 && (kind == KIND_Q4_K || kind == KIND_Q5_K || kind == KIND_Q6_K)) {
    // decode: this thread's rows in eight equal runs, streamed side by side; the rest below
    const q = (r1 - r0) >> 3; // rows per run
    const rd = <usize>q * rb;
    for (let i = 0; i < q; i++) {
      const r = r0 + i;
      if (kind == KIND_Q4_K) dot8s_q4_K(w + <usize>r * rb, rd, x, cols, y + (<usize>r << 2), <usize>q << 2);
      else if (kind == KIND_Q5_K) dot8s_q5_K(w + <usize>r * rb, rd, x, cols, y + (<usize>r << 2), <usize>q << 2);
      else dot8s_q6_K(w + <usize>r * rb, rd, x, cols, y + (<usize>r << 2), <usize>q << 2);
    }
    r0 += q << 3;
  }
  for (let t0 = 0; t0 < nTok; t0 += TT) {
    const t1 = min(t0 + TT, nTok);
    for (let r = r0; r < r1; r += 4) {
      const nrows = min(4, r1 - r);
      const wr = w + <usize>r * rb;
      let t = t0;
      if (kind == KIND_Q4_0X4 || kind == KIND_Q8_0X4) {
        // interleaved groups: rows r..r+3 are one group (r is a multiple of 4; padded rows are not stored)
        if (kind == KIND_Q4_0X4 && nrows == 4) {
          for (; t + 8 <= t1; t += 8) {
            mm4x8_q4_0x4(wr, x + <usize>t * <usize>xStride, <usize>xStride, cols,
              y + ((<usize>t * <usize>yStride + <usize>r) << 2), <usize>yStride << 2);
          }
          for (; t + 4 <= t1; t += 4) {
            mm4x4_q4_0x4(wr, x + <usize>t * <usize>xStride, <usize>xStride, cols,
              y + ((<usize>t * <usize>yStride + <usize>r) << 2), <usize>yStride << 2);
          }
        }
        if (kind == KIND_Q8_0X4 && nrows == 4) {
          for (; t + 4 <= t1; t += 4) {
            mm4x4_q8_0x4(wr, x + <usize>t * <usize>xStride, <usize>xStride, cols,
              y + ((<usize>t * <usize>yStride + <usize>r) << 2), <usize>yStride << 2);
          }
        }
        for (; t < t1; t++) {
          const xt = x + <usize>t * <usize>xStride;
          const yt = y + ((<usize>t * <usize>yStride + <usize>r) << 2);
          if (kind == KIND_Q4_0X4) dot4_q4_0x4(wr, xt, cols, yt, nrows);
          else dot4_q8_0x4(wr, xt, cols, yt, nrows);
        }
        continue;
      }
      if (kind == KIND_Q4_K || kind == KIND_Q5_K || kind == KIND_Q6_K) {
        // prefill: one row x four tokens, the row's unpacked quants reused (its bytes stay in L1)
        for (; t + 4 <= t1; t += 4) {
          const xt = x + <usize>t * <usize>xStride, yt = y + ((<usize>t * <usize>yStride + <usize>r) << 2);
          for (let k = 0; k < nrows; k++) {
            if (kind == KIND_Q4_K) mm1x4_q4_K(wr + <usize>k * rb, xt, <usize>xStride, cols, yt + (<usize>k << 2), <usize>yStride << 2);
            else if (kind == KIND_Q5_K) mm1x4_q5_K(wr + <usize>k * rb, xt, <usize>xStride, cols, yt + (<usize>k << 2), <usize>yStride << 2);
            else mm1x4_q6_K(wr + <usize>k * rb, xt, <usize>xStride, cols, yt + (<usize>k << 2), <usize>yStride << 2);
          }
        }
      }
      if (ASC_FEATURE_RELAXED_SIMD && kind == KIND_Q4_0 && nrows == 4) {
        for (; t + 4 <= t1; t += 4) {
          mm4x4_q4_0(wr, rb, x + <usize>t * <usize>xStride, <usize>xStride, cols,
            y + ((<usize>t * <usize>yStride + <usize>r) << 2), <usize>yStride << 2);
        }
      }
      for (; t < t1; t++) {
        const xt = x + <usize>t * <usize>xStride;
        const yt = y + ((<usize>t * <usize>yStride + <usize>r) << 2);
        if (ROW1 && nTok < 4 && kind == KIND_Q8_0) for (let k = 0; k < nrows; k++) store<f32>(yt + (<usize>k << 2), dot1_q8_0(wr + <usize>k * rb, xt, cols));
        else if (ROW1 && nTok < 4 && kind == KIND_Q4_0) for (let k = 0; k < nrows; k++) store<f32>(yt + (<usize>k << 2), dot1_q4_0(wr + <usize>k * rb, xt, cols));
        else if (nrows == 4) dot4(kind, wr, rb, xt, cols, yt, 4);
        else for (let k = 0; k < nrows; k++) dot4(kind, wr + <usize>k * rb, 0, xt, cols, yt + (<usize>k << 2), 1);
      }
    }
  }
}
