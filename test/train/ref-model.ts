// A float64 reference of the training model (the oracle of the gradient checks): every op as a
// plain forward/backward pair on Float64Arrays, and the whole Llama loss and its gradient over the
// same parameter layout as src/train (params.ts). Slow and simple on purpose.
import type { ParamLayout } from "../../src/train/params.js";

export type F64 = Float64Array;

/** y [N][M] = x [N][K] W^T (W is [M][K]). */
export function linear(x: F64, W: F64, N: number, K: number, M: number): F64 {
  const y = new Float64Array(N * M);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[n * K + k] * W[m * K + k];
    y[n * M + m] = s;
  }
  return y;
}
export function linearBack(dy: F64, x: F64, W: F64, N: number, K: number, M: number): { dx: F64; dW: F64 } {
  const dx = new Float64Array(N * K), dW = new Float64Array(M * K);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const g = dy[n * M + m];
    for (let k = 0; k < K; k++) { dx[n * K + k] += g * W[m * K + k]; dW[m * K + k] += g * x[n * K + k]; }
  }
  return { dx, dW };
}

export function rmsnorm(x: F64, w: F64, N: number, D: number, eps: number): F64 {
  const y = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[n * D + i] ** 2;
    const r = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[n * D + i] = x[n * D + i] * r * w[i];
  }
  return y;
}
export function rmsnormBack(dy: F64, x: F64, w: F64, N: number, D: number, eps: number): { dx: F64; dw: F64 } {
  const dx = new Float64Array(N * D), dw = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    let ss = 0, s = 0;
    for (let i = 0; i < D; i++) { ss += x[n * D + i] ** 2; s += dy[n * D + i] * w[i] * x[n * D + i]; }
    const r = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) {
      dx[n * D + i] = r * dy[n * D + i] * w[i] - x[n * D + i] * s * r ** 3 / D;
      dw[i] += dy[n * D + i] * x[n * D + i] * r;
    }
  }
  return { dx, dw };
}

/** RoPE on adjacent pairs of `heads` heads starting at column `col` of rows of width `ld`; position of row n is n % T. */
export function rope(x: F64, N: number, ld: number, col: number, heads: number, hd: number, T: number, theta: number, sign = 1): void {
  for (let n = 0; n < N; n++) {
    const pos = n % T;
    for (let h = 0; h < heads; h++) for (let i = 0; i < hd / 2; i++) {
      const ang = pos * Math.pow(theta, (-2 * i) / hd);
      // the same f32 table the model uses (model/rope.ts stores cos/sin as f32)
      const c = Math.fround(Math.cos(ang)), s = sign * Math.fround(Math.sin(ang));
      const o = n * ld + col + h * hd + 2 * i;
      const a = x[o], b = x[o + 1];
      x[o] = a * c - b * s;
      x[o + 1] = a * s + b * c;
    }
  }
}

/** Causal GQA attention over qkv rows (q | k | v), out [N][nH*hd]. */
export function attention(qkv: F64, B: number, T: number, nH: number, nKV: number, hd: number): F64 {
  const ld = (nH + 2 * nKV) * hd, dim = nH * hd, out = new Float64Array(B * T * dim), sc = 1 / Math.sqrt(hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nH; h++) for (let t = 0; t < T; t++) {
    const g = Math.floor(h / (nH / nKV)), q = (b * T + t) * ld + h * hd;
    const p = new Float64Array(t + 1);
    let mx = -Infinity, sum = 0;
    for (let s = 0; s <= t; s++) {
      let d = 0;
      for (let i = 0; i < hd; i++) d += qkv[q + i] * qkv[(b * T + s) * ld + dim + g * hd + i];
      p[s] = d * sc;
      mx = Math.max(mx, p[s]);
    }
    for (let s = 0; s <= t; s++) { p[s] = Math.exp(p[s] - mx); sum += p[s]; }
    for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) out[(b * T + t) * dim + h * hd + i] += (p[s] / sum) * qkv[(b * T + s) * ld + dim + nKV * hd + g * hd + i];
  }
  return out;
}
export function attentionBack(qkv: F64, dout: F64, B: number, T: number, nH: number, nKV: number, hd: number): F64 {
  const ld = (nH + 2 * nKV) * hd, dim = nH * hd, d = new Float64Array(B * T * ld), sc = 1 / Math.sqrt(hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nH; h++) for (let t = 0; t < T; t++) {
    const g = Math.floor(h / (nH / nKV)), q = (b * T + t) * ld + h * hd, o = (b * T + t) * dim + h * hd;
    const k = (s: number) => (b * T + s) * ld + dim + g * hd, v = (s: number) => (b * T + s) * ld + dim + nKV * hd + g * hd;
    const p = new Float64Array(t + 1);
    let mx = -Infinity, sum = 0;
    for (let s = 0; s <= t; s++) {
      let x = 0;
      for (let i = 0; i < hd; i++) x += qkv[q + i] * qkv[k(s) + i];
      p[s] = x * sc;
      mx = Math.max(mx, p[s]);
    }
    for (let s = 0; s <= t; s++) { p[s] = Math.exp(p[s] - mx); sum += p[s]; }
    for (let s = 0; s <= t; s++) p[s] /= sum;
    // dp_s = dout . v_s; ds_s = p_s (dp_s - sum_r p_r dp_r)
    const dp = new Float64Array(t + 1);
    let dot = 0;
    for (let s = 0; s <= t; s++) {
      for (let i = 0; i < hd; i++) dp[s] += dout[o + i] * qkv[v(s) + i];
      dot += p[s] * dp[s];
    }
    for (let s = 0; s <= t; s++) {
      const ds = p[s] * (dp[s] - dot) * sc;
      for (let i = 0; i < hd; i++) {
        d[q + i] += ds * qkv[k(s) + i];
        d[k(s) + i] += ds * qkv[q + i];
        d[v(s) + i] += p[s] * dout[o + i];
      }
    }
  }
  return d;
}

export function swiglu(gu: F64, N: number, F: number): F64 {
  const h = new Float64Array(N * F);
  for (let n = 0; n < N; n++) for (let i = 0; i < F; i++) {
    const g = gu[n * 2 * F + i];
    h[n * F + i] = (g / (1 + Math.exp(-g))) * gu[n * 2 * F + F + i];
  }
  return h;
}
export function swigluBack(gu: F64, dh: F64, N: number, F: number): F64 {
  const d = new Float64Array(N * 2 * F);
  for (let n = 0; n < N; n++) for (let i = 0; i < F; i++) {
    const g = gu[n * 2 * F + i], u = gu[n * 2 * F + F + i], s = 1 / (1 + Math.exp(-g));
    d[n * 2 * F + i] = dh[n * F + i] * u * s * (1 + g * (1 - s));
    d[n * 2 * F + F + i] = dh[n * F + i] * g * s;
  }
  return d;
}

/** sum_t w_t (logsumexp(l_t) - l_t[target_t]) and its gradient. */
export function xent(logits: F64, targets: ArrayLike<number>, w: ArrayLike<number>, N: number, V: number): { loss: number; dlogits: F64 } {
  let loss = 0;
  const d = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    let mx = -Infinity, sum = 0;
    for (let i = 0; i < V; i++) mx = Math.max(mx, logits[n * V + i]);
    for (let i = 0; i < V; i++) sum += Math.exp(logits[n * V + i] - mx);
    const lse = mx + Math.log(sum);
    loss += w[n] * (lse - logits[n * V + targets[n]]);
    for (let i = 0; i < V; i++) d[n * V + i] = w[n] * Math.exp(logits[n * V + i] - lse);
    d[n * V + targets[n]] -= w[n];
  }
  return { loss, dlogits: d };
}

const sub = (a: F64, o: number, n: number) => a.subarray(o, o + n);

export interface RefBatch { B: number; T: number; tokens: ArrayLike<number>; targets: ArrayLike<number>; weights: ArrayLike<number> }

/** The weighted loss of the whole model and (with `grad`) its gradient in the parameter layout. */
export function refLossAndGrad(L: ParamLayout, P: F64, batch: RefBatch, grad = true): { loss: number; grads: F64 } {
  const s = L.shape, { dim: D, heads: nH, kvHeads: nKV, ffn: F, vocab: V, normEps: eps, ropeTheta } = s;
  const { B, T } = batch, N = B * T, hd = L.headDim, ld = D + 2 * L.kvDim;
  const W = (t: { offset: number; size: number }) => sub(P, t.offset, t.size);
  // forward, keeping what the backward needs
  let x = new Float64Array(N * D);
  for (let n = 0; n < N; n++) x.set(sub(P, L.embd.offset + batch.tokens[n] * D, D), n * D);
  const saved: { x: F64; xn1: F64; qkv: F64; att: F64; mid: F64; xn2: F64; gu: F64; h: F64 }[] = [];
  for (const w of L.layers) {
    const xn1 = rmsnorm(x, W(w.attnNorm), N, D, eps);
    const qkv = linear(xn1, sub(P, w.q.offset, ld * D), N, D, ld);
    rope(qkv, N, ld, 0, nH, hd, T, ropeTheta);
    rope(qkv, N, ld, D, nKV, hd, T, ropeTheta);
    const att = attention(qkv, B, T, nH, nKV, hd);
    const o = linear(att, W(w.o), N, D, D);
    const mid = x.map((v, i) => v + o[i]);
    const xn2 = rmsnorm(mid, W(w.ffnNorm), N, D, eps);
    const gu = linear(xn2, sub(P, w.gate.offset, 2 * F * D), N, D, 2 * F);
    const h = swiglu(gu, N, F);
    const dn = linear(h, W(w.down), N, F, D);
    saved.push({ x, xn1, qkv, att, mid, xn2, gu, h });
    x = mid.map((v, i) => v + dn[i]);
  }
  const xf = rmsnorm(x, W(L.outNorm), N, D, eps);
  const logits = linear(xf, W(L.output), N, D, V);
  const { loss, dlogits } = xent(logits, batch.targets, batch.weights, N, V);
  const G = new Float64Array(L.total);
  if (!grad) return { loss, grads: G };
  const addTo = (t: { offset: number }, g: F64) => { for (let i = 0; i < g.length; i++) G[t.offset + i] += g[i]; };
  // backward
  const cls = linearBack(dlogits, xf, W(L.output), N, D, V);
  addTo(L.output, cls.dW);
  const fin = rmsnormBack(cls.dx, x, W(L.outNorm), N, D, eps);
  addTo(L.outNorm, fin.dw);
  let dx = fin.dx;
  for (let l = L.layers.length - 1; l >= 0; l--) {
    const w = L.layers[l], a = saved[l];
    const down = linearBack(dx, a.h, W(w.down), N, F, D);
    addTo(w.down, down.dW);
    const dgu = swigluBack(a.gu, down.dx, N, F);
    const gu = linearBack(dgu, a.xn2, sub(P, w.gate.offset, 2 * F * D), N, D, 2 * F);
    addTo(w.gate, gu.dW);
    const n2 = rmsnormBack(gu.dx, a.mid, W(w.ffnNorm), N, D, eps);
    addTo(w.ffnNorm, n2.dw);
    const dmid = dx.map((v, i) => v + n2.dx[i]);
    const o = linearBack(dmid, a.att, W(w.o), N, D, D);
    addTo(w.o, o.dW);
    const dqkv = attentionBack(a.qkv, o.dx, B, T, nH, nKV, hd);
    rope(dqkv, N, ld, 0, nH, hd, T, ropeTheta, -1);
    rope(dqkv, N, ld, D, nKV, hd, T, ropeTheta, -1);
    const qkv = linearBack(dqkv, a.xn1, sub(P, w.q.offset, ld * D), N, D, ld);
    addTo(w.q, qkv.dW);
    const n1 = rmsnormBack(qkv.dx, a.x, W(w.attnNorm), N, D, eps);
    addTo(w.attnNorm, n1.dw);
    dx = dmid.map((v, i) => v + n1.dx[i]);
  }
  for (let n = 0; n < N; n++) for (let i = 0; i < D; i++) G[L.embd.offset + batch.tokens[n] * D + i] += dx[n * D + i];
  return { loss, grads: G };
}
