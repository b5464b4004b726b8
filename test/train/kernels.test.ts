// The training kernels (src/kernels/as/train.ts) against their TypeScript twins
// (src/train/kernels-ref.ts) over random odd shapes, in both builds (baseline SIMD and relaxed).
// Tolerances are relative errors as defined in helpers.ts, with floor 1e-3 x the RMS of the twin.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { share } from "../../src/kernels/ops.js";
import { Rng } from "../../src/util/rng.js";
import { VARIANTS } from "../helpers/kernels.js";
import { fill, kernelSetup, relErr, rms } from "./helpers.js";

/** relErr(actual, want, floor) <= tol with floor = `floor` x RMS(want), reporting the error. */
function close(actual: ArrayLike<number>, want: ArrayLike<number>, floor: number, tol: number, what = ""): void {
  const e = relErr(actual, want, floor * rms(want));
  assert.ok(e <= tol, `${what}: relative error ${e} > ${tol}`);
}

for (const variant of VARIANTS) {
  describe(`training kernels (${variant})`, () => {
    const S = kernelSetup(variant);
    const rng = new Rng([7, variant.length]);

    it("pack_b copies B into column panels of 8 exactly (row-major and transposed sources)", () => {
      for (const [P, J] of [[13, 21], [8, 8], [37, 5], [1, 17]]) {
        for (const trans of [false, true]) {
          S.reset();
          const b = S.alloc(P * J * 4);
          fill(S.f32(b, P * J), rng);
          const [sbp, sbj] = trans ? [1, P] : [J, 1];
          const n = Math.ceil(J / 8) * 8 * P;
          const d1 = S.alloc(n * 4), d2 = S.alloc(n * 4);
          S.k.pack_b(b, sbp, sbj, d1, P, J, 0, J);
          S.ref.pack_b(b, sbp, sbj, d2, P, J, 0, J);
          assert.deepEqual(S.f32(d1, n), S.f32(d2, n), `P ${P} J ${J} trans ${trans}`);
        }
      }
    });

    it("gemm matches the twin for every operand layout, plain/transposed C, overwrite/accumulate; splits give the same bits", () => {
      for (const [I, J, P] of [[13, 37, 45], [4, 8, 256], [29, 11, 300], [7, 64, 3], [1, 1, 1], [50, 24, 513]]) {
        for (const aT of [false, true]) {
          for (const ct of [0, 1]) {
            for (const acc of [0, 1]) {
              S.reset();
              const a = S.alloc(I * P * 4), b = S.alloc(P * J * 4);
              fill(S.f32(a, I * P), rng);
              fill(S.f32(b, P * J), rng);
              const [sai, sap] = aT ? [1, I] : [P, 1];
              const bp = S.alloc(Math.ceil(J / 8) * 8 * P * 4);
              S.k.pack_b(b, J, 1, bp, P, J, 0, J);
              const ldc = ct ? I + 3 : J + 5;
              const cn = ct ? J * ldc : I * ldc;
              const c1 = S.alloc(cn * 4), c2 = S.alloc(cn * 4), c3 = S.alloc(cn * 4);
              const init = fill(S.f32(c1, cn), rng);
              S.f32(c2, cn).set(init);
              S.f32(c3, cn).set(init);
              const scratch = S.alloc(256 * 16);
              S.k.gemm(a, sai, sap, bp, c1, ldc, ct, J, P, acc, scratch, 0, I);
              S.ref.gemm(a, sai, sap, bp, c2, ldc, ct, J, P, acc, scratch, 0, I);
              const want = S.f32(c2, cn);
              const e = relErr(S.f32(c1, cn), want, 1e-3 * rms(want) * Math.sqrt(P));
              assert.ok(e < 2e-4, `I ${I} J ${J} P ${P} aT ${aT} ct ${ct} acc ${acc}: rel err ${e}`);
              // three threads' shares (multiples of 4 rows), as the pool splits: bit-identical
              for (let tid = 0; tid < 3; tid++) {
                const [i0, i1] = share(0, I, 4, 3, tid);
                if (i0 < i1) S.k.gemm(a, sai, sap, bp, c3, ldc, ct, J, P, acc, scratch, i0, i1);
              }
              assert.deepEqual(S.f32(c3, cn), S.f32(c1, cn));
            }
          }
        }
      }
    });

    it("rmsnorm forward, backward and weight gradient match the twin", () => {
      for (const [T, n] of [[7, 12], [33, 64], [3, 260]]) {
        S.reset();
        const x = S.alloc(T * n * 4), w = S.alloc(n * 4), dy = S.alloc(T * n * 4);
        fill(S.f32(x, T * n), rng); fill(S.f32(w, n), rng); fill(S.f32(dy, T * n), rng);
        const y1 = S.alloc(T * n * 4), y2 = S.alloc(T * n * 4), r1 = S.alloc(T * 4), r2 = S.alloc(T * 4);
        S.k.rmsnorm_fwd(x, w, y1, r1, n, 1e-5, 0, T);
        S.ref.rmsnorm_fwd(x, w, y2, r2, n, 1e-5, 0, T);
        close(S.f32(y1, T * n), S.f32(y2, T * n), 1e-2, 1e-4, "rmsnorm y");
        close(S.f32(r1, T), S.f32(r2, T), 1e-2, 1e-4, "rmsnorm rstd");
        const dx1 = S.alloc(T * n * 4), dx2 = S.alloc(T * n * 4);
        const base = fill(S.f32(dx1, T * n), rng);
        S.f32(dx2, T * n).set(base);
        S.k.rmsnorm_bwd(dy, x, w, r2, dx1, n, 0, T);
        S.ref.rmsnorm_bwd(dy, x, w, r2, dx2, n, 0, T);
        close(S.f32(dx1, T * n), S.f32(dx2, T * n), 1e-2, 1e-4, "rmsnorm dx");
        const dw1 = S.alloc(n * 4), dw2 = S.alloc(n * 4);
        S.f32(dw1, n).fill(0.5); S.f32(dw2, n).fill(0.5);
        S.k.rmsnorm_dw(dy, x, r2, dw1, n, T, 0, n);
        S.ref.rmsnorm_dw(dy, x, r2, dw2, n, T, 0, n);
        close(S.f32(dw1, n), S.f32(dw2, n), 1e-2, 1e-4, "rmsnorm dw");
      }
    });

    it("SwiGLU forward and backward match the twin (including large |g|)", () => {
      const T = 9, F = 44;
      S.reset();
      const gu = S.alloc(T * 2 * F * 4), dh = S.alloc(T * F * 4);
      const g = fill(S.f32(gu, T * 2 * F), rng, 3);
      g[0] = 120; g[1] = -120; g[2] = 88.5; g[3] = -90;
      fill(S.f32(dh, T * F), rng);
      const h1 = S.alloc(T * F * 4), h2 = S.alloc(T * F * 4), d1 = S.alloc(T * 2 * F * 4), d2 = S.alloc(T * 2 * F * 4);
      S.k.swiglu_fwd(gu, h1, F, 0, T);
      S.ref.swiglu_fwd(gu, h2, F, 0, T);
      close(S.f32(h1, T * F), S.f32(h2, T * F), 1e-2, 1e-4, "swiglu h");
      S.k.swiglu_bwd(gu, dh, d1, F, 0, T);
      S.ref.swiglu_bwd(gu, dh, d2, F, 0, T);
      close(S.f32(d1, T * 2 * F), S.f32(d2, T * 2 * F), 1e-2, 1e-4, "swiglu dgu");
    });

    it("attention forward (out, lse) and backward (dq, dk, dv) match the twin, with GQA", () => {
      for (const [B, T, nH, nKV, hd] of [[2, 11, 4, 2, 8], [1, 37, 3, 1, 12], [3, 5, 2, 2, 4]]) {
        S.reset();
        const ld = (nH + 2 * nKV) * hd, dim = nH * hd, N = B * T;
        const qkv = S.alloc(N * ld * 4), dout = S.alloc(N * dim * 4);
        fill(S.f32(qkv, N * ld), rng);
        fill(S.f32(dout, N * dim), rng);
        const o1 = S.alloc(N * dim * 4), o2 = S.alloc(N * dim * 4), l1 = S.alloc(N * nH * 4), l2 = S.alloc(N * nH * 4);
        const scratch = S.alloc(T * 4 * 8);
        S.k.attn_fwd(qkv, o1, l1, T, nH, nKV, hd, scratch, 0, B * nH * T);
        S.ref.attn_fwd(qkv, o2, l2, T, nH, nKV, hd, scratch, 0, B * nH * T);
        close(S.f32(o1, N * dim), S.f32(o2, N * dim), 1e-2, 1e-4, "out");
        close(S.f32(l1, N * nH), S.f32(l2, N * nH), 1e-2, 1e-4, "lse");
        const d1 = S.alloc(N * ld * 4), d2 = S.alloc(N * ld * 4);
        S.k.attn_bwd(qkv, o2, dout, l2, d1, T, nH, nKV, hd, scratch, 0, B * nKV);
        S.ref.attn_bwd(qkv, o2, dout, l2, d2, T, nH, nKV, hd, scratch, 0, B * nKV);
        const want = S.f32(d2, N * ld);
        close(S.f32(d1, N * ld), want, 1e-2, 1e-4, `dqkv B ${B} T ${T}`);
      }
    });

    it("cross-entropy: losses and the fused softmax gradient match the twin; eval mode leaves logits alone", () => {
      const T = 5, V = 1003;
      S.reset();
      const lg = S.alloc(T * V * 4), lg2 = S.alloc(T * V * 4), lg3 = S.alloc(T * V * 4);
      const init = Float32Array.from(fill(S.f32(lg, T * V), rng, 4));
      S.f32(lg2, T * V).set(init); S.f32(lg3, T * V).set(init);
      const tg = S.alloc(T * 4), w = S.alloc(T * 4), ls1 = S.alloc(T * 4), ls2 = S.alloc(T * 4), ls3 = S.alloc(T * 4);
      new Int32Array(S.memory.buffer, tg, T).set([0, 17, 1002, 500, 3]);
      S.f32(w, T).set([0.25, 0, 0.5, 1, 0.125]);
      S.k.xent(lg, V, tg, w, ls1, 0, T);
      S.ref.xent(lg2, V, tg, w, ls2, 0, T);
      close(S.f32(ls1, T), S.f32(ls2, T), 1e-2, 1e-4, "xent loss");
      close(S.f32(lg, T * V), S.f32(lg2, T * V), 1e-2, 1e-4, "xent dlogits");
      assert.ok(S.f32(lg, T * V).subarray(V, 2 * V).every((x) => x === 0), "a zero weight gives a zero row");
      S.k.xent(lg3, V, tg, 0, ls3, 0, T);
      assert.deepEqual(S.f32(ls3, T), S.f32(ls1, T));
      assert.deepEqual(S.f32(lg3, T * V), init);
    });

    it("AdamW update and block sums of squares match the twin", () => {
      const n = 1037;
      S.reset();
      const p1 = S.alloc(n * 4), p2 = S.alloc(n * 4), g = S.alloc(n * 4), m1 = S.alloc(n * 4), m2 = S.alloc(n * 4), v1 = S.alloc(n * 4), v2 = S.alloc(n * 4);
      S.f32(p2, n).set(fill(S.f32(p1, n), rng));
      fill(S.f32(g, n), rng);
      S.f32(m2, n).set(fill(S.f32(m1, n), rng, 0.1));
      const v0 = S.f32(v1, n); for (let i = 0; i < n; i++) v0[i] = Math.abs(rng.normal()) * 0.01; S.f32(v2, n).set(v0);
      const args = [3e-4, 0.9, 0.95, 1e-8, 0.1, 0.5, 1 - 0.9 ** 7, 1 - 0.95 ** 7].map(Math.fround);
      S.k.adamw(p1, g, m1, v1, ...(args as [number, number, number, number, number, number, number, number]), 0, n);
      S.ref.adamw(p2, g, m2, v2, ...(args as [number, number, number, number, number, number, number, number]), 0, n);
      close(S.f32(p1, n), S.f32(p2, n), 1e-2, 1e-4, "adamw p");
      close(S.f32(m1, n), S.f32(m2, n), 1e-2, 1e-4, "adamw m");
      close(S.f32(v1, n), S.f32(v2, n), 1e-2, 1e-4, "adamw v");
      const o1 = S.alloc(8 * 8), o2 = S.alloc(8 * 8);
      S.k.sumsq(g, n, 300, o1, 0, 4);
      S.ref.sumsq(g, n, 300, o2, 0, 4);
      close(new Float64Array(S.memory.buffer, o1, 4), new Float64Array(S.memory.buffer, o2, 4), 1e-2, 1e-4, "sumsq");
    });
  });
}
