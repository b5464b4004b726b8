// Float-vector helpers shared by the kernels (inference and training alike).

/**
 * a * b + c. The relaxed build fuses it (one rounding; V8 emits vfmadd on x64 CPUs with FMA, as
 * llama.cpp's own dot products use fmadd), the baseline build multiplies, then adds. Each kernel
 * family makes every path (decode, prefill tiles, remainders) take the same steps, so results do not
 * depend on the batch within one build.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** ((v0 + v1) + v2) + v3. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** [sum(a), sum(b), sum(c), sum(d)] of four f32x4, each as (x0 + x2) + (x1 + x3). */
// @ts-ignore: decorator
@inline export function fsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}
