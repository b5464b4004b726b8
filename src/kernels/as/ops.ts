// Element-wise and per-token operations of the Llama block (AssemblyScript).
// Pointers are byte offsets into the shared memory; strides are in elements unless named otherwise.
import { round_f16 } from "./f16";
import { vexp } from "./vexp";
import { q8Stride } from "./matmul";

/**
 * Quantise f32 activations to Q8 blocks of 32 for tokens [t0, t1), as llama.cpp's x86
 * quantize_row_q8_0 does: d = amax/127 stored as f16, q = round-half-even(x * 127/amax).
 * Output per token (q8Stride(cols) bytes): qs i8[cols] | d f32[cols/32] | s i32[cols/32] (8 x the sum of
 * the block's qs, the offset term of Q4_0 weights, which are nibble - 8).
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
      store<i32>(ss + (<usize>b << 2), (i32x4.extract_lane(s4, 0) + i32x4.extract_lane(s4, 1) + i32x4.extract_lane(s4, 2) + i32x4.extract_lane(s4, 3)) << 3);
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

/**
 * out[i] = silu(g[i]) * u[i] for i in [i0, i1); silu(g) = g / (1 + exp(-g)), four at a time with vexp
 * (about 1 ulp, as ggml's own vectorised silu). exp(-g) is capped at exp(88) ~ 1.7e38 so that it
 * stays finite: for g < -88 silu(g) is then g / 1.7e38 instead of -0, a difference below 1e-36.
 */
export function silu_mul(g: usize, u: usize, out: usize, i0: i32, i1: i32): void {
  const one = f32x4.splat(1), cap = f32x4.splat(88);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    const e = vexp(f32x4.min(f32x4.neg(gv), cap));
    v128.store(out + o, f32x4.mul(f32x4.div(gv, f32x4.add(one, e)), v128.load(u + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o); // the same steps as the vector loop, so a split never changes a value
    const e = f32x4.extract_lane(vexp(f32x4.splat(min(-gv, <f32>88))), 0);
    store<f32>(out + o, gv / (<f32>1.0 + e) * load<f32>(u + o));
  }
}

/** y[i] += x[i] for i in [0, n). */
export function add(y: usize, x: usize, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o))); }
  for (let i = n4; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o)); }
}
