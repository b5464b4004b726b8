/**
 * `npm run bench`: the benchmark entry point. Runs each benchmark in turn and prints its report.
 * Add further benchmarks (engine, kernels) here as `await benchX()` calls.
 */
import { benchTokenizer } from "./tokenizer.js";

async function main(): Promise<void> {
  await benchTokenizer();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
