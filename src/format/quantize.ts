/**
 * Quantisers: f32 values -> ggml tensor bytes (block layouts are documented in `dequant.ts`).
 *
 * Two kinds:
 *  - llama.cpp-exact: F32, F16, BF16 and the `quantize_row_*_ref` reference quantisers of
 *    ggml-quants.c for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q8_K. Every f32 operation of the C code
 *    is rounded to f32 here too (`Math.fround`), so the bytes match llama.cpp's for the same
 *    input (llama-quantize without an imatrix uses exactly these for the 32-blocks).
 *  - simple, valid K-quantisers for Q4_K, Q5_K and Q6_K. They do NOT reproduce llama.cpp's
 *    scale search; they pick each scale by rounding UP so that the sub-block's range is always
 *    covered, which gives a hard error bound (stated with each function and checked by the
 *    tests): every weight lands within about half a quantisation step of its input.
 */
import { UserError } from "../util/errors.js";
import { floatToBf16, floatToHalf, halfToFloat } from "./f16.js";
import { GGMLType, TYPE_INFO, typeName } from "./ggml-types.js";

const fr = Math.fround;

/** C `roundf`: nearest integer, halfway cases away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** ggml's `nearest_int` (the 1.5*2^23 trick): nearest integer, halfway cases to even. */
export function nearestInt(x: number): number {
  const r = Math.round(x); // halfway cases go towards +inf
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** A block quantiser: `nb` blocks of `src` (from element 0) into `dst` (from byte 0). */
type BlockQuant = (src: Float32Array, nb: number, dst: Uint8Array) => void;

/** Store the half bits `h` at byte `o`. */
function putHalf(dst: Uint8Array, o: number, h: number): void {
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

// ------------------------------------------------------------------ plain float types

const qF32: BlockQuant = (src, n, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, 4 * n);
  for (let i = 0; i < n; i++) dv.setFloat32(4 * i, src[i], true);
};

const qF16: BlockQuant = (src, n, dst) => {
  for (let i = 0; i < n; i++) putHalf(dst, 2 * i, floatToHalf(src[i]));
};

const qBF16: BlockQuant = (src, n, dst) => {
  for (let i = 0; i < n; i++) putHalf(dst, 2 * i, floatToBf16(src[i]));
};

// ------------------------------------------------------------------ llama.cpp reference quantisers

/**
 * Signed value of largest magnitude in src[from .. from+len) (the first one on ties), and
 * that magnitude, as ggml's loops find them (`if (amax < fabsf(v))`).
 */
function signedMax(src: Float32Array, from: number, len: number): [max: number, amax: number] {
  let amax = 0, max = 0;
  for (let j = from; j < from + len; j++) {
    const a = Math.abs(src[j]);
    if (amax < a) { amax = a; max = src[j]; }
  }
  return [max, amax];
}

/**
 * Q8_0 (`quantize_row_q8_0_ref`): d = amax / 127, id = 1/d (0 if d = 0),
 * q = roundf(x * id) (half away from zero); d is stored as a half AFTER the quants are made
 * with the f32 id.
 */
const qQ8_0: BlockQuant = (src, nb, dst) => {
  for (let i = 0; i < nb; i++) {
    const x = 32 * i, o = 34 * i;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    for (let j = 0; j < 32; j++) dst[o + 2 + j] = roundHalfAway(fr(src[x + j] * id)) & 0xff;
  }
};

/**
 * Q4_0 (`quantize_row_q4_0_ref`): max = signed value of largest magnitude, d = max / -8,
 * id = 1/d, q = min(15, trunc(x*id + 8.5)); the value `max` itself maps to 0 (i.e. -8 * d).
 */
const qQ4_0: BlockQuant = (src, nb, dst) => {
  for (let i = 0; i < nb; i++) {
    const x = 32 * i, o = 18 * i;
    const [max] = signedMax(src, x, 32);
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    for (let j = 0; j < 16; j++) {
      // (int8_t)(x0 + 8.5f) truncates toward zero; x0 >= -8 (to within an ulp) so it is >= 0.
      const q0 = Math.min(15, Math.trunc(fr(fr(src[x + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(src[x + j + 16] * id) + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
};

/** Min and max of src[from .. from+len), starting from ±FLT_MAX as ggml does. */
function minMax(src: Float32Array, from: number, len: number): [min: number, max: number] {
  let min = 3.4028234663852886e38, max = -3.4028234663852886e38;
  for (let j = from; j < from + len; j++) {
    if (src[j] < min) min = src[j];
    if (src[j] > max) max = src[j];
  }
  return [min, max];
}

/** Q4_1 (`quantize_row_q4_1_ref`): d = (max - min) / 15, m = min, q = min(15, trunc((x - min)/d + 0.5)). */
const qQ4_1: BlockQuant = (src, nb, dst) => {
  for (let i = 0; i < nb; i++) {
    const x = 32 * i, o = 20 * i;
    const [min, max] = minMax(src, x, 32);
    const d = fr(fr(max - min) / 15);
    const id = d ? fr(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    putHalf(dst, o + 2, floatToHalf(min));
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(fr(fr(fr(src[x + j] - min) * id) + 0.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(fr(src[x + j + 16] - min) * id) + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
};

/** Q5_0 (`quantize_row_q5_0_ref`): d = max / -16, q = min(31, trunc(x*id + 16.5)); bit 4 of weight j goes to qh bit j. */
const qQ5_0: BlockQuant = (src, nb, dst) => {
  for (let i = 0; i < nb; i++) {
    const x = 32 * i, o = 22 * i;
    const [max] = signedMax(src, x, 32);
    const d = fr(max / -16);
    const id = d ? fr(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(fr(fr(src[x + j] * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(fr(fr(src[x + j + 16] * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    new DataView(dst.buffer, dst.byteOffset + o + 2, 4).setUint32(0, qh >>> 0, true);
  }
};

/** Q5_1 (`quantize_row_q5_1_ref`): d = (max - min) / 31, m = min, q = trunc((x - min)/d + 0.5). */
const qQ5_1: BlockQuant = (src, nb, dst) => {
  for (let i = 0; i < nb; i++) {
    const x = 32 * i, o = 24 * i;
    const [min, max] = minMax(src, x, 32);
    const d = fr(fr(max - min) / 31);
    const id = d ? fr(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    putHalf(dst, o + 2, floatToHalf(min));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // (uint8_t)(v + 0.5f): no clamp in ggml; v <= 31 (to within an ulp) keeps it in 0..31.
      const q0 = Math.trunc(fr(fr(fr(src[x + j] - min) * id) + 0.5)) & 0xff;
      const q1 = Math.trunc(fr(fr(fr(src[x + j + 16] - min) * id) + 0.5)) & 0xff;
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    new DataView(dst.buffer, dst.byteOffset + o + 4, 4).setUint32(0, qh >>> 0, true);
  }
};

/**
 * Q8_K (`quantize_row_q8_K_ref`, used by llama.cpp for activations):
 * max = signed value of largest magnitude, iscale = -127 / max, q = min(127, nearest_int(iscale*x))
 * (ties to even), bsums[k] = sum of q[16k .. 16k+15], d = 1 / iscale stored as f32
 * (so d < 0 when max > 0). An all-zero block gets d = 0 and zero quants (and zero bsums here;
 * ggml leaves its bsums untouched in that case).
 */
const qQ8_K: BlockQuant = (src, nb, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, 292 * nb);
  for (let i = 0; i < nb; i++) {
    const x = 256 * i, o = 292 * i;
    // ggml's loop uses a strict `>` too: the first value of largest magnitude wins.
    const [max, amax] = signedMax(src, x, 256);
    if (!amax) {
      dst.fill(0, o, o + 292);
      continue;
    }
    const iscale = fr(-127 / max);
    for (let j = 0; j < 256; j++) dst[o + 4 + j] = Math.min(127, nearestInt(fr(iscale * src[x + j]))) & 0xff;
    for (let k = 0; k < 16; k++) {
      let sum = 0;
      for (let l = 0; l < 16; l++) sum += (dst[o + 4 + 16 * k + l] << 24) >> 24;
      dv.setInt16(o + 260 + 2 * k, sum, true);
    }
    dv.setFloat32(o, fr(1 / iscale), true);
  }
};

// ------------------------------------------------------------------ simple K-quantisers

/**
 * The smallest half >= v (v >= 0, finite), as [bits, value]. Rounding a scale UP keeps every
 * quantised scale index within its 6/8-bit limit and the block's range covered.
 */
function halfAtLeast(v: number): [number, number] {
  if (!Number.isFinite(v)) throw new UserError(`cannot quantize to a K-quant: the input holds NaN or infinite values`);
  let h = floatToHalf(v);
  if (halfToFloat(h) < v) h += 1; // next half up (v >= 0, so the bits grow with the value)
  const value = halfToFloat(h);
  if (!Number.isFinite(value)) throw new UserError(`value ${v} is too large for a K-quant block scale (largest half is 65504)`);
  return [h, value];
}

/**
 * Q4_K (nmax = 15) and Q5_K (nmax = 31) share the scale/min scheme:
 *  1. per sub-block j of 32: lo_j = min(0, min x), hi_j = max x;
 *  2. dmin = smallest half >= max_j(-lo_j) / 63; m_j = ceil(-lo_j / dmin) (<= 63), and the
 *     offset the dequantiser subtracts is off_j = f32(dmin * m_j) >= -lo_j;
 *  3. need_j = (hi_j + off_j) / nmax; d = smallest half >= max_j need_j / 63;
 *     sc_j = ceil(need_j / d) (<= 63); step_j = f32(d * sc_j) >= need_j;
 *  4. q = clamp(nearest_int((x + off_j) / step_j), 0, nmax).
 * Since [-off_j, -off_j + nmax*step_j] contains [lo_j, hi_j], every weight is within step_j / 2
 * of its input (plus f32 rounding), and step_j <= need_j + d.
 * Fills L[0..256) with the quants and writes d, dmin and the 12 packed scale bytes at `o`.
 */
function kScalesMins(src: Float32Array, x: number, nmax: number, dst: Uint8Array, o: number, L: Uint8Array): void {
  const lo = new Float64Array(8), hi = new Float64Array(8);
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const [mn, mx] = minMax(src, x + 32 * j, 32);
    lo[j] = Math.min(0, mn);
    hi[j] = Math.max(mx, lo[j]);
    maxMin = Math.max(maxMin, -lo[j]);
  }
  // Step 2: mins.
  const [dminBits, dmin] = maxMin > 0 ? halfAtLeast(maxMin / 63) : [0, 0];
  const m = new Int32Array(8), off = new Float64Array(8), need = new Float64Array(8);
  let maxNeed = 0;
  for (let j = 0; j < 8; j++) {
    m[j] = dmin > 0 ? Math.min(63, Math.ceil(-lo[j] / dmin)) : 0;
    off[j] = fr(dmin * m[j]);
    need[j] = (hi[j] + off[j]) / nmax;
    maxNeed = Math.max(maxNeed, need[j]);
  }
  // Step 3: scales.
  const [dBits, d] = maxNeed > 0 ? halfAtLeast(maxNeed / 63) : [0, 0];
  const sc = new Int32Array(8);
  for (let j = 0; j < 8; j++) sc[j] = d > 0 ? Math.min(63, Math.ceil(need[j] / d)) : 0;
  putHalf(dst, o, dBits);
  putHalf(dst, o + 2, dminBits);
  // Pack the 6-bit pairs (inverse of `scaleMinK4`): j < 4 in the low 6 bits of bytes j and
  // j+4; j >= 4 as nibbles of byte j+4 with the top 2 bits in bits 6-7 of bytes j-4 and j.
  const s = o + 4;
  dst.fill(0, s, s + 12);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      dst[s + j] = sc[j];
      dst[s + j + 4] = m[j];
    } else {
      dst[s + j + 4] = (sc[j] & 0x0f) | ((m[j] & 0x0f) << 4);
      dst[s + j - 4] |= (sc[j] >> 4) << 6;
      dst[s + j] |= (m[j] >> 4) << 6;
    }
  }
  // Step 4: quants with the f32 step and offset the dequantiser will use.
  for (let j = 0; j < 8; j++) {
    const step = fr(d * sc[j]);
    for (let l = 0; l < 32; l++) {
      const q = step ? nearestInt((src[x + 32 * j + l] + off[j]) / step) : 0;
      L[32 * j + l] = Math.max(0, Math.min(nmax, q));
    }
  }
}

/** Q4_K (simple): see `kScalesMins`; |w - x| <= step_j/2 with step_j <= (hi_j - lo_j + dmin)/15 + d. */
const qQ4_K: BlockQuant = (src, nb, dst) => {
  const L = new Uint8Array(256);
  for (let i = 0; i < nb; i++) {
    const o = 144 * i;
    kScalesMins(src, 256 * i, 15, dst, o, L);
    // Chunk c: byte 32c + l = weight 64c + l (low nibble) | weight 64c + 32 + l (high nibble).
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4);
    }
  }
};

/** Q5_K (simple): as Q4_K with 5-bit quants; step_j <= (hi_j - lo_j + dmin)/31 + d. */
const qQ5_K: BlockQuant = (src, nb, dst) => {
  const L = new Uint8Array(256);
  for (let i = 0; i < nb; i++) {
    const o = 176 * i;
    kScalesMins(src, 256 * i, 31, dst, o, L);
    const qh = o + 16, ql = o + 48;
    dst.fill(0, qh, qh + 32);
    // Chunk c: low 4 bits as in Q4_K; bit 4 of weight 64c + l -> qh[l] bit 2c, of 64c + 32 + l -> bit 2c+1.
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const a = L[64 * c + l], b = L[64 * c + 32 + l];
        dst[ql + 32 * c + l] = (a & 15) | ((b & 15) << 4);
        dst[qh + l] |= ((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1));
      }
    }
  }
};

/**
 * Q6_K (simple): per group k of 16, need_k = amax_k / 31; d = smallest half >= max need / 127;
 * scale_k = ceil(need_k / d) (<= 127); q = clamp(nearest_int(x / (d*scale_k)), -32, 31) + 32.
 * |w - x| <= (d * scale_k)/2 <= (amax_k/31 + d)/2. An all-zero super-block is written as zero bytes.
 */
const qQ6_K: BlockQuant = (src, nb, dst) => {
  const L = new Uint8Array(256);
  const need = new Float64Array(16);
  for (let i = 0; i < nb; i++) {
    const x = 256 * i, o = 210 * i;
    let maxNeed = 0;
    for (let k = 0; k < 16; k++) {
      let amax = 0;
      for (let l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(src[x + 16 * k + l]));
      need[k] = amax / 31;
      maxNeed = Math.max(maxNeed, need[k]);
    }
    if (maxNeed === 0) {
      // All zero: an all-zero block (d = 0), as ggml writes it.
      dst.fill(0, o, o + 210);
      continue;
    }
    const [dBits, d] = halfAtLeast(maxNeed / 127);
    putHalf(dst, o + 208, dBits);
    for (let k = 0; k < 16; k++) {
      const sc = d > 0 ? Math.min(127, Math.ceil(need[k] / d)) : 0;
      dst[o + 192 + k] = sc; // int8, 0..127
      const step = fr(d * sc);
      for (let l = 0; l < 16; l++) {
        const q = step ? nearestInt(src[x + 16 * k + l] / step) : 0;
        L[16 * k + l] = Math.max(-32, Math.min(31, q)) + 32;
      }
    }
    // Halves of 128: ql[64h + l] = q[l] | q[l+64] << 4, ql[64h + l + 32] = q[l+32] | q[l+96] << 4,
    // qh[32h + l] = q[l]>>4 | (q[l+32]>>4) << 2 | (q[l+64]>>4) << 4 | (q[l+96]>>4) << 6.
    for (let h = 0; h < 2; h++) {
      const y = 128 * h;
      for (let l = 0; l < 32; l++) {
        const a = L[y + l], b = L[y + l + 32], c = L[y + l + 64], e = L[y + l + 96];
        dst[o + 64 * h + l] = (a & 15) | ((c & 15) << 4);
        dst[o + 64 * h + l + 32] = (b & 15) | ((e & 15) << 4);
        dst[o + 128 + 32 * h + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
};

const QUANT = new Map<number, BlockQuant>([
  [GGMLType.F32, qF32], [GGMLType.F16, qF16], [GGMLType.BF16, qBF16],
  [GGMLType.Q4_0, qQ4_0], [GGMLType.Q4_1, qQ4_1], [GGMLType.Q5_0, qQ5_0], [GGMLType.Q5_1, qQ5_1],
  [GGMLType.Q8_0, qQ8_0], [GGMLType.Q8_K, qQ8_K],
  [GGMLType.Q4_K, qQ4_K], [GGMLType.Q5_K, qQ5_K], [GGMLType.Q6_K, qQ6_K],
]);

/** Names of the types `quantizeRow` handles, for messages. */
export const QUANT_TYPE_NAMES = [...QUANT.keys()].map(typeName).join(", ");

export function canQuantize(type: number): boolean {
  return QUANT.has(type);
}

/**
 * Encode `src` (a whole number of blocks) as ggml type `type` into `dst` (allocated when
 * omitted; must hold the encoded size). Returns the encoded bytes (a view of `dst`, exactly
 * `rowBytes(type, src.length)` long).
 */
export function quantizeRow(type: number, src: Float32Array, dst?: Uint8Array): Uint8Array {
  const fn = QUANT.get(type);
  const info = TYPE_INFO.get(type);
  if (!fn || !info) throw new UserError(`cannot quantize to ggml type ${typeName(type)} (id ${type}); supported: ${QUANT_TYPE_NAMES}`);
  const n = src.length;
  if (n % info.blockSize !== 0) throw new RangeError(`quantizeRow: ${n} values is not a multiple of the ${info.name} block size ${info.blockSize}`);
  const nb = n / info.blockSize;
  const size = nb * info.typeSize;
  const out = dst ?? new Uint8Array(size);
  if (out.length < size) throw new RangeError(`quantizeRow: destination holds ${out.length} bytes, ${info.name} x ${n} needs ${size}`);
  fn(src, info.blockSize === 1 ? n : nb, out);
  return out.subarray(0, size);
}

/**
 * Encode a tensor whose rows have `rowLength` values (default: one row). Blocks never cross
 * rows, so the row length must be a multiple of the block size.
 */
export function quantizeTensor(type: number, src: Float32Array, rowLength = src.length, dst?: Uint8Array): Uint8Array {
  const info = TYPE_INFO.get(type);
  if (info && (rowLength <= 0 || src.length % rowLength !== 0 || rowLength % info.blockSize !== 0)) {
    throw new UserError(`cannot store rows of ${rowLength} values as ${info.name}: the row length must be a multiple of ${info.blockSize} (tensor of ${src.length} values)`);
  }
  return quantizeRow(type, src, dst);
}
