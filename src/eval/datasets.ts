/**
 * Evaluation datasets (issue 5): parse a local copy laid out like `../shared/data/<folder>` into
 * `EvalTask`s. HumanEval (`HumanEval.jsonl.gz`), MBPP (`mbpp.jsonl`, the test split 11-510 and the
 * 3-shot examples 2, 3, 4), HumanEval+ / MBPP+ (EvalPlus `*.jsonl.gz`), and the three HumanEval
 * infilling benchmarks. (First version: signatures only, filled in next.)
 */
import { UserError } from "../util/errors.js";

export type BenchmarkName =
  | "humaneval" | "mbpp" | "humaneval-plus" | "mbpp-plus"
  | "humaneval-infill-single" | "humaneval-infill-multi" | "humaneval-infill-random";

export const BENCHMARKS: readonly BenchmarkName[] = [
  "humaneval", "mbpp", "humaneval-plus", "mbpp-plus",
  "humaneval-infill-single", "humaneval-infill-multi", "humaneval-infill-random",
];

export interface EvalTask {
  benchmark: BenchmarkName;
  taskId: string;
  prompt: string;
  suffix?: string;
  entryPoint?: string;
  canonical: string;
  tests: string[];
  raw: Record<string, unknown>;
}

export function datasetFolder(b: BenchmarkName): string {
  switch (b) {
    case "humaneval": return "humaneval";
    case "mbpp": return "mbpp";
    case "humaneval-plus": return "humaneval-plus";
    case "mbpp-plus": return "mbpp-plus";
    default: return "humaneval-infilling";
  }
}

export function loadTasks(b: BenchmarkName, dataDir: string): EvalTask[] {
  throw new UserError(`loadTasks(${b}, ${dataDir}): not implemented yet`);
}

export function mbppShotTasks(dataDir: string): EvalTask[] {
  throw new UserError(`mbppShotTasks(${dataDir}): not implemented yet`);
}
