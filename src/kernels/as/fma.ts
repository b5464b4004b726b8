// Fused multiply-add for the kernels' float accumulations.

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
