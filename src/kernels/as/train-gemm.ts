// The f32 matrix product of training (AssemblyScript): C (+)= A B through packed panels, used by
// src/train for y = x W^T, dx = dy W and dW += dy^T x. Pointers are byte offsets into the shared
// memory; strides are in elements; the split range [i0, i1) comes last (see src/kernels/ops.ts).

// C (+)= A B with C (I x J), reduction over P. Both operands are read through panels, as BLIS does:
//   B is packed once per call (pack_b) into column panels of 8: panel q holds B(p, 8q..8q+7) for all
//     p, as [P][8] contiguous floats (columns past J are zero);
//   A is packed by each thread, for four rows at a time and PB values of p, into its scratch:
//     [PB][4] floats (an L1-sized panel).
// The 4x8 micro-tile keeps eight f32x4 accumulators in registers (V8 on x64 has 15 xmm registers
// to spare; a 6x8 tile spills), with four broadcasts of A and two vector loads of B per p.

import { madd } from "./vec";

const PB: i32 = 256; // p block: a B block of PB x JB stays in L2, an A panel of PB x 4 in L1
const JB: i32 = 512; // j block

/**
 * Pack B(p, j) = b[p*sbp + j*sbj] for column panels covering j in [j0, j1) (j0 a multiple of 8)
 * into dst: panel q at dst + q*P*32 bytes, [P][8] floats, zero past J.
 */
export function pack_b(b: usize, sbp: i32, sbj: i32, dst: usize, P: i32, J: i32, j0: i32, j1: i32): void {
  const sp = <usize>sbp << 2, sj = <usize>sbj << 2;
  for (let j = j0; j < j1; j += 8) {
    const d = dst + <usize>(j >> 3) * <usize>P * 32;
    const nj = min(8, J - j);
    const src = b + <usize>j * sj;
    if (nj == 8 && sbj == 1) {
      for (let p = 0; p < P; p++) {
        const s = src + <usize>p * sp;
        v128.store(d + (<usize>p << 5), v128.load(s));
        v128.store(d + (<usize>p << 5), v128.load(s, 16), 16);
      }
    } else if (nj == 8 && sbp == 1) {
      // eight source rows j, each contiguous in p: 4x4 transposes
      let p = 0;
      for (; p + 4 <= P; p += 4) {
        const o = <usize>p << 2;
        for (let h: usize = 0; h < 2; h++) {
          const r0 = v128.load(src + (4 * h) * sj + o), r1 = v128.load(src + (4 * h + 1) * sj + o);
          const r2 = v128.load(src + (4 * h + 2) * sj + o), r3 = v128.load(src + (4 * h + 3) * sj + o);
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
          const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const dd = d + (<usize>p << 5) + h * 16;
          v128.store(dd, i64x2.shuffle(t0, t2, 0, 2));
          v128.store(dd + 32, i64x2.shuffle(t0, t2, 1, 3));
          v128.store(dd + 64, i64x2.shuffle(t1, t3, 0, 2));
          v128.store(dd + 96, i64x2.shuffle(t1, t3, 1, 3));
        }
      }
      for (; p < P; p++) {
        for (let c = 0; c < 8; c++) store<f32>(d + (<usize>p << 5) + (<usize>c << 2), load<f32>(src + <usize>c * sj + <usize>p * sp));
      }
    } else {
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < 8; c++) store<f32>(d + (<usize>p << 5) + (<usize>c << 2), c < nj ? load<f32>(src + <usize>c * sj + <usize>p * sp) : 0);
      }
    }
  }
}

/** Pack A(i..i+3, p0..p0+n) (A(i, p) at a + i*sai + p*sap bytes) into pa as [n][4]; rows >= ni are zero. */
// @ts-ignore: decorator
@inline function packA4(a: usize, sai: usize, sap: usize, ni: i32, n: i32, pa: usize): void {
  if (ni == 4 && sap == 4) {
    let p = 0;
    for (; p + 4 <= n; p += 4) {
      const o = <usize>p << 2;
      const r0 = v128.load(a + o), r1 = v128.load(a + sai + o), r2 = v128.load(a + 2 * sai + o), r3 = v128.load(a + 3 * sai + o);
      const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const d = pa + (<usize>p << 4);
      v128.store(d, i64x2.shuffle(t0, t2, 0, 2));
      v128.store(d + 16, i64x2.shuffle(t0, t2, 1, 3));
      v128.store(d + 32, i64x2.shuffle(t1, t3, 0, 2));
      v128.store(d + 48, i64x2.shuffle(t1, t3, 1, 3));
    }
    for (; p < n; p++) {
      const o = <usize>p << 2;
      v128.store(pa + (<usize>p << 4), f32x4(load<f32>(a + o), load<f32>(a + sai + o), load<f32>(a + 2 * sai + o), load<f32>(a + 3 * sai + o)));
    }
  } else if (ni == 4 && sai == 4) {
    for (let p = 0; p < n; p++) v128.store(pa + (<usize>p << 4), v128.load(a + <usize>p * sap));
  } else {
    for (let p = 0; p < n; p++) {
      for (let r = 0; r < 4; r++) store<f32>(pa + (<usize>p << 4) + (<usize>r << 2), r < ni ? load<f32>(a + <usize>r * sai + <usize>p * sap) : 0);
    }
  }
}

/** Row r of a tile (v0 | v1 = C(i+r, j..j+7)) into C, nj valid columns (C(i, j) at c + i*ci + j*cj). */
// @ts-ignore: decorator
@inline function storeRow(c: usize, cj: usize, v0: v128, v1: v128, nj: i32, add: bool): void {
  if (nj == 8 && cj == 4) {
    if (add) { v0 = f32x4.add(v0, v128.load(c)); v1 = f32x4.add(v1, v128.load(c, 16)); }
    v128.store(c, v0); v128.store(c, v1, 16);
    return;
  }
  for (let j = 0; j < nj; j++) {
    
    const v = j < 4 ? v0 : v1;
    const lane = j & 3;
    const e = lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    const p = c + <usize>j * cj;
    store<f32>(p, add ? load<f32>(p) + e : e);
  }
}

/** Column of four (C(i..i+3, j) = v) into C stored transposed (C(i, j) at c + j*ldc*4 + i*4): one vector. */
// @ts-ignore: decorator
@inline function storeCol(c: usize, v: v128, ni: i32, add: bool): void {
  if (ni == 4) {
    v128.store(c, add ? f32x4.add(v, v128.load(c)) : v);
    return;
  }
  for (let r = 0; r < ni; r++) {
    const e = r == 0 ? f32x4.extract_lane(v, 0) : r == 1 ? f32x4.extract_lane(v, 1) : f32x4.extract_lane(v, 2);
    store<f32>(c + (<usize>r << 2), add ? load<f32>(c + (<usize>r << 2)) + e : e);
  }
}

/**
 * The 4x8 tile C(i..i+3, j..j+7) (+)= sum over n values of p of pa[p][0..3] x pb[p][0..7].
 * ct: C is stored transposed (C(i, j) at c + j*ldcB + i*4), else C(i, j) at c + i*ldcB + j*4.
 */
// @ts-ignore: decorator
@inline function tile4x8(pa: usize, pb: usize, n: i32, c: usize, ldcB: usize, ct: bool, ni: i32, nj: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let ap = pa, bp = pb;
  for (let p = 0; p < n; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap); c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(ap, 4); c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(ap, 8); c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(ap, 12); c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    ap += 16; bp += 32;
  }
  if (!ct) {
    storeRow(c, 4, c00, c01, nj, add);
    if (ni > 1) storeRow(c + ldcB, 4, c10, c11, nj, add);
    if (ni > 2) storeRow(c + 2 * ldcB, 4, c20, c21, nj, add);
    if (ni > 3) storeRow(c + 3 * ldcB, 4, c30, c31, nj, add);
  } else {
    // transpose the two 4x4 halves so each column j is one vector over i
    let t0 = i32x4.shuffle(c00, c10, 0, 4, 1, 5), t1 = i32x4.shuffle(c00, c10, 2, 6, 3, 7);
    let t2 = i32x4.shuffle(c20, c30, 0, 4, 1, 5), t3 = i32x4.shuffle(c20, c30, 2, 6, 3, 7);
    storeCol(c, i64x2.shuffle(t0, t2, 0, 2), ni, add);
    if (nj > 1) storeCol(c + ldcB, i64x2.shuffle(t0, t2, 1, 3), ni, add);
    if (nj > 2) storeCol(c + 2 * ldcB, i64x2.shuffle(t1, t3, 0, 2), ni, add);
    if (nj > 3) storeCol(c + 3 * ldcB, i64x2.shuffle(t1, t3, 1, 3), ni, add);
    t0 = i32x4.shuffle(c01, c11, 0, 4, 1, 5); t1 = i32x4.shuffle(c01, c11, 2, 6, 3, 7);
    t2 = i32x4.shuffle(c21, c31, 0, 4, 1, 5); t3 = i32x4.shuffle(c21, c31, 2, 6, 3, 7);
    if (nj > 4) storeCol(c + 4 * ldcB, i64x2.shuffle(t0, t2, 0, 2), ni, add);
    if (nj > 5) storeCol(c + 5 * ldcB, i64x2.shuffle(t0, t2, 1, 3), ni, add);
    if (nj > 6) storeCol(c + 6 * ldcB, i64x2.shuffle(t1, t3, 0, 2), ni, add);
    if (nj > 7) storeCol(c + 7 * ldcB, i64x2.shuffle(t1, t3, 1, 3), ni, add);
  }
}

/**
 * C (+)= A B for the rows i in [i0, i1) of C (I x J, reduction over P):
 *   A(i, p) = a[i*sai + p*sap]  (row-major A: sai = lda, sap = 1; A^T of a row-major matrix: 1, lda)
 *   B: packed by pack_b (bp)
 *   C(i, j) = c[i*ldc + j], or c[j*ldc + i] when ct != 0 (C stored transposed)
 * acc != 0 adds to C, else C is overwritten. scratch: this thread's PB*16 bytes for the A panel.
 * Every element is summed in the same order (p blocks of PB, two p per step), whatever the split.
 */
export function gemm(a: usize, sai: i32, sap: i32, bp: usize, c: usize, ldc: i32, ct: i32,
  J: i32, P: i32, acc: i32, scratch: usize, i0: i32, i1: i32): void {
  const saiB = <usize>sai << 2, sapB = <usize>sap << 2, ldcB = <usize>ldc << 2;
  const tr = ct != 0;
  const ci: usize = tr ? 4 : ldcB, cj: usize = tr ? ldcB : 4;
  for (let jb = 0; jb < J; jb += JB) {
    const je = min(J, jb + JB);
    for (let pb = 0; pb < P; pb += PB) {
      const pn = min(PB, P - pb);
      const add = acc != 0 || pb > 0;
      for (let i = i0; i < i1; i += 4) {
        const ni = min(4, i1 - i);
        packA4(a + <usize>i * saiB + <usize>pb * sapB, saiB, sapB, ni, pn, scratch);
        for (let j = jb; j < je; j += 8) {
          tile4x8(scratch, bp + <usize>(j >> 3) * <usize>P * 32 + (<usize>pb << 5), pn,
            c + <usize>i * ci + <usize>j * cj, ldcB, tr, ni, min(8, J - j), add);
        }
      }
    }
  }
}

