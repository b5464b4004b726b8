/**
 * A compute thread: instantiates the kernels on the shared memory, then loops: spin on the
 * generation counter for a short while, fall back to Atomics.wait, run its share, count itself done.
 */
import { parentPort, workerData } from "node:worker_threads";
import { CTL_DONE, CTL_ERROR, CTL_GEN, CTL_MAIN_WAITING, CTL_OP, CTL_SLEEPERS, OP_EXIT, runShare } from "./ops.js";
import { compileKernels, instantiateKernels, type KernelVariant } from "./wasm.js";

interface WorkerInit {
  variant: KernelVariant;
  memories: WebAssembly.Memory[];
  control: SharedArrayBuffer;
  lutPtrs: number[];
  tid: number;
  nThreads: number;
  spinMs: number;
}

const init = workerData as WorkerInit;
const module = compileKernels(init.variant);
const ks = init.memories.map((m, i) => {
  const k = instantiateKernels(module, m);
  k.set_f16_lut(init.lutPtrs[i]);
  return k;
});
const ctl = new Int32Array(init.control);
const ctlf = new Float32Array(init.control);
let gen = Atomics.load(ctl, CTL_GEN);
parentPort!.postMessage("ready");

for (;;) {
  // Spin (a dispatch then costs about a microsecond), then sleep so an idle engine costs nothing.
  let spins = 0;
  let t0 = 0;
  while (Atomics.load(ctl, CTL_GEN) === gen) {
    if ((++spins & 1023) === 0) {
      const now = performance.now();
      if (t0 === 0) t0 = now;
      else if (now - t0 > init.spinMs) {
        Atomics.add(ctl, CTL_SLEEPERS, 1);
        Atomics.wait(ctl, CTL_GEN, gen);
        Atomics.sub(ctl, CTL_SLEEPERS, 1);
        t0 = 0;
      }
    }
  }
  gen = Atomics.load(ctl, CTL_GEN);
  if (ctl[CTL_OP] === OP_EXIT) break;
  try {
    runShare(ks, ctl, ctlf, init.tid, init.nThreads);
  } catch (e) {
    Atomics.store(ctl, CTL_ERROR, 1);
    parentPort!.postMessage({ error: String((e as Error)?.stack ?? e) });
  }
  Atomics.add(ctl, CTL_DONE, 1);
  if (Atomics.load(ctl, CTL_MAIN_WAITING) !== 0) Atomics.notify(ctl, CTL_DONE);
}
