// Element-wise and per-token operations of the Llama block (AssemblyScript).
// Pointers are byte offsets into the shared memory; strides are in elements unless named otherwise.
import { f2h, h2f, h2f4_fin, H_MK, H_P112, round_f16 } from "./f16";
import { q8Stride } from "./matmul";

/**
 * Quantise f32 activations to Q8 blocks of 32 for tokens [t0, t1), as llama.cpp's x86
 * quantize_row_q8_0 does: d = amax/127 stored as f16, q = round-half-even(x * 127/amax).
 * Output per token (q8Stride(cols) bytes): qs i8[cols] | d f32[cols/32] | s i32[cols/32] (sum of qs).
 */
export function quantize_q8_0(x: usize, xStride: i32, out: usize, cols: i32, t0: i32, t1: i32): void {
  const nb = cols >> 5;
  const os = <usize>q8Stride(cols);
  for (let t = t0; t < t1; t++) {
    const xt = x + ((<usize>t * <usize>xStride) << 2);
    const qs = out + <usize>t * os;
    const ds = qs + <usize>cols;
    const ss = ds + (<usize>nb << 2);
    for (let b = 0; b < nb; b++) {
      const xb = xt + (<usize>b << 7);
      const v0 = v128.load(xb), v1 = v128.load(xb + 16), v2 = v128.load(xb + 32), v3 = v128.load(xb + 48);
      const v4 = v128.load(xb + 64), v5 = v128.load(xb + 80), v6 = v128.load(xb + 96), v7 = v128.load(xb + 112);
      let m = f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3)));
      m = f32x4.max(m, f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
      const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
      const d: f32 = amax / 127;
      const id = f32x4.splat(amax != 0 ? (127 as f32) / amax : 0);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, id)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, id)));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, id)));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, id)));
      const q4 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, id)));
      const q5 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, id)));
      const q6 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, id)));
      const q7 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, id)));
      const h01 = i16x8.narrow_i32x4_s(q0, q1), h23 = i16x8.narrow_i32x4_s(q2, q3);
      const h45 = i16x8.narrow_i32x4_s(q4, q5), h67 = i16x8.narrow_i32x4_s(q6, q7);
      v128.store(qs + (<usize>b << 5), i8x16.narrow_i16x8_s(h01, h23));
      v128.store(qs + (<usize>b << 5) + 16, i8x16.narrow_i16x8_s(h45, h67));
      const s4 = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
      store<i32>(ss + (<usize>b << 2), i32x4.extract_lane(s4, 0) + i32x4.extract_lane(s4, 1) + i32x4.extract_lane(s4, 2) + i32x4.extract_lane(s4, 3));
      store<f32>(ds + (<usize>b << 2), round_f16(d));
    }
  }
}

/** y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, for tokens [t0, t1); x, y are f32 [nTok][n] (may alias). */
export function rmsnorm(x: usize, w: usize, y: usize, n: i32, eps: f32, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const xt = x + ((<usize>t * <usize>n) << 2), yt = y + ((<usize>t * <usize>n) << 2);
    let acc = f32x4.splat(0);
    const n4 = n & ~3;
    for (let i = 0; i < n4; i += 4) { const v = v128.load(xt + (<usize>i << 2)); acc = f32x4.add(acc, f32x4.mul(v, v)); }
    let ss: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (let i = n4; i < n; i++) { const v = load<f32>(xt + (<usize>i << 2)); ss += <f64>(v * v); }
    const scale: f32 = <f32>1.0 / Mathf.sqrt(<f32>(ss / <f64>n) + eps);
    const sv = f32x4.splat(scale);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(yt + o, f32x4.mul(f32x4.mul(v128.load(xt + o), sv), v128.load(w + o)));
    }
    for (let i = n4; i < n; i++) { const o = <usize>i << 2; store<f32>(yt + o, load<f32>(xt + o) * scale * load<f32>(w + o)); }
  }
}

/**
 * Rotary embedding on adjacent pairs (x[2i], x[2i+1]) of every head, for tokens [t0, t1).
 * x is f32 [nTok][xStride]; the first nHeads*headDim values of each token are rotated.
 * cs is f32 [nTok][headDim]: (cos, sin) of the token's angle for pair i at [2i], [2i+1].
 */
export function rope(x: usize, xStride: i32, nHeads: i32, headDim: i32, cs: usize, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const ct = cs + ((<usize>t * <usize>headDim) << 2);
    for (let h = 0; h < nHeads; h++) {
      const xh = x + ((<usize>t * <usize>xStride + <usize>h * <usize>headDim) << 2);
      for (let i = 0; i < headDim; i += 2) {
        const c = load<f32>(ct + (<usize>i << 2)), s = load<f32>(ct + (<usize>i << 2) + 4);
        const a = load<f32>(xh + (<usize>i << 2)), b = load<f32>(xh + (<usize>i << 2) + 4);
        store<f32>(xh + (<usize>i << 2), a * c - b * s);
        store<f32>(xh + (<usize>i << 2) + 4, a * s + b * c);
      }
    }
  }
}

/** out[i] = silu(g[i]) * u[i] for i in [i0, i1); silu(g) = g / (1 + exp(-g)). */
export function silu_mul(g: usize, u: usize, out: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o);
    store<f32>(out + o, gv / (<f32>1.0 + Mathf.exp(-gv)) * load<f32>(u + o));
  }
}

/** y[i] += x[i] for i in [0, n). */
export function add(y: usize, x: usize, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o))); }
  for (let i = n4; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o)); }
}

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
  // f16: saturated to +-65504, so the cache never holds inf and attention can use the short h2f_finite
  if (kvt == KV_F16) for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>f2h(min(max(load<f32>(src + (<usize>i << 2)), -65504), 65504)));
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
      for (let j = 0; j < 32; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + (<usize>(b + j) << 2)), q8x4(blk, j, d)));
    }
  } else {
    for (let d = 0; d < headDim; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + (<usize>d << 2)), kv4(kp, d, kvt == KV_F16, mK, p112)));
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
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
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(p, q8x4(blk, j, d))));
      }
    }
  } else {
    for (let d = 0; d < headDim; d += 4) {
      const o = oh + (<usize>d << 2);
      v128.store(o, f32x4.add(v128.load(o), f32x4.mul(p, kv4(vp, d, kvt == KV_F16, mK, p112))));
    }
  }
}

/** exp(x) for x <= ~88, four at a time (Cephes expf: 2^n * poly(r), about 1 ulp); exp(x < -87) is 0. */
// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.0));
  x = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, scale), under);
}

/** [sum(a), sum(b), sum(c), sum(d)] of four f32x4. */
// @ts-ignore: decorator
@inline function fsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** q . k for four cached head rows (f32 or f16) `rowBytes` apart: one vector of four scores. */
// @ts-ignore: decorator
@inline function qk4(qh: usize, kp: usize, rowBytes: usize, headDim: i32, f16: bool, mK: v128, p112: v128): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let d = 0; d < headDim; d += 4) {
    const qv = v128.load(qh + (<usize>d << 2));
    a0 = f32x4.add(a0, f32x4.mul(qv, kv4(kp, d, f16, mK, p112)));
    a1 = f32x4.add(a1, f32x4.mul(qv, kv4(kp + rowBytes, d, f16, mK, p112)));
    a2 = f32x4.add(a2, f32x4.mul(qv, kv4(kp + 2 * rowBytes, d, f16, mK, p112)));
    a3 = f32x4.add(a3, f32x4.mul(qv, kv4(kp + 3 * rowBytes, d, f16, mK, p112)));
  }
  return fsum4(a0, a1, a2, a3);
}

/** out += p0 v0 + p1 v1 + p2 v2 + p3 v3 for four cached head rows (f32 or f16) `rowBytes` apart. */
// @ts-ignore: decorator
@inline function axpy4(oh: usize, vp: usize, rowBytes: usize, p: v128, headDim: i32, f16: bool, mK: v128, p112: v128): void {
  const p0 = f32x4.splat(f32x4.extract_lane(p, 0)), p1 = f32x4.splat(f32x4.extract_lane(p, 1));
  const p2 = f32x4.splat(f32x4.extract_lane(p, 2)), p3 = f32x4.splat(f32x4.extract_lane(p, 3));
  for (let d = 0; d < headDim; d += 4) {
    const o = oh + (<usize>d << 2);
    let acc = f32x4.add(f32x4.mul(p0, kv4(vp, d, f16, mK, p112)), f32x4.mul(p1, kv4(vp + rowBytes, d, f16, mK, p112)));
    acc = f32x4.add(acc, f32x4.add(f32x4.mul(p2, kv4(vp + 2 * rowBytes, d, f16, mK, p112)), f32x4.mul(p3, kv4(vp + 3 * rowBytes, d, f16, mK, p112))));
    v128.store(o, f32x4.add(v128.load(o), acc));
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

/**
 * Attention with grouped K/V heads, for work items j in [j0, j1) of nTok*nHeads (token t = j / nHeads,
 * head h = j % nHeads; head-major, t = j % nTok and h = j / nTok, for several tokens over an f16
 * cache, see below). Each token names its own cache: `info` holds per token three i32
 * (K cache pointer, V cache pointer, number of positions it sees), so one batch can mix tokens of
 * several sequences; a causal chunk of one sequence is the case where the pointers are shared and the
 * counts grow by one. Each cache position holds kvDim = nKV*headDim values of type `kvt` (f32, f16
 * or Q8_0 blocks). q and out are f32 [nTok][qStride]. `scratch` is per-thread scratch of f32
 * [ctx * (2 * headDim + 1)] (ctx: the most positions a token sees). Head h reads K/V head h / (nHeads/nKV).
 */
export function attention(q: usize, qStride: i32, info: usize, out: usize, scratch: usize,
  headDim: i32, nHeads: i32, nKV: i32, kvt: i32, nTok: i32, ctx: i32, j0: i32, j1: i32): void {
  const cacheRowBytes = <usize>kv_bytes(kvt, nKV * headDim), headBytes = <usize>kv_bytes(kvt, headDim);
  const group = nHeads / nKV;
  const scale: f32 = <f32>1.0 / Mathf.sqrt(<f32>headDim);
  const mK = H_MK, p112 = H_P112; // locals: loaded once, before the loop
  // Several tokens over an f16 cache (prefill): items go head by head, and the head's K/V rows are
  // decoded to f32 once into the scratch (kf, vf) and reused by every token and every query head of
  // the group. The products and sums are the same as decoding them on the fly, so results do not
  // depend on the batch.
  const hm = nTok > 1 && kvt == KV_F16;
  const hdBytes = <usize>headDim << 2;
  const kf = scratch, vf = kf + <usize>ctx * hdBytes, scores = hm ? vf + <usize>ctx * hdBytes : scratch;
  let curKc: usize = 0, curVc: usize = 0, conv = 0;
  for (let j = j0; j < j1; j++) {
    const t = hm ? j % nTok : j / nHeads, h = hm ? j / nTok : j % nHeads;
    const kvh = h / group;
    const qh = q + ((<usize>t * <usize>qStride + <usize>h * <usize>headDim) << 2);
    const oh = out + ((<usize>t * <usize>qStride + <usize>h * <usize>headDim) << 2);
    let kc = <usize>load<u32>(info + <usize>t * 12) + <usize>kvh * headBytes;
    let vc = <usize>load<u32>(info + <usize>t * 12 + 4) + <usize>kvh * headBytes;
    const npos = load<i32>(info + <usize>t * 12 + 8);
    let rowBytes = cacheRowBytes, f16 = kvt == KV_F16;
    if (hm) {
      if (kc != curKc || vc != curVc) { curKc = kc; curVc = vc; conv = 0; }
      for (; conv < npos; conv++) {
        const ko = kc + <usize>conv * cacheRowBytes, vo = vc + <usize>conv * cacheRowBytes;
        const kd = kf + <usize>conv * hdBytes, vd = vf + <usize>conv * hdBytes;
        for (let d = 0; d < headDim; d += 4) {
          v128.store(kd + (<usize>d << 2), kv4(ko, d, true, mK, p112));
          v128.store(vd + (<usize>d << 2), kv4(vo, d, true, mK, p112));
        }
      }
      kc = kf; vc = vf; rowBytes = hdBytes; f16 = false;
    } else {
      // scores[i] = q . k_i / sqrt(headDim), four positions at a time, and their max. The head's
      // cached rows sit rowBytes apart (every position holds all K/V heads): first touch them all in a
      // tight loop, so their cache misses overlap instead of stalling the dot products one by one.
      touch_rows(kc, rowBytes, headBytes, npos);
    }
    const wide = kvt != KV_Q8_0;
    const sv = f32x4.splat(scale);
    let mxv = f32x4.splat(-Infinity);
    let i = 0;
    if (wide) {
      for (; i + 4 <= npos; i += 4) {
        const s4 = f32x4.mul(qk4(qh, kc + <usize>i * rowBytes, rowBytes, headDim, f16, mK, p112), sv);
        v128.store(scores + (<usize>i << 2), s4);
        mxv = f32x4.max(mxv, s4);
      }
    }
    let mx: f32 = max(max(f32x4.extract_lane(mxv, 0), f32x4.extract_lane(mxv, 1)), max(f32x4.extract_lane(mxv, 2), f32x4.extract_lane(mxv, 3)));
    for (; i < npos; i++) {
      const s1 = qk(qh, kc + <usize>i * rowBytes, headDim, hm ? KV_F32 : kvt, mK, p112) * scale;
      store<f32>(scores + (<usize>i << 2), s1);
      if (s1 > mx) mx = s1;
    }
    // softmax numerators exp(s - max), four at a time, and their sum
    const mv = f32x4.splat(mx);
    let sumv = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= npos; i += 4) {
      const e = vexp(f32x4.sub(v128.load(scores + (<usize>i << 2)), mv));
      v128.store(scores + (<usize>i << 2), e);
      sumv = f32x4.add(sumv, e);
    }
    let sum: f32 = f32x4.extract_lane(sumv, 0) + f32x4.extract_lane(sumv, 1) + f32x4.extract_lane(sumv, 2) + f32x4.extract_lane(sumv, 3);
    for (; i < npos; i++) {
      const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(scores + (<usize>i << 2)) - mx)), 0);
      store<f32>(scores + (<usize>i << 2), e);
      sum += e;
    }
    const inv: f32 = <f32>1.0 / sum;
    // out = sum_i p_i v_i, four rows of V per pass
    if (!hm) touch_rows(vc, rowBytes, headBytes, npos);
    for (let d = 0; d < headDim; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
    const iv = f32x4.splat(inv);
    i = 0;
    if (wide) {
      for (; i + 4 <= npos; i += 4) axpy4(oh, vc + <usize>i * rowBytes, rowBytes, f32x4.mul(v128.load(scores + (<usize>i << 2)), iv), headDim, f16, mK, p112);
    }
    for (; i < npos; i++) axpy(oh, vc + <usize>i * rowBytes, f32x4.splat(load<f32>(scores + (<usize>i << 2)) * inv), headDim, hm ? KV_F32 : kvt, mK, p112);
  }
}
