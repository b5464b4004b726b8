/**
 * Reference dequantisers: ggml tensor bytes -> f32, one plain-TS function per type, following
 * ggml's `dequantize_row_*` (ggml/src/ggml-quants.c) operation by operation.
 *
 * Float semantics: ggml computes in f32. Every product or sum that C evaluates in `float` is
 * rounded to f32 here too (`Math.fround`, or by storing into the Float32Array), in C's
 * left-to-right order, so results are bit-identical to a C build without FMA contraction.
 * (A compiler that fuses `d1*q - m1` into an FMA can differ in the last bit; ggml's SIMD paths
 * never dequantise to f32 anyway.) Halves are read through the 65536-entry table.
 *
 * These are the slow, obviously-correct versions the fast kernels are tested against.
 * All layouts are little-endian; "half" is an IEEE binary16 (see `f16.ts`).
 */
import { UserError } from "../util/errors.js";
import { halfTable } from "./f16.js";
import { GGMLType, TYPE_INFO, typeName } from "./ggml-types.js";

const fr = Math.fround;

/** A block dequantiser: `nb` blocks from `src` (starting at byte 0) into `dst[0 .. nb*blockSize)`. */
type BlockDequant = (src: Uint8Array, nb: number, dst: Float32Array) => void;

/** Half at byte `o` of `src`, as f32 (via the table). */
function half(H: Float32Array, src: Uint8Array, o: number): number {
  return H[src[o] | (src[o + 1] << 8)];
}

/** Signed byte at `o`. */
function i8(src: Uint8Array, o: number): number {
  return (src[o] << 24) >> 24;
}

// ------------------------------------------------------------------ plain float types

/** F32: 4 bytes per value, little-endian IEEE binary32. */
const dqF32: BlockDequant = (src, n, dst) => {
  const dv = new DataView(src.buffer, src.byteOffset, n * 4);
  for (let i = 0; i < n; i++) dst[i] = dv.getFloat32(4 * i, true);
};

/** F16: 2 bytes per value, IEEE half. */
const dqF16: BlockDequant = (src, n, dst) => {
  const H = halfTable();
  for (let i = 0; i < n; i++) dst[i] = H[src[2 * i] | (src[2 * i + 1] << 8)];
};

/** BF16: 2 bytes per value, the top half of an f32 (f32 bits = u16 << 16). */
const dqBF16: BlockDequant = (src, n, dst) => {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, n);
  for (let i = 0; i < n; i++) out[i] = (src[2 * i] << 16) | (src[2 * i + 1] << 24);
};

// ------------------------------------------------------------------ 32-weight blocks

/**
 * Q4_0, 18 bytes / 32 weights: half d | qs[16].
 * qs[j] holds weight j in its low nibble and weight j+16 in its high nibble.
 * w = (nibble - 8) * d.
 */
const dqQ4_0: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 18 * i, y = 32 * i;
    const d = half(H, src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = ((q & 0x0f) - 8) * d;
      dst[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
};

/**
 * Q4_1, 20 bytes / 32 weights: half d | half m | qs[16] (nibbles as in Q4_0).
 * w = nibble * d + m.
 */
const dqQ4_1: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 20 * i, y = 32 * i;
    const d = half(H, src, o), m = half(H, src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      dst[y + j] = fr((q & 0x0f) * d) + m;
      dst[y + j + 16] = fr((q >> 4) * d) + m;
    }
  }
};

/**
 * Q5_0, 22 bytes / 32 weights: half d | qh (u32 LE) | qs[16].
 * Low 4 bits as in Q4_0; bit j of qh is the 5th bit of weight j (j = 0..31).
 * w = (q5 - 16) * d.
 */
const dqQ5_0: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 22 * i, y = 32 * i;
    const d = half(H, src, o);
    const qh = (src[o + 2] | (src[o + 3] << 8) | (src[o + 4] << 16) | (src[o + 5] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10; // bit j      -> 16
      const h1 = (qh >>> (j + 12)) & 0x10; // bit j + 16 -> 16
      dst[y + j] = (((q & 0x0f) | h0) - 16) * d;
      dst[y + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
};

/**
 * Q5_1, 24 bytes / 32 weights: half d | half m | qh (u32 LE) | qs[16] (bits as in Q5_0).
 * w = q5 * d + m.
 */
const dqQ5_1: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 24 * i, y = 32 * i;
    const d = half(H, src, o), m = half(H, src, o + 2);
    const qh = (src[o + 4] | (src[o + 5] << 8) | (src[o + 6] << 16) | (src[o + 7] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = fr(((q & 0x0f) | h0) * d) + m;
      dst[y + j + 16] = fr(((q >> 4) | h1) * d) + m;
    }
  }
};

/** Q8_0, 34 bytes / 32 weights: half d | int8 qs[32]. w = q * d. */
const dqQ8_0: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 34 * i, y = 32 * i;
    const d = half(H, src, o);
    for (let j = 0; j < 32; j++) dst[y + j] = i8(src, o + 2 + j) * d;
  }
};

// ------------------------------------------------------------------ 256-weight super-blocks (K-quants)

/**
 * Q2_K, 84 bytes / 256 weights: scales[16] | qs[64] | half d | half dmin.
 * scales[k]: low nibble = scale, high nibble = min, for the 16-weight group k.
 * Weight index 128h + 32j + 16p + l (h = 0..1, j = 0..3, p = 0..1, l = 0..15):
 *   q = (qs[32h + 16p + l] >> 2j) & 3, k = 8h + 2j + p,
 *   w = (d * (scales[k] & 15)) * q - dmin * (scales[k] >> 4).
 */
const dqQ2_K: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 84 * i;
    const d = half(H, src, o + 80), min = half(H, src, o + 82);
    let y = 256 * i, is = 0;
    for (let h = 0; h < 2; h++) {
      const q = o + 16 + 32 * h;
      for (let j = 0, shift = 0; j < 4; j++, shift += 2) {
        for (let p = 0; p < 2; p++) {
          const sc = src[o + is++];
          const dl = fr(d * (sc & 0x0f)), ml = fr(min * (sc >> 4));
          for (let l = 0; l < 16; l++) dst[y++] = fr(dl * ((src[q + 16 * p + l] >> shift) & 3)) - ml;
        }
      }
    }
  }
};

/**
 * Q3_K, 110 bytes / 256 weights: hmask[32] | qs[64] | scales[12] | half d.
 * 16 signed 6-bit scales packed in 12 bytes s[]: for group k = 0..15,
 *   low4 = k < 8 ? s[k] & 15 : s[k-8] >> 4,  high2 = (s[8 + k%4] >> 2*floor(k/4)) & 3,
 *   scale_k = (low4 | high2 << 4) - 32.
 * Weight index 128h + 32j + 16p + l: 2-bit q = (qs[32h + 16p + l] >> 2j) & 3, and
 *   the high bit is hmask[16p + l] bit (4h + j); w = (d * scale_k) * (q - (bit ? 0 : 4)),
 *   k = 8h + 2j + p.
 */
const dqQ3_K: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  const scales = new Int32Array(16);
  for (let i = 0; i < nb; i++) {
    const o = 110 * i;
    const s = o + 96; // scales[12]
    const dAll = half(H, src, o + 108);
    // Unpack the 16 6-bit scales (as ggml's kmask shuffle does).
    for (let k = 0; k < 16; k++) {
      const low = k < 8 ? src[s + k] & 15 : src[s + k - 8] >> 4;
      const high = (src[s + 8 + (k % 4)] >> (2 * (k >> 2))) & 3;
      scales[k] = (low | (high << 4)) - 32;
    }
    let y = 256 * i, is = 0;
    for (let h = 0; h < 2; h++) {
      const q = o + 32 + 32 * h;
      for (let j = 0, shift = 0; j < 4; j++, shift += 2) {
        const m = 1 << (4 * h + j);
        for (let p = 0; p < 2; p++) {
          const dl = fr(dAll * scales[is++]);
          for (let l = 0; l < 16; l++) {
            const lo = (src[q + 16 * p + l] >> shift) & 3;
            dst[y++] = dl * (lo - (src[o + 16 * p + l] & m ? 0 : 4));
          }
        }
      }
    }
  }
};

/**
 * Scale and min of sub-block j (0..7) from the 12 packed bytes at `s` (Q4_K, Q5_K):
 *   j < 4:  sc = s[j] & 63,                         m = s[j+4] & 63
 *   j >= 4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4, m = (s[j+4] >> 4) | (s[j] >> 6) << 4
 * Written into out[0] (scale) and out[1] (min), like ggml's `get_scale_min_k4`.
 */
export function scaleMinK4(src: Uint8Array, s: number, j: number, out: Int32Array | number[]): void {
  if (j < 4) {
    out[0] = src[s + j] & 63;
    out[1] = src[s + j + 4] & 63;
  } else {
    out[0] = (src[s + j + 4] & 0x0f) | ((src[s + j - 4] >> 6) << 4);
    out[1] = (src[s + j + 4] >> 4) | ((src[s + j] >> 6) << 4);
  }
}

/**
 * Q4_K, 144 bytes / 256 weights: half d | half dmin | scales[12] | qs[128].
 * Eight sub-blocks of 32 with 6-bit (scale, min) from `scaleMinK4`. Chunk c = 0..3 uses
 * qs[32c .. 32c+31]: low nibbles are weights 64c + l (sub-block 2c), high nibbles weights
 * 64c + 32 + l (sub-block 2c+1). w = (d * sc) * q - dmin * m.
 */
const dqQ4_K: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  const sm = new Int32Array(2);
  for (let i = 0; i < nb; i++) {
    const o = 144 * i;
    const d = half(H, src, o), min = half(H, src, o + 2);
    let y = 256 * i;
    for (let c = 0; c < 4; c++) {
      scaleMinK4(src, o + 4, 2 * c, sm);
      const d1 = fr(d * sm[0]), m1 = fr(min * sm[1]);
      scaleMinK4(src, o + 4, 2 * c + 1, sm);
      const d2 = fr(d * sm[0]), m2 = fr(min * sm[1]);
      const q = o + 16 + 32 * c;
      for (let l = 0; l < 32; l++) dst[y++] = fr(d1 * (src[q + l] & 0x0f)) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = fr(d2 * (src[q + l] >> 4)) - m2;
    }
  }
};

/**
 * Q5_K, 176 bytes / 256 weights: half d | half dmin | scales[12] | qh[32] | qs[128].
 * As Q4_K, plus a 5th bit: for chunk c, weight 64c + l adds 16 if qh[l] bit 2c is set and
 * weight 64c + 32 + l adds 16 if qh[l] bit 2c+1 is set. w = (d * sc) * q5 - dmin * m.
 */
const dqQ5_K: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  const sm = new Int32Array(2);
  for (let i = 0; i < nb; i++) {
    const o = 176 * i;
    const d = half(H, src, o), min = half(H, src, o + 2);
    const qh = o + 16, ql = o + 48;
    let y = 256 * i;
    for (let c = 0; c < 4; c++) {
      scaleMinK4(src, o + 4, 2 * c, sm);
      const d1 = fr(d * sm[0]), m1 = fr(min * sm[1]);
      scaleMinK4(src, o + 4, 2 * c + 1, sm);
      const d2 = fr(d * sm[0]), m2 = fr(min * sm[1]);
      const u1 = 1 << (2 * c), u2 = 2 << (2 * c);
      const q = ql + 32 * c;
      for (let l = 0; l < 32; l++) dst[y++] = fr(d1 * ((src[q + l] & 0x0f) + (src[qh + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = fr(d2 * ((src[q + l] >> 4) + (src[qh + l] & u2 ? 16 : 0))) - m2;
    }
  }
};

/**
 * Q6_K, 210 bytes / 256 weights: ql[128] | qh[64] | int8 scales[16] | half d (last).
 * Two halves of 128 (h = 0, 1) use ql[64h..], qh[32h..], scales[8h..]. For l = 0..31:
 *   q[l]    = (ql[l] & 15)    | ((qh[l] >> 0) & 3) << 4
 *   q[l+32] = (ql[l+32] & 15) | ((qh[l] >> 2) & 3) << 4
 *   q[l+64] = (ql[l] >> 4)    | ((qh[l] >> 4) & 3) << 4
 *   q[l+96] = (ql[l+32] >> 4) | ((qh[l] >> 6) & 3) << 4
 * Weight l + 32k of half h uses scale 8h + 2k + floor(l/16); w = (d * scale) * (q - 32).
 */
const dqQ6_K: BlockDequant = (src, nb, dst) => {
  const H = halfTable();
  for (let i = 0; i < nb; i++) {
    const o = 210 * i;
    const d = half(H, src, o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h, qh = o + 128 + 32 * h, sc = o + 192 + 8 * h;
      const y = 256 * i + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const hb = src[qh + l];
        const q1 = ((src[ql + l] & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 15) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        dst[y + l] = fr(d * i8(src, sc + is)) * q1;
        dst[y + l + 32] = fr(d * i8(src, sc + is + 2)) * q2;
        dst[y + l + 64] = fr(d * i8(src, sc + is + 4)) * q3;
        dst[y + l + 96] = fr(d * i8(src, sc + is + 6)) * q4;
      }
    }
  }
};

/**
 * Q8_K, 292 bytes / 256 weights: f32 d | int8 qs[256] | int16 bsums[16].
 * w = d * q (bsums, the sums of each 16 quants, are only used by dot products).
 */
const dqQ8_K: BlockDequant = (src, nb, dst) => {
  const dv = new DataView(src.buffer, src.byteOffset, nb * 292);
  for (let i = 0; i < nb; i++) {
    const o = 292 * i, y = 256 * i;
    const d = dv.getFloat32(o, true);
    for (let j = 0; j < 256; j++) dst[y + j] = d * i8(src, o + 4 + j);
  }
};

const DEQUANT = new Map<number, BlockDequant>([
  [GGMLType.F32, dqF32], [GGMLType.F16, dqF16], [GGMLType.BF16, dqBF16],
  [GGMLType.Q4_0, dqQ4_0], [GGMLType.Q4_1, dqQ4_1], [GGMLType.Q5_0, dqQ5_0], [GGMLType.Q5_1, dqQ5_1],
  [GGMLType.Q8_0, dqQ8_0],
  [GGMLType.Q2_K, dqQ2_K], [GGMLType.Q3_K, dqQ3_K], [GGMLType.Q4_K, dqQ4_K], [GGMLType.Q5_K, dqQ5_K],
  [GGMLType.Q6_K, dqQ6_K], [GGMLType.Q8_K, dqQ8_K],
]);

/** Names of the types `dequantizeRow` handles, for messages. */
export const DEQUANT_TYPE_NAMES = [...DEQUANT.keys()].map(typeName).join(", ");

export function canDequantize(type: number): boolean {
  return DEQUANT.has(type);
}

/**
 * Dequantise `n` values of ggml type `type` from `src` (which starts at the first block and
 * holds at least the bytes of `n` values) into `dst[0 .. n)`, allocated when omitted.
 * `n` must be a multiple of the type's block size. Returns `dst`.
 */
export function dequantizeRow(type: number, src: Uint8Array, n: number, dst?: Float32Array): Float32Array {
  const fn = DEQUANT.get(type);
  const info = TYPE_INFO.get(type);
  if (!fn || !info) throw new UserError(`cannot dequantize ggml type ${typeName(type)} (id ${type}); supported: ${DEQUANT_TYPE_NAMES}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`dequantizeRow: bad element count ${n}`);
  if (n % info.blockSize !== 0) throw new RangeError(`dequantizeRow: ${n} values is not a multiple of the ${info.name} block size ${info.blockSize}`);
  const nb = n / info.blockSize;
  const need = nb * info.typeSize;
  if (src.length < need) throw new RangeError(`dequantizeRow: ${n} ${info.name} values need ${need} bytes, got ${src.length}`);
  const out = dst ?? new Float32Array(n);
  if (out.length < n) throw new RangeError(`dequantizeRow: destination holds ${out.length} values, need ${n}`);
  // Plain float types go one value at a time; quantised types one block at a time.
  fn(src, info.blockSize === 1 ? n : nb, out);
  return out;
}

/** Dequantise a whole tensor of `nelements` values (rows are contiguous, so this is one long row). */
export function dequantizeTensor(type: number, bytes: Uint8Array, nelements: number): Float32Array {
  return dequantizeRow(type, bytes, nelements);
}
