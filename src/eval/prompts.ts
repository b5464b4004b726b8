/**
 * What the model is asked per benchmark task, where its answer is cut, and what counts as the
 * completion (the text that src/eval/programs.ts joins with the task's tests).
 *
 * - HumanEval and HumanEval+ (zero-shot, reference doc §9.1): the prompt is the task's `prompt`
 *   as it stands (signature + docstring); the model continues it. The paper does not list stop
 *   sequences; we use those of the HumanEval paper (Chen et al. 2021, §3.2), `\nclass`, `\ndef`,
 *   `\n#`, `\nif`, `\nprint`, plus EOS, and cut the completion before the first of them.
 * - MBPP and MBPP+ (3-shot): Austin et al.'s format as EleutherAI's lm-evaluation-harness builds
 *   it (eval-and-sandbox.md §2), each example
 *       You are an expert Python programmer, and here is your task: {text} Your code should pass
 *       these tests:\n\n{test 1}\n{test 2}\n{test 3}\n[BEGIN]\n
 *   the three shots (tasks 2, 3, 4, their code verbatim with its \r\n line ends) followed by
 *   `{code}\n[DONE]`, examples joined by a blank line ("\n\n"), the task last, ending after
 *   `[BEGIN]\n`. Generation stops at `[DONE]` (or EOS); the completion is the text before it.
 *   MBPP+ uses the same prompt and shots, as lm-evaluation-harness's `mbpp_plus` task does, with
 *   its description (from EvalPlus's docstring prompt) and its first three base asserts.
 * - Infilling (single-line, multi-line, random-span): prefix = the task's `prompt`, suffix = its
 *   `suffix`, in Meta's PSM or SPM prompt (src/prompt/infill.ts); generation stops at <EOT>
 *   only, and the completion is the whole middle (no cutting), as in Meta's text_infilling.
 */
import type { BenchmarkName, EvalTask } from "./datasets.js";

/** Stop sequences of the HumanEval paper (Chen et al. 2021). */
export const HUMANEVAL_STOPS: readonly string[] = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];
/** The end of an MBPP answer in Austin et al.'s format. */
export const MBPP_STOPS: readonly string[] = ["[DONE]"];

/** A request to a generator: a plain completion or a fill-in-the-middle. */
export type GenRequest =
  | { kind: "complete"; prompt: string; stop: readonly string[] }
  | { kind: "infill"; prefix: string; suffix: string; spm: boolean };

export type InfillMode = "psm" | "spm";

export function isInfill(b: BenchmarkName): boolean {
  return b.startsWith("humaneval-infill-");
}

export function isMbpp(b: BenchmarkName): boolean {
  return b === "mbpp" || b === "mbpp-plus";
}

/** One example of Austin et al.'s MBPP format, up to and including "[BEGIN]\n". */
export function mbppQuestion(text: string, tests: readonly string[]): string {
  return `You are an expert Python programmer, and here is your task: ${text} Your code should pass these tests:\n\n${tests.join("\n")}\n[BEGIN]\n`;
}

/**
 * The description of an MBPP or MBPP+ task. MBPP+ keeps it in EvalPlus's docstring prompt
 * (`"""\n{text}\nassert ...\n"""\n`): the lines inside the quotes that are not asserts.
 */
export function mbppText(task: EvalTask): string {
  if (task.benchmark !== "mbpp-plus") return task.prompt;
  const inner = task.prompt.trim().replace(/^("""|''')/, "").replace(/("""|''')$/, "");
  return inner.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("assert ")).join(" ");
}

/** The tests shown in the prompt: MBPP's three; MBPP+'s first three base asserts. */
export function mbppShownTests(task: EvalTask): string[] {
  return task.benchmark === "mbpp-plus" ? task.tests.slice(0, 3) : task.tests;
}

/** The 3-shot MBPP prompt for `task`, with `shots` (MBPP tasks 2, 3, 4) as worked examples. */
export function mbppPrompt(task: EvalTask, shots: readonly EvalTask[]): string {
  const examples = shots.map((s) => `${mbppQuestion(mbppText(s), mbppShownTests(s))}${s.canonical}\n[DONE]`);
  return [...examples, mbppQuestion(mbppText(task), mbppShownTests(task))].join("\n\n");
}

/** What to ask the model for `task`. `shots` are needed for MBPP; `mode` for infilling. */
export function taskRequest(task: EvalTask, opts: { shots?: readonly EvalTask[]; mode?: InfillMode } = {}): GenRequest {
  if (isInfill(task.benchmark)) return { kind: "infill", prefix: task.prompt, suffix: task.suffix ?? "", spm: opts.mode === "spm" };
  if (isMbpp(task.benchmark)) {
    if (!opts.shots || opts.shots.length === 0) throw new Error("MBPP prompts need the few-shot tasks");
    return { kind: "complete", prompt: mbppPrompt(task, opts.shots), stop: MBPP_STOPS };
  }
  return { kind: "complete", prompt: task.prompt, stop: HUMANEVAL_STOPS };
}

/** The text before the first of `stops` (all of it when none occurs). */
export function cutAtStops(text: string, stops: readonly string[]): string {
  let cut = text.length;
  for (const s of stops) {
    if (s === "") continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}

/**
 * The completion to execute from a generated text: cut at the request's stop sequences (the
 * generator usually stopped there already; a server may have ignored some of them). Infills are
 * kept whole.
 */
export function completionFrom(req: GenRequest, generated: string): string {
  return req.kind === "complete" ? cutAtStops(generated, req.stop) : generated;
}
