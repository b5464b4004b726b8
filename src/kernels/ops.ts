/**
 * The operations the thread pool can split, and how: which two arguments are the [start, end)
 * range that is divided among threads, the granularity of the split, which arguments are f32,
 * and which argument is a per-thread scratch pointer. Shared by the main thread and the workers.
 */
import type { KernelExports, KernelName } from "./wasm.js";

export interface OpSpec {
  fn: KernelName;
  nargs: number;
  /** Argument indexes of the range to split. */
  split: [number, number];
  /** Each thread's share is a multiple of this (4 rows for matmul). */
  align: number;
  floats?: number[];
  /** Argument index of a scratch pointer that each thread offsets by `tid * scratchStride`. */
  scratch?: number;
}

export const OPS: OpSpec[] = [
  { fn: "matmul", nargs: 11, split: [9, 10], align: 4 },
  { fn: "quantize_q8_0", nargs: 6, split: [4, 5], align: 1 },
  { fn: "rmsnorm", nargs: 7, split: [5, 6], align: 1, floats: [4] },
  { fn: "rope", nargs: 7, split: [5, 6], align: 1 },
  { fn: "silu_mul", nargs: 5, split: [3, 4], align: 4 },
  { fn: "attention", nargs: 13, split: [11, 12], align: 1, scratch: 4 },
  { fn: "quantize_q8_K", nargs: 6, split: [4, 5], align: 1 },
  // training (as/train.ts)
  { fn: "pack_b", nargs: 8, split: [6, 7], align: 8 },
  { fn: "gemm", nargs: 13, split: [11, 12], align: 4, scratch: 10 },
  { fn: "rmsnorm_fwd", nargs: 8, split: [6, 7], align: 1, floats: [5] },
  { fn: "rmsnorm_bwd", nargs: 8, split: [6, 7], align: 1 },
  { fn: "rmsnorm_dw", nargs: 8, split: [6, 7], align: 4 },
  { fn: "swiglu_fwd", nargs: 5, split: [3, 4], align: 1 },
  { fn: "swiglu_bwd", nargs: 6, split: [4, 5], align: 1 },
  { fn: "attn_fwd", nargs: 10, split: [8, 9], align: 1, scratch: 7 },
  { fn: "attn_bwd", nargs: 12, split: [10, 11], align: 1, scratch: 9 },
  { fn: "xent", nargs: 7, split: [5, 6], align: 1 },
  { fn: "adamw", nargs: 14, split: [12, 13], align: 4, floats: [4, 5, 6, 7, 8, 9, 10, 11] },
  { fn: "sumsq", nargs: 6, split: [4, 5], align: 1 },
];
export const OP_INDEX = new Map(OPS.map((o, i) => [o.fn, i]));
export const OP_EXIT = -1;

// Control block (Int32Array over a SharedArrayBuffer).
export const CTL_GEN = 0; // bumped by the main thread to start an op
export const CTL_DONE = 1; // workers that finished the current op
export const CTL_OP = 2;
export const CTL_ERROR = 3;
export const CTL_SLEEPERS = 4; // workers blocked in Atomics.wait
export const CTL_SCRATCH_STRIDE = 5;
export const CTL_SHARD = 6; // which memory (and so which kernel instance) the op runs on
export const CTL_MAIN_WAITING = 7; // the main thread sleeps on CTL_DONE: a finishing worker must notify
export const CTL_ARGS = 8;
export const CTL_INTS = 32;

/** Thread `tid` of `n` gets [start, end) of [s, e), in multiples of `align` (the last share may be short). */
export function share(s: number, e: number, align: number, n: number, tid: number): [number, number] {
  const units = Math.ceil((e - s) / align);
  const per = Math.ceil(units / n) * align;
  const a = Math.min(e, s + tid * per);
  return [a, Math.min(e, a + per)];
}

const argBuf: number[] = new Array(16).fill(0);

/** Run thread `tid`'s share of the op whose arguments sit in the control block (on memory ks[shard]). */
export function runShare(ks: KernelExports[], ctl: Int32Array, ctlf: Float32Array, tid: number, n: number): void {
  const spec = OPS[ctl[CTL_OP]];
  const k = ks[ctl[CTL_SHARD]];
  const args = argBuf;
  args.length = spec.nargs;
  for (let i = 0; i < spec.nargs; i++) args[i] = ctl[CTL_ARGS + i];
  if (spec.floats) for (const i of spec.floats) args[i] = ctlf[CTL_ARGS + i];
  const [a, b] = share(args[spec.split[0]], args[spec.split[1]], spec.align, n, tid);
  if (a >= b) return;
  args[spec.split[0]] = a;
  args[spec.split[1]] = b;
  if (spec.scratch !== undefined) args[spec.scratch] += tid * ctl[CTL_SCRATCH_STRIDE];
  (k as unknown as Record<string, (...a: number[]) => void>)[spec.fn].apply(k, args);
}
