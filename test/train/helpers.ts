// Shared set-up for the training tests: a memory with both kernel builds' instances and the
// TypeScript twins on it, random fills, and the robust relative error used by every comparison.
import { ArenaPlan, writeF16Table } from "../../src/kernels/arena.js";
import { compileKernels, instantiateKernels, probeKernels, type KernelVariant } from "../../src/kernels/wasm.js";
import type { AllKernels } from "../../src/train/exec.js";
import { TrainRefKernels } from "../../src/train/kernels-ref.js";
import { Rng } from "../../src/util/rng.js";

export function kernelSetup(variant: KernelVariant, mb = 64) {
  const module = compileKernels(variant);
  const probe = probeKernels(module);
  const plan = new ArenaPlan(probe.heap_base());
  const lut = plan.alloc("f16 table", 65536 * 4);
  const heap = plan.alloc("heap", mb << 20);
  const memory = plan.createMemory();
  writeF16Table(memory, lut);
  const k = instantiateKernels(module, memory) as unknown as AllKernels;
  k.set_f16_lut(lut);
  let top = heap;
  const alloc = (bytes: number) => { const p = Math.ceil(top / 64) * 64; top = p + bytes; return p; };
  const f32 = (p: number, n: number) => new Float32Array(memory.buffer, p, n);
  return { memory, k, ref: new TrainRefKernels(memory) as unknown as AllKernels, alloc, f32, reset: () => { top = heap; } };
}

export function fill(v: Float32Array, rng: Rng, scale = 1): Float32Array {
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * scale;
  return v;
}

/**
 * Largest relative error between a and b, defined robustly as |a - b| / max(|a|, |b|, floor): near
 * zero the floor (a fraction of the typical magnitude) stops tiny values from dominating.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), floor);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Root mean square (for floors: relErr(a, b, 1e-3 * rms(b))). */
export function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / Math.max(1, a.length));
}
