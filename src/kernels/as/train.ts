// Training kernels (AssemblyScript, f32): the forward and backward passes of the element-wise ops of
// the Llama block (RMSNorm, SwiGLU, causal attention, cross-entropy) and AdamW; the matrix product
// is in train-gemm.ts (re-exported here). Pointers are byte offsets into the shared memory; strides
// are in elements. Every kernel takes the [start, end) range of its split dimension last, so the
// thread pool can give each thread a share (see src/kernels/ops.ts).

import { fsum4, madd } from "./vec";
export { pack_b, gemm } from "./train-gemm";

// ------------------------------------------------------------------------------- helpers

/** e^r - 1 - r for |r| <= ln2/2 over r^2 (Cephes expf's polynomial), evaluated with madd (FMA in the relaxed build). */
// @ts-ignore: decorator
@inline function expPoly(r: v128): v128 {
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  return f32x4.add(madd(f32x4.mul(p, r), r, r), f32x4.splat(1.0));
}

/**
 * exp(x) for x <= 0 (softmax numerators), four at a time (Cephes expf, about 1 ulp): x = n ln2 + r,
 * exp(x) = 2^n e^r; below -87 the result is 0.
 */
// @ts-ignore: decorator
@inline function vexpNeg(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.0));
  x = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(expPoly(r), scale), under);
}

/** exp(x) for any x (clamped to [-87, 88]; below -87 it is 0), four at a time. */
// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.0));
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  // 2^n in two factors, so n = 128 (x near 88) does not overflow the exponent field
  const ni = i32x4.trunc_sat_f32x4_s(n), n1 = i32x4.shr_s(ni, 1), n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23), s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(f32x4.mul(expPoly(r), s1), s2), under);
}

/** Scalar exp through the vector one (the same rounding as the vector loops). */
// @ts-ignore: decorator
@inline function sexp(x: f32): f32 { return f32x4.extract_lane(vexpNeg(f32x4.splat(x)), 0); }

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** dot(a, b) over n floats (n a multiple of 4). */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    s0 = madd(v128.load(a + o), v128.load(b + o), s0);
    s1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), s1);
  }
  if (i < n) s0 = madd(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)), s0);
  return hsum(f32x4.add(s0, s1));
}

/** y += s * x over n floats (n a multiple of 4). */
// @ts-ignore: decorator
@inline function axpy(y: usize, x: usize, s: f32, n: i32): void {
  const sv = f32x4.splat(s);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, madd(sv, v128.load(x + o), v128.load(y + o)));
  }
}

// ------------------------------------------------------------------------------- RMSNorm

/**
 * y[t] = x[t] * rstd[t] * w, rstd[t] = 1 / sqrt(mean(x[t]^2) + eps), for tokens [t0, t1).
 * x, y are f32 [T][n] (n a multiple of 4); rstd is f32 [T] (saved for the backward pass).
 */
export function rmsnorm_fwd(x: usize, w: usize, y: usize, rstd: usize, n: i32, eps: f32, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const xt = x + ((<usize>t * <usize>n) << 2), yt = y + ((<usize>t * <usize>n) << 2);
    let acc = f32x4.splat(0);
    for (let i = 0; i < n; i += 4) { const v = v128.load(xt + (<usize>i << 2)); acc = madd(v, v, acc); }
    const ss: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    const r: f32 = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
    store<f32>(rstd + (<usize>t << 2), r);
    const rv = f32x4.splat(r);
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      v128.store(yt + o, f32x4.mul(f32x4.mul(v128.load(xt + o), rv), v128.load(w + o)));
    }
  }
}

/**
 * Backward of rmsnorm_fwd for tokens [t0, t1): dx[t] += rstd*(w*dy) - x * rstd^3/n * sum(w*dy*x).
 * (The weight gradient is rmsnorm_dw, split by columns so its sums do not depend on the threads.)
 */
export function rmsnorm_bwd(dy: usize, x: usize, w: usize, rstd: usize, dx: usize, n: i32, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const off = (<usize>t * <usize>n) << 2;
    const dyt = dy + off, xt = x + off, dxt = dx + off;
    let acc = f32x4.splat(0);
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      acc = madd(f32x4.mul(v128.load(dyt + o), v128.load(w + o)), v128.load(xt + o), acc);
    }
    const r = load<f32>(rstd + (<usize>t << 2));
    const k = f32x4.splat(-hsum(acc) * r * r * r / <f32>n);
    const rv = f32x4.splat(r);
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      const g = f32x4.mul(f32x4.mul(v128.load(dyt + o), v128.load(w + o)), rv);
      v128.store(dxt + o, f32x4.add(v128.load(dxt + o), madd(v128.load(xt + o), k, g)));
    }
  }
}

/** dw[c] += sum over t < T of dy[t][c] * x[t][c] * rstd[t], for columns [c0, c1) (multiples of 4). */
export function rmsnorm_dw(dy: usize, x: usize, rstd: usize, dw: usize, n: i32, T: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c += 4) {
    let acc = f32x4.splat(0);
    for (let t = 0; t < T; t++) {
      const o = ((<usize>t * <usize>n + <usize>c) << 2);
      acc = madd(f32x4.mul(v128.load(dy + o), v128.load(x + o)), v128.load32_splat(rstd + (<usize>t << 2)), acc);
    }
    v128.store(dw + (<usize>c << 2), f32x4.add(v128.load(dw + (<usize>c << 2)), acc));
  }
}

// ------------------------------------------------------------------------------- SwiGLU

/** h[t][i] = silu(g) * u with g = gu[t][i], u = gu[t][F + i] (gu is [T][2F]), for tokens [t0, t1). */
export function swiglu_fwd(gu: usize, h: usize, F: i32, t0: i32, t1: i32): void {
  const one = f32x4.splat(1);
  for (let t = t0; t < t1; t++) {
    const g = gu + ((<usize>t * <usize>(2 * F)) << 2), u = g + (<usize>F << 2), ht = h + ((<usize>t * <usize>F) << 2);
    for (let i = 0; i < F; i += 4) {
      const o = <usize>i << 2;
      const gv = v128.load(g + o);
      const s = f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(gv))));
      v128.store(ht + o, f32x4.mul(f32x4.mul(gv, s), v128.load(u + o)));
    }
  }
}

/** Backward of swiglu_fwd: dg = dh * u * s * (1 + g (1 - s)), du = dh * g * s (s = sigmoid(g)); dgu is [T][2F]. */
export function swiglu_bwd(gu: usize, dh: usize, dgu: usize, F: i32, t0: i32, t1: i32): void {
  const one = f32x4.splat(1);
  for (let t = t0; t < t1; t++) {
    const off = (<usize>t * <usize>(2 * F)) << 2;
    const g = gu + off, u = g + (<usize>F << 2), dg = dgu + off, du = dg + (<usize>F << 2);
    const dht = dh + ((<usize>t * <usize>F) << 2);
    for (let i = 0; i < F; i += 4) {
      const o = <usize>i << 2;
      const gv = v128.load(g + o), uv = v128.load(u + o), d = v128.load(dht + o);
      const s = f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(gv))));
      const gs = f32x4.mul(gv, s);
      v128.store(du + o, f32x4.mul(d, gs));
      v128.store(dg + o, f32x4.mul(f32x4.mul(d, uv), f32x4.mul(s, f32x4.add(one, f32x4.sub(gv, gs)))));
    }
  }
}

// ------------------------------------------------------------------------------- attention
//
// qkv is [B*T][ld] with ld = (nH + 2 nKV) hd: per token q (nH heads) | k (nKV) | v (nKV), RoPE
// already applied to q and k. Query head h reads K/V head h / (nH / nKV). Causal: query t of a
// sequence sees keys 0..t of the same sequence.

/** [x . r0, x . r1, x . r2, x . r3] for four rows `rb` bytes apart (hd a multiple of 4). */
// @ts-ignore: decorator
@inline function dot4(x: usize, r: usize, rb: usize, hd: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let d = 0; d < hd; d += 4) {
    const o = <usize>d << 2;
    const xv = v128.load(x + o);
    a0 = madd(xv, v128.load(r + o), a0);
    a1 = madd(xv, v128.load(r + rb + o), a1);
    a2 = madd(xv, v128.load(r + 2 * rb + o), a2);
    a3 = madd(xv, v128.load(r + 3 * rb + o), a3);
  }
  return fsum4(a0, a1, a2, a3);
}

/** y += c0 r0 + c1 r1 + c2 r2 + c3 r3 for four rows `rb` bytes apart. */
// @ts-ignore: decorator
@inline function axpy4(y: usize, r: usize, rb: usize, c: v128, hd: i32): void {
  const c0 = f32x4.splat(f32x4.extract_lane(c, 0)), c1 = f32x4.splat(f32x4.extract_lane(c, 1));
  const c2 = f32x4.splat(f32x4.extract_lane(c, 2)), c3 = f32x4.splat(f32x4.extract_lane(c, 3));
  for (let d = 0; d < hd; d += 4) {
    const o = <usize>d << 2;
    let acc = madd(c0, v128.load(r + o), v128.load(y + o));
    acc = madd(c1, v128.load(r + rb + o), acc);
    acc = madd(c2, v128.load(r + 2 * rb + o), acc);
    v128.store(y + o, madd(c3, v128.load(r + 3 * rb + o), acc));
  }
}

/** y += c0 x0 + c1 x1 + c2 x2 + c3 x3 for four separate rows (hd a multiple of 4). */
// @ts-ignore: decorator
@inline function axpy4x(y: usize, x0: usize, x1: usize, x2: usize, x3: usize, c: v128, hd: i32): void {
  const c0 = f32x4.splat(f32x4.extract_lane(c, 0)), c1 = f32x4.splat(f32x4.extract_lane(c, 1));
  const c2 = f32x4.splat(f32x4.extract_lane(c, 2)), c3 = f32x4.splat(f32x4.extract_lane(c, 3));
  for (let d = 0; d < hd; d += 4) {
    const o = <usize>d << 2;
    let acc = madd(c0, v128.load(x0 + o), v128.load(y + o));
    acc = madd(c1, v128.load(x1 + o), acc);
    acc = madd(c2, v128.load(x2 + o), acc);
    v128.store(y + o, madd(c3, v128.load(x3 + o), acc));
  }
}

/**
 * out[b*T + t][h*hd ..] = softmax_s(q.k_s / sqrt(hd)) v, and lse[(b*T + t)*nH + h] = log-sum-exp of
 * the scaled scores (kept for the backward pass), for work items j = (b*nH + h)*T + t in [j0, j1).
 * Four keys per pass (one vector of scores; four V rows per update of the output row).
 * out is [B*T][nH*hd]; scratch: this thread's T floats.
 */
export function attn_fwd(qkv: usize, out: usize, lse: usize, T: i32, nH: i32, nKV: i32, hd: i32, scratch: usize, j0: i32, j1: i32): void {
  const ld = (nH + 2 * nKV) * hd, ldB = <usize>ld << 2, dim = nH * hd;
  const scale: f32 = <f32>(1.0 / Math.sqrt(<f64>hd));
  const sv = f32x4.splat(scale);
  for (let j = j0; j < j1; j++) {
    const t = j % T, bh = j / T, h = bh % nH, b = bh / nH;
    const kvh = h / (nH / nKV);
    const row = <usize>b * <usize>T;
    const q = qkv + (row + <usize>t) * ldB + (<usize>(h * hd) << 2);
    const k0 = qkv + row * ldB + (<usize>(dim + kvh * hd) << 2);
    const v0 = k0 + (<usize>(nKV * hd) << 2);
    const n = t + 1, n4 = n & ~3;
    // scores and their max
    let mv = f32x4.splat(-Infinity);
    let s = 0;
    for (; s < n4; s += 4) {
      const sc = f32x4.mul(dot4(q, k0 + <usize>s * ldB, ldB, hd), sv);
      v128.store(scratch + (<usize>s << 2), sc);
      mv = f32x4.max(mv, sc);
    }
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; s < n; s++) {
      const sc = dot(q, k0 + <usize>s * ldB, hd) * scale;
      store<f32>(scratch + (<usize>s << 2), sc);
      mx = max(mx, sc);
    }
    // numerators and their sum
    const m4 = f32x4.splat(mx);
    let sum4 = f32x4.splat(0);
    for (s = 0; s < n4; s += 4) {
      const e = vexpNeg(f32x4.sub(v128.load(scratch + (<usize>s << 2)), m4));
      v128.store(scratch + (<usize>s << 2), e);
      sum4 = f32x4.add(sum4, e);
    }
    let sum = hsum(sum4);
    for (; s < n; s++) {
      const e = sexp(load<f32>(scratch + (<usize>s << 2)) - mx);
      store<f32>(scratch + (<usize>s << 2), e);
      sum += e;
    }
    // out = sum_s p_s v_s, four V rows per pass
    const o = out + (((row + <usize>t) * <usize>dim + <usize>(h * hd)) << 2);
    for (let d = 0; d < hd; d += 4) v128.store(o + (<usize>d << 2), f32x4.splat(0));
    const inv: f32 = 1 / sum, iv = f32x4.splat(inv);
    for (s = 0; s < n4; s += 4) axpy4(o, v0 + <usize>s * ldB, ldB, f32x4.mul(v128.load(scratch + (<usize>s << 2)), iv), hd);
    for (; s < n; s++) axpy(o, v0 + <usize>s * ldB, load<f32>(scratch + (<usize>s << 2)) * inv, hd);
    store<f32>(lse + (((row + <usize>t) * <usize>nH + <usize>h) << 2), mx + Mathf.log(sum));
  }
}

/**
 * Backward of attn_fwd for work items j = b*nKV + g in [j0, j1): sequence b, K/V head g and its
 * query heads. Writes dq (overwrites) and dk, dv (zeroed here, then accumulated) of those heads in
 * dqkv (same layout as qkv), from dout ([B*T][nH*hd]), the forward's out and lse. Scores are
 * recomputed (p = exp(q.k/sqrt(hd) - lse)); with D = dout . out, ds = p (dout . v - D) / sqrt(hd):
 * dq = sum_s ds k_s, dk_s += ds q, dv_s += p dout. Queries go four at a time, so each dk/dv row is
 * updated once per four queries. scratch: this thread's 8T floats (p and ds of four queries).
 */
export function attn_bwd(qkv: usize, out: usize, dout: usize, lse: usize, dqkv: usize, T: i32, nH: i32, nKV: i32, hd: i32,
  scratch: usize, j0: i32, j1: i32): void {
  const ld = (nH + 2 * nKV) * hd, ldB = <usize>ld << 2, dim = nH * hd, dimB = <usize>dim << 2;
  const scale: f32 = <f32>(1.0 / Math.sqrt(<f64>hd));
  const group = nH / nKV;
  const TB = <usize>T << 2;
  const P = scratch, DS = scratch + 4 * TB; // [4][T] each
  for (let j = j0; j < j1; j++) {
    const b = j / nKV, g = j % nKV;
    const row = <usize>b * <usize>T;
    const koff = <usize>(dim + g * hd) << 2, voff = <usize>(dim + nKV * hd + g * hd) << 2;
    for (let t = 0; t < T; t++) {
      const r = dqkv + (row + <usize>t) * ldB;
      for (let d = 0; d < hd; d += 4) { v128.store(r + koff + (<usize>d << 2), f32x4.splat(0)); v128.store(r + voff + (<usize>d << 2), f32x4.splat(0)); }
    }
    for (let h = g * group; h < (g + 1) * group; h++) {
      const hoff = <usize>(h * hd) << 2;
      for (let t0 = 0; t0 < T; t0 += 4) {
        const nq = min(4, T - t0), ns = t0 + nq; // keys 0..ns-1 are seen by at least one of the queries
        // p and ds of each query (zero past its own position)
        for (let i = 0; i < 4; i++) {
          const pi = P + <usize>i * TB, di = DS + <usize>i * TB;
          if (i >= nq) { for (let s = 0; s < ns; s++) { store<f32>(pi + (<usize>s << 2), 0); store<f32>(di + (<usize>s << 2), 0); } continue; }
          const t = t0 + i;
          const q = qkv + (row + <usize>t) * ldB + hoff;
          const o = out + (row + <usize>t) * dimB + hoff, dO = dout + (row + <usize>t) * dimB + hoff;
          const L = f32x4.splat(load<f32>(lse + (((row + <usize>t) * <usize>nH + <usize>h) << 2)));
          const D = f32x4.splat(dot(dO, o, hd));
          const sv = f32x4.splat(scale);
          const n = t + 1, n4 = n & ~3;
          let s = 0;
          for (; s < n4; s += 4) {
            const kr = qkv + (row + <usize>s) * ldB;
            const p = vexpNeg(f32x4.sub(f32x4.mul(dot4(q, kr + koff, ldB, hd), sv), L));
            const dp = dot4(dO, kr + voff, ldB, hd);
            v128.store(pi + (<usize>s << 2), p);
            v128.store(di + (<usize>s << 2), f32x4.mul(f32x4.mul(p, f32x4.sub(dp, D)), sv));
          }
          for (; s < n; s++) {
            const kr = qkv + (row + <usize>s) * ldB;
            const p = sexp(dot(q, kr + koff, hd) * scale - f32x4.extract_lane(L, 0));
            store<f32>(pi + (<usize>s << 2), p);
            store<f32>(di + (<usize>s << 2), p * (dot(dO, kr + voff, hd) - f32x4.extract_lane(D, 0)) * scale);
          }
          for (; s < ns; s++) { store<f32>(pi + (<usize>s << 2), 0); store<f32>(di + (<usize>s << 2), 0); }
          // dq = sum_s ds_s k_s, four K rows per pass
          const dq = dqkv + (row + <usize>t) * ldB + hoff;
          for (let d = 0; d < hd; d += 4) v128.store(dq + (<usize>d << 2), f32x4.splat(0));
          s = 0;
          for (; s < n4; s += 4) axpy4(dq, qkv + (row + <usize>s) * ldB + koff, ldB, v128.load(di + (<usize>s << 2)), hd);
          for (; s < n; s++) axpy(dq, qkv + (row + <usize>s) * ldB + koff, load<f32>(di + (<usize>s << 2)), hd);
        }
        // dk_s += sum_i ds_is q_i, dv_s += sum_i p_is dout_i: each row once for the four queries
        const q0 = qkv + (row + <usize>t0) * ldB + hoff, o0 = dout + (row + <usize>t0) * dimB + hoff;
        const q1 = nq > 1 ? q0 + ldB : q0, q2 = nq > 2 ? q0 + 2 * ldB : q0, q3 = nq > 3 ? q0 + 3 * ldB : q0;
        const e1 = nq > 1 ? o0 + dimB : o0, e2 = nq > 2 ? o0 + 2 * dimB : o0, e3 = nq > 3 ? o0 + 3 * dimB : o0;
        for (let s = 0; s < ns; s++) {
          const so = <usize>s << 2;
          const dsv = f32x4(load<f32>(DS + so), load<f32>(DS + TB + so), load<f32>(DS + 2 * TB + so), load<f32>(DS + 3 * TB + so));
          const pv = f32x4(load<f32>(P + so), load<f32>(P + TB + so), load<f32>(P + 2 * TB + so), load<f32>(P + 3 * TB + so));
          const dr = dqkv + (row + <usize>s) * ldB;
          axpy4x(dr + koff, q0, q1, q2, q3, dsv, hd);
          axpy4x(dr + voff, o0, e1, e2, e3, pv, hd);
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------- cross-entropy

/**
 * Cross-entropy over rows [t0, t1) of logits ([rows][V]): loss[t] = logsumexp(l) - l[target[t]].
 * When weights != 0 the row is replaced by its gradient, (softmax(l) - onehot(target)) * weight[t]
 * (a zero weight gives a zero row). targets are i32, weights and loss f32.
 */
export function xent(logits: usize, V: i32, targets: usize, weights: usize, loss: usize, t0: i32, t1: i32): void {
  const V4 = V & ~3;
  for (let t = t0; t < t1; t++) {
    const l = logits + ((<usize>t * <usize>V) << 2);
    const tgt = load<i32>(targets + (<usize>t << 2));
    let mv = f32x4.splat(-Infinity);
    for (let i = 0; i < V4; i += 4) mv = f32x4.max(mv, v128.load(l + (<usize>i << 2)));
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let i = V4; i < V; i++) mx = max(mx, load<f32>(l + (<usize>i << 2)));
    const lt = load<f32>(l + (<usize>tgt << 2));
    const m4 = f32x4.splat(mx);
    const grad = weights != 0;
    let sv = f32x4.splat(0);
    for (let i = 0; i < V4; i += 4) {
      const e = vexpNeg(f32x4.sub(v128.load(l + (<usize>i << 2)), m4));
      if (grad) v128.store(l + (<usize>i << 2), e);
      sv = f32x4.add(sv, e);
    }
    let sum = hsum(sv);
    for (let i = V4; i < V; i++) {
      const e = sexp(load<f32>(l + (<usize>i << 2)) - mx);
      if (grad) store<f32>(l + (<usize>i << 2), e);
      sum += e;
    }
    store<f32>(loss + (<usize>t << 2), mx + Mathf.log(sum) - lt);
    if (grad) {
      const w = load<f32>(weights + (<usize>t << 2));
      const k = f32x4.splat(w / sum);
      for (let i = 0; i < V4; i += 4) v128.store(l + (<usize>i << 2), f32x4.mul(v128.load(l + (<usize>i << 2)), k));
      for (let i = V4; i < V; i++) store<f32>(l + (<usize>i << 2), load<f32>(l + (<usize>i << 2)) * (w / sum));
      store<f32>(l + (<usize>tgt << 2), load<f32>(l + (<usize>tgt << 2)) - w);
    }
  }
}

// ------------------------------------------------------------------------------- optimizer

/**
 * AdamW (PyTorch's torch.optim.AdamW) on elements [i0, i1): g' = g * gscale (clipping),
 * m = b1 m + (1-b1) g', v = b2 v + (1-b2) g'^2, p = p (1 - lr wd) - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),
 * with bc1 = 1 - b1^step, bc2 = 1 - b2^step given by the caller.
 */
export function adamw(p: usize, g: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32,
  gscale: f32, bc1: f32, bc2: f32, i0: i32, i1: i32): void {
  const decay = f32x4.splat(<f32>1 - lr * wd), step = f32x4.splat(lr / bc1), rb2 = f32x4.splat(<f32>1 / Mathf.sqrt(bc2));
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), cb1 = f32x4.splat(<f32>1 - b1), cb2 = f32x4.splat(<f32>1 - b2);
  const ve = f32x4.splat(eps), gs = f32x4.splat(gscale);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gv = f32x4.mul(v128.load(g + o), gs);
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(cb1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(cb2, f32x4.mul(gv, gv)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const den = f32x4.add(f32x4.mul(f32x4.sqrt(vv), rb2), ve);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), decay), f32x4.mul(step, f32x4.div(mv, den))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o) * gscale;
    const mv = b1 * load<f32>(m + o) + (<f32>1 - b1) * gv;
    const vv = b2 * load<f32>(v + o) + (<f32>1 - b2) * (gv * gv);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const den = Mathf.sqrt(vv) * (<f32>1 / Mathf.sqrt(bc2)) + eps;
    store<f32>(p + o, load<f32>(p + o) * (<f32>1 - lr * wd) - (lr / bc1) * (mv / den));
  }
}

/** Block sums of squares: out[b] (f64) = sum of x[i]^2 over block b of `bs` floats (of n), for blocks [b0, b1). */
export function sumsq(x: usize, n: i32, bs: i32, out: usize, b0: i32, b1: i32): void {
  for (let b = b0; b < b1; b++) {
    const s = b * bs, e = min(n, s + bs);
    let acc = f32x4.splat(0);
    let i = s;
    for (; i + 4 <= e; i += 4) { const v = v128.load(x + (<usize>i << 2)); acc = madd(v, v, acc); }
    let r: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; i < e; i++) { const v = load<f32>(x + (<usize>i << 2)); r += <f64>(v * v); }
    store<f64>(out + (<usize>b << 3), r);
  }
}
