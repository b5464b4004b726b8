// Shared set-up for the kernel tests: one shared memory with the f16 table and a test heap, the
// wasm kernels and their reference twins on it, and random fills.
import { ArenaPlan, writeF16Table } from "../../src/kernels/arena.js";
import { RefKernels } from "../../src/kernels/ref.js";
import { compileKernels, availableVariants, instantiateKernels, probeKernels, type KernelVariant } from "../../src/kernels/wasm.js";
import { Rng } from "../../src/util/rng.js";

const MB = 1 << 20;

export function setup(variant: KernelVariant) {
  const module = compileKernels(variant);
  const probe = probeKernels(module);
  const plan = new ArenaPlan(probe.heap_base());
  const lut = plan.alloc("f16 table", 65536 * 4);
  const heap = plan.alloc("test heap", 48 * MB);
  const memory = plan.createMemory();
  writeF16Table(memory, lut);
  const k = instantiateKernels(module, memory);
  k.set_f16_lut(lut);
  let top = heap;
  const alloc = (bytes: number) => { const p = Math.ceil(top / 64) * 64; top = p + bytes; return p; };
  return { memory, k, ref: new RefKernels(memory), alloc, lut, reset: () => { top = heap; } };
}

export function fillF32(mem: WebAssembly.Memory, ptr: number, n: number, rng: Rng, scale = 1): Float32Array {
  const v = new Float32Array(mem.buffer, ptr, n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

export function maxRelErr(a: Float32Array, b: Float32Array, scale: number): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / scale);
  return m;
}

/** Every build this runtime runs: simd, relaxed and dotadd where it has relaxed SIMD, else simd. */
export const VARIANTS: KernelVariant[] = availableVariants();
