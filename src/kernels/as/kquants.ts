// K-quants (AssemblyScript): the Q8_K activation quantiser, and the 4-row dot products of Q4_K, Q5_K
// and Q6_K weights with Q8_K activations that `matmul` (matmul.ts) runs for kinds 12, 13 and 14.
//
// Q8_K activations, per token (`q8KStride(cols)` bytes, cols a multiple of 256):
//   qs i8[cols] | d f32[cols/256] | bsums i16[cols/16] | bsums32 i16[cols/32]
//   (bsums[k] = qs[16k] + ... + qs[16k+15], bsums32[j] = bsums[2j] + bsums[2j+1]: the per-token sums
//   that every weight row would otherwise recompute)
// Weight super-block b (256 weights, GGUF layout, see src/format/dequant.ts) pairs with activation block b.
//
// Integer core: a 16-byte vector of unsigned weight quants (0..63) times 16 int8 activations gives
// eight i16 partial sums (`dot16`), at most 2 * 63 * 128 = 16128 in size, so two of them still add in
// i16 when the quants are 4 bits wide. `i32x4.dot_i16x8_s` against the sub-block's scale splatted to
// all lanes then scales and widens in one step. The relaxed build does the first step with
// `i16x8.relaxed_dot_i8x16_i7x16_s` (the quant is the 7-bit operand, so the result is exact and
// never saturates); the baseline widens both sides to i16 and multiplies.
// Offsets that do not depend on the weight quant (Q4_K/Q5_K mins, Q6_K's -32) come from the bsums.
//
// Rows: decode (one token) runs `dot8s_*`, eight rows from eight evenly spaced places in the thread's
// share, block by block: eight weight streams in flight is what gets near DRAM bandwidth (see
// dot8s_q4_0x4 in matmul.ts; 7B-shaped Q4_K matvec, 2 threads: 10 -> 17 GB/s). `dot4_*` (the few rows
// left over, and tokens 2-3 of a small batch) walks up to four rows one after another. The
// activations of a token (at most 11 KB for Code Llama) stay in L1 either way. Within a row, the
// super-block is a loop over chunks rather than straight-line code, because V8 schedules all the
// loads of a basic block at its top (straight-line code spilled ~170 vectors per super-block).
import { h2f_lut } from "./matmul";
import { DOT_ADD, dot_add, hsum } from "./vec";

// SIMD constants as globals: V8 rematerialises a literal v128 at every use inside a loop (three
// instructions) but reads a global with one load. set_kquant_consts (run by set_opaque_zero, which is
// exported, so the optimiser cannot fold them back into literals) fills them in.
let M0F: v128 = i8x16.splat(0x0f), M10: v128 = i8x16.splat(0x10), M30: v128 = i8x16.splat(0x30);
// lane masks of scales_mins_k4
let SM_LO: v128 = i8x16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0);
let SM_HI4: v128 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15);
let SM_TOP: v128 = i8x16(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30);
export function set_kquant_consts(z: i32): void {
  const zv = i8x16.splat(<i8>z);
  M0F = i8x16.add(M0F, zv); M10 = i8x16.add(M10, zv); M30 = i8x16.add(M30, zv);
  SM_LO = i8x16.add(SM_LO, zv); SM_HI4 = i8x16.add(SM_HI4, zv); SM_TOP = i8x16.add(SM_TOP, zv);
}

export function q8KStride(cols: i32): i32 { return cols + (cols >> 8) * 4 + (cols >> 4) * 2 + (cols >> 5) * 2; }

// --------------------------------------------------------------------------------- quantiser

/**
 * Quantise f32 activations (token t at x + 4 * t * xStride) to Q8_K for tokens [t0, t1), exactly as
 * ggml's quantize_row_q8_K_ref: per 256 values, max = the first value of largest magnitude,
 * iscale = -127 / max, q = min(127, round-half-even(iscale * x)), d = 1 / iscale (f32, so d < 0 when
 * max > 0), bsums = sums of each 16 quants. An all-zero block gets d = 0, zero quants, zero bsums.
 */
export function quantize_q8_K(x: usize, xStride: i32, out: usize, cols: i32, t0: i32, t1: i32): void {
  const nb = cols >> 8;
  const os = <usize>q8KStride(cols);
  for (let t = t0; t < t1; t++) {
    const xt = x + ((<usize>t * <usize>xStride) << 2);
    const qs = out + <usize>t * os;
    const ds = qs + <usize>cols;
    const bs = ds + (<usize>nb << 2);
    const b32 = bs + (<usize>nb << 5);
    for (let b = 0; b < nb; b++) {
      const xb = xt + (<usize>b << 10);
      const qb = qs + (<usize>b << 8);
      // The largest and smallest values decide the signed maximum unless they tie in magnitude.
      let hi0 = f32x4.splat(0), hi1 = f32x4.splat(0), lo0 = f32x4.splat(0), lo1 = f32x4.splat(0);
      for (let i: usize = 0; i < 1024; i += 32) {
        const v0 = v128.load(xb + i), v1 = v128.load(xb + i + 16);
        hi0 = f32x4.max(hi0, v0); hi1 = f32x4.max(hi1, v1);
        lo0 = f32x4.min(lo0, v0); lo1 = f32x4.min(lo1, v1);
      }
      const hv = f32x4.max(hi0, hi1), lv = f32x4.min(lo0, lo1);
      const mx = max(max(f32x4.extract_lane(hv, 0), f32x4.extract_lane(hv, 1)), max(f32x4.extract_lane(hv, 2), f32x4.extract_lane(hv, 3)));
      const mn = min(min(f32x4.extract_lane(lv, 0), f32x4.extract_lane(lv, 1)), min(f32x4.extract_lane(lv, 2), f32x4.extract_lane(lv, 3)));
      let vmax: f32;
      if (mx > -mn) vmax = mx;
      else if (-mn > mx) vmax = mn;
      else {
        // |max| == |min| (or a NaN): ggml's own scan, where the first value of largest magnitude wins.
        let amax: f32 = 0;
        vmax = 0;
        for (let i: usize = 0; i < 1024; i += 4) {
          const v = load<f32>(xb + i);
          if (abs(v) > amax) { amax = abs(v); vmax = v; }
        }
        if (amax == 0) {
          memory.fill(qb, 0, 256);
          store<f32>(ds + (<usize>b << 2), 0);
          v128.store(bs + (<usize>b << 5), i32x4.splat(0));
          v128.store(bs + (<usize>b << 5) + 16, i32x4.splat(0));
          v128.store(b32 + (<usize>b << 4), i32x4.splat(0));
          continue;
        }
      }
      const iscale: f32 = <f32>-127.0 / vmax;
      const iv = f32x4.splat(iscale);
      const top = i32x4.splat(127);
      // 16 groups of 16; four groups' sums are reduced together into one vector of 4 bsums.
      let v0 = i32x4.splat(0), v1 = v0, v2 = v0, v3 = v0;
      for (let g4 = 0; g4 < 4; g4++) {
        let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
        for (let j = 0; j < 4; j++) {
          const g = (g4 << 2) + j;
          const xg = xb + (<usize>g << 6);
          const q0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xg), iv))), top);
          const q1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xg + 16), iv))), top);
          const q2 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xg + 32), iv))), top);
          const q3 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xg + 48), iv))), top);
          v128.store(qb + (<usize>g << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
          const s = i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3));
          if (j == 0) s0 = s; else if (j == 1) s1 = s; else if (j == 2) s2 = s; else s3 = s;
        }
        // [sum s0, sum s1, sum s2, sum s3]
        const a = i32x4.add(v128.shuffle<i32>(s0, s1, 0, 2, 4, 6), v128.shuffle<i32>(s0, s1, 1, 3, 5, 7));
        const c = i32x4.add(v128.shuffle<i32>(s2, s3, 0, 2, 4, 6), v128.shuffle<i32>(s2, s3, 1, 3, 5, 7));
        const v = i32x4.add(v128.shuffle<i32>(a, c, 0, 2, 4, 6), v128.shuffle<i32>(a, c, 1, 3, 5, 7));
        if (g4 == 0) v0 = v; else if (g4 == 1) v1 = v; else if (g4 == 2) v2 = v; else v3 = v;
      }
      // |bsum| <= 16 * 128 and |bsum32| <= 32 * 128: both fit i16 (llama.cpp's bsums are int16 too)
      v128.store(bs + (<usize>b << 5), i16x8.narrow_i32x4_s(v0, v1));
      v128.store(bs + (<usize>b << 5) + 16, i16x8.narrow_i32x4_s(v2, v3));
      const p01 = i32x4.add(v128.shuffle<i32>(v0, v1, 0, 2, 4, 6), v128.shuffle<i32>(v0, v1, 1, 3, 5, 7));
      const p23 = i32x4.add(v128.shuffle<i32>(v2, v3, 0, 2, 4, 6), v128.shuffle<i32>(v2, v3, 1, 3, 5, 7));
      v128.store(b32 + (<usize>b << 4), i16x8.narrow_i32x4_s(p01, p23));
      store<f32>(ds + (<usize>b << 2), <f32>1.0 / iscale);
    }
  }
}

// ------------------------------------------------------------------------------- shared parts

/** Eight i16 partial sums of q[i] * x[i], i < 16: q unsigned 0..63, x int8 at xp. */
// @ts-ignore: decorator
@inline function dot16(q: v128, xp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp), q);
  return i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(q), v128.load8x8_s(xp)),
    i16x8.mul(i16x8.extend_high_i8x16_u(q), v128.load8x8_s(xp + 8)));
}

// i16 lanes 0..3 (dup_lo) or 4..7 (dup_hi) of v, each doubled: (v0, v0) (v1, v1) ..., so that one
// 32-bit lane broadcast (bc32: a single pshufd, where an i16 broadcast costs V8 two instructions)
// splats one scale.
// @ts-ignore: decorator
@inline function dup_lo(v: v128): v128 { return i16x8.shuffle(v, v, 0, 0, 1, 1, 2, 2, 3, 3); }
// @ts-ignore: decorator
@inline function dup_hi(v: v128): v128 { return i16x8.shuffle(v, v, 4, 4, 5, 5, 6, 6, 7, 7); }
// @ts-ignore: decorator
@inline function bc32(v: v128, k: i32): v128 {
  if (k == 0) return i32x4.shuffle(v, v, 0, 0, 0, 0);
  if (k == 1) return i32x4.shuffle(v, v, 1, 1, 1, 1);
  if (k == 2) return i32x4.shuffle(v, v, 2, 2, 2, 2);
  return i32x4.shuffle(v, v, 3, 3, 3, 3);
}

/**
 * The eight 6-bit scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K/Q5_K super-block from its 12
 * packed bytes at `s` (j < 4: sc = s[j] & 63, m = s[j+4] & 63; j >= 4: sc = s[j+4] & 15 | (s[j-4] >> 6) << 4,
 * m = s[j+4] >> 4 | (s[j] >> 6) << 4), all sixteen at once: two 32-bit lane shuffles put each output
 * byte's source bytes in place, then per-lane masks pick the low bits and the top two bits.
 * (It reads 16 bytes from s; the last four are quants, masked out.)
 */
// @ts-ignore: decorator
@inline function scales_mins_k4(s: usize): v128 {
  const v = v128.load(s);
  const a = i32x4.shuffle(v, v, 0, 2, 1, 2); // s0..3 | s8..11 | s4..7 | s8..11
  const c = i32x4.shuffle(v, v, 0, 0, 1, 1); // top bits: s0..3 for sc4..7 (lanes 4..7), s4..7 for m4..7 (12..15)
  const lo = v128.or(v128.and(a, SM_LO), v128.and(i16x8.shr_u(a, 4), SM_HI4));
  return v128.or(lo, v128.and(i16x8.shr_u(c, 2), SM_TOP));
}

/**
 * One chunk of 64 weights of Q4_K/Q5_K: lo0/lo1 are the quants of sub-block A (weights 0..31 of the
 * chunk, activations at xp), hi0/hi1 those of sub-block B (weights 32..63); their scales are 32-bit
 * lanes 0 and 1 of sd (each scale doubled, see dup_lo). Four products share an i16 lane: at most
 * 4 * 31 * 128 = 15872.
 * The dot-add build sums eight products per i32 lane (at most 8 * 31 * 128 = 31744, so the
 * saturating narrow to i16 is exact) and scales both sub-blocks with one pmaddwd: i32 lanes
 * (scA (a0 + a1), scA (a2 + a3), scB (b0 + b1), scB (b2 + b3)). The same integers in total, grouped
 * into other lanes than the i16 form's (scA a_j + scB b_j), so the float sums round differently from
 * the relaxed build's (interleaving to keep its grouping cost two of the eight instructions saved).
 */
// @ts-ignore: decorator
@inline function chunk_k4(lo0: v128, lo1: v128, hi0: v128, hi1: v128, xp: usize, sd: v128, s: v128): v128 {
  if (DOT_ADD) {
    const z = i32x4.splat(0);
    const a = dot_add(v128.load(xp, 16), lo1, dot_add(v128.load(xp), lo0, z));
    const b = dot_add(v128.load(xp, 48), hi1, dot_add(v128.load(xp, 32), hi0, z));
    return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.narrow_i32x4_s(a, b), i32x4.shuffle(sd, sd, 0, 0, 1, 1)));
  }
  const a = i16x8.add(dot16(lo0, xp), dot16(lo1, xp + 16));
  const b = i16x8.add(dot16(hi0, xp + 32), dot16(hi1, xp + 48));
  return i32x4.add(s, i32x4.add(i32x4.dot_i16x8_s(a, bc32(sd, 0)), i32x4.dot_i16x8_s(b, bc32(sd, 1))));
}

// @ts-ignore: decorator
@inline function finish_k4(p: usize, s: v128, mn: v128, bsub: v128, dx: f32, a: v128): v128 {
  const m = i32x4.dot_i16x8_s(mn, bsub);
  const d = h2f_lut(load<u16>(p)) * dx, dm = h2f_lut(load<u16>(p, 2)) * dx;
  return f32x4.sub(f32x4.add(a, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d))),
    f32x4.mul(f32x4.convert_i32x4_s(m), f32x4.splat(dm)));
}

// ------------------------------------------------------------------------------------------ Q4_K
// Block (144 bytes): f16 d | f16 dmin | scales[12] | qs[128]. Chunk c (64 weights) uses qs[32c..32c+31]:
// low nibbles are sub-block 2c, high nibbles sub-block 2c+1. w = d*sc*q - dmin*m, so the block's dot is
//   d*dx * sum_j sc_j * (q . x)_j  -  dmin*dx * sum_j m_j * (bsums[2j] + bsums[2j+1]).

// @ts-ignore: decorator
@inline function blk_q4_K(p: usize, xb: usize, bsub: v128, dx: f32, a: v128): v128 {
  const sm = scales_mins_k4(p + 4);
  const m = M0F; // a local: V8 reloads a global at every use
  // the scales duplicated into 32-bit lanes: (sc0, sc0) (sc1, sc1) ... so that one pshufd broadcasts one
  let sd = dup_lo(i16x8.extend_low_i8x16_u(sm));
  const sdh = dup_hi(i16x8.extend_low_i8x16_u(sm));
  let s = i32x4.splat(0);
  for (let c: usize = 0; c < 128; c += 32) {
    const w0 = v128.load(p + 16 + c), w1 = v128.load(p + 32 + c);
    const l0 = v128.and(w0, m), l1 = v128.and(w1, m), h0 = v128.and(i16x8.shr_u(w0, 4), m), h1 = v128.and(i16x8.shr_u(w1, 4), m);
    s = chunk_k4(l0, l1, h0, h1, xb + (c << 1), sd, s);
    sd = c == 32 ? sdh : i32x4.shuffle(sd, sd, 2, 3, 0, 1); // next chunk's two scales to lanes 0, 1
  }
  return finish_k4(p, s, i16x8.extend_high_i8x16_u(sm), bsub, dx, a);
}

/** Rows [0, nrows) of W (`rb` bytes apart) . x -> y[0 .. nrows), one token. */
export function dot4_q4_K(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 8;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  for (let r = 0; r < nrows; r++) {
    const wr = w + <usize>r * rb;
    let a = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      a = blk_q4_K(wr + <usize>b * 144, x + (<usize>b << 8), v128.load(xs + (<usize>nb << 5) + (<usize>b << 4)), load<f32>(xd + (<usize>b << 2)), a);
    }
    store<f32>(y + (<usize>r << 2), hsum(a));
  }
}

/**
 * One Q4_K row x four tokens (xs bytes apart) -> y[t * ys]: prefill. The row's nibbles and scales
 * are unpacked once per chunk and used for the four tokens.
 */
export function mm1x4_q4_K(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  const nb = cols >> 8;
  const xd = <usize>cols, xsm = xd + (<usize>nb << 2);
  const m = M0F;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 144, xb = x + (<usize>b << 8);
    const sm = scales_mins_k4(p + 4);
    let sd = dup_lo(i16x8.extend_low_i8x16_u(sm));
    const sdh = dup_hi(i16x8.extend_low_i8x16_u(sm));
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let c: usize = 0; c < 128; c += 32) {
      const w0 = v128.load(p + 16 + c), w1 = v128.load(p + 32 + c);
      const l0 = v128.and(w0, m), l1 = v128.and(w1, m), h0 = v128.and(i16x8.shr_u(w0, 4), m), h1 = v128.and(i16x8.shr_u(w1, 4), m);
      const xc = xb + (c << 1);
      s0 = chunk_k4(l0, l1, h0, h1, xc, sd, s0);
      s1 = chunk_k4(l0, l1, h0, h1, xc + xs, sd, s1);
      s2 = chunk_k4(l0, l1, h0, h1, xc + 2 * xs, sd, s2);
      s3 = chunk_k4(l0, l1, h0, h1, xc + 3 * xs, sd, s3);
      sd = c == 32 ? sdh : i32x4.shuffle(sd, sd, 2, 3, 0, 1);
    }
    const mn = i16x8.extend_high_i8x16_u(sm);
    const bo = xsm + (<usize>nb << 5) + (<usize>b << 4), dd = xd + (<usize>b << 2);
    a0 = finish_k4(p, s0, mn, v128.load(x + bo), load<f32>(x + dd), a0);
    a1 = finish_k4(p, s1, mn, v128.load(x + xs + bo), load<f32>(x + xs + dd), a1);
    a2 = finish_k4(p, s2, mn, v128.load(x + 2 * xs + bo), load<f32>(x + 2 * xs + dd), a2);
    a3 = finish_k4(p, s3, mn, v128.load(x + 3 * xs + bo), load<f32>(x + 3 * xs + dd), a3);
  }
  store<f32>(y, hsum(a0)); store<f32>(y + ys, hsum(a1)); store<f32>(y + 2 * ys, hsum(a2)); store<f32>(y + 3 * ys, hsum(a3));
}

// ------------------------------------------------------------------------------------------ Q5_K
// Block (176 bytes): f16 d | f16 dmin | scales[12] | qh[32] | qs[128]. As Q4_K, plus a fifth bit:
// weight l of sub-block j (l < 32) adds 16 when bit j of qh[l] is set.

// @ts-ignore: decorator
@inline function blk_q5_K(p: usize, xb: usize, bsub: v128, dx: f32, a: v128): v128 {
  const sm = scales_mins_k4(p + 4);
  const m = M0F, b4 = M10;
  let sd = dup_lo(i16x8.extend_low_i8x16_u(sm));
  const sdh = dup_hi(i16x8.extend_low_i8x16_u(sm));
  // qh bits 2c and 2c+1 of chunk c, moved down by 2 per chunk (word shifts: each byte only ever
  // reads its own bits 0 and 1, which come from inside the byte for c < 4).
  let h0 = v128.load(p, 16), h1 = v128.load(p, 32);
  let s = i32x4.splat(0);
  for (let c: usize = 0; c < 128; c += 32) {
    const w0 = v128.load(p + 48 + c), w1 = v128.load(p + 64 + c);
    s = chunk_k4(
      v128.or(v128.and(w0, m), v128.and(i16x8.shl(h0, 4), b4)), v128.or(v128.and(w1, m), v128.and(i16x8.shl(h1, 4), b4)),
      v128.or(v128.and(i16x8.shr_u(w0, 4), m), v128.and(i16x8.shl(h0, 3), b4)), v128.or(v128.and(i16x8.shr_u(w1, 4), m), v128.and(i16x8.shl(h1, 3), b4)),
      xb + (c << 1), sd, s);
    sd = c == 32 ? sdh : i32x4.shuffle(sd, sd, 2, 3, 0, 1);
    h0 = i16x8.shr_u(h0, 2); h1 = i16x8.shr_u(h1, 2);
  }
  return finish_k4(p, s, i16x8.extend_high_i8x16_u(sm), bsub, dx, a);
}

/** Rows [0, nrows) of W (`rb` bytes apart) . x -> y[0 .. nrows), one token. */
export function dot4_q5_K(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 8;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  for (let r = 0; r < nrows; r++) {
    const wr = w + <usize>r * rb;
    let a = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      a = blk_q5_K(wr + <usize>b * 176, x + (<usize>b << 8), v128.load(xs + (<usize>nb << 5) + (<usize>b << 4)), load<f32>(xd + (<usize>b << 2)), a);
    }
    store<f32>(y + (<usize>r << 2), hsum(a));
  }
}

/** One Q5_K row x four tokens (xs bytes apart) -> y[t * ys]: prefill, as mm1x4_q4_K. */
export function mm1x4_q5_K(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  const nb = cols >> 8;
  const xd = <usize>cols, xsm = xd + (<usize>nb << 2);
  const m = M0F, b4 = M10;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 176, xb = x + (<usize>b << 8);
    const sm = scales_mins_k4(p + 4);
    let sd = dup_lo(i16x8.extend_low_i8x16_u(sm));
    const sdh = dup_hi(i16x8.extend_low_i8x16_u(sm));
    let h0 = v128.load(p, 16), h1 = v128.load(p, 32);
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let c: usize = 0; c < 128; c += 32) {
      const w0 = v128.load(p + 48 + c), w1 = v128.load(p + 64 + c);
      const l0 = v128.or(v128.and(w0, m), v128.and(i16x8.shl(h0, 4), b4)), l1 = v128.or(v128.and(w1, m), v128.and(i16x8.shl(h1, 4), b4));
      const u0 = v128.or(v128.and(i16x8.shr_u(w0, 4), m), v128.and(i16x8.shl(h0, 3), b4)), u1 = v128.or(v128.and(i16x8.shr_u(w1, 4), m), v128.and(i16x8.shl(h1, 3), b4));
      const xc = xb + (c << 1);
      s0 = chunk_k4(l0, l1, u0, u1, xc, sd, s0);
      s1 = chunk_k4(l0, l1, u0, u1, xc + xs, sd, s1);
      s2 = chunk_k4(l0, l1, u0, u1, xc + 2 * xs, sd, s2);
      s3 = chunk_k4(l0, l1, u0, u1, xc + 3 * xs, sd, s3);
      sd = c == 32 ? sdh : i32x4.shuffle(sd, sd, 2, 3, 0, 1);
      h0 = i16x8.shr_u(h0, 2); h1 = i16x8.shr_u(h1, 2);
    }
    const mn = i16x8.extend_high_i8x16_u(sm);
    const bo = xsm + (<usize>nb << 5) + (<usize>b << 4), dd = xd + (<usize>b << 2);
    a0 = finish_k4(p, s0, mn, v128.load(x + bo), load<f32>(x + dd), a0);
    a1 = finish_k4(p, s1, mn, v128.load(x + xs + bo), load<f32>(x + xs + dd), a1);
    a2 = finish_k4(p, s2, mn, v128.load(x + 2 * xs + bo), load<f32>(x + 2 * xs + dd), a2);
    a3 = finish_k4(p, s3, mn, v128.load(x + 3 * xs + bo), load<f32>(x + 3 * xs + dd), a3);
  }
  store<f32>(y, hsum(a0)); store<f32>(y + ys, hsum(a1)); store<f32>(y + 2 * ys, hsum(a2)); store<f32>(y + 3 * ys, hsum(a3));
}

// ------------------------------------------------------------------------------------------ Q6_K
// Block (210 bytes): ql[128] | qh[64] | i8 scales[16] | f16 d. Half h (128 weights) uses ql[64h..],
// qh[32h..], scales[8h..]; its weight 32k + l (l < 32) has q = 4 bits of ql | 2 bits of qh << 4 (0..63)
// and scale 8h + 2k + l/16, so every 16 weights share one int8 scale and one bsum. w = d*sc*(q - 32):
//   d*dx * (sum_g sc_g * (q . x)_g  -  32 * sum_g sc_g * bsums[g]).

/**
 * s + two groups of 16 weights (quants qA, qB in 0..63; activations at xa, xb) times their scales,
 * 32-bit lanes 2k and 2k+1 of d (k = 0 or 1, a constant once inlined; each scale doubled, see dup_lo).
 * The dot-add build sums four products per i32 lane (at most 4 * 63 * 128 = 32256: the narrow to
 * i16 is exact) and scales both groups with one pmaddwd, grouping the sums into lanes differently
 * from the i16 form (see chunk_k4).
 */
// @ts-ignore: decorator
@inline function pair_q6(qA: v128, qB: v128, xa: usize, xb: usize, d: v128, k: i32, s: v128): v128 {
  if (DOT_ADD) {
    const z = i32x4.splat(0);
    const ab = i16x8.narrow_i32x4_s(dot_add(v128.load(xa), qA, z), dot_add(v128.load(xb), qB, z));
    return i32x4.add(s, i32x4.dot_i16x8_s(ab, k == 0 ? i32x4.shuffle(d, d, 0, 0, 1, 1) : i32x4.shuffle(d, d, 2, 2, 3, 3)));
  }
  s = i32x4.add(s, i32x4.dot_i16x8_s(dot16(qA, xa), bc32(d, k << 1)));
  return i32x4.add(s, i32x4.dot_i16x8_s(dot16(qB, xb), bc32(d, (k << 1) + 1)));
}

// @ts-ignore: decorator
@inline function blk_q6_K(p: usize, xb: usize, bs0: v128, bs1: v128, dx: f32, a: v128): v128 {
  const sv = v128.load(p, 192);
  const off = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(sv), bs0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(sv), bs1));
  let s = i32x4.sub(i32x4.splat(0), i32x4.shl(off, 5));
  // Step (h, j) takes 16 bytes of ql at 64h+16j and 64h+32+16j and of qh at 32h+16j: weights
  // 128h + 32k + 16j + l (k < 4, l < 16), scales 8h + 2k + j. sc holds the step's four scales in
  // lanes 0..3 and the next step's in 4..7; sn the two steps after.
  const so = i8x16.shuffle(sv, sv, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
  const sc = i16x8.extend_low_i8x16_s(so), sn = i16x8.extend_high_i8x16_s(so);
  // step k's four scales, each doubled into a 32-bit lane (see dup_lo): d0 is the current step's
  let d0 = dup_lo(sc), d1 = dup_hi(sc), d2 = dup_lo(sn);
  const d3 = dup_hi(sn);
  const m = M0F, m30 = M30; // locals: V8 reloads a global at every use
  for (let h: usize = 0; h < 2; h++) {
    for (let j: usize = 0; j < 32; j += 16) {
      const ql = p + (h << 6) + j, qh = p + 128 + (h << 5) + j, xp = xb + (h << 7) + j;
      const qa = v128.load(ql), qb = v128.load(ql, 32), hb = v128.load(qh);
      const q0 = v128.or(v128.and(qa, m), v128.and(i16x8.shl(hb, 4), m30));
      const q1 = v128.or(v128.and(qb, m), v128.and(i16x8.shl(hb, 2), m30));
      const q2 = v128.or(v128.and(i16x8.shr_u(qa, 4), m), v128.and(hb, m30));
      const q3 = v128.or(v128.and(i16x8.shr_u(qb, 4), m), v128.and(i16x8.shr_u(hb, 2), m30));
      s = pair_q6(q2, q3, xp + 64, xp + 96, d0, 1, pair_q6(q0, q1, xp, xp + 32, d0, 0, s));
      d0 = d1; d1 = d2; d2 = d3;
    }
  }
  return f32x4.add(a, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(h2f_lut(load<u16>(p, 208)) * dx)));
}

/** Rows [0, nrows) of W (`rb` bytes apart) . x -> y[0 .. nrows), one token. */
export function dot4_q6_K(w: usize, rb: usize, x: usize, cols: i32, y: usize, nrows: i32): void {
  const nb = cols >> 8;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  for (let r = 0; r < nrows; r++) {
    const wr = w + <usize>r * rb;
    let a = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const bp = xs + (<usize>b << 5);
      const bs0 = v128.load(bp), bs1 = v128.load(bp, 16);
      a = blk_q6_K(wr + <usize>b * 210, x + (<usize>b << 8), bs0, bs1, load<f32>(xd + (<usize>b << 2)), a);
    }
    store<f32>(y + (<usize>r << 2), hsum(a));
  }
}

/** The -32 offset of a Q6_K block for one token, from its bsums, as an i32x4 start value. */
// @ts-ignore: decorator
@inline function off_q6(sv: v128, bp: usize): v128 {
  const bs0 = v128.load(bp), bs1 = v128.load(bp, 16);
  const off = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(sv), bs0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(sv), bs1));
  return i32x4.sub(i32x4.splat(0), i32x4.shl(off, 5));
}

/** One Q6_K row x four tokens (xs bytes apart) -> y[t * ys]: prefill (see blk_q6_K for the layout). */
export function mm1x4_q6_K(w: usize, x: usize, xs: usize, cols: i32, y: usize, ys: usize): void {
  const nb = cols >> 8;
  const xd = <usize>cols, xsm = xd + (<usize>nb << 2);
  const m = M0F, m30 = M30;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 210, xb = x + (<usize>b << 8);
    const sv = v128.load(p, 192);
    const bo = xsm + (<usize>b << 5);
    let s0 = off_q6(sv, x + bo), s1 = off_q6(sv, x + xs + bo), s2 = off_q6(sv, x + 2 * xs + bo), s3 = off_q6(sv, x + 3 * xs + bo);
    const so = i8x16.shuffle(sv, sv, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
    const sc = i16x8.extend_low_i8x16_s(so), sn = i16x8.extend_high_i8x16_s(so);
    let d0 = dup_lo(sc), d1 = dup_hi(sc), d2 = dup_lo(sn);
    const d3 = dup_hi(sn);
    for (let h: usize = 0; h < 2; h++) {
      for (let j: usize = 0; j < 32; j += 16) {
        const ql = p + (h << 6) + j, qh = p + 128 + (h << 5) + j, xp = xb + (h << 7) + j;
        const qa = v128.load(ql), qb = v128.load(ql, 32), hb = v128.load(qh);
        const q0 = v128.or(v128.and(qa, m), v128.and(i16x8.shl(hb, 4), m30));
        const q1 = v128.or(v128.and(qb, m), v128.and(i16x8.shl(hb, 2), m30));
        const q2 = v128.or(v128.and(i16x8.shr_u(qa, 4), m), v128.and(hb, m30));
        const q3 = v128.or(v128.and(i16x8.shr_u(qb, 4), m), v128.and(i16x8.shr_u(hb, 2), m30));
        s0 = pair_q6(q2, q3, xp + 64, xp + 96, d0, 1, pair_q6(q0, q1, xp, xp + 32, d0, 0, s0));
        s1 = pair_q6(q2, q3, xp + xs + 64, xp + xs + 96, d0, 1, pair_q6(q0, q1, xp + xs, xp + xs + 32, d0, 0, s1));
        s2 = pair_q6(q2, q3, xp + 2 * xs + 64, xp + 2 * xs + 96, d0, 1, pair_q6(q0, q1, xp + 2 * xs, xp + 2 * xs + 32, d0, 0, s2));
        s3 = pair_q6(q2, q3, xp + 3 * xs + 64, xp + 3 * xs + 96, d0, 1, pair_q6(q0, q1, xp + 3 * xs, xp + 3 * xs + 32, d0, 0, s3));
        d0 = d1; d1 = d2; d2 = d3;
      }
    }
    const d = h2f_lut(load<u16>(p, 208)), dd = xd + (<usize>b << 2);
    a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(s0), f32x4.splat(d * load<f32>(x + dd))));
    a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(s1), f32x4.splat(d * load<f32>(x + xs + dd))));
    a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(s2), f32x4.splat(d * load<f32>(x + 2 * xs + dd))));
    a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(s3), f32x4.splat(d * load<f32>(x + 3 * xs + dd))));
  }
  store<f32>(y, hsum(a0)); store<f32>(y + ys, hsum(a1)); store<f32>(y + 2 * ys, hsum(a2)); store<f32>(y + 3 * ys, hsum(a3));
}

// ------------------------------------------------------------------------------ decode, 8 streams

/** The block function of K-quant `kind` (12 Q4_K, 13 Q5_K, 14 Q6_K) for row pointer p. */
// @ts-ignore: decorator
@inline function blk_k(kind: i32, p: usize, b: i32, xb: usize, xs: usize, nb: i32, dx: f32, a: v128): v128 {
  if (kind == 14) {
    const bp = xs + (<usize>b << 5);
    return blk_q6_K(p + <usize>b * 210, xb, v128.load(bp), v128.load(bp, 16), dx, a);
  }
  const bsub = v128.load(xs + (<usize>nb << 5) + (<usize>b << 4));
  return kind == 12 ? blk_q4_K(p + <usize>b * 144, xb, bsub, dx, a) : blk_q5_K(p + <usize>b * 176, xb, bsub, dx, a);
}

/** Decode: rows w + i * rd (i < 8) . x -> y[i * yd], one token; eight row streams (see dot8s_q4_0x4). */
// @ts-ignore: decorator
@inline function dot8s_k(kind: i32, w: usize, rd: usize, x: usize, cols: i32, y: usize, yd: usize): void {
  const nb = cols >> 8;
  const xd = x + <usize>cols;
  const xs = xd + (<usize>nb << 2);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 8), dx = load<f32>(xd + (<usize>b << 2));
    a0 = blk_k(kind, w, b, xb, xs, nb, dx, a0);
    a1 = blk_k(kind, w + rd, b, xb, xs, nb, dx, a1);
    a2 = blk_k(kind, w + 2 * rd, b, xb, xs, nb, dx, a2);
    a3 = blk_k(kind, w + 3 * rd, b, xb, xs, nb, dx, a3);
    a4 = blk_k(kind, w + 4 * rd, b, xb, xs, nb, dx, a4);
    a5 = blk_k(kind, w + 5 * rd, b, xb, xs, nb, dx, a5);
    a6 = blk_k(kind, w + 6 * rd, b, xb, xs, nb, dx, a6);
    a7 = blk_k(kind, w + 7 * rd, b, xb, xs, nb, dx, a7);
  }
  store<f32>(y, hsum(a0)); store<f32>(y + yd, hsum(a1)); store<f32>(y + 2 * yd, hsum(a2)); store<f32>(y + 3 * yd, hsum(a3));
  store<f32>(y + 4 * yd, hsum(a4)); store<f32>(y + 5 * yd, hsum(a5)); store<f32>(y + 6 * yd, hsum(a6)); store<f32>(y + 7 * yd, hsum(a7));
}

export function dot8s_q4_K(w: usize, rd: usize, x: usize, cols: i32, y: usize, yd: usize): void { dot8s_k(12, w, rd, x, cols, y, yd); }
export function dot8s_q5_K(w: usize, rd: usize, x: usize, cols: i32, y: usize, yd: usize): void { dot8s_k(13, w, rd, x, cols, y, yd); }
export function dot8s_q6_K(w: usize, rd: usize, x: usize, cols: i32, y: usize, yd: usize): void { dot8s_k(14, w, rd, x, cols, y, yd); }
