/**
 * Evaluation datasets (issue 5): parse a local copy laid out like `../shared/data/<folder>` into
 * `EvalTask`s, one per problem, in file order.
 *
 * | benchmark                | folder                | file                                        | tasks |
 * |--------------------------|-----------------------|---------------------------------------------|-------|
 * | humaneval                | humaneval             | HumanEval.jsonl.gz                          | 164   |
 * | mbpp                     | mbpp                  | mbpp.jsonl (test split: task_id 11..510)    | 500   |
 * | humaneval-plus           | humaneval-plus        | HumanEvalPlus.jsonl.gz (EvalPlus v0.1.10)   | 164   |
 * | mbpp-plus                | mbpp-plus             | MbppPlus.jsonl.gz (EvalPlus v0.2.0)         | 378   |
 * | humaneval-infill-single  | humaneval-infilling   | HumanEval-SingleLineInfilling.jsonl.gz      | 1033  |
 * | humaneval-infill-multi   | humaneval-infilling   | HumanEval-MultiLineInfilling.jsonl.gz       | 5815  |
 * | humaneval-infill-random  | humaneval-infilling   | HumanEval-RandomSpanInfilling.jsonl.gz      | 1640  |
 *
 * The EvalPlus files hold test inputs that JSON.parse cannot keep (`Infinity`, integers past
 * 2^53, `1.0` versus `1`), so their `base_input` / `plus_input` stay in `raw` as the exact JSON
 * text of the file (strings), for the checking program to parse in Python. Every other field is
 * parsed normally. Errors are UserErrors naming the file and line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
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
  /** As in the dataset: "HumanEval/0", "11" (MBPP), "Mbpp/2" (MBPP+), "SingleLineInfilling/HumanEval/0/L0". */
  taskId: string;
  /** humaneval*: the prompt; mbpp: the natural-language text; mbpp-plus: EvalPlus's docstring prompt; infill: the prefix. */
  prompt: string;
  /** Infill only: the code after the hole. */
  suffix?: string;
  entryPoint?: string;
  /** The reference completion that must pass (humaneval*: canonical_solution; mbpp: code; infill: the middle). */
  canonical: string;
  /** mbpp: test_list; mbpp-plus: the lines of `assertion`; others: []. Informational (prompts). */
  tests: string[];
  /** The dataset record. EvalPlus `base_input` / `plus_input` are kept as their JSON text (strings). */
  raw: Record<string, unknown>;
}

/** The dataset folder name this benchmark uses under a data root. */
export function datasetFolder(b: BenchmarkName): string {
  switch (b) {
    case "humaneval": return "humaneval";
    case "mbpp": return "mbpp";
    case "humaneval-plus": return "humaneval-plus";
    case "mbpp-plus": return "mbpp-plus";
    case "humaneval-infill-single": case "humaneval-infill-multi": case "humaneval-infill-random":
      return "humaneval-infilling";
  }
}

/** The file (inside `datasetFolder(b)`) a benchmark reads. */
export function datasetFile(b: BenchmarkName): string {
  switch (b) {
    case "humaneval": return "HumanEval.jsonl.gz";
    case "mbpp": return "mbpp.jsonl";
    case "humaneval-plus": return "HumanEvalPlus.jsonl.gz";
    case "mbpp-plus": return "MbppPlus.jsonl.gz";
    case "humaneval-infill-single": return "HumanEval-SingleLineInfilling.jsonl.gz";
    case "humaneval-infill-multi": return "HumanEval-MultiLineInfilling.jsonl.gz";
    case "humaneval-infill-random": return "HumanEval-RandomSpanInfilling.jsonl.gz";
  }
}

/** The MBPP test split (upstream README): task_ids 11..510. */
export const MBPP_TEST_RANGE: readonly [number, number] = [11, 510];
/** The 3-shot prompt examples (Austin et al., lm-evaluation-harness). */
export const MBPP_SHOT_IDS: readonly number[] = [2, 3, 4];

/** Keys kept as exact JSON text (EvalPlus test inputs). */
const RAW_JSON_KEYS = new Set(["base_input", "plus_input"]);

/**
 * All tasks of one benchmark from `dataDir` (the benchmark's folder, e.g. `.../data/humaneval`).
 * MBPP: the test split, tasks 11..510, in task order.
 */
export function loadTasks(b: BenchmarkName, dataDir: string): EvalTask[] {
  const file = join(dataDir, datasetFile(b));
  const records = readJsonl(file);
  switch (b) {
    case "humaneval":
      return records.map(({ rec, line }) => {
        str(rec, "test", file, line);
        return {
          benchmark: b, taskId: str(rec, "task_id", file, line), prompt: str(rec, "prompt", file, line),
          entryPoint: str(rec, "entry_point", file, line), canonical: str(rec, "canonical_solution", file, line),
          tests: [], raw: rec,
        };
      });
    case "mbpp": {
      const tasks = records.map(({ rec, line }) => mbppTask(rec, file, line))
        .filter((t) => Number(t.taskId) >= MBPP_TEST_RANGE[0] && Number(t.taskId) <= MBPP_TEST_RANGE[1]);
      const want = MBPP_TEST_RANGE[1] - MBPP_TEST_RANGE[0] + 1;
      if (tasks.length !== want) throw new UserError(`${file}: expected the ${want} MBPP test tasks (task_id ${MBPP_TEST_RANGE[0]}..${MBPP_TEST_RANGE[1]}), found ${tasks.length}`);
      return tasks;
    }
    case "humaneval-plus": case "mbpp-plus":
      return records.map(({ rec, line }) => {
        for (const k of ["base_input", "plus_input"]) if (typeof rec[k] !== "string") throw new UserError(`${file}:${line}: field ${k} missing`);
        if (typeof rec.atol !== "number") throw new UserError(`${file}:${line}: field atol missing or not a number`);
        const assertion = b === "mbpp-plus" ? str(rec, "assertion", file, line) : "";
        return {
          benchmark: b, taskId: str(rec, "task_id", file, line), prompt: str(rec, "prompt", file, line),
          entryPoint: str(rec, "entry_point", file, line), canonical: str(rec, "canonical_solution", file, line),
          tests: assertion.split("\n").filter((l) => l.trim() !== ""), raw: rec,
        };
      });
    case "humaneval-infill-single": case "humaneval-infill-multi": case "humaneval-infill-random":
      return records.map(({ rec, line }) => {
        str(rec, "test", file, line);
        return {
          benchmark: b, taskId: str(rec, "task_id", file, line), prompt: str(rec, "prompt", file, line),
          suffix: str(rec, "suffix", file, line), entryPoint: str(rec, "entry_point", file, line),
          canonical: str(rec, "canonical_solution", file, line), tests: [], raw: rec,
        };
      });
  }
}

/** MBPP tasks 2, 3, 4 (the 3-shot examples), from `dataDir/mbpp.jsonl`. */
export function mbppShotTasks(dataDir: string): EvalTask[] {
  const file = join(dataDir, datasetFile("mbpp"));
  const byId = new Map(readJsonl(file).map(({ rec, line }) => {
    const t = mbppTask(rec, file, line);
    return [Number(t.taskId), t] as const;
  }));
  return MBPP_SHOT_IDS.map((id) => {
    const t = byId.get(id);
    if (!t) throw new UserError(`${file}: MBPP task ${id} (a 3-shot example) is missing`);
    return t;
  });
}

function mbppTask(rec: Record<string, unknown>, file: string, line: number): EvalTask {
  const id = rec.task_id;
  if (typeof id !== "number" || !Number.isInteger(id)) throw new UserError(`${file}:${line}: field task_id missing or not an integer`);
  const tests = rec.test_list;
  if (!Array.isArray(tests) || !tests.every((t) => typeof t === "string")) throw new UserError(`${file}:${line}: field test_list missing or not a list of strings`);
  if (rec.test_setup_code !== undefined && typeof rec.test_setup_code !== "string") throw new UserError(`${file}:${line}: field test_setup_code is not a string`);
  return { benchmark: "mbpp", taskId: String(id), prompt: str(rec, "text", file, line), canonical: str(rec, "code", file, line), tests: tests as string[], raw: rec };
}

function str(rec: Record<string, unknown>, key: string, file: string, line: number): string {
  const v = rec[key];
  if (typeof v !== "string") throw new UserError(`${file}:${line}: field ${key} ${v === undefined ? "missing" : "is not a string"}`);
  return v;
}

/** The records of a .jsonl or .jsonl.gz file, with their 1-based line numbers. */
export function readJsonl(file: string): { rec: Record<string, unknown>; line: number }[] {
  if (!existsSync(file)) throw new UserError(`${file}: not found (expected a copy of the dataset folder, see --data)`);
  let bytes = readFileSync(file);
  if (file.endsWith(".gz")) {
    try { bytes = gunzipSync(bytes); } catch (e) {
      throw new UserError(`${file}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  const text = new TextDecoder("utf-8").decode(bytes);
  const out: { rec: Record<string, unknown>; line: number }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === "") continue;
    out.push({ rec: parseRecord(l, file, i + 1), line: i + 1 });
  }
  if (out.length === 0) throw new UserError(`${file}: no records`);
  return out;
}

/** One JSON object; the values of RAW_JSON_KEYS are kept as their exact text. */
function parseRecord(l: string, file: string, line: number): Record<string, unknown> {
  const bad = (what: string, at: number): never => { throw new UserError(`${file}:${line}: invalid JSON at column ${at + 1}: ${what}`); };
  const ws = (i: number) => { while (i < l.length && " \t\r\n".includes(l[i])) i++; return i; };
  let i = ws(0);
  if (l[i] !== "{") bad("expected an object", i);
  const rec: Record<string, unknown> = {};
  i = ws(i + 1);
  if (l[i] === "}") return rec;
  for (;;) {
    if (l[i] !== '"') bad("expected a key", i);
    const kEnd = skipString(l, i) ?? bad("unterminated string", i);
    const key = JSON.parse(l.slice(i, kEnd)) as string;
    i = ws(kEnd);
    if (l[i] !== ":") bad("expected ':'", i);
    const vStart = ws(i + 1);
    const vEnd = skipValue(l, vStart) ?? bad(`bad value for ${key}`, vStart);
    const text = l.slice(vStart, vEnd);
    if (RAW_JSON_KEYS.has(key)) rec[key] = text;
    else {
      try { rec[key] = JSON.parse(text); } catch (e) { bad(`field ${key}: ${(e as Error).message}`, vStart); }
    }
    i = ws(vEnd);
    if (l[i] === ",") { i = ws(i + 1); continue; }
    if (l[i] === "}") { if (ws(i + 1) !== l.length) bad("text after the object", i + 1); return rec; }
    bad("expected ',' or '}'", i);
  }
}

/** End (exclusive) of the JSON string starting at l[i] == '"', or undefined. */
function skipString(l: string, i: number): number | undefined {
  for (let j = i + 1; j < l.length; j++) {
    const c = l.charCodeAt(j);
    if (c === 92) j++; // backslash: skip the escaped char
    else if (c === 34) return j + 1;
  }
  return undefined;
}

/** End (exclusive) of the JSON value starting at l[i] (nesting balanced, strings skipped). */
function skipValue(l: string, i: number): number | undefined {
  let depth = 0;
  for (let j = i; j < l.length; j++) {
    const c = l[j];
    if (c === '"') { const e = skipString(l, j); if (e === undefined) return undefined; j = e - 1; if (depth === 0) return e; }
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") { if (depth === 0) return j > i ? j : undefined; depth--; if (depth === 0) return j + 1; }
    else if (depth === 0 && c === ",") return j > i ? j : undefined;
  }
  return depth === 0 && l.length > i ? l.length : undefined;
}
