/**
 * Where a training run computes: one shared WebAssembly memory (planned up front with ArenaPlan, so
 * it never grows under running threads) and either the worker pool of src/kernels/pool.ts (the main
 * thread computes a share, N-1 workers the rest) running the SIMD kernels, or the TypeScript twins
 * on one thread (tests).
 */
import { ArenaPlan, writeF16Table } from "../kernels/arena.js";
import { Pool } from "../kernels/pool.js";
import { compileKernels, detectVariant, probeKernels, type KernelExports, type KernelName, type KernelVariant, type TrainKernelExports } from "../kernels/wasm.js";
import { TrainRefKernels } from "./kernels-ref.js";

export type TrainBackend = "wasm" | "ref";
export type AllKernels = KernelExports & TrainKernelExports;

export class TrainExec {
  private constructor(
    readonly memory: WebAssembly.Memory,
    /** The main thread's kernels (work too small to split). */
    readonly k: AllKernels,
    private readonly pool: Pool | undefined,
    readonly nThreads: number,
    readonly variant: KernelVariant | "ref",
  ) {}

  /** Where the kernel module's static data ends (allocate above it). */
  static heapBase(variant: KernelVariant = detectVariant()): number {
    return probeKernels(compileKernels(variant)).heap_base();
  }

  /**
   * Create the memory of `plan` (which must hold a 256 KiB region named "f16 table", see
   * `planF16Table`) and start the threads.
   */
  static async create(plan: ArenaPlan, opts: { threads: number; backend?: TrainBackend; variant?: KernelVariant; scratchStride: number }): Promise<TrainExec> {
    const memory = plan.createMemory();
    const lut = plan.regions.find((r) => r.name === "f16 table")!.ptr;
    writeF16Table(memory, lut);
    if (opts.backend === "ref") return new TrainExec(memory, new TrainRefKernels(memory) as unknown as AllKernels, undefined, 1, "ref");
    const variant = opts.variant ?? detectVariant();
    const pool = await Pool.create({ nThreads: Math.max(1, opts.threads), variant, memories: [memory], lutPtrs: [lut] });
    pool.setScratchStride(opts.scratchStride);
    return new TrainExec(memory, pool.ks[0] as AllKernels, pool, pool.nThreads, variant);
  }

  /** Run a kernel over its split range on every thread (the main thread included) and wait. */
  run(fn: KernelName, ...args: number[]): void {
    if (this.pool) this.pool.run(0, fn, ...args);
    else (this.k[fn] as (...a: number[]) => void).apply(this.k, args);
  }

  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }
  i32(ptr: number, n: number): Int32Array { return new Int32Array(this.memory.buffer, ptr, n); }
  f64(ptr: number, n: number): Float64Array { return new Float64Array(this.memory.buffer, ptr, n); }

  async close(): Promise<void> { await this.pool?.close(); }
}

/** Reserve the f16 table every kernel instance is given (the inference kernels' scalar paths use it). */
export function planF16Table(plan: ArenaPlan): number {
  return plan.alloc("f16 table", 65536 * 4);
}
