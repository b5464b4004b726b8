/**
 * How the model runs its kernels: on the WebAssembly pool (threads, SIMD), or on the plain
 * TypeScript reference twins (one thread; the oracle that tests run whole models on).
 */
import { Pool } from "../kernels/pool.js";
import { RefKernels } from "../kernels/ref.js";
import type { KernelExports, KernelVariant } from "../kernels/wasm.js";

export interface Exec {
  readonly nThreads: number;
  /** Per memory: the main thread's kernel instance, for work too small to split. */
  readonly ks: KernelExports[];
  /** Run a splittable op on memory `shard` across all threads. */
  run(shard: number, fn: keyof KernelExports, ...args: number[]): void;
  setScratchStride(stride: number): void;
  close(): Promise<void>;
}

export type Backend = "wasm" | "ref";

export class RefExec implements Exec {
  readonly nThreads = 1;
  readonly ks: KernelExports[];
  constructor(memories: WebAssembly.Memory[]) { this.ks = memories.map((m) => new RefKernels(m)); }
  run(shard: number, fn: keyof KernelExports, ...args: number[]): void {
    (this.ks[shard][fn] as (...a: number[]) => void)(...args);
  }
  setScratchStride(_stride: number): void { /* one thread */ }
  async close(): Promise<void> { /* nothing to stop */ }
}

export async function createExec(backend: Backend, memories: WebAssembly.Memory[], lutPtrs: number[], nThreads: number, variant: KernelVariant): Promise<Exec> {
  if (backend === "ref") return new RefExec(memories);
  return Pool.create({ nThreads, variant, memories, lutPtrs });
}
