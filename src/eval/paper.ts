/**
 * The Code Llama paper's figures that `codellama eval <benchmark> --compare` puts beside a run
 * (reference doc §9.2 Table 2: HumanEval zero-shot and MBPP 3-shot pass@1/10/100, in %; §9.6
 * Table 14: HumanEval infilling pass@1, greedy, PSM and SPM, for the released LCFT models), and
 * the matching of a model name ("CodeLlama-7b-Python-hf", "codellama:13b-instruct", ...) to a row.
 */
import { UserError } from "../util/errors.js";
import type { BenchmarkName } from "./datasets.js";

export type PaperFamily = "llama-2" | "code-llama" | "code-llama-instruct" | "code-llama-python" | "unnatural-code-llama";
export type PaperSize = 7 | 13 | 34 | 70;

export interface PaperModel { family: PaperFamily; size: PaperSize }

/** Display names as the paper's Table 2 writes them. */
export const FAMILY_NAMES: Record<PaperFamily, string> = {
  "llama-2": "Llama 2",
  "code-llama": "Code Llama",
  "code-llama-instruct": "Code Llama - Instruct",
  "code-llama-python": "Code Llama - Python",
  "unnatural-code-llama": "Unnatural Code Llama",
};

/** [HE@1, HE@10, HE@100, MBPP@1, MBPP@10, MBPP@100], percent (Table 2, v3). */
const TABLE2: Record<string, readonly number[]> = {
  "llama-2 7": [12.2, 25.2, 44.4, 20.8, 41.8, 65.5],
  "llama-2 13": [20.1, 34.8, 61.2, 27.6, 48.1, 69.5],
  "llama-2 34": [22.6, 47.0, 79.5, 33.8, 56.9, 77.6],
  "llama-2 70": [30.5, 59.4, 87.0, 45.4, 66.2, 83.1],
  "code-llama 7": [33.5, 59.6, 85.9, 41.4, 66.7, 82.5],
  "code-llama 13": [36.0, 69.4, 89.8, 47.0, 71.7, 87.1],
  "code-llama 34": [48.8, 76.8, 93.0, 55.0, 76.2, 86.6],
  "code-llama 70": [53.0, 84.6, 96.2, 62.4, 81.1, 91.9],
  "code-llama-instruct 7": [34.8, 64.3, 88.1, 44.4, 65.4, 76.8],
  "code-llama-instruct 13": [42.7, 71.6, 91.6, 49.4, 71.2, 84.1],
  "code-llama-instruct 34": [41.5, 77.2, 93.5, 57.0, 74.6, 85.4],
  "code-llama-instruct 70": [67.8, 90.3, 97.3, 62.2, 79.6, 89.2],
  "unnatural-code-llama 34": [62.2, 85.2, 95.4, 61.2, 76.6, 86.7],
  "code-llama-python 7": [38.4, 70.3, 90.6, 47.6, 70.3, 84.8],
  "code-llama-python 13": [43.3, 77.4, 94.1, 49.0, 74.0, 87.6],
  "code-llama-python 34": [53.7, 82.8, 94.7, 56.2, 76.4, 88.2],
  "code-llama-python 70": [57.3, 89.3, 98.4, 65.6, 81.5, 91.9],
};

/** Table 14, released (LCFT) Code Llama 7B/13B: [single PSM, single SPM, multi PSM, multi SPM, random PSM, random SPM]. */
const TABLE14: Record<string, readonly number[]> = {
  "code-llama 7": [74.1, 83.3, 48.2, 50.8, 59.7, 39.0],
  "code-llama 13": [75.9, 85.6, 51.0, 56.1, 63.6, 41.9],
};

/** A paper figure for one k. */
export interface PaperFigure { k: number; percent: number }

export interface PaperRow {
  model: string;
  table: string;
  figures: PaperFigure[];
}

/**
 * The paper's figures for `model` on `benchmark` (infill: for `mode`), or undefined when the
 * paper reports none (the "plus" benchmarks, infilling for sizes or families it did not test).
 */
export function paperFigures(model: PaperModel, benchmark: BenchmarkName, mode: "psm" | "spm" = "psm"): PaperRow | undefined {
  const key = `${model.family} ${model.size}`;
  const name = `${FAMILY_NAMES[model.family]} ${model.size}B`;
  if (benchmark === "humaneval" || benchmark === "mbpp") {
    const row = TABLE2[key];
    if (!row) return undefined;
    const o = benchmark === "humaneval" ? 0 : 3;
    return { model: name, table: "Table 2", figures: [1, 10, 100].map((k, i) => ({ k, percent: row[o + i] })) };
  }
  const infill = ["humaneval-infill-single", "humaneval-infill-multi", "humaneval-infill-random"].indexOf(benchmark);
  if (infill >= 0) {
    const row = TABLE14[key];
    if (!row) return undefined;
    return { model: name, table: `Table 14 (${mode.toUpperCase()})`, figures: [{ k: 1, percent: row[infill * 2 + (mode === "spm" ? 1 : 0)] }] };
  }
  return undefined;
}

/** Accepted spellings for --compare, e.g. "code-llama-7b", "python-13b", "instruct-34b", "llama-2-70b", "unnatural-34b". */
export const COMPARE_HELP = "a name with a family (llama-2, code-llama, instruct, python, unnatural) and a size (7b, 13b, 34b, 70b), e.g. python-13b";

/**
 * The paper's model for a name: a model file name, a GGUF `general.name`, an endpoint model name
 * or a --compare value. Undefined when the name gives no size or no family.
 */
export function matchPaperModel(name: string): PaperModel | undefined {
  const s = name.toLowerCase();
  const m = /(?:^|[^0-9.])(7|13|34|70)\s*b(?![a-z0-9])/.exec(s);
  if (!m) return undefined;
  const size = Number(m[1]) as PaperSize;
  const compact = s.replace(/[\s_:\-./]/g, "");
  let family: PaperFamily | undefined;
  if (compact.includes("unnatural")) family = "unnatural-code-llama";
  else if (/codellama|^cl(?=\d|python|instruct)/.test(compact) || compact.startsWith("python") || compact.startsWith("instruct")) {
    family = compact.includes("python") ? "code-llama-python" : compact.includes("instruct") ? "code-llama-instruct" : "code-llama";
  } else if (compact.includes("llama2")) family = "llama-2";
  if (!family) return undefined;
  return TABLE2[`${family} ${size}`] ? { family, size } : undefined;
}

/** --compare with a value, or the model's own name(s) when none is given. */
export function resolvePaperModel(explicit: string | undefined, names: readonly string[]): PaperModel {
  if (explicit !== undefined) {
    const m = matchPaperModel(explicit);
    if (!m) throw new UserError(`--compare: "${explicit}" is not a model of the paper's Table 2; give ${COMPARE_HELP}`);
    return m;
  }
  for (const n of names) {
    const m = matchPaperModel(n);
    if (m) return m;
  }
  throw new UserError(`--compare: cannot tell which of the paper's models ${names.map((n) => `"${n}"`).join(" / ")} is; give it as --compare NAME, ${COMPARE_HELP}`);
}
