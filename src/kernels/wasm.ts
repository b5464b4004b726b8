/**
 * Loading the WebAssembly kernels (built from src/kernels/as by scripts/build-kernels.mjs).
 *
 * Three builds ship: baseline SIMD128, relaxed SIMD, and dotadd (relaxed, with the integer kernels
 * on the dot-add instruction; see KernelVariant). Node 20 compiles relaxed SIMD only behind
 * `--experimental-wasm-relaxed-simd`, which we set through `v8.setFlagsFromString` before the first
 * compile (NODE_OPTIONS refuses it) when the runtime does not validate relaxed SIMD without it.
 * Feature detection is `WebAssembly.validate` on the relaxed build.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../util/package-root.js";
import v8 from "node:v8";
import { UserError } from "../util/errors.js";

/**
 * simd: baseline SIMD128. relaxed: relaxed SIMD (16-product i16 dot, fused multiply-add). dotadd: the
 * relaxed build with its integer kernels on `i32x4.relaxed_dot_i8x16_i7x16_add_s` (as/vec.ts), which
 * is faster only where V8 makes it one instruction. Q4_0/Q8_0 results are bit-identical to the
 * relaxed build's; K-quant sums are grouped into other lanes, so they round differently.
 */
export type KernelVariant = "simd" | "relaxed" | "dotadd";
export const KERNEL_VARIANTS: readonly KernelVariant[] = ["simd", "relaxed", "dotadd"];

/** The kernel module's exports. Pointers are byte offsets into the shared memory. */
export interface KernelExports {
  set_f16_lut(p: number): void;
  relaxed_dot_factor(): number;
  /** The dot-add build: 1 when its dot-add takes unsigned bytes past 127 exactly (as/x4.ts), else 0. */
  dot_add_u8_exact(): number;
  matmul(kind: number, w: number, rowBytes: number, x: number, xStride: number, y: number, yStride: number,
    cols: number, nTok: number, r0: number, r1: number): void;
  q8Stride(cols: number): number;
  quantize_q8_0(x: number, xStride: number, out: number, cols: number, t0: number, t1: number): void;
  /** f32 -> Q8_K activations (llama.cpp's quantize_row_q8_K_ref), layout `activationStride("q8_K", cols)`. */
  quantize_q8_K(x: number, xStride: number, out: number, cols: number, t0: number, t1: number): void;
  rmsnorm(x: number, w: number, y: number, n: number, eps: number, t0: number, t1: number): void;
  rope(x: number, xStride: number, nHeads: number, headDim: number, cs: number, t0: number, t1: number): void;
  silu_mul(g: number, u: number, out: number, i0: number, i1: number): void;
  add(y: number, x: number, n: number): void;
  /** kvt: 0 f32, 1 f16, 2 q8_0. */
  store_kv(src: number, dst: number, n: number, kvt: number): void;
  kv_bytes(kvt: number, n: number): number;
  /**
   * `info`: per token i32 (K cache ptr, V cache ptr, positions seen); `scratch`: per thread f32
   * [ctx * (2 * headDim + 4)]; items j in [j0, j1) of nTok * nHeads. See as/attention.ts.
   */
  attention(q: number, qStride: number, info: number, out: number, scratch: number,
    headDim: number, nHeads: number, nKV: number, kvt: number, nTok: number, ctx: number, j0: number, j1: number): void;
  f2h(x: number): number;
  /** GGUF rows -> x4 groups in place (see repack.ts); 0, or 1 + row * blocksPerRow + block of an inf/NaN scale. */
  repack_x4(kind: number, p: number, rows: number, cols: number, tmp: number): number;
  heap_base(): number;
}

/** The training kernels (as/train.ts; used by src/train). Same conventions as KernelExports. */
export interface TrainKernelExports {
  /** Pack B(p, j) = b[p*sbp + j*sbj] into column panels of 8 ([P][8] each) for j in [j0, j1). */
  pack_b(b: number, sbp: number, sbj: number, dst: number, P: number, J: number, j0: number, j1: number): void;
  /** C (+)= A B for rows [i0, i1); A(i, p) = a[i*sai + p*sap]; B packed by pack_b; ct: C stored transposed. */
  gemm(a: number, sai: number, sap: number, bp: number, c: number, ldc: number, ct: number,
    J: number, P: number, acc: number, scratch: number, i0: number, i1: number): void;
  rmsnorm_fwd(x: number, w: number, y: number, rstd: number, n: number, eps: number, t0: number, t1: number): void;
  rmsnorm_bwd(dy: number, x: number, w: number, rstd: number, dx: number, n: number, t0: number, t1: number): void;
  rmsnorm_dw(dy: number, x: number, rstd: number, dw: number, n: number, T: number, c0: number, c1: number): void;
  swiglu_fwd(gu: number, h: number, F: number, t0: number, t1: number): void;
  swiglu_bwd(gu: number, dh: number, dgu: number, F: number, t0: number, t1: number): void;
  attn_fwd(qkv: number, out: number, lse: number, T: number, nH: number, nKV: number, hd: number, scratch: number, j0: number, j1: number): void;
  attn_bwd(qkv: number, out: number, dout: number, lse: number, dqkv: number, T: number, nH: number, nKV: number, hd: number,
    scratch: number, j0: number, j1: number): void;
  xent(logits: number, V: number, targets: number, weights: number, loss: number, t0: number, t1: number): void;
  adamw(p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, wd: number,
    gscale: number, bc1: number, bc2: number, i0: number, i1: number): void;
  sumsq(x: number, n: number, bs: number, out: number, b0: number, b1: number): void;
}

/** Any kernel the pool can run (inference or training). */
export type KernelName = keyof KernelExports | keyof TrainKernelExports;

let flagSet = false;
/**
 * Enable relaxed SIMD, and compile every wasm function with TurboFan: V8 11.3's baseline compiler
 * (Liftoff) gets `i32x4.relaxed_dot_i8x16_i7x16_add_s` wrong (it drops the accumulator and doubles
 * the product), and TurboFan code is what we want for kernels anyway. V8 flags are process-wide.
 */
function allowRelaxedSimd(): void {
  if (flagSet) return;
  flagSet = true;
  v8.setFlagsFromString("--no-liftoff");
  // Node 20 needs the flag; Node >= 22 ships relaxed SIMD, no longer knows the flag and says so on stderr
  if (!WebAssembly.validate(kernelBytes("relaxed"))) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
}

const cache = new Map<KernelVariant, Uint8Array>();
export function kernelBytes(variant: KernelVariant): Uint8Array {
  let b = cache.get(variant);
  if (!b) {
    const path = join(packageRoot(), "dist", "kernels", `kernels-${variant}.wasm`);
    try {
      b = new Uint8Array(readFileSync(path));
    } catch {
      throw new Error(`kernel binary ${path} is missing: run \`npm run build\``);
    }
    cache.set(variant, b);
  }
  return b;
}

let relaxedOk: boolean | undefined;
/** Whether this runtime runs the relaxed builds (validation, and relaxed_dot_factor in as/matmul.ts). */
export function relaxedAvailable(): boolean {
  if (relaxedOk === undefined) {
    allowRelaxedSimd();
    relaxedOk = WebAssembly.validate(kernelBytes("relaxed"))
      && probeKernels(compileKernels("relaxed")).relaxed_dot_factor() === 1;
  }
  return relaxedOk;
}

let u8Exact: boolean | undefined;
/**
 * The dot-add build's Q8_0 prefill feeds its dot-add bytes up to 255 (as/x4.ts): exact with
 * vpdpbusd, saturated by V8 11.3's pmaddubsw expansion. Where it is not exact the build is not used,
 * and where it is, the build is chosen (detectVariant).
 */
function dotAddExact(): boolean {
  if (u8Exact === undefined) u8Exact = relaxedAvailable() && probeKernels(compileKernels("dotadd")).dot_add_u8_exact() === 1;
  return u8Exact;
}

/** The variants this runtime can run (tests and the kernel benchmark cover them all). */
export function availableVariants(): KernelVariant[] {
  if (!relaxedAvailable()) return ["simd"];
  return dotAddExact() ? ["simd", "relaxed", "dotadd"] : ["simd", "relaxed"];
}

let detected: KernelVariant | undefined;
/**
 * The variant to run: `CODELLAMA_KERNELS` when set (simd, relaxed or dotadd), else the best this
 * runtime has: baseline SIMD128 without relaxed SIMD; dotadd where the dot-add instruction takes
 * unsigned bytes exactly, which is where V8 emits one AVX-VNNI vpdpbusd for it (Node 24 on this
 * CPU: 6.1 G per second per core) rather than five instructions that saturate (Node 20: 2.1 G, and
 * the dot-add build is ~20% slower there); else relaxed. The test is on results, not on timing, so
 * a machine and runtime always pick the same build and runs reproduce bit for bit.
 */
export function detectVariant(): KernelVariant {
  if (detected) return detected;
  const want = process.env.CODELLAMA_KERNELS;
  if (want) {
    if (!(KERNEL_VARIANTS as readonly string[]).includes(want)) {
      throw new UserError(`CODELLAMA_KERNELS=${want}: unknown kernel build (supported: ${KERNEL_VARIANTS.join(", ")})`);
    }
    if (want !== "simd" && !relaxedAvailable()) throw new UserError(`CODELLAMA_KERNELS=${want}: this runtime has no relaxed SIMD (supported here: simd)`);
    if (want === "dotadd" && !dotAddExact()) throw new UserError(`CODELLAMA_KERNELS=dotadd: this runtime's dot-add instruction is not exact on unsigned bytes (supported here: simd, relaxed)`);
    return (detected = want as KernelVariant);
  }
  detected = !relaxedAvailable() ? "simd" : dotAddExact() ? "dotadd" : "relaxed";
  return detected;
}

export function compileKernels(variant: KernelVariant = detectVariant()): WebAssembly.Module {
  if (variant !== "simd") allowRelaxedSimd();
  return new WebAssembly.Module(kernelBytes(variant));
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}

/** An instance on a fresh one-page memory: for what is asked before the real memory exists (heap_base, the probes). */
export function probeKernels(module: WebAssembly.Module): KernelExports {
  return instantiateKernels(module, new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true }));
}

export const PAGE = 65536;
/** A wasm32 memory stops at 4 GiB. */
export const MAX_PAGES = 65536;
