// The kernel module's exports. Built three times by scripts/build-kernels.mjs: baseline SIMD128, relaxed SIMD and dot-add.
export { set_f16_lut, set_row1, relaxed_dot_factor, matmul, q8Stride } from "./matmul";
export { set_opaque_zero, dot_add_u8_exact } from "./x4";
export { quantize_q8_K } from "./kquants";
export { quantize_q8_0, rmsnorm, rope, silu_mul, add } from "./ops";
export { store_kv, kv_bytes, attention } from "./attention";
export { f2h } from "./f16";
// Training (src/train): matrix products, backward passes, AdamW.
export { pack_b, gemm, rmsnorm_fwd, rmsnorm_bwd, rmsnorm_dw, swiglu_fwd, swiglu_bwd, attn_fwd, attn_bwd, xent, adamw, sumsq } from "./train";

/** Where the module's own static data ends; the host allocates above it. */
export function heap_base(): usize { return __heap_base; }
export { repack_x4 } from "./repack";
