/**
 * Plain-TypeScript reference twins of the training kernels (src/kernels/as/train.ts), with the same
 * signatures and memory layout: pointers are byte offsets into the shared memory, strides are in
 * elements. Sums are taken in float64 and stored as f32. They are the test oracle for the SIMD
 * kernels, and `TrainRefKernels` can run a whole training step (it extends the inference twins, so
 * `rope` is there too).
 */
import { RefKernels } from "../kernels/ref.js";
import type { TrainKernelExports } from "../kernels/wasm.js";

export class TrainRefKernels extends RefKernels implements TrainKernelExports {
  constructor(private readonly mem: WebAssembly.Memory) { super(mem); }

  private f(ptr: number, n: number): Float32Array { return new Float32Array(this.mem.buffer, ptr, n); }
  private fa(ptr: number): Float32Array { return new Float32Array(this.mem.buffer, ptr); }

  pack_b(b: number, sbp: number, sbj: number, dst: number, P: number, J: number, j0: number, j1: number): void {
    const src = this.fa(b), d = this.fa(dst);
    for (let j = j0; j < j1; j += 8) {
      const base = (j >> 3) * P * 8;
      for (let p = 0; p < P; p++) for (let c = 0; c < 8; c++) d[base + p * 8 + c] = j + c < J ? src[p * sbp + (j + c) * sbj] : 0;
    }
  }

  gemm(a: number, sai: number, sap: number, bp: number, c: number, ldc: number, ct: number,
    J: number, P: number, acc: number, _scratch: number, i0: number, i1: number): void {
    const A = this.fa(a), B = this.fa(bp), C = this.fa(c);
    for (let i = i0; i < i1; i++) {
      for (let j = 0; j < J; j++) {
        let s = 0;
        const panel = (j >> 3) * P * 8 + (j & 7);
        for (let p = 0; p < P; p++) s += A[i * sai + p * sap] * B[panel + p * 8];
        const at = ct ? j * ldc + i : i * ldc + j;
        C[at] = acc ? C[at] + s : s;
      }
    }
  }

  rmsnorm_fwd(x: number, w: number, y: number, rstd: number, n: number, eps: number, t0: number, t1: number): void {
    const X = this.fa(x), W = this.f(w, n), Y = this.fa(y), R = this.fa(rstd);
    for (let t = t0; t < t1; t++) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += X[t * n + i] ** 2;
      const r = 1 / Math.sqrt(ss / n + Math.fround(eps));
      R[t] = r;
      for (let i = 0; i < n; i++) Y[t * n + i] = X[t * n + i] * R[t] * W[i];
    }
  }

  rmsnorm_bwd(dy: number, x: number, w: number, rstd: number, dx: number, n: number, t0: number, t1: number): void {
    const DY = this.fa(dy), X = this.fa(x), W = this.f(w, n), R = this.fa(rstd), DX = this.fa(dx);
    for (let t = t0; t < t1; t++) {
      const r = R[t];
      let s = 0;
      for (let i = 0; i < n; i++) s += DY[t * n + i] * W[i] * X[t * n + i];
      for (let i = 0; i < n; i++) DX[t * n + i] += r * DY[t * n + i] * W[i] - X[t * n + i] * (s * r * r * r / n);
    }
  }

  rmsnorm_dw(dy: number, x: number, rstd: number, dw: number, n: number, T: number, c0: number, c1: number): void {
    const DY = this.fa(dy), X = this.fa(x), R = this.fa(rstd), DW = this.fa(dw);
    for (let c = c0; c < c1; c++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += DY[t * n + c] * X[t * n + c] * R[t];
      DW[c] += s;
    }
  }

  swiglu_fwd(gu: number, h: number, F: number, t0: number, t1: number): void {
    const G = this.fa(gu), H = this.fa(h);
    for (let t = t0; t < t1; t++) {
      for (let i = 0; i < F; i++) {
        const g = G[t * 2 * F + i], u = G[t * 2 * F + F + i];
        H[t * F + i] = (g / (1 + Math.exp(-g))) * u;
      }
    }
  }

  swiglu_bwd(gu: number, dh: number, dgu: number, F: number, t0: number, t1: number): void {
    const G = this.fa(gu), DH = this.fa(dh), DG = this.fa(dgu);
    for (let t = t0; t < t1; t++) {
      for (let i = 0; i < F; i++) {
        const g = G[t * 2 * F + i], u = G[t * 2 * F + F + i], d = DH[t * F + i];
        const s = 1 / (1 + Math.exp(-g));
        DG[t * 2 * F + i] = d * u * s * (1 + g * (1 - s));
        DG[t * 2 * F + F + i] = d * g * s;
      }
    }
  }

  attn_fwd(qkv: number, out: number, lse: number, T: number, nH: number, nKV: number, hd: number, _scratch: number, j0: number, j1: number): void {
    const Q = this.fa(qkv), O = this.fa(out), L = this.fa(lse);
    const ld = (nH + 2 * nKV) * hd, dim = nH * hd, scale = 1 / Math.sqrt(hd);
    for (let j = j0; j < j1; j++) {
      const t = j % T, bh = Math.floor(j / T), h = bh % nH, b = Math.floor(bh / nH);
      const g = Math.floor(h / (nH / nKV)), row = b * T;
      const q = (row + t) * ld + h * hd;
      const sc = new Float64Array(t + 1);
      let mx = -Infinity;
      for (let s = 0; s <= t; s++) {
        const k = (row + s) * ld + dim + g * hd;
        let d = 0;
        for (let i = 0; i < hd; i++) d += Q[q + i] * Q[k + i];
        sc[s] = d * scale;
        mx = Math.max(mx, sc[s]);
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) { sc[s] = Math.exp(sc[s] - mx); sum += sc[s]; }
      for (let i = 0; i < hd; i++) {
        let o = 0;
        for (let s = 0; s <= t; s++) o += sc[s] * Q[(row + s) * ld + dim + nKV * hd + g * hd + i];
        O[(row + t) * dim + h * hd + i] = o / sum;
      }
      L[(row + t) * nH + h] = mx + Math.log(sum);
    }
  }

  attn_bwd(qkv: number, out: number, dout: number, lse: number, dqkv: number, T: number, nH: number, nKV: number, hd: number,
    _scratch: number, j0: number, j1: number): void {
    const Q = this.fa(qkv), O = this.fa(out), DO = this.fa(dout), L = this.fa(lse), DQ = this.fa(dqkv);
    const ld = (nH + 2 * nKV) * hd, dim = nH * hd, scale = 1 / Math.sqrt(hd), group = nH / nKV;
    for (let j = j0; j < j1; j++) {
      const b = Math.floor(j / nKV), g = j % nKV, row = b * T;
      const ko = dim + g * hd, vo = dim + nKV * hd + g * hd;
      const dk = new Float64Array(T * hd), dv = new Float64Array(T * hd);
      for (let h = g * group; h < (g + 1) * group; h++) {
        for (let t = 0; t < T; t++) {
          const q = (row + t) * ld + h * hd, o = (row + t) * dim + h * hd;
          let D = 0;
          for (let i = 0; i < hd; i++) D += DO[o + i] * O[o + i];
          const dq = new Float64Array(hd);
          for (let s = 0; s <= t; s++) {
            const kr = (row + s) * ld;
            let qk = 0, dp = 0;
            for (let i = 0; i < hd; i++) { qk += Q[q + i] * Q[kr + ko + i]; dp += DO[o + i] * Q[kr + vo + i]; }
            const p = Math.exp(qk * scale - L[(row + t) * nH + h]);
            const ds = p * (dp - D) * scale;
            for (let i = 0; i < hd; i++) {
              dq[i] += ds * Q[kr + ko + i];
              dk[s * hd + i] += ds * Q[q + i];
              dv[s * hd + i] += p * DO[o + i];
            }
          }
          for (let i = 0; i < hd; i++) DQ[q + i] = dq[i];
        }
      }
      for (let s = 0; s < T; s++) {
        for (let i = 0; i < hd; i++) { DQ[(row + s) * ld + ko + i] = dk[s * hd + i]; DQ[(row + s) * ld + vo + i] = dv[s * hd + i]; }
      }
    }
  }

  xent(logits: number, V: number, targets: number, weights: number, loss: number, t0: number, t1: number): void {
    const Lg = this.fa(logits), Tg = new Int32Array(this.mem.buffer, targets), W = weights ? this.fa(weights) : undefined, Ls = this.fa(loss);
    for (let t = t0; t < t1; t++) {
      const o = t * V;
      let mx = -Infinity;
      for (let i = 0; i < V; i++) mx = Math.max(mx, Lg[o + i]);
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(Lg[o + i] - mx);
      const lse = mx + Math.log(sum);
      Ls[t] = lse - Lg[o + Tg[t]];
      if (W) {
        const w = W[t];
        for (let i = 0; i < V; i++) Lg[o + i] = Math.exp(Lg[o + i] - lse) * w;
        Lg[o + Tg[t]] -= w;
      }
    }
  }

  adamw(p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, wd: number,
    gscale: number, bc1: number, bc2: number, i0: number, i1: number): void {
    const P = this.fa(p), G = this.fa(g), M = this.fa(m), Vv = this.fa(v);
    for (let i = i0; i < i1; i++) {
      const gv = G[i] * gscale;
      M[i] = b1 * M[i] + (1 - b1) * gv;
      Vv[i] = b2 * Vv[i] + (1 - b2) * gv * gv;
      P[i] = P[i] * (1 - lr * wd) - (lr / bc1) * (M[i] / (Math.sqrt(Vv[i]) / Math.sqrt(bc2) + eps));
    }
  }

  sumsq(x: number, n: number, bs: number, out: number, b0: number, b1: number): void {
    const X = this.fa(x), O = new Float64Array(this.mem.buffer, out);
    for (let b = b0; b < b1; b++) {
      let s = 0;
      for (let i = b * bs; i < Math.min(n, (b + 1) * bs); i++) s += X[i] * X[i];
      O[b] = s;
    }
  }
}
