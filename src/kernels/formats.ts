/**
 * Which activation format each weight type's matmul kernel reads, and what it costs in bytes.
 *   f32   F32, F16, BF16 weights: plain f32 activations.
 *   q8_0  Q8_0 and Q4_0 weights: Q8 blocks of 32 (as llama.cpp's vec_dot_type for these types).
 *   q8_K  Q4_K, Q5_K and Q6_K weights: Q8_K blocks of 256 (llama.cpp's vec_dot_type for K-quants).
 */
import { GGMLType } from "../format/ggml-types.js";

export type ActivationFormat = "f32" | "q8_0" | "q8_K";

const FORMAT = new Map<number, ActivationFormat>([
  [GGMLType.F32, "f32"], [GGMLType.F16, "f32"], [GGMLType.BF16, "f32"],
  [GGMLType.Q8_0, "q8_0"], [GGMLType.Q4_0, "q8_0"],
  [GGMLType.Q4_K, "q8_K"], [GGMLType.Q5_K, "q8_K"], [GGMLType.Q6_K, "q8_K"],
]);

/** Weight types the WebAssembly matmul kernels support (the engine's list). */
export const KERNEL_WEIGHT_TYPES = [...FORMAT.keys()];

/** The activation format of a weight type or kernel kind (the x4 kinds of repack.ts read q8_0). */
export function activationFormat(type: number): ActivationFormat | undefined {
  return FORMAT.get(type) ?? (type === 102 || type === 108 ? "q8_0" : undefined);
}

/** Bytes per token of an activation row of `cols` values in `fmt` (the kernels' layouts). */
export function activationStride(fmt: ActivationFormat, cols: number): number {
  switch (fmt) {
    case "f32": return cols * 4;
    case "q8_0": return cols + (cols >> 5) * 8; // qs i8[cols] | d f32[cols/32] | s i32[cols/32] (8 x the sum of the 32 qs: Q4_0's offset term)
    // qs i8[cols] | d f32[cols/256] | bsums i16[cols/16] (sums of 16, as llama.cpp) | bsums32 i16[cols/32] (sums of 32)
    case "q8_K": return cols + (cols >> 8) * 4 + (cols >> 4) * 2 + (cols >> 5) * 2;
  }
}
