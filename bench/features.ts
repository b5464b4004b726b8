/**
 * Benchmarks of the Code Llama features (issue 4), on a model file given as BENCH_FEATURES_MODEL
 * or the small random model `npm run bench` generates (.cache/bench/small-q4_0.gguf):
 *   1. prompt cache: an editor infill on a ~2,000-token file, then the same request after an edit
 *      to the last line; the warm request reuses the session's KV cache (target: <= 10% of cold);
 *   2. many samples: n = 1, 8, 32 samples of one prompt decoded as one batch; aggregate tok/s.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine/engine.js";
import { fimTokens, infillPromptTokens } from "../src/prompt/infill.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** About `target` tokens of real Python: this repo's own numpy reference repeated. */
function pythonText(engine: Engine, target: number): string {
  const src = readFileSync(join(ROOT, "test/reference/llama_f64.py"), "utf8");
  let text = "";
  while (engine.tokenize(text, { bos: false }).length < target) text += src;
  const lines = text.split("\n");
  while (engine.tokenize(lines.join("\n"), { bos: false }).length > target) lines.pop();
  return lines.join("\n");
}

export async function benchFeatures(log: (s: string) => void = console.log): Promise<void> {
  const path = process.env.BENCH_FEATURES_MODEL ?? join(ROOT, ".cache/bench/small-q4_0.gguf");
  if (!existsSync(path)) { log(`features bench: ${path} is missing (run the engine bench first, or set BENCH_FEATURES_MODEL)`); return; }
  const engine = await Engine.load(path, { ctx: 4096, nSeq: 32, batch: 64 });
  try {
    log(`features bench: ${path}, ${engine.model.nThreads} threads, ${engine.model.variant} kernels`);
    // 1. prompt cache
    const fim = fimTokens(engine.tokenizer);
    const file = pythonText(engine, 2000);
    const cut = file.lastIndexOf("\n") + 1; // the cursor sits on the last line
    const opts = { temperature: 0, maxTokens: 16, stopTokens: [fim.eot], infill: true };
    const s = engine.session();
    const cold = infillPromptTokens(engine.tokenizer, file.slice(0, cut) + "    x = ", "\n", {});
    const t0 = performance.now();
    await s.generate(cold, opts).result;
    const tCold = performance.now() - t0;
    const warm = infillPromptTokens(engine.tokenizer, file.slice(0, cut) + "    xs = [", "\n", {}); // an edit on the last line
    const reused = s.reusable(warm);
    const t1 = performance.now();
    await s.generate(warm, opts).result;
    const tWarm = performance.now() - t1;
    s.close();
    log(`prompt cache: ${cold.length}-token infill prompt: cold ${tCold.toFixed(0)} ms; after an edit to the last line ${tWarm.toFixed(0)} ms ` +
      `(${reused} of ${warm.length} tokens reused) = ${((100 * tWarm) / tCold).toFixed(1)}% of cold`);
    // 2. many samples
    for (const n of [1, 8, 32]) {
      const r = await engine.completeMany("def quicksort(xs):", n, { temperature: 0.8, topP: 0.95, seed: 1, maxTokens: 64, stopAtEos: false });
      log(`samples: n = ${String(n).padStart(2)}: ${r.tokensPerSecond.toFixed(1)} tok/s aggregate (${r.samples.reduce((a, x) => a + x.tokens.length, 0)} tokens)`);
    }
  } finally {
    await engine.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchFeatures();
