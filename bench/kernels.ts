/**
 * Kernel micro-benchmark: the quantised matmul kernels on a Code Llama 7B FFN-shaped matrix
 * (11008 rows x 4096 columns: ffn_gate / ffn_up), for Q8_0, Q4_0, Q4_K, Q5_K and Q6_K weights
 * (F32 would be 180 MB and is left out), in the layout the engine runs them in (Q8_0 and Q4_0
 * repacked into groups of four rows, repack.ts). For each type, build (simd / relaxed / dotadd, as
 * this runtime has them) and thread count (1, 2) it times
 *   - matvec: one token, the decode step, going round copies of the matrix that add up to 1.5 GB so
 *     that the weights stream from DRAM (one 7B matrix, 25-48 MB, would sit in a large L3);
 *   - matmul: 64 tokens, a prefill batch (compute-bound), on one copy.
 * Activations are quantised beforehand (not timed), as the engine does once per input.
 * GFLOP/s = 2 * rows * cols * tokens / t. GB/s = weight bytes / t (the matmul driver walks the
 * weights once per tile of 8 tokens, so for 64 tokens the weights pass 8 times, mostly from L3/DRAM).
 * Each figure is the best of the timed runs, with the median in parentheses.
 */
import { GGMLType, rowBytes } from "../src/format/ggml-types.js";
import { quantizeRow } from "../src/format/quantize.js";
import { Rng } from "../src/util/rng.js";
import { ArenaPlan, writeF16Table } from "../src/kernels/arena.js";
import { activationFormat, activationStride } from "../src/kernels/formats.js";
import { kernelKind } from "../src/kernels/repack.js";
import { Pool } from "../src/kernels/pool.js";
import { availableVariants, compileKernels, instantiateKernels, probeKernels, type KernelVariant } from "../src/kernels/wasm.js";

export interface BenchKernelsOptions {
  /** Weight types to time (default: Q8_0, Q4_0, Q4_K, Q5_K, Q6_K). */
  types?: GGMLType[];
  /** Minimum time spent per measurement, ms (default 400). */
  minMs?: number;
  threads?: number[];
  log?: (line: string) => void;
}

const ROWS = 11008, COLS = 4096, BATCH = 64;
/** Bytes of weight copies the matvec goes round (well above any L3 cache). */
const STREAM_BYTES = 1.5e9;
/** Distinct random rows; the matrix repeats them (every row still has its own memory). */
const DISTINCT_ROWS = 64;

interface Timing { best: number; median: number }

function time(fn: () => void, minMs: number, minRuns: number): Timing {
  fn(); // warm-up (compiles, faults the pages in)
  const ts: number[] = [];
  const start = performance.now();
  while (ts.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
    if (ts.length >= 2000) break;
  }
  ts.sort((a, b) => a - b);
  return { best: ts[0] / 1e3, median: ts[ts.length >> 1] / 1e3 };
}

const fmt = (v: number, w: number, d = 1) => v.toFixed(d).padStart(w);

export async function benchKernels(opts: BenchKernelsOptions = {}): Promise<void> {
  const types = opts.types ?? [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K];
  const minMs = opts.minMs ?? 400;
  const threads = opts.threads ?? [1, 2];
  const log = opts.log ?? ((l: string) => console.log(l));
  const variants: KernelVariant[] = availableVariants();

  // One shared memory for every build (above the largest of their static data).
  const modules = new Map(variants.map((v) => [v, compileKernels(v)]));
  let base = 0;
  for (const m of modules.values()) {
    base = Math.max(base, probeKernels(m).heap_base());
  }
  const plan = new ArenaPlan(base);
  const lut = plan.alloc("f16 table", 65536 * 4);
  const wBytesMax = Math.max(...types.map((t) => rowBytes(t, COLS))) * ROWS;
  const copiesOf = (bytes: number) => Math.ceil(STREAM_BYTES / bytes);
  const w = plan.alloc("weights", Math.max(...types.map((t) => rowBytes(t, COLS) * ROWS * copiesOf(rowBytes(t, COLS) * ROWS))));
  const tmp = plan.alloc("repack scratch", 4 * Math.ceil(wBytesMax / ROWS));
  const xf = plan.alloc("x f32", BATCH * COLS * 4);
  const xq = plan.alloc("x quantised", BATCH * Math.max(activationStride("q8_0", COLS), activationStride("q8_K", COLS)));
  const y = plan.alloc("y", BATCH * ROWS * 4);
  const memory = plan.createMemory();
  writeF16Table(memory, lut);
  const rng = new Rng(2024);
  const xv = new Float32Array(memory.buffer, xf, BATCH * COLS);
  for (let i = 0; i < xv.length; i++) xv[i] = rng.normal();

  log(`kernels: ${ROWS} x ${COLS} matrix, matvec (1 token) and matmul (${BATCH} tokens); best (median) of runs >= ${minMs} ms`);
  log(`type   build   thr | matvec GFLOP/s      GB/s          | matmul x${BATCH} GFLOP/s   GB/s`);
  for (const type of types) {
    const rb = rowBytes(type, COLS);
    const bytes = rb * ROWS;
    // Weights: DISTINCT_ROWS quantised random rows, tiled.
    const wb = new Uint8Array(memory.buffer, w, bytes);
    const row = new Float32Array(COLS);
    for (let r = 0; r < DISTINCT_ROWS; r++) {
      for (let i = 0; i < COLS; i++) row[i] = rng.normal() * 0.02;
      wb.set(quantizeRow(type, row), r * rb);
    }
    for (let r = DISTINCT_ROWS; r < ROWS; r += DISTINCT_ROWS) wb.copyWithin(r * rb, 0, Math.min(DISTINCT_ROWS, ROWS - r) * rb);
    // the engine's layout (every build reads the same bytes), then copies of the matrix for the matvec
    const kind = kernelKind(type, ROWS);
    if (kind !== type) instantiateKernels(modules.get(variants[0])!, memory).repack_x4(kind, w, ROWS, COLS, tmp);
    const copies = copiesOf(bytes);
    const all = new Uint8Array(memory.buffer, w, bytes * copies);
    for (let c = 1; c < copies; c++) all.copyWithin(c * bytes, 0, bytes);
    const name = kind !== type ? `${GGMLType[type]}x4` : GGMLType[type];
    const af = activationFormat(type)!;
    const xStride = activationStride(af, COLS);
    for (const variant of variants) {
      for (const n of threads) {
        const pool = await Pool.create({ nThreads: n, variant, memories: [memory], lutPtrs: [lut] });
        try {
          pool.run(0, af === "q8_K" ? "quantize_q8_K" : "quantize_q8_0", xf, COLS, xq, COLS, 0, BATCH);
          let c = 0;
          const mv = time(() => { pool.run(0, "matmul", kind, w + (c = (c + 1) % copies) * bytes, rb, xq, xStride, y, ROWS, COLS, 1, 0, ROWS); }, minMs, 10);
          const mm = time(() => pool.run(0, "matmul", kind, w, rb, xq, xStride, y, ROWS, COLS, BATCH, 0, ROWS), minMs, 3);
          const flop = 2 * ROWS * COLS;
          log(`${name.padEnd(6)} ${variant.padEnd(7)} ${String(n).padStart(3)} |`
            + ` ${fmt(flop / mv.best / 1e9, 6)} (${fmt(flop / mv.median / 1e9, 5)})  ${fmt(bytes / mv.best / 1e9, 5)} (${fmt(bytes / mv.median / 1e9, 5)})`
            + ` | ${fmt(flop * BATCH / mm.best / 1e9, 6)} (${fmt(flop * BATCH / mm.median / 1e9, 5)})  ${fmt(bytes / mm.best / 1e9, 5, 2)}`);
        } finally {
          await pool.close();
        }
      }
    }
  }
}
