// The kernel module's exports. Built twice by scripts/build-kernels.mjs: baseline SIMD128 and relaxed SIMD.
export { set_f16_lut, set_row1, relaxed_dot_factor, matmul, q8Stride } from "./matmul";
export { quantize_q8_K } from "./kquants";
export { quantize_q8_0, rmsnorm, rope, silu_mul, add, store_kv, kv_bytes, attention } from "./ops";
export { f2h } from "./f16";

/** Where the module's own static data ends; the host allocates above it. */
export function heap_base(): usize { return __heap_base; }
