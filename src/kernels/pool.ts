/**
 * The thread pool: the main thread plus N-1 workers share one WebAssembly memory. An op is
 * dispatched by writing its arguments into a shared control block and bumping a generation
 * counter; every thread (the main thread included) runs its share, and the main thread spins
 * until all workers have counted themselves done. A round trip costs about a microsecond when the
 * workers are spinning; idle workers fall asleep in Atomics.wait after `spinMs`.
 */
import { Worker } from "node:worker_threads";
import {
  CTL_ARGS, CTL_DONE, CTL_ERROR, CTL_GEN, CTL_INTS, CTL_MAIN_WAITING, CTL_OP, CTL_SCRATCH_STRIDE, CTL_SHARD, CTL_SLEEPERS,
  OP_EXIT, OP_INDEX, OPS, runShare,
} from "./ops.js";
import { compileKernels, instantiateKernels, type KernelExports, type KernelName, type KernelVariant } from "./wasm.js";

/** Iterations the main thread spins on the done counter before it sleeps (tens of microseconds). */
const SPIN_BEFORE_WAIT = 20_000;

export interface PoolOptions {
  nThreads: number;
  variant: KernelVariant;
  /** One or more shared memories (a model larger than 4 GiB is split by layers across several). */
  memories: WebAssembly.Memory[];
  /** Pointer of the f16 table in each memory (see arena.ts). */
  lutPtrs: number[];
  /** How long an idle worker spins before it sleeps (ms). */
  spinMs?: number;
}

export class Pool {
  /** The main thread's own kernel instance per memory, for work that is not worth splitting. */
  readonly ks: KernelExports[];
  readonly nThreads: number;
  private readonly ctl: Int32Array;
  private readonly ctlf: Float32Array;
  private readonly workers: Worker[] = [];
  private workerError: string | undefined;

  private constructor(opts: PoolOptions, control: SharedArrayBuffer) {
    this.nThreads = opts.nThreads;
    const module = compileKernels(opts.variant);
    this.ks = opts.memories.map((m, i) => {
      const k = instantiateKernels(module, m);
      k.set_f16_lut(opts.lutPtrs[i]);
      return k;
    });
    this.ctl = new Int32Array(control);
    this.ctlf = new Float32Array(control);
  }

  static async create(opts: PoolOptions): Promise<Pool> {
    const control = new SharedArrayBuffer(CTL_INTS * 4);
    const pool = new Pool(opts, control);
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < opts.nThreads; tid++) {
      // Under tsx (development) this module is .ts and so is its worker.
      const ts = import.meta.url.endsWith(".ts");
      const w = new Worker(new URL(ts ? "./worker.ts" : "./worker.js", import.meta.url), {
        execArgv: ts ? ["--import", "tsx"] : undefined,
        workerData: { variant: opts.variant, memories: opts.memories, control, lutPtrs: opts.lutPtrs, tid, nThreads: opts.nThreads, spinMs: opts.spinMs ?? 0.25 },
      });
      pool.workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.once("error", reject);
        w.on("message", (m) => {
          if (m === "ready") resolve();
          else if (m && typeof m === "object" && "error" in m) pool.workerError = String(m.error);
        });
      }));
    }
    await Promise.all(ready);
    // Idle workers must not keep the process alive once the caller is done.
    for (const w of pool.workers) w.unref();
    return pool;
  }

  /** Run `fn` on memory `shard` over its split range, on every thread, and wait for all of them. */
  run(shard: number, fn: KernelName, ...args: number[]): void {
    const op = OP_INDEX.get(fn);
    if (op === undefined) throw new Error(`kernel ${String(fn)} cannot be split across threads`);
    const spec = OPS[op];
    const ctl = this.ctl;
    ctl[CTL_OP] = op;
    ctl[CTL_SHARD] = shard;
    for (let i = 0; i < spec.nargs; i++) ctl[CTL_ARGS + i] = args[i] | 0;
    if (spec.floats) for (const i of spec.floats) this.ctlf[CTL_ARGS + i] = args[i];
    const nw = this.workers.length;
    if (nw > 0) {
      Atomics.store(ctl, CTL_DONE, 0);
      Atomics.add(ctl, CTL_GEN, 1);
      if (Atomics.load(ctl, CTL_SLEEPERS) > 0) Atomics.notify(ctl, CTL_GEN);
    }
    runShare(this.ks, ctl, this.ctlf, 0, this.nThreads);
    if (nw > 0) {
      // Spin a little (a worker usually finishes within microseconds of us), then sleep on the done
      // counter: if the OS has taken a worker's core, spinning would only keep it from running.
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctl, CTL_DONE);
        if (done >= nw) break;
        if (Atomics.load(ctl, CTL_ERROR) !== 0) throw new Error(`a compute thread failed: ${this.workerError ?? "(no message yet)"}`);
        if (++spins > SPIN_BEFORE_WAIT) {
          Atomics.store(ctl, CTL_MAIN_WAITING, 1);
          Atomics.wait(ctl, CTL_DONE, done, 5); // returns at once if a worker finished since `done` was read
          Atomics.store(ctl, CTL_MAIN_WAITING, 0);
        }
      }
    }
  }

  /** Per-thread scratch: thread i uses `ptr + i * stride` for ops that declare a scratch argument. */
  setScratchStride(stride: number): void { this.ctl[CTL_SCRATCH_STRIDE] = stride; }

  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    for (const w of this.workers) w.ref();
    this.ctl[CTL_OP] = OP_EXIT;
    Atomics.add(this.ctl, CTL_GEN, 1);
    Atomics.notify(this.ctl, CTL_GEN);
    await Promise.all(this.workers.map((w) => new Promise((r) => { w.once("exit", r); })));
    this.workers.length = 0;
  }
}
