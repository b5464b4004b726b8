/**
 * IEEE binary16 ("half", F16) and bfloat16 (BF16) conversions, bit-exact with ggml.
 *
 * A half is 1 sign bit, 5 exponent bits (bias 15) and 10 mantissa bits:
 *   exponent 0      -> subnormal: (-1)^s * m * 2^-24   (m = 0 gives ±0)
 *   exponent 1..30  -> normal:    (-1)^s * (1024 + m) * 2^(e - 25)
 *   exponent 31     -> ±infinity (m = 0) or NaN (m != 0)
 * A bfloat16 is the top 16 bits of an f32 (f32 bits = bf16 << 16).
 *
 * Conversions to the 16-bit formats take the argument as an f32 (it is passed through
 * `Math.fround` first, as C would when the value is held in a `float`), so there is exactly one
 * rounding step, as in ggml:
 *   - `floatToHalf` matches `GGML_FP32_TO_FP16` (round to nearest, ties to even; overflow to ±inf;
 *     subnormal results kept; NaN becomes sign | 0x7E00 like ggml's portable
 *     `ggml_compute_fp32_to_fp16`; F16C hardware would keep part of the payload instead).
 *   - `floatToBf16` matches `ggml_compute_fp32_to_bf16` (round to nearest even on the bits,
 *     so values just below the f32 max round to ±inf; NaN made quiet by OR-ing 0x40; f32
 *     subnormals are rounded, not flushed).
 */

// Scratch views used to move between a float and its bit pattern.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bit pattern (u32) of `x` rounded to f32. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** The f32 whose bit pattern is the u32 `bits`. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

// ------------------------------------------------------------------ half -> f32

/** The f32 value of the half with bits `h` (0..0xFFFF), computed from the fields. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24; // ±0 and subnormals (sign * 0 keeps -0)
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

let table: Float32Array | undefined;

/**
 * Table of all 65536 halves as f32, [65536], built on first use (256 KiB).
 * NaN entries carry the half's payload in their bits (f32 bits = sign | 0x7F800000 | m << 13).
 */
export function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const e = (h >>> 10) & 0x1f;
    // Infinities and NaNs are written by bits so the payload survives; the rest by value.
    if (e === 31) bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
    else t[h] = halfToFloat(h);
  }
  table = t;
  return t;
}

// ------------------------------------------------------------------ f32 -> half

/** Round a non-negative double to an integer, ties to even. */
function roundHalfEvenPos(x: number): number {
  const r = Math.floor(x);
  const diff = x - r;
  if (diff > 0.5) return r + 1;
  if (diff < 0.5) return r;
  return r % 2 === 0 ? r : r + 1;
}

/** Bits of the half nearest to `x` (taken as f32), ties to even. See the file comment. */
export function floatToHalf(x: number): number {
  const w = f32Bits(x);
  const sign = (w >>> 16) & 0x8000;
  const abs = w & 0x7fffffff;
  // NaN: ggml's portable conversion returns the canonical quiet NaN with the sign kept.
  if (abs > 0x7f800000) return sign | 0x7e00;
  // 65520 (0x477FF000) is halfway between the largest half 65504 and 65536; it ties to the
  // even neighbour 65536, which is infinity. Everything at or above it becomes ±inf.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs >= 0x38800000) {
    // Normal half (|x| >= 2^-14): rebias the exponent (127 -> 15, i.e. subtract 112 << 23)
    // and drop 13 mantissa bits with round-to-nearest-even. A carry out of the mantissa
    // correctly bumps the exponent.
    const rebased = abs - (112 << 23);
    return sign | ((rebased + 0xfff + ((rebased >>> 13) & 1)) >>> 13);
  }
  // Subnormal half or zero: the result is round(|x| / 2^-24) in units of the smallest
  // subnormal. |x| * 2^24 is exact in a double; 1024 (= 0x400) is the smallest normal half,
  // whose bit pattern is exactly 0x400, so a round-up into the normal range is also right.
  f32[0] = x;
  return sign | roundHalfEvenPos(Math.abs(f32[0]) * 2 ** 24);
}

/** `x` rounded to the nearest half and back (the value a half can hold). */
export function roundToHalf(x: number): number {
  return halfToFloat(floatToHalf(x));
}

// ------------------------------------------------------------------ bfloat16

/** The f32 value of the bfloat16 with bits `b`: exactly the f32 with bits `b << 16`. */
export function bf16ToFloat(b: number): number {
  return f32FromBits((b & 0xffff) << 16);
}

/** Bits of `x` (taken as f32) rounded to bfloat16 like `ggml_compute_fp32_to_bf16`. */
export function floatToBf16(x: number): number {
  const w = f32Bits(x);
  // NaN: keep sign and top payload bits, force the quiet bit (0x40 in the bf16 mantissa).
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) | 64) & 0xffff;
  // Round to nearest even on the dropped 16 bits. (A carry can reach the exponent and turn
  // the largest finite values into infinity, exactly as in ggml.)
  return ((w + 0x7fff + ((w >>> 16) & 1)) >>> 16) & 0xffff;
}
