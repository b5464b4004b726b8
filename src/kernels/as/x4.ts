// Kernels for the 4-row interleaved layouts Q4_0x4 and Q8_0x4 (the one layout conversion,
// src/kernels/repack.ts): decode (eight groups streamed side by side, and a four-row remainder) and
// prefill (four rows x four or eight tokens). `matmul` (matmul.ts) dispatches to them.
import { h2f4_fin, H_MK, H_P112, set_f16_consts } from "./f16";
import { DOT_ADD, dot_add, madd } from "./vec";
import { set_kquant_consts } from "./kquants";
import { hsum4, store4 } from "./matmul";

// Q8_0x4 / Q4_0x4: rows in groups of four; block b of a group is [4 x f16 d][row 0 quants]..[row 3
// quants] (136 / 72 bytes: the same bytes as four GGUF blocks). One sequential stream feeds four rows,
// and the four scales are one 8-byte load.

export const KIND_Q4_0X4: i32 = 102, KIND_Q8_0X4: i32 = 108;


/** Row sums of one Q8_0 block (32 quants at q) with widened activations xl0..xh1, as i32x4 partials. */
// @ts-ignore: decorator
@inline function rsum_q8_0(q: usize, xl0: v128, xh0: v128, xl1: v128, xh1: v128): v128 {
  return i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(q), xl0), i32x4.dot_i16x8_s(v128.load8x8_s(q, 8), xh0)),
    i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(q, 16), xl1), i32x4.dot_i16x8_s(v128.load8x8_s(q, 24), xh1)));
}

/**
 * Row sums of one Q8_0 block (32 quants at q), relaxed build: x = x+ - x- with x+ = max(x, 0) and
 * x- = max(-x, 0), both in [0, 127] (activations never reach -128), so w . x+ and w . x- are each one
 * exact i16x8.relaxed_dot_i8x16_i7x16_s (pair sums within +-32258, no saturation) and their
 * difference, the true pair sum, fits i16 as well: 16 products per instruction where widening to
 * i16 gives 8.
 */
// @ts-ignore: decorator
@inline function rsum_q8_0_pn(q: usize, xp0: v128, xn0: v128, xp1: v128, xn1: v128, ones: v128): v128 {
  const w0 = v128.load(q), w1 = v128.load(q, 16);
  const a = i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w0, xp0), i16x8.relaxed_dot_i8x16_i7x16_s(w0, xn0));
  const b = i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w1, xp1), i16x8.relaxed_dot_i8x16_i7x16_s(w1, xn1));
  return i32x4.add(i32x4.dot_i16x8_s(a, ones), i32x4.dot_i16x8_s(b, ones));
}

/** acc + one Q8_0x4 block's contribution for four rows (integer sums * d_w * d_x), in one madd. */
// @ts-ignore: decorator
@inline function blk_q8_0x4(p: usize, xb: usize, xdb: usize, mK: v128, p112: v128, ones: v128, acc: v128): v128 {
  let s: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    const x0 = v128.load(xb), x1 = v128.load(xb, 16), z = i8x16.splat(0);
    const xp0 = i8x16.max_s(x0, z), xn0 = i8x16.max_s(i8x16.neg(x0), z), xp1 = i8x16.max_s(x1, z), xn1 = i8x16.max_s(i8x16.neg(x1), z);
    s = hsum4(rsum_q8_0_pn(p + 8, xp0, xn0, xp1, xn1, ones), rsum_q8_0_pn(p + 40, xp0, xn0, xp1, xn1, ones),
      rsum_q8_0_pn(p + 72, xp0, xn0, xp1, xn1, ones), rsum_q8_0_pn(p + 104, xp0, xn0, xp1, xn1, ones));
  } else {
    const xl0 = v128.load8x8_s(xb), xh0 = v128.load8x8_s(xb, 8), xl1 = v128.load8x8_s(xb, 16), xh1 = v128.load8x8_s(xb, 24);
    s = hsum4(rsum_q8_0(p + 8, xl0, xh0, xl1, xh1), rsum_q8_0(p + 40, xl0, xh0, xl1, xh1),
      rsum_q8_0(p + 72, xl0, xh0, xl1, xh1), rsum_q8_0(p + 104, xl0, xh0, xl1, xh1));
  }
  const d = f32x4.mul(h2f4_fin(p, mK, p112), v128.load32_splat(xdb));
  return madd(f32x4.convert_i32x4_s(s), d, acc);
}

/** Decode, Q8_0x4: eight groups (at w + i * gd) x one token, as dot8s_q4_0x4. */
export function dot8s_q8_0x4(w: usize, gd: usize, x: usize, cols: i32, y: usize, yd: usize): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const mK = H_MK, p112 = H_P112, ones = C_ONES; // locals: loaded once, before the loop
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 136;
    const xb = x + (<usize>b << 5), xdb = xd + (<usize>b << 2);
    a0 = blk_q8_0x4(p, xb, xdb, mK, p112, ones, a0);
    a1 = blk_q8_0x4(p + gd, xb, xdb, mK, p112, ones, a1);
    a2 = blk_q8_0x4(p + 2 * gd, xb, xdb, mK, p112, ones, a2);
    a3 = blk_q8_0x4(p + 3 * gd, xb, xdb, mK, p112, ones, a3);
    a4 = blk_q8_0x4(p + 4 * gd, xb, xdb, mK, p112, ones, a4);
    a5 = blk_q8_0x4(p + 5 * gd, xb, xdb, mK, p112, ones, a5);
    a6 = blk_q8_0x4(p + 6 * gd, xb, xdb, mK, p112, ones, a6);
    a7 = blk_q8_0x4(p + 7 * gd, xb, xdb, mK, p112, ones, a7);
  }
  v128.store(y, a0); v128.store(y + yd, a1); v128.store(y + 2 * yd, a2); v128.store(y + 3 * yd, a3);
  v128.store(y + 4 * yd, a4); v128.store(y + 5 * yd, a5); v128.store(y + 6 * yd, a6); v128.store(y + 7 * yd, a7);
}

/** Four rows (one group at w) x one token of Q8_0x4 (decode; as dot4_q4_0x4). */
export function dot4_q8_0x4(w: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const mK = H_MK, p112 = H_P112, ones = C_ONES; // locals: loaded once, before the loop
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 2 <= nb; b += 2) {
    const p = w + <usize>b * 136;
    const xb = x + (<usize>b << 5), o = <usize>b << 2;
    acc = blk_q8_0x4(p + 136, xb + 32, xd + o + 4, mK, p112, ones, blk_q8_0x4(p, xb, xd + o, mK, p112, ones, acc));
  }
  if (b < nb) acc = blk_q8_0x4(w + <usize>b * 136, x + (<usize>b << 5), xd + (<usize>b << 2), mK, p112, ones, acc);
  store4(y, acc, nrows);
}


/**
 * i16x8 lane j = a[2j] * b[2j] + a[2j+1] * b[2j+1] for signed bytes a and bytes b in [0, 127]
 * (pmaddubsw). Relaxed SIMD does it in one instruction; the baseline build emulates it exactly.
 */
// @ts-ignore: decorator
@inline function dot_u7(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(a, b);
  const ae = i16x8.shr_s(i16x8.shl(a, 8), 8), ao = i16x8.shr_s(a, 8);
  const be = v128.and(b, i16x8.splat(0xff)), bo = i16x8.shr_u(b, 8);
  return i16x8.add(i16x8.mul(ae, be), i16x8.mul(ao, bo));
}

/**
 * Row sums (i32 lane r = row r, before the -8 sum(x) correction) of one Q4_0x4 block: l0..h3 are its
 * nibbles, vector k holding bytes 4k..4k+3 of rows 0..3 (l: weights 4k..4k+3, h: 16+4k..16+4k+3);
 * xb points at the block's 32 activations, broadcast four at a time by load32_splat (a load, not a
 * shuffle on the vector ports). The i16 form's lanes stay below 4 x 2 x 2 x 15 x 127 = 30480.
 */
// @ts-ignore: decorator
@inline function isum_q4_0x4(xb: usize, l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, ones: v128): v128 {
  if (DOT_ADD) {
    // two chains of four: a dot-add waits for its accumulator (5 cycles on vpdpbusd); one chain of
    // eight ran 13% slower in prefill, four chains of two 3% slower (Node 24)
    const z = i32x4.splat(0);
    let a = dot_add(v128.load32_splat(xb), l0, z), b = dot_add(v128.load32_splat(xb, 16), h0, z);
    a = dot_add(v128.load32_splat(xb, 4), l1, a); b = dot_add(v128.load32_splat(xb, 20), h1, b);
    a = dot_add(v128.load32_splat(xb, 8), l2, a); b = dot_add(v128.load32_splat(xb, 24), h2, b);
    a = dot_add(v128.load32_splat(xb, 12), l3, a); b = dot_add(v128.load32_splat(xb, 28), h3, b);
    return i32x4.add(a, b);
  }
  let s = i16x8.add(dot_u7(v128.load32_splat(xb), l0), dot_u7(v128.load32_splat(xb, 16), h0));
  s = i16x8.add(s, i16x8.add(dot_u7(v128.load32_splat(xb, 4), l1), dot_u7(v128.load32_splat(xb, 20), h1)));
  s = i16x8.add(s, i16x8.add(dot_u7(v128.load32_splat(xb, 8), l2), dot_u7(v128.load32_splat(xb, 24), h2)));
  s = i16x8.add(s, i16x8.add(dot_u7(v128.load32_splat(xb, 12), l3), dot_u7(v128.load32_splat(xb, 28), h3)));
  return i32x4.dot_i16x8_s(s, ones);
}

/**
 * V8 (TurboFan) rematerialises every SIMD constant at each use inside a loop (three instructions
 * apiece). The kernels' constants are globals instead, copied into locals before their loops (one
 * load each). set_opaque_zero is exported (the host never calls it) so that the optimiser cannot
 * prove them constant and fold them back into literals; it rewrites them with the same values.
 */
let C_M0F: v128 = i8x16.splat(0x0f), C_ONES: v128 = i16x8.splat(1), C_M80: v128 = i8x16.splat(-128), C_ONE8: v128 = i8x16.splat(1);
export function set_opaque_zero(v: i32): void {
  const z = i32x4.splat(v);
  C_M0F = i32x4.add(C_M0F, z); C_ONES = i32x4.add(C_ONES, z); C_M80 = i32x4.add(C_M80, z); C_ONE8 = i32x4.add(C_ONE8, z);
  set_kquant_consts(v); set_f16_consts(v);
}

/** acc + one Q4_0x4 block's contribution for four rows ((integer sums - 8 sum(x)) * d_w * d_x), in one madd. */
// @ts-ignore: decorator
@inline function blk_q4_0x4(p: usize, xb: usize, xdb: usize, xsb: usize, m: v128, ones: v128, mK: v128, p112: v128, acc: v128): v128 {
  const q0 = v128.load(p, 8), q1 = v128.load(p, 24), q2 = v128.load(p, 40), q3 = v128.load(p, 56);
  const s = isum_q4_0x4(xb, v128.and(q0, m), v128.and(i16x8.shr_u(q0, 4), m), v128.and(q1, m), v128.and(i16x8.shr_u(q1, 4), m),
    v128.and(q2, m), v128.and(i16x8.shr_u(q2, 4), m), v128.and(q3, m), v128.and(i16x8.shr_u(q3, 4), m), ones);
  const i = i32x4.sub(s, v128.load32_splat(xsb));
  const d = f32x4.mul(h2f4_fin(p, mK, p112), v128.load32_splat(xdb));
  return madd(f32x4.convert_i32x4_s(i), d, acc);
}

/**
 * Decode, Q4_0x4: eight groups (at w + i * gd, i < 8) x one token. Eight weight streams at once is
 * what reaches DRAM bandwidth from WebAssembly here: the hardware prefetcher runs ahead on each
 * stream while the core works on the others (7B Q4_0 matvec, 2 threads: one stream 12 GB/s,
 * four 17, eight 25, twelve 26, sixteen 23 as V8 starts to spill). The eight groups also share the
 * activation loads and broadcasts. Each group's sum is accumulated block by block exactly as in
 * the other Q4_0x4 kernels, so results do not depend on the path.
 */
export function dot8s_q4_0x4(w: usize, gd: usize, x: usize, cols: i32, y: usize, yd: usize): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  const m = C_M0F, ones = C_ONES, mK = H_MK, p112 = H_P112; // locals: loaded once, before the loop
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 72;
    const xb = x + (<usize>b << 5), xdb = xd + (<usize>b << 2), xsb = xs + (<usize>b << 2);
    a0 = blk_q4_0x4(p, xb, xdb, xsb, m, ones, mK, p112, a0);
    a1 = blk_q4_0x4(p + gd, xb, xdb, xsb, m, ones, mK, p112, a1);
    a2 = blk_q4_0x4(p + 2 * gd, xb, xdb, xsb, m, ones, mK, p112, a2);
    a3 = blk_q4_0x4(p + 3 * gd, xb, xdb, xsb, m, ones, mK, p112, a3);
    a4 = blk_q4_0x4(p + 4 * gd, xb, xdb, xsb, m, ones, mK, p112, a4);
    a5 = blk_q4_0x4(p + 5 * gd, xb, xdb, xsb, m, ones, mK, p112, a5);
    a6 = blk_q4_0x4(p + 6 * gd, xb, xdb, xsb, m, ones, mK, p112, a6);
    a7 = blk_q4_0x4(p + 7 * gd, xb, xdb, xsb, m, ones, mK, p112, a7);
  }
  v128.store(y, a0); v128.store(y + yd, a1); v128.store(y + 2 * yd, a2); v128.store(y + 3 * yd, a3);
  v128.store(y + 4 * yd, a4); v128.store(y + 5 * yd, a5); v128.store(y + 6 * yd, a6); v128.store(y + 7 * yd, a7);
}

/** Four rows (one group at w) x one token of Q4_0x4 (decode). */
export function dot4_q4_0x4(w: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 5;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  const m = C_M0F, ones = C_ONES, mK = H_MK, p112 = H_P112; // locals: loaded once, before the loop
  let acc = f32x4.splat(0);
  let b = 0;
  // two blocks per iteration; one accumulator with the blocks in order, so the sums are the prefill
  // kernel's (batching never changes a result)
  for (; b + 2 <= nb; b += 2) {
    const p = w + <usize>b * 72;
    const xb = x + (<usize>b << 5), o = <usize>b << 2;
    acc = blk_q4_0x4(p + 72, xb + 32, xd + o + 4, xs + o + 4, m, ones, mK, p112, blk_q4_0x4(p, xb, xd + o, xs + o, m, ones, mK, p112, acc));
  }
  if (b < nb) {
    const o = <usize>b << 2;
    acc = blk_q4_0x4(w + <usize>b * 72, x + (<usize>b << 5), xd + o, xs + o, m, ones, mK, p112, acc);
  }
  store4(y, acc, nrows);
}

// @ts-ignore: decorator
@inline function rsum_i16(xl0: v128, xh0: v128, xl1: v128, xh1: v128, a: v128, b: v128, c: v128, d: v128): v128 {
  return i32x4.add(i32x4.add(i32x4.dot_i16x8_s(a, xl0), i32x4.dot_i16x8_s(b, xh0)),
    i32x4.add(i32x4.dot_i16x8_s(c, xl1), i32x4.dot_i16x8_s(d, xh1)));
}

// @ts-ignore: decorator
@inline function step4_q8_0(xt: usize, dOff: usize, ws: v128,
  a0: v128, b0: v128, c0: v128, e0: v128, a1: v128, b1: v128, c1: v128, e1: v128,
  a2: v128, b2: v128, c2: v128, e2: v128, a3: v128, b3: v128, c3: v128, e3: v128, acc: v128): v128 {
  const x0 = v128.load(xt), x1 = v128.load(xt, 16);
  const xl0 = i16x8.extend_low_i8x16_s(x0), xh0 = i16x8.extend_high_i8x16_s(x0);
  const xl1 = i16x8.extend_low_i8x16_s(x1), xh1 = i16x8.extend_high_i8x16_s(x1);
  const s = hsum4(rsum_i16(xl0, xh0, xl1, xh1, a0, b0, c0, e0), rsum_i16(xl0, xh0, xl1, xh1, a1, b1, c1, e1),
    rsum_i16(xl0, xh0, xl1, xh1, a2, b2, c2, e2), rsum_i16(xl0, xh0, xl1, xh1, a3, b3, c3, e3));
  return madd(f32x4.convert_i32x4_s(s), f32x4.mul(ws, f32x4.splat(load<f32>(dOff))), acc);
}

/**
 * Sums of 4 products per i32 lane of one row's 32 weights (w0, w1: signed) and u = x + 128 (as bytes
 * 0..255), the dot-add build only: its second operand goes past 7 bits, which is exact where V8 emits
 * vpdpbusd (unsigned by signed bytes, no saturation); dot_add_u8_exact() checks that before the host
 * picks the build.
 */
// @ts-ignore: decorator
@inline function rsum_u8(w0: v128, w1: v128, u0: v128, u1: v128): v128 {
  return dot_add(w1, u1, dot_add(w0, u0, i32x4.splat(0)));
}

/** 1 when dot_add takes its second operand as unsigned bytes without saturating (the dot-add build's Q8_0 prefill needs it). */
export function dot_add_u8_exact(): i32 {
  if (!DOT_ADD) return 0;
  const a = i8x16(-128, -128, -128, -128, 127, 127, 127, 127, -128, 127, -128, 127, 1, -1, 0, 0);
  const b = i8x16(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -128, -128, 127, 0); // bytes 255 x 12, 128, 128, 127, 0
  const r = dot_add(a, b, i32x4(7, -7, 0, 0));
  return i32x4.extract_lane(r, 0) == 7 - 4 * 128 * 255 && i32x4.extract_lane(r, 1) == -7 + 4 * 127 * 255
    && i32x4.extract_lane(r, 2) == 2 * (127 - 128) * 255 && i32x4.extract_lane(r, 3) == 0 ? 1 : 0;
}

/**
 * Four rows (one Q8_0x4 group) x four tokens (xs bytes apart); y rows ys bytes apart. Prefill: each
 * row's quants are widened to i16 once per block and used for the four tokens. The dot-add build
 * instead takes the activations as x + 128 and the weights as they are, 16 products per instruction,
 * and subtracts 128 x the row's weight sum (once per block, for the four tokens).
 */
export function mm4x4_q8_0x4(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  if (DOT_ADD) { mm4x4_q8_0x4_u8(w, x, xs, cols, y, ys); return; }
  const nb = cols >> 5;
  const d0 = <usize>cols;
  let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 136;
    const q0 = v128.load(p, 8), q1 = v128.load(p, 24), q2 = v128.load(p, 40), q3 = v128.load(p, 56);
    const q4 = v128.load(p, 72), q5 = v128.load(p, 88), q6 = v128.load(p, 104), q7 = v128.load(p, 120);
    const a0 = i16x8.extend_low_i8x16_s(q0), b0 = i16x8.extend_high_i8x16_s(q0), c0 = i16x8.extend_low_i8x16_s(q1), e0 = i16x8.extend_high_i8x16_s(q1);
    const a1 = i16x8.extend_low_i8x16_s(q2), b1 = i16x8.extend_high_i8x16_s(q2), c1 = i16x8.extend_low_i8x16_s(q3), e1 = i16x8.extend_high_i8x16_s(q3);
    const a2 = i16x8.extend_low_i8x16_s(q4), b2 = i16x8.extend_high_i8x16_s(q4), c2 = i16x8.extend_low_i8x16_s(q5), e2 = i16x8.extend_high_i8x16_s(q5);
    const a3 = i16x8.extend_low_i8x16_s(q6), b3 = i16x8.extend_high_i8x16_s(q6), c3 = i16x8.extend_low_i8x16_s(q7), e3 = i16x8.extend_high_i8x16_s(q7);
    const ws = h2f4_fin(p, H_MK, H_P112);
    const xo = <usize>b << 5, dOff = d0 + (<usize>b << 2);
    r0 = step4_q8_0(x + xo, x + dOff, ws, a0, b0, c0, e0, a1, b1, c1, e1, a2, b2, c2, e2, a3, b3, c3, e3, r0);
    r1 = step4_q8_0(x + xs + xo, x + xs + dOff, ws, a0, b0, c0, e0, a1, b1, c1, e1, a2, b2, c2, e2, a3, b3, c3, e3, r1);
    r2 = step4_q8_0(x + 2 * xs + xo, x + 2 * xs + dOff, ws, a0, b0, c0, e0, a1, b1, c1, e1, a2, b2, c2, e2, a3, b3, c3, e3, r2);
    r3 = step4_q8_0(x + 3 * xs + xo, x + 3 * xs + dOff, ws, a0, b0, c0, e0, a1, b1, c1, e1, a2, b2, c2, e2, a3, b3, c3, e3, r3);
  }
  v128.store(y, r0); v128.store(y + ys, r1); v128.store(y + 2 * ys, r2); v128.store(y + 3 * ys, r3);
}

// @ts-ignore: decorator
@inline function step4_q4_0x4(xt: usize, xo: usize, dOff: usize, sOff: usize, ws: v128, ones: v128,
  l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, acc: v128): v128 {
  const i = i32x4.sub(isum_q4_0x4(xt + xo, l0, h0, l1, h1, l2, h2, l3, h3, ones), v128.load32_splat(xt + sOff));
  return madd(f32x4.convert_i32x4_s(i), f32x4.mul(ws, v128.load32_splat(xt + dOff)), acc);
}

/**
 * Four rows (one Q4_0x4 group) x n tokens (n = 4 or 8, a constant once inlined; xs bytes apart); y rows
 * ys bytes apart. The block's nibbles are unpacked once and used for the n tokens.
 */
// @ts-ignore: decorator
@inline function mm4xn_q4_0x4(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize, n: i32): void {
  const nb = cols >> 5;
  const d0 = <usize>cols, s0 = d0 + (<usize>nb << 2);
  const m = C_M0F, ones = C_ONES, mK = H_MK, p112 = H_P112; // locals: loaded once, before the loop
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 72;
    const q0 = v128.load(p, 8), q1 = v128.load(p, 24), q2 = v128.load(p, 40), q3 = v128.load(p, 56);
    const l0 = v128.and(q0, m), h0 = v128.and(i16x8.shr_u(q0, 4), m), l1 = v128.and(q1, m), h1 = v128.and(i16x8.shr_u(q1, 4), m);
    const l2 = v128.and(q2, m), h2 = v128.and(i16x8.shr_u(q2, 4), m), l3 = v128.and(q3, m), h3 = v128.and(i16x8.shr_u(q3, 4), m);
    const ws = h2f4_fin(p, mK, p112);
    const xo = <usize>b << 5, dOff = d0 + (<usize>b << 2), sOff = s0 + (<usize>b << 2);
    a0 = step4_q4_0x4(x, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a0);
    a1 = step4_q4_0x4(x + xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a1);
    a2 = step4_q4_0x4(x + 2 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a2);
    a3 = step4_q4_0x4(x + 3 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a3);
    if (n == 8) {
      a4 = step4_q4_0x4(x + 4 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a4);
      a5 = step4_q4_0x4(x + 5 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a5);
      a6 = step4_q4_0x4(x + 6 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a6);
      a7 = step4_q4_0x4(x + 7 * xs, xo, dOff, sOff, ws, ones, l0, h0, l1, h1, l2, h2, l3, h3, a7);
    }
  }
  v128.store(y, a0); v128.store(y + ys, a1); v128.store(y + 2 * ys, a2); v128.store(y + 3 * ys, a3);
  if (n == 8) { v128.store(y + 4 * ys, a4); v128.store(y + 5 * ys, a5); v128.store(y + 6 * ys, a6); v128.store(y + 7 * ys, a7); }
}
export function mm4x4_q4_0x4(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void { mm4xn_q4_0x4(w, x, xs, cols, y, ys, 4); }
export function mm4x8_q4_0x4(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void { mm4xn_q4_0x4(w, x, xs, cols, y, ys, 8); }

// @ts-ignore: decorator
@inline function step4_q8_0_u8(xt: usize, dOff: usize, ws: v128, m80: v128, corr: v128,
  q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128, acc: v128): v128 {
  const u0 = v128.xor(v128.load(xt), m80), u1 = v128.xor(v128.load(xt, 16), m80);
  const s = i32x4.sub(hsum4(rsum_u8(q0, q1, u0, u1), rsum_u8(q2, q3, u0, u1), rsum_u8(q4, q5, u0, u1), rsum_u8(q6, q7, u0, u1)), corr);
  return madd(f32x4.convert_i32x4_s(s), f32x4.mul(ws, f32x4.splat(load<f32>(dOff))), acc);
}

/** mm4x4_q8_0x4 in the dot-add build (same integer sums, same float steps, so the same bits). */
// @ts-ignore: decorator
@inline function mm4x4_q8_0x4_u8(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  const nb = cols >> 5;
  const d0 = <usize>cols;
  const m80 = C_M80, one = C_ONE8;
  let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 136;
    const q0 = v128.load(p, 8), q1 = v128.load(p, 24), q2 = v128.load(p, 40), q3 = v128.load(p, 56);
    const q4 = v128.load(p, 72), q5 = v128.load(p, 88), q6 = v128.load(p, 104), q7 = v128.load(p, 120);
    // 128 x each row's weight sum
    const corr = i32x4.shl(hsum4(rsum_u8(q0, q1, one, one), rsum_u8(q2, q3, one, one), rsum_u8(q4, q5, one, one), rsum_u8(q6, q7, one, one)), 7);
    const ws = h2f4_fin(p, H_MK, H_P112);
    const xo = <usize>b << 5, dOff = d0 + (<usize>b << 2);
    r0 = step4_q8_0_u8(x + xo, x + dOff, ws, m80, corr, q0, q1, q2, q3, q4, q5, q6, q7, r0);
    r1 = step4_q8_0_u8(x + xs + xo, x + xs + dOff, ws, m80, corr, q0, q1, q2, q3, q4, q5, q6, q7, r1);
    r2 = step4_q8_0_u8(x + 2 * xs + xo, x + 2 * xs + dOff, ws, m80, corr, q0, q1, q2, q3, q4, q5, q6, q7, r2);
    r3 = step4_q8_0_u8(x + 3 * xs + xo, x + 3 * xs + dOff, ws, m80, corr, q0, q1, q2, q3, q4, q5, q6, q7, r3);
  }
  v128.store(y, r0); v128.store(y + ys, r1); v128.store(y + 2 * ys, r2); v128.store(y + 3 * ys, r3);
}
