// Vector helpers shared by the kernels (inference and training alike).

/**
 * The dot-add build (scripts/build-kernels.mjs passes `--use DOTADD=1` to a third, relaxed build):
 * integer kernels sum four 8-bit products into each i32 lane with one
 * `i32x4.relaxed_dot_i8x16_i7x16_add_s`. Where V8 lowers that to AVX-VNNI's vpdpbusd (Node 24 on
 * this machine: 6.1 G per second per core) it replaces a 16-product i16 dot, the i16 adds and the
 * widening to i32; where V8 emits pmaddubsw + pmaddwd + paddd and rebuilds the constant each time
 * (Node 20: 2.1 G per second) it is slower and saturates on bytes past 127, and the host does not
 * use this build (wasm.ts). Q4_0/Q8_0 sums are the relaxed build's bit for bit; K-quant sums are
 * grouped into other lanes (kquants.ts, chunk_k4).
 */
// @ts-ignore: compile-time constant
export const DOT_ADD: bool = ASC_FEATURE_RELAXED_SIMD && DOTADD != 0;

/** i32 lane j = c[j] + sum of a[4j + k] * b[4j + k] (k < 4): signed bytes a, bytes b in [0, 127]. The dot-add build only. */
// @ts-ignore: decorator
@inline export function dot_add(a: v128, b: v128, c: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c);
}

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
