// Half-precision conversions used inside kernels (AssemblyScript).

// The constants of h2f_u32 as globals: V8 rematerialises a literal v128 at every use inside a loop
// (three instructions) but reads a global with one load. set_f16_consts (reached from an export, so
// the optimiser cannot fold them back into literals) rewrites them with the same values.
let H_SIGN: v128 = i32x4.splat(0x8000), H_EM: v128 = i32x4.splat(0x7fff);
export let H_P112: v128 = f32x4.splat(5.192296858534828e33);
let H_INF: v128 = i32x4.splat(0x7f800000), H_MAXF: v128 = i32x4.splat(0x7bff);
/** The constants of h2f4_fin (copy them into locals before a loop and pass them in). */
export let H_MK: v128 = i32x4.splat(0x8fffffff);
// f2h8_sat's
let F_ABS: v128 = i32x4.splat(0x7fffffff), F_BIAS: v128 = i32x4.splat(0x37fff001), F_NORM: v128 = i32x4.splat(0x38800000);
let F_HALF: v128 = f32x4.splat(0.5), F_ONE: v128 = i32x4.splat(1), F_QNAN: v128 = i32x4.splat(0x7e00);
let F_MAX: v128 = f32x4.splat(65504), F_NMAX: v128 = f32x4.splat(-65504);
export function set_f16_consts(z: i32): void {
  const zv = i32x4.splat(z);
  H_SIGN = i32x4.add(H_SIGN, zv); H_EM = i32x4.add(H_EM, zv); H_P112 = i32x4.add(H_P112, zv);
  H_INF = i32x4.add(H_INF, zv); H_MAXF = i32x4.add(H_MAXF, zv); H_MK = i32x4.add(H_MK, zv);
  F_ABS = i32x4.add(F_ABS, zv); F_BIAS = i32x4.add(F_BIAS, zv); F_NORM = i32x4.add(F_NORM, zv); F_HALF = i32x4.add(F_HALF, zv);
  F_ONE = i32x4.add(F_ONE, zv); F_QNAN = i32x4.add(F_QNAN, zv); F_MAX = i32x4.add(F_MAX, zv); F_NMAX = i32x4.add(F_NMAX, zv);
}

/**
 * The four f16 values at p -> f32x4, for finite values only (inf/NaN become large finite numbers;
 * callers keep them out: the loader refuses such block scales, store_kv saturates the cache). Each
 * is sign-extended to 32 bits and shifted left 13: mantissa and exponent land where an f32 keeps
 * them and the sign in bit 31, with three more copies of the sign in bits 28..30 that mK
 * (H_MK = 0x8fffffff) clears. Read as f32 that is the value times 2^-112 (normals and subnormals
 * alike), so p112 (H_P112 = 2^112) scales it back: four instructions.
 */
// @ts-ignore: decorator
@inline export function h2f4_fin(p: usize, mK: v128, p112: v128): v128 {
  return f32x4.mul(h2f4_raw(p, mK), p112);
}

/** h2f4_fin without its last step: the four values times 2^-112, exactly (subnormal for f16 subnormals). */
// @ts-ignore: decorator
@inline export function h2f4_raw(p: usize, mK: v128): v128 {
  return v128.and(i32x4.shl(v128.load16x4_s(p), 13), mK);
}

/** Four f16 values in the low 16 bits of each i32 lane -> f32x4, exact (subnormals, inf, NaN). */
// @ts-ignore: decorator
@inline export function h2f_u32(u: v128): v128 {
  const sign = i32x4.shl(v128.and(u, H_SIGN), 16);
  const em = v128.and(u, H_EM);
  // (em << 13) read as f32 has exponent e-15+127-112: scaling by 2^112 fixes normals and subnormals alike.
  let f = f32x4.mul(i32x4.shl(em, 13), H_P112); // 2^112
  const special = v128.or(i32x4.shl(em, 13), H_INF); // inf / NaN keep their payload
  f = v128.bitselect(special, f, i32x4.gt_s(em, H_MAXF));
  return v128.or(f, sign);
}

/** f16 bits -> f32 (scalar). */
// @ts-ignore: decorator
@inline export function h2f(h: u32): f32 {
  const em = h & 0x7fff;
  let f: f32;
  if (em > 0x7bff) f = reinterpret<f32>((em << 13) | 0x7f800000);
  else f = reinterpret<f32>(em << 13) * (5.192296858534828e33 as f32);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** f32 -> f16 bits, round to nearest even (as ggml's GGML_FP32_TO_FP16 / F16C). */
export function f2h(x: f32): u32 {
  const b = reinterpret<u32>(x);
  const sign = (b >>> 16) & 0x8000;
  const ab = b & 0x7fffffff;
  if (ab >= 0x7f800000) return sign | (ab > 0x7f800000 ? 0x7e00 : 0x7c00); // NaN / inf
  if (ab >= 0x477ff000) return sign | 0x7c00; // rounds to >= 65520: overflow to inf
  if (ab < 0x38800000) {
    // result is subnormal (or zero): value / 2^-24, rounded to nearest even
    if (ab < 0x33000000) return sign; // below half of the smallest subnormal
    const mant = (ab & 0x7fffff) | 0x800000;
    const shift = 126 - (ab >>> 23); // 14..24
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half: u32 = 1 << (shift - 1);
    if (rem > half || (rem == half && (h & 1) != 0)) h++;
    return sign | h;
  }
  // normal: rebias exponent, round the 13 dropped bits to nearest even
  let h = ((ab - 0x38000000) >>> 13);
  const rem = ab & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
  return sign | h;
}

/**
 * f2h(min(max(x, -65504), 65504)) for the n f32 values at src into the f16 values at dst: eight at a
 * time, then one at a time. The vector form: normals round the 13 dropped bits to nearest even by
 * adding 0xfff plus the kept bit's lowest bit before shifting; results below 2^-14 come from the
 * FPU's own round-to-nearest-even, as the bits of |x| + 0.5 less those of 0.5 (0.5's ulp is 2^-24,
 * the f16 subnormal step); NaN gives 0x7e00, the sign is copied.
 */
export function f2h_sat(src: usize, dst: usize, n: i32): void {
  const abs = F_ABS, bias = F_BIAS, norm = F_NORM, half = F_HALF, one = F_ONE, qnan = F_QNAN, mx = F_MAX, nmx = F_NMAX;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = f2h4_sat(v128.load(src + (<usize>i << 2)), abs, bias, norm, half, one, qnan, mx, nmx);
    const b = f2h4_sat(v128.load(src + (<usize>i << 2), 16), abs, bias, norm, half, one, qnan, mx, nmx);
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(a, b));
  }
  for (; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>f2h(min(max(load<f32>(src + (<usize>i << 2)), -65504), 65504)));
}

// @ts-ignore: decorator
@inline function f2h4_sat(x: v128, abs: v128, bias: v128, norm: v128, half: v128, one: v128, qnan: v128, mx: v128, nmx: v128): v128 {
  const b = f32x4.min(f32x4.max(x, nmx), mx); // NaN stays NaN
  const sign = i32x4.shr_u(v128.andnot(b, abs), 16);
  const ab = v128.and(b, abs);
  const hn = i32x4.shr_u(i32x4.add(i32x4.sub(ab, bias), v128.and(i32x4.shr_u(ab, 13), one)), 13);
  const hs = i32x4.sub(f32x4.add(ab, half), half);
  let h = v128.bitselect(hs, hn, i32x4.gt_s(norm, ab));
  h = v128.bitselect(qnan, h, f32x4.ne(b, b));
  return v128.or(h, sign);
}

/** Round an f32 through f16 and back (ggml stores block scales as f16). */
// @ts-ignore: decorator
@inline export function round_f16(x: f32): f32 {
  return h2f(f2h(x));
}
