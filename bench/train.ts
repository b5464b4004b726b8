/**
 * Training benchmark: tokens/s of full training steps (forward, backward, gradient clipping, AdamW)
 * against PyTorch on the CPU, same model, same batch, same thread count, in the same run:
 *   dim 256, 4 layers, 4 heads (no GQA), FFN 688, vocab 32016, 8 sequences of 256 tokens, AdamW.
 * PyTorch is Debian's /usr/bin/python3 with torch 1.13 (test/reference/llama_train_torch.py bench;
 * install libopenblas0-pthread, or torch falls back to the reference BLAS and is ~12x slower).
 * Ours and PyTorch run alternately (ours, PyTorch, ours, PyTorch) so a busy machine hurts both
 * alike; each figure is the best step of its runs (median in parentheses). Also printed: the
 * GEMM kernel's GFLOP/s on the three products of the output layer (1 and 2 threads), and where a
 * step's time goes. BENCH_TRAIN_THREADS (default "2") picks the thread counts, BENCH_TRAIN_STEPS
 * (default 4) the timed steps per run.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";
import { TrainModel } from "../src/train/model.js";
import { adamwStep } from "../src/train/optimizer.js";
import { initParams, type LlamaShape } from "../src/train/params.js";
import { Rng } from "../src/util/rng.js";

const SHAPE: LlamaShape = { dim: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688, vocab: 32016, normEps: 1e-5, ropeTheta: 10000 };
const B = 8, T = 256;
const OPT = { lr: 3e-4, minLrRatio: 0.1, warmup: 0, steps: 1000, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Our training steps: tok/s (best, median) and the time per kernel of the last step. */
async function ours(threads: number, steps: number): Promise<{ best: number; median: number; split: Record<string, number>; gemmGflops: number }> {
  const m = await TrainModel.create(SHAPE, { batch: B, seqLen: T, threads });
  try {
    initParams(m.layout, m.params(), 1);
    const N = B * T, rng = new Rng(5);
    const tok = new Int32Array(N), tgt = new Int32Array(N), w = new Float32Array(N).fill(1 / N);
    const times: Record<string, number> = {};
    let gemmFlops = 0;
    const run = m.exec.run.bind(m.exec);
    m.exec.run = (fn, ...a) => {
      const t0 = performance.now();
      run(fn, ...a);
      times[fn] = (times[fn] ?? 0) + performance.now() - t0;
      // gemm(a, sai, sap, bp, c, ldc, ct, J, P, acc, scratch, i0, i1): 2 * rows * J * P
      if (fn === "gemm") gemmFlops += 2 * (a[12] - a[11]) * a[7] * a[8];
    };
    const stepTimes: number[] = [];
    for (let s = 0; s <= steps; s++) {
      for (let i = 0; i < N; i++) { tok[i] = rng.int(SHAPE.vocab); tgt[i] = rng.int(SHAPE.vocab); }
      for (const k in times) times[k] = 0;
      gemmFlops = 0;
      const t0 = performance.now();
      m.zeroGrads();
      m.forward(tok, tgt, w);
      m.backward();
      adamwStep(m, s, OPT);
      const dt = performance.now() - t0;
      if (s > 0) stepTimes.push(dt); // the first step warms up (compiles, faults pages in)
      times.total = dt;
    }
    const best = Math.min(...stepTimes);
    return { best: (N / best) * 1000, median: (N / median(stepTimes)) * 1000, split: { ...times }, gemmGflops: gemmFlops / times.gemm / 1e6 };
  } finally {
    await m.close();
  }
}

/** PyTorch's training steps (a child process). */
function theirs(threads: number, steps: number): { best: number; median: number; torch: string } | { error: string } {
  const script = join(packageRoot(), "test/reference/llama_train_torch.py");
  try {
    const out = execFileSync("/usr/bin/python3", [script, "bench", "--dim", "256", "--layers", "4", "--heads", "4", "--kv-heads", "4", "--ffn", "688",
      "--vocab", "32016", "--seq", String(T), "--batch", String(B), "--steps", String(steps), "--threads", String(threads)], { encoding: "utf8", timeout: 1_800_000 });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { tok_per_s: number; step_ms: number; median_step_ms: number; torch: string };
    return { best: r.tok_per_s, median: (B * T * 1000) / r.median_step_ms, torch: r.torch };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}

/** GEMM GFLOP/s on the output layer's three products (one chunk of 256 rows), 1 and 2 threads. */
async function gemmBench(log: (s: string) => void): Promise<void> {
  const V = SHAPE.vocab, D = SHAPE.dim, C = 256;
  for (const threads of [1, 2]) {
    const m = await TrainModel.create({ ...SHAPE, layers: 1 }, { batch: 1, seqLen: C, threads });
    try {
      const e = m.exec, p = m.ptr;
      const f = e.f32(p.params, m.layout.total);
      const rng = new Rng(3);
      for (let i = 0; i < f.length; i += 97) f[i] = rng.normal();
      // use the gradient buffer as scratch operands: X [C][D] at grads, L [C][V] after it
      const X = p.grads, L = p.grads + C * D * 4, W = p.params + m.layout.output.offset * 4, pack = p.m, S = p.v;
      const cases: [string, () => void][] = [
        ["logits = X W^T   ", () => { e.run("pack_b", X, 1, D, pack, D, C, 0, C); e.run("gemm", W, D, 1, pack, L, V, 1, C, D, 0, S, 0, V); }],
        ["dX = dL W        ", () => e.run("gemm", L, V, 1, pack, X, D, 0, D, V, 0, S, 0, C)],
        ["dW += dL^T X     ", () => { e.run("pack_b", X, D, 1, pack, C, D, 0, D); e.run("gemm", L, 1, V, pack, W, D, 0, D, C, 1, S, 0, V); }],
      ];
      for (const [name, fn] of cases) {
        if (name.startsWith("dX")) e.run("pack_b", W, D, 1, pack, V, D, 0, D);
        fn();
        const ts: number[] = [];
        for (let r = 0; r < 5; r++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
        log(`  ${name} ${threads} thread${threads > 1 ? "s" : " "}: ${((2 * C * V * D) / Math.min(...ts) / 1e6).toFixed(1)} GFLOP/s (median ${((2 * C * V * D) / median(ts) / 1e6).toFixed(1)})`);
      }
    } finally {
      await m.close();
    }
  }
}

export async function benchTrain(log: (line: string) => void = console.log): Promise<void> {
  log("\n== training (dim 256, 4 layers, 4 heads, ffn 688, vocab 32016, 8 x 256 tokens, AdamW) vs PyTorch CPU ==");
  const threadsList = (process.env.BENCH_TRAIN_THREADS ?? "2").split(",").map(Number);
  const steps = Number(process.env.BENCH_TRAIN_STEPS ?? 4);
  await gemmBench(log);
  for (const threads of threadsList) {
    const a = await ours(threads, steps);
    const t1 = theirs(threads, steps);
    const b = await ours(threads, steps);
    const t2 = theirs(threads, steps);
    const best = a.best >= b.best ? a : b;
    log(`  ours    ${threads} thread${threads > 1 ? "s" : " "}: ${best.best.toFixed(0)} tok/s (median ${best.median.toFixed(0)}), GEMM ${best.gemmGflops.toFixed(1)} GFLOP/s`);
    log(`    step split (ms): ${Object.entries(best.split).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    const ok = [t1, t2].filter((t): t is { best: number; median: number; torch: string } => !("error" in t));
    if (ok.length === 0) { log(`  PyTorch: not run (${"error" in t1 ? t1.error : ""})`); continue; }
    const tb = ok.reduce((x, y) => (x.best >= y.best ? x : y));
    log(`  PyTorch ${threads} thread${threads > 1 ? "s" : " "}: ${tb.best.toFixed(0)} tok/s (median ${tb.median.toFixed(0)}), torch ${tb.torch}`);
    log(`  ratio ours / PyTorch: ${(best.best / tb.best).toFixed(2)}x`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTrain();
