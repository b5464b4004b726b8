/**
 * `npm run bench`: the benchmark entry point. Runs each benchmark in turn and prints its report.
 * Tokenizer vs llama-tokenizer-js; kernel micro-benchmarks; the engine vs llama.cpp on random 7B
 * and small models (BENCH_MODELS selects them, see engine.ts); the Code Llama features.
 */
import { benchEngine } from "./engine.js";
import { benchFeatures } from "./features.js";
import { benchKernels } from "./kernels.js";
import { benchTokenizer } from "./tokenizer.js";
import { benchSandbox } from "./sandbox.js";
import { benchData } from "./data.js";
import { benchTrain } from "./train.js";

async function main(): Promise<void> {
  await benchTokenizer();
  await benchKernels();
  await benchEngine();
  await benchFeatures();
  await benchSandbox();
  await benchData();
  await benchTrain();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
