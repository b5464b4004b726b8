// The KV cache and attention (AssemblyScript): cache element types, storing rows into the cache, and
// attention with grouped K/V heads over it, for decode (one token) and prefill (a chunk of tokens).
import { f2h, f2h_sat, h2f, h2f4_fin, h2f4_raw, H_MK, H_P112 } from "./f16";
import { fsum4, hsum, madd } from "./vec";
import { vexp } from "./vexp";

// KV cache element types: 0 f32, 1 f16, 2 q8_0 (GGUF Q8_0 blocks: f16 d + 32 i8, 34 bytes per 32 values).
const KV_F32: i32 = 0, KV_F16: i32 = 1, KV_Q8_0: i32 = 2;

/** Bytes of `n` cache values of type `kvt` (n a multiple of 32 for q8_0). */
export function kv_bytes(kvt: i32, n: i32): i32 {
  return kvt == KV_Q8_0 ? (n >> 5) * 34 : kvt == KV_F16 ? n << 1 : n << 2;
}

/**
 * Store n f32 values into the cache as f32, f16 (round to nearest even) or Q8_0 blocks
 * (d = amax/127 as f16, q = round-half-even(x * 127/amax), as llama.cpp's x86 quantize_row_q8_0).
 */
export function store_kv(src: usize, dst: usize, n: i32, kvt: i32): void {
  // f16: saturated to +-65504, so the cache never holds inf and attention can use the short h2f4_fin / h2f4_raw
  if (kvt == KV_F16) f2h_sat(src, dst, n);
  else if (kvt == KV_Q8_0) {
    for (let b = 0; b < (n >> 5); b++) {
      const x = src + (<usize>b << 7), o = dst + <usize>b * 34;
      let amax: f32 = 0;
      for (let i = 0; i < 32; i++) amax = max(amax, Mathf.abs(load<f32>(x + (<usize>i << 2))));
      const id: f32 = amax != 0 ? (127 as f32) / amax : 0;
      store<u16>(o, <u16>f2h(amax / 127));
      for (let i = 0; i < 32; i++) store<i8>(o + 2 + <usize>i, <i8><i32>nearest<f32>(load<f32>(x + (<usize>i << 2)) * id));
    }
  } else memory.copy(dst, src, <usize>n << 2);
}

/**
 * Four consecutive cache values at element i of a head row: f32, or f16 decoded by h2f4_fin (the
 * cache never holds inf/NaN, see store_kv). mK and p112 are its constants, passed in as locals
 * because V8 rematerialises a literal v128 at every use inside a loop.
 */
// @ts-ignore: decorator
@inline function kv4(p: usize, i: i32, f16: bool, mK: v128, p112: v128): v128 {
  return f16 ? h2f4_fin(p + (<usize>i << 1), mK, p112) : v128.load(p + (<usize>i << 2));
}

/**
 * kv4, or with `raw` (an f16 cache whose other factor, q or p, was multiplied by 2^112 beforehand)
 * the f16 values times 2^-112, one instruction shorter. The product of the two is the same real
 * number either way, so every madd rounds to the same bits.
 */
// @ts-ignore: decorator
@inline function kv4r(p: usize, i: i32, f16: bool, mK: v128, p112: v128, raw: bool): v128 {
  return raw ? h2f4_raw(p + (<usize>i << 1), mK) : kv4(p, i, f16, mK, p112);
}

/** Four consecutive values of a Q8_0 head row (element i of a 32-block at p), times its scale d. */
// @ts-ignore: decorator
@inline function q8x4(p: usize, i: i32, d: v128): v128 {
  const q = v128.load32_zero(p + 2 + <usize>i);
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(q))), d);
}

/** q . k for one cached head row `kp` of type kvt. */
// @ts-ignore: decorator
@inline function qk(qh: usize, kp: usize, headDim: i32, kvt: i32, mK: v128, p112: v128): f32 {
  let acc = f32x4.splat(0);
  if (kvt == KV_Q8_0) {
    for (let b = 0; b < headDim; b += 32) {
      const blk = kp + <usize>(b >> 5) * 34;
      const d = f32x4.splat(h2f(load<u16>(blk)));
      for (let j = 0; j < 32; j += 4) acc = madd(v128.load(qh + (<usize>(b + j) << 2)), q8x4(blk, j, d), acc);
    }
  } else {
    for (let d = 0; d < headDim; d += 4) acc = madd(v128.load(qh + (<usize>d << 2)), kv4(kp, d, kvt == KV_F16, mK, p112), acc);
  }
  return hsum(acc);
}

/** out += p * v for one cached head row `vp` of type kvt. */
// @ts-ignore: decorator
@inline function axpy(oh: usize, vp: usize, p: v128, headDim: i32, kvt: i32, mK: v128, p112: v128): void {
  if (kvt == KV_Q8_0) {
    for (let b = 0; b < headDim; b += 32) {
      const blk = vp + <usize>(b >> 5) * 34;
      const d = f32x4.splat(h2f(load<u16>(blk)));
      for (let j = 0; j < 32; j += 4) {
        const o = oh + (<usize>(b + j) << 2);
        v128.store(o, madd(p, q8x4(blk, j, d), v128.load(o)));
      }
    }
  } else {
    for (let d = 0; d < headDim; d += 4) {
      const o = oh + (<usize>d << 2);
      v128.store(o, madd(p, kv4(vp, d, kvt == KV_F16, mK, p112), v128.load(o)));
    }
  }
}

/** q . k for four cached head rows (f32 or f16) `rowBytes` apart: one vector of four scores. */
// @ts-ignore: decorator
@inline function qk4(qh: usize, kp: usize, rowBytes: usize, headDim: i32, f16: bool, mK: v128, p112: v128, raw: bool = false): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let d = 0; d < headDim; d += 4) {
    const qv = v128.load(qh + (<usize>d << 2));
    a0 = madd(qv, kv4r(kp, d, f16, mK, p112, raw), a0);
    a1 = madd(qv, kv4r(kp + rowBytes, d, f16, mK, p112, raw), a1);
    a2 = madd(qv, kv4r(kp + 2 * rowBytes, d, f16, mK, p112, raw), a2);
    a3 = madd(qv, kv4r(kp + 3 * rowBytes, d, f16, mK, p112, raw), a3);
  }
  return fsum4(a0, a1, a2, a3);
}

/** out = (((out + p0 v0) + p1 v1) + p2 v2) + p3 v3 (each step a madd) for four cached head rows (f32 or f16) `rowBytes` apart. */
// @ts-ignore: decorator
@inline function axpy4(oh: usize, vp: usize, rowBytes: usize, p: v128, headDim: i32, f16: bool, mK: v128, p112: v128, raw: bool = false): void {
  const p0 = f32x4.splat(f32x4.extract_lane(p, 0)), p1 = f32x4.splat(f32x4.extract_lane(p, 1));
  const p2 = f32x4.splat(f32x4.extract_lane(p, 2)), p3 = f32x4.splat(f32x4.extract_lane(p, 3));
  for (let d = 0; d < headDim; d += 4) {
    const o = oh + (<usize>d << 2);
    let acc = madd(p0, kv4r(vp, d, f16, mK, p112, raw), v128.load(o));
    acc = madd(p1, kv4r(vp + rowBytes, d, f16, mK, p112, raw), acc);
    acc = madd(p2, kv4r(vp + 2 * rowBytes, d, f16, mK, p112, raw), acc);
    v128.store(o, madd(p3, kv4r(vp + 3 * rowBytes, d, f16, mK, p112, raw), acc));
  }
}

/** qk4 for two query heads (qa, qb) of one K/V group: each K value is decoded once for both. Scaled scores go to sa, sb. */
// @ts-ignore: decorator
@inline function qk4x2(qa: usize, qb: usize, kp: usize, rowBytes: usize, headDim: i32, f16: bool, mK: v128, p112: v128,
  sv: v128, sa: usize, sb: usize, raw: bool): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (let d = 0; d < headDim; d += 4) {
    const o = <usize>d << 2;
    const qv = v128.load(qa + o), rv = v128.load(qb + o);
    const k0 = kv4r(kp, d, f16, mK, p112, raw), k1 = kv4r(kp + rowBytes, d, f16, mK, p112, raw);
    const k2 = kv4r(kp + 2 * rowBytes, d, f16, mK, p112, raw), k3 = kv4r(kp + 3 * rowBytes, d, f16, mK, p112, raw);
    a0 = madd(qv, k0, a0); a1 = madd(qv, k1, a1); a2 = madd(qv, k2, a2); a3 = madd(qv, k3, a3);
    b0 = madd(rv, k0, b0); b1 = madd(rv, k1, b1); b2 = madd(rv, k2, b2); b3 = madd(rv, k3, b3);
  }
  v128.store(sa, f32x4.mul(fsum4(a0, a1, a2, a3), sv));
  v128.store(sb, f32x4.mul(fsum4(b0, b1, b2, b3), sv));
}

/** axpy4 for two query heads (outputs oa, ob, probabilities pa, pb) of one K/V group: each V value decoded once. */
// @ts-ignore: decorator
@inline function axpy4x2(oa: usize, ob: usize, vp: usize, rowBytes: usize, pa: v128, pb: v128, headDim: i32, f16: bool, mK: v128, p112: v128, raw: bool): void {
  const a0 = f32x4.splat(f32x4.extract_lane(pa, 0)), a1 = f32x4.splat(f32x4.extract_lane(pa, 1));
  const a2 = f32x4.splat(f32x4.extract_lane(pa, 2)), a3 = f32x4.splat(f32x4.extract_lane(pa, 3));
  const b0 = f32x4.splat(f32x4.extract_lane(pb, 0)), b1 = f32x4.splat(f32x4.extract_lane(pb, 1));
  const b2 = f32x4.splat(f32x4.extract_lane(pb, 2)), b3 = f32x4.splat(f32x4.extract_lane(pb, 3));
  for (let d = 0; d < headDim; d += 4) {
    const o = <usize>d << 2;
    const v0 = kv4r(vp, d, f16, mK, p112, raw), v1 = kv4r(vp + rowBytes, d, f16, mK, p112, raw);
    const v2 = kv4r(vp + 2 * rowBytes, d, f16, mK, p112, raw), v3 = kv4r(vp + 3 * rowBytes, d, f16, mK, p112, raw);
    v128.store(oa + o, madd(a3, v3, madd(a2, v2, madd(a1, v1, madd(a0, v0, v128.load(oa + o))))));
    v128.store(ob + o, madd(b3, v3, madd(b2, v2, madd(b1, v1, madd(b0, v0, v128.load(ob + o))))));
  }
}

let touch_sink: i32 = 0;

/** Load one byte of every 64 in `n` rows of `bytes` bytes, `stride` apart (a prefetch; WebAssembly has none). */
function touch_rows(p: usize, stride: usize, bytes: usize, n: i32): void {
  let t: i32 = 0;
  for (let i = 0; i < n; i++) {
    const r = p + <usize>i * stride;
    for (let o: usize = 0; o < bytes; o += 64) t += load<u8>(r + o);
  }
  touch_sink += t;
}

/** Scores q . k_i / sqrt(headDim) of positions [i0, npos) (i0 a multiple of 4) into `scores`; returns their max. */
// @ts-ignore: decorator
@inline function scores_from(qh: usize, kc: usize, rowBytes: usize, headDim: i32, f16: bool, kvt: i32, wide: bool,
  scores: usize, i0: i32, npos: i32, scale: f32, mK: v128, p112: v128): f32 {
  const sv = f32x4.splat(scale);
  let mxv = f32x4.splat(-Infinity);
  let i = i0;
  if (wide) {
    for (; i + 4 <= npos; i += 4) {
      const s4 = f32x4.mul(qk4(qh, kc + <usize>i * rowBytes, rowBytes, headDim, f16, mK, p112), sv);
      v128.store(scores + (<usize>i << 2), s4);
      mxv = f32x4.max(mxv, s4);
    }
  }
  let mx: f32 = max(max(f32x4.extract_lane(mxv, 0), f32x4.extract_lane(mxv, 1)), max(f32x4.extract_lane(mxv, 2), f32x4.extract_lane(mxv, 3)));
  for (; i < npos; i++) {
    const s1 = qk(qh, kc + <usize>i * rowBytes, headDim, kvt, mK, p112) * scale;
    store<f32>(scores + (<usize>i << 2), s1);
    if (s1 > mx) mx = s1;
  }
  return mx;
}

/** scores[0, npos) -> softmax probabilities exp(s - mx) / sum, in place. */
// @ts-ignore: decorator
@inline function softmax_probs(scores: usize, npos: i32, mx: f32): void {
  // numerators four at a time, and their sum
  const mv = f32x4.splat(mx);
  let sumv = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= npos; i += 4) {
    const e = vexp(f32x4.sub(v128.load(scores + (<usize>i << 2)), mv));
    v128.store(scores + (<usize>i << 2), e);
    sumv = f32x4.add(sumv, e);
  }
  let sum = hsum(sumv);
  for (; i < npos; i++) {
    const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(scores + (<usize>i << 2)) - mx)), 0);
    store<f32>(scores + (<usize>i << 2), e);
    sum += e;
  }
  const inv: f32 = <f32>1.0 / sum;
  const iv = f32x4.splat(inv);
  for (i = 0; i + 4 <= npos; i += 4) v128.store(scores + (<usize>i << 2), f32x4.mul(v128.load(scores + (<usize>i << 2)), iv));
  for (; i < npos; i++) store<f32>(scores + (<usize>i << 2), load<f32>(scores + (<usize>i << 2)) * inv);
}

/** out += sum_i p_i v_i over positions [i0, npos) (i0 a multiple of 4), four rows of V per pass. */
// @ts-ignore: decorator
@inline function pv_from(oh: usize, vc: usize, rowBytes: usize, probs: usize, i0: i32, npos: i32, headDim: i32,
  f16: bool, kvt: i32, wide: bool, mK: v128, p112: v128): void {
  let i = i0;
  if (wide) {
    for (; i + 4 <= npos; i += 4) axpy4(oh, vc + <usize>i * rowBytes, rowBytes, v128.load(probs + (<usize>i << 2)), headDim, f16, mK, p112);
  }
  for (; i < npos; i++) axpy(oh, vc + <usize>i * rowBytes, f32x4.splat(load<f32>(probs + (<usize>i << 2))), headDim, kvt, mK, p112);
}

/**
 * Scores of positions [0, n) (n a multiple of 4) for the query heads of four tokens (q0..q3) against
 * f32 K rows (kf, hdBytes apart), into sc + k * ss for token k; returns the four tokens' maxima. Each
 * K row is loaded once for the four tokens (prefill over a long context is bound by reading K and V).
 * Every score is summed exactly as qk4 sums it (per-lane partial sums over d, then fsum4's order),
 * so it is the bit-for-bit value the token would get alone.
 */
function qk_tile4(q0: usize, q1: usize, q2: usize, q3: usize, kf: usize, hdBytes: usize, headDim: i32, n: i32,
  scale: f32, sc: usize, ss: usize): v128 {
  const sv = f32x4.splat(scale);
  let mxv = f32x4.splat(-Infinity);
  for (let p = 0; p < n; p += 2) {
    const k0 = kf + <usize>p * hdBytes, k1 = k0 + hdBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (let d = 0; d < headDim; d += 4) {
      const o = <usize>d << 2;
      const u = v128.load(k0 + o), w = v128.load(k1 + o);
      const x0 = v128.load(q0 + o), x1 = v128.load(q1 + o), x2 = v128.load(q2 + o), x3 = v128.load(q3 + o);
      a0 = madd(x0, u, a0); a1 = madd(x1, u, a1); a2 = madd(x2, u, a2); a3 = madd(x3, u, a3);
      b0 = madd(x0, w, b0); b1 = madd(x1, w, b1); b2 = madd(x2, w, b2); b3 = madd(x3, w, b3);
    }
    const s = f32x4.mul(fsum4(a0, a1, a2, a3), sv), t = f32x4.mul(fsum4(b0, b1, b2, b3), sv);
    mxv = f32x4.max(mxv, f32x4.max(s, t));
    const o = sc + (<usize>p << 2);
    store<f32>(o, f32x4.extract_lane(s, 0)); store<f32>(o + ss, f32x4.extract_lane(s, 1));
    store<f32>(o + 2 * ss, f32x4.extract_lane(s, 2)); store<f32>(o + 3 * ss, f32x4.extract_lane(s, 3));
    store<f32>(o, f32x4.extract_lane(t, 0), 4); store<f32>(o + ss, f32x4.extract_lane(t, 1), 4);
    store<f32>(o + 2 * ss, f32x4.extract_lane(t, 2), 4); store<f32>(o + 3 * ss, f32x4.extract_lane(t, 3), 4);
  }
  return mxv;
}

/**
 * out_k += sum_i p_ki v_i over positions [0, n) (n a multiple of 4) for four tokens (outputs o0..o3,
 * probabilities at sc + k * ss), f32 V rows at vf: each V row is loaded once for the four tokens.
 * The sums are axpy4's, in its order.
 */
function pv_tile4(o0: usize, o1: usize, o2: usize, o3: usize, vf: usize, hdBytes: usize, headDim: i32, n: i32,
  sc: usize, ss: usize): void {
  pv_pair(o0, o1, vf, hdBytes, headDim, n, sc, ss);
  pv_pair(o2, o3, vf, hdBytes, headDim, n, sc + 2 * ss, ss);
}

/**
 * Two tokens of pv_tile4: their eight probabilities of a block of four positions are splatted once
 * and held while the block's V rows (in L1 by then) stream past, one madd per value and token.
 */
function pv_pair(oa: usize, ob: usize, vf: usize, hdBytes: usize, headDim: i32, n: i32, sa: usize, ss: usize): void {
  for (let i = 0; i < n; i += 4) {
    const v = vf + <usize>i * hdBytes, pa = sa + (<usize>i << 2), pb = pa + ss;
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4), a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
    const b0 = v128.load32_splat(pb), b1 = v128.load32_splat(pb, 4), b2 = v128.load32_splat(pb, 8), b3 = v128.load32_splat(pb, 12);
    for (let d = 0; d < headDim; d += 4) {
      const o = <usize>d << 2;
      const v0 = v128.load(v + o), v1 = v128.load(v + hdBytes + o), v2 = v128.load(v + 2 * hdBytes + o), v3 = v128.load(v + 3 * hdBytes + o);
      v128.store(oa + o, madd(a3, v3, madd(a2, v2, madd(a1, v1, madd(a0, v0, v128.load(oa + o))))));
      v128.store(ob + o, madd(b3, v3, madd(b2, v2, madd(b1, v1, madd(b0, v0, v128.load(ob + o))))));
    }
  }
}

/**
 * Decode (one token) over an f32 or f16 cache for query heads [h0, h1): the blocks and sums of
 * scores_from and pv_from for every head, with the loops swapped, positions outside and heads
 * inside. A position's row holds all K (or V) heads, so this thread's heads are one contiguous run
 * of it: the cache is read as four rows streaming side by side instead of one head's few hundred
 * bytes from every row in turn; two query heads of one K/V group share each decoded K and V value.
 * Head h's scores are at scores + (h - h0) * ss. Over an f16 cache the query heads are first
 * multiplied by 2^112 into qs (when every |q| < 2^16, so that nothing overflows), and so are the
 * probabilities, which lets the f16 values stay scaled by 2^-112 (h2f4_raw): the same products.
 */
function decode_rows(qh0: usize, oh0: usize, kc: usize, vc: usize, npos: i32, rowBytes: usize, headBytes: usize,
  headDim: i32, group: i32, h0: i32, h1: i32, kvt: i32, scores: usize, ss: usize, qs: usize,
  scale: f32, mK: v128, p112: v128): void {
  const hdBytes = <usize>headDim << 2, full = npos & ~3, f16 = kvt == KV_F16;
  let raw = f16;
  if (f16) {
    let big = f32x4.splat(0);
    for (let o: usize = <usize>h0 * hdBytes; o < <usize>h1 * hdBytes; o += 16) big = f32x4.max(big, f32x4.abs(v128.load(qh0 + o)));
    const lim = f32x4.splat(65536);
    raw = !v128.any_true(f32x4.ge(big, lim)) && i32x4.all_true(f32x4.eq(big, big));
    if (raw) {
      for (let o: usize = <usize>h0 * hdBytes; o < <usize>h1 * hdBytes; o += 16) v128.store(qs + o - <usize>h0 * hdBytes, f32x4.mul(v128.load(qh0 + o), p112));
    }
  }
  if (raw) decode_qk(qs - <usize>h0 * hdBytes, kc, full, rowBytes, headBytes, headDim, group, h0, h1, true, scores, ss, scale, mK, p112, true);
  else decode_qk(qh0, kc, full, rowBytes, headBytes, headDim, group, h0, h1, f16, scores, ss, scale, mK, p112, false);
  for (let h = h0; h < h1; h++) {
    const sh = scores + <usize>(h - h0) * ss, oh = oh0 + <usize>h * hdBytes;
    let mxv = f32x4.splat(-Infinity);
    for (let i = 0; i < full; i += 4) mxv = f32x4.max(mxv, v128.load(sh + (<usize>i << 2)));
    const mt = max(max(f32x4.extract_lane(mxv, 0), f32x4.extract_lane(mxv, 1)), max(f32x4.extract_lane(mxv, 2), f32x4.extract_lane(mxv, 3)));
    const kh = kc + <usize>(h / group) * headBytes;
    softmax_probs(sh, npos, max(mt, scores_from(qh0 + <usize>h * hdBytes, kh, rowBytes, headDim, f16, kvt, true, sh, full, npos, scale, mK, p112)));
    for (let d = 0; d < headDim; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
  }
  if (raw) decode_pv(oh0, vc, full, rowBytes, headBytes, headDim, group, h0, h1, true, scores, ss, mK, p112, true);
  else decode_pv(oh0, vc, full, rowBytes, headBytes, headDim, group, h0, h1, f16, scores, ss, mK, p112, false);
  for (let h = h0; h < h1; h++) {
    pv_from(oh0 + <usize>h * hdBytes, vc + <usize>(h / group) * headBytes, rowBytes, scores + <usize>(h - h0) * ss, full, npos, headDim, f16, kvt, true, mK, p112);
  }
}

/** decode_rows' scores of positions [0, full) (blocks of four), heads inside. */
// @ts-ignore: decorator
@inline function decode_qk(qh0: usize, kc: usize, full: i32, rowBytes: usize, headBytes: usize, headDim: i32, group: i32,
  h0: i32, h1: i32, f16: bool, scores: usize, ss: usize, scale: f32, mK: v128, p112: v128, raw: bool): void {
  const hdBytes = <usize>headDim << 2, sv = f32x4.splat(scale);
  for (let i = 0; i < full; i += 4) {
    const ko = kc + <usize>i * rowBytes, so = <usize>i << 2;
    for (let h = h0; h < h1; h++) {
      const sh = scores + <usize>(h - h0) * ss + so, kh = ko + <usize>(h / group) * headBytes;
      if (h + 1 < h1 && (h + 1) / group == h / group) { // two query heads of one K/V group
        qk4x2(qh0 + <usize>h * hdBytes, qh0 + <usize>(h + 1) * hdBytes, kh, rowBytes, headDim, f16, mK, p112, sv, sh, sh + ss, raw);
        h++;
      } else v128.store(sh, f32x4.mul(qk4(qh0 + <usize>h * hdBytes, kh, rowBytes, headDim, f16, mK, p112, raw), sv));
    }
  }
}

/** decode_rows' outputs over positions [0, full) (blocks of four), heads inside; raw: probabilities times 2^112. */
// @ts-ignore: decorator
@inline function decode_pv(oh0: usize, vc: usize, full: i32, rowBytes: usize, headBytes: usize, headDim: i32, group: i32,
  h0: i32, h1: i32, f16: bool, scores: usize, ss: usize, mK: v128, p112: v128, raw: bool): void {
  const hdBytes = <usize>headDim << 2;
  for (let i = 0; i < full; i += 4) {
    const vo = vc + <usize>i * rowBytes, so = <usize>i << 2;
    for (let h = h0; h < h1; h++) {
      const sh = scores + <usize>(h - h0) * ss + so, vh = vo + <usize>(h / group) * headBytes, oh = oh0 + <usize>h * hdBytes;
      const pa = raw ? f32x4.mul(v128.load(sh), p112) : v128.load(sh);
      if (h + 1 < h1 && (h + 1) / group == h / group) {
        const pb = raw ? f32x4.mul(v128.load(sh + ss), p112) : v128.load(sh + ss);
        axpy4x2(oh, oh + hdBytes, vh, rowBytes, pa, pb, headDim, f16, mK, p112, raw);
        h++;
      } else axpy4(oh, vh, rowBytes, pa, headDim, f16, mK, p112, raw);
    }
  }
}

/**
 * Attention with grouped K/V heads, for work items j in [j0, j1) of nTok*nHeads (token t = j / nHeads,
 * head h = j % nHeads; head-major, t = j % nTok and h = j / nTok, for several tokens over an f16
 * cache, see below). Each token names its own cache: `info` holds per token three i32
 * (K cache pointer, V cache pointer, number of positions it sees), so one batch can mix tokens of
 * several sequences; a causal chunk of one sequence is the case where the pointers are shared and the
 * counts grow by one. Each cache position holds kvDim = nKV*headDim values of type `kvt` (f32, f16
 * or Q8_0 blocks). q and out are f32 [nTok][qStride]. `scratch` is per-thread scratch of f32
 * [ctx * (2 * headDim + 4)] (ctx: the most positions a token sees). Head h reads K/V head h / (nHeads/nKV).
 * One token over an f32 or f16 cache (decode) goes position by position for all its heads at once
 * (decode_rows).
 */
export function attention(q: usize, qStride: i32, info: usize, out: usize, scratch: usize,
  headDim: i32, nHeads: i32, nKV: i32, kvt: i32, nTok: i32, ctx: i32, j0: i32, j1: i32): void {
  const cacheRowBytes = <usize>kv_bytes(kvt, nKV * headDim), headBytes = <usize>kv_bytes(kvt, headDim);
  const group = nHeads / nKV;
  const scale: f32 = <f32>1.0 / Mathf.sqrt(<f32>headDim);
  const mK = H_MK, p112 = H_P112; // locals: loaded once, before the loop
  // Several tokens over an f16 cache (prefill): items go head by head, and the head's K/V rows are
  // decoded to f32 once into the scratch (kf, vf) and reused by every token and every query head of
  // the group; four tokens of one sequence go through K and V together (qk_tile4, pv_tile4) over the
  // positions they all see in whole blocks of four, and each finishes the rest alone. The products and
  // sums are the same whichever way a score or output is made, so results do not depend on the batch.
  const hm = nTok > 1 && kvt == KV_F16;
  const hdBytes = <usize>headDim << 2, ss = <usize>ctx << 2;
  const kf = scratch, vf = kf + <usize>ctx * hdBytes, scores = hm ? vf + <usize>ctx * hdBytes : scratch;
  const wide = kvt != KV_Q8_0;
  if (nTok == 1 && wide && (j1 - j0) * (ctx + headDim) <= ctx * (2 * headDim + 4)) { // scores and scaled q fit the scratch
    decode_rows(q, out, <usize>load<u32>(info), <usize>load<u32>(info, 4), load<i32>(info, 8), cacheRowBytes, headBytes,
      headDim, group, j0, j1, kvt, scratch, ss, scratch + <usize>(j1 - j0) * ss, scale, mK, p112);
    return;
  }
  let curKc: usize = 0, curVc: usize = 0, conv = 0;
  for (let j = j0; j < j1;) {
    const t = hm ? j % nTok : j / nHeads, h = hm ? j / nTok : j % nHeads;
    const kvh = h / group;
    const it = info + <usize>t * 12;
    let kc = <usize>load<u32>(it) + <usize>kvh * headBytes;
    let vc = <usize>load<u32>(it, 4) + <usize>kvh * headBytes;
    const npos = load<i32>(it, 8);
    const qh = q + ((<usize>t * <usize>qStride + <usize>h * <usize>headDim) << 2);
    const oh = out + ((<usize>t * <usize>qStride + <usize>h * <usize>headDim) << 2);
    if (hm) {
      // four tokens of the same head and sequence?
      const tile = j + 4 <= j1 && t + 4 <= nTok && load<u32>(it) == load<u32>(it, 12) && load<u32>(it) == load<u32>(it, 24)
        && load<u32>(it) == load<u32>(it, 36) && load<u32>(it, 4) == load<u32>(it, 16) && load<u32>(it, 4) == load<u32>(it, 28)
        && load<u32>(it, 4) == load<u32>(it, 40);
      const n1 = tile ? load<i32>(it, 20) : 0, n2 = tile ? load<i32>(it, 32) : 0, n3 = tile ? load<i32>(it, 44) : 0;
      const nmax = tile ? max(max(npos, n1), max(n2, n3)) : npos;
      if (kc != curKc || vc != curVc) { curKc = kc; curVc = vc; conv = 0; }
      for (; conv < nmax; conv++) {
        const ko = kc + <usize>conv * cacheRowBytes, vo = vc + <usize>conv * cacheRowBytes;
        const kd = kf + <usize>conv * hdBytes, vd = vf + <usize>conv * hdBytes;
        for (let d = 0; d < headDim; d += 4) {
          v128.store(kd + (<usize>d << 2), kv4(ko, d, true, mK, p112));
          v128.store(vd + (<usize>d << 2), kv4(vo, d, true, mK, p112));
        }
      }
      if (tile) {
        const rowStep = <usize>qStride << 2;
        const f = min(min(npos, n1), min(n2, n3)) & ~3; // positions all four see, in whole blocks
        const mxv = qk_tile4(qh, qh + rowStep, qh + 2 * rowStep, qh + 3 * rowStep, kf, hdBytes, headDim, f, scale, scores, ss);
        for (let k = 0; k < 4; k++) {
          const nk = load<i32>(it + <usize>k * 12, 8), sk = scores + <usize>k * ss, ok = oh + <usize>k * rowStep;
          const mt = k == 0 ? f32x4.extract_lane(mxv, 0) : k == 1 ? f32x4.extract_lane(mxv, 1) : k == 2 ? f32x4.extract_lane(mxv, 2) : f32x4.extract_lane(mxv, 3);
          const mx = max(mt, scores_from(qh + <usize>k * rowStep, kf, hdBytes, headDim, false, KV_F32, true, sk, f, nk, scale, mK, p112));
          softmax_probs(sk, nk, mx);
          for (let d = 0; d < headDim; d += 4) v128.store(ok + (<usize>d << 2), f32x4.splat(0));
        }
        pv_tile4(oh, oh + rowStep, oh + 2 * rowStep, oh + 3 * rowStep, vf, hdBytes, headDim, f, scores, ss);
        for (let k = 0; k < 4; k++) {
          const nk = load<i32>(it + <usize>k * 12, 8);
          pv_from(oh + <usize>k * rowStep, vf, hdBytes, scores + <usize>k * ss, f, nk, headDim, false, KV_F32, true, mK, p112);
        }
        j += 4;
        continue;
      }
      kc = kf; vc = vf;
    } else {
      // The head's cached rows sit cacheRowBytes apart (every position holds all K/V heads): first
      // touch them all in a tight loop, so their cache misses overlap instead of stalling the dot
      // products one by one.
      touch_rows(kc, cacheRowBytes, headBytes, npos);
    }
    const rowBytes = hm ? hdBytes : cacheRowBytes, f16 = !hm && kvt == KV_F16, kt = hm ? KV_F32 : kvt;
    softmax_probs(scores, npos, scores_from(qh, kc, rowBytes, headDim, f16, kt, wide, scores, 0, npos, scale, mK, p112));
    if (!hm) touch_rows(vc, rowBytes, headBytes, npos);
    for (let d = 0; d < headDim; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
    pv_from(oh, vc, rowBytes, scores, 0, npos, headDim, f16, kt, wide, mK, p112);
    j++;
  }
}
