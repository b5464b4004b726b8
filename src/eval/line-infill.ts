/**
 * Single-line infilling exact match: the model sees the code before and after one line and must
 * write that line (greedy, PSM or SPM). Two sources of examples:
 *   - `tasksFromBenchmark`: HumanEval single-line infilling (Bavarian et al. 2022; the `prompt` is
 *     the prefix, `canonical_solution` the middle, `suffix` the rest), scored by exact match
 *     instead of execution (`codellama eval humaneval-infill-single` does the execution);
 *   - `tasksFromFiles`: random lines of local source files, e.g. files held out of training. A
 *     line is eligible when its stripped text has 4..120 characters and is not a comment; the
 *     prefix keeps at most PREFIX_CHARS characters and the suffix SUFFIX_CHARS, both cut at line
 *     boundaries, so prompts stay short.
 *
 * Decisions (the paper reports exact match for single-line infilling without fixing these):
 *   - The middle to predict is the line without its newline; the suffix starts with that newline.
 *     For the HumanEval set the middle is the dataset's (a whole line with its newline).
 *   - The generated middle is cut at its first newline (a single line is asked for), and it
 *     matches when it equals the expected line after trimming whitespace at both ends.
 */
import { existsSync, statSync } from "node:fs";
import { extname } from "node:path";
import type { Engine } from "../engine/engine.js";
import { UserError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { listFiles, readSourceText } from "./code-corpus.js";
import type { EvalTask } from "./datasets.js";

export const PREFIX_CHARS = 2000;
export const SUFFIX_CHARS = 800;
/** Tokens generated per example (one line). */
export const LINE_TOKENS = 64;

export interface LineTask { id: string; prefix: string; suffix: string; middle: string }
export interface LineResult extends LineTask { generated: string; match: boolean }
export interface LineInfillSummary { n: number; exactMatch: number; matches: number }

/** The HumanEval single-line infilling tasks as line tasks. */
export function tasksFromBenchmark(tasks: EvalTask[]): LineTask[] {
  return tasks.map((t) => ({ id: t.taskId, prefix: t.prompt, suffix: t.suffix ?? "", middle: t.canonical }));
}

/** Source files under `paths` (files as given, folders walked by listFiles) with one of `exts`. */
export function sourceFiles(paths: string[], exts: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UserError(`--files: no such file or folder: ${p}`);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, exts));
    else if (exts.includes(extname(p))) out.push(p);
  }
  return out;
}

/** Keep at most `max` characters at the end of `s`, starting at a line boundary. */
function tailLines(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.indexOf("\n", s.length - max);
  return cut < 0 ? "" : s.slice(cut + 1);
}

/** Keep at most `max` characters at the start of `s`, ending at a line boundary (newline kept). */
function headLines(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf("\n", max);
  return cut < 0 ? "" : s.slice(0, cut + 1);
}

/** `n` random eligible lines of `files` (seeded: the same files and seed give the same tasks). */
export function tasksFromFiles(files: string[], n: number, seed: number): LineTask[] {
  const rng = new Rng([seed, 0x11e]);
  const texts = files.map((f) => {
    try { return readSourceText(f) ?? ""; } catch { return ""; }
  });
  const eligible: [number, number][] = [];
  texts.forEach((text, fi) => {
    text.split("\n").forEach((line, li) => {
      const s = line.trim();
      if (s.length >= 4 && s.length <= 120 && !s.startsWith("#") && !s.startsWith("//")) eligible.push([fi, li]);
    });
  });
  if (eligible.length === 0) throw new UserError(`--files: no eligible lines (4..120 characters, not comments) in ${files.length} files`);
  const out: LineTask[] = [];
  const used = new Set<number>();
  while (out.length < Math.min(n, eligible.length)) {
    const k = Math.floor(rng.next() * eligible.length);
    if (used.has(k)) continue;
    used.add(k);
    const [fi, li] = eligible[k];
    const lines = texts[fi].split("\n");
    out.push({
      id: `${files[fi]}:${li + 1}`,
      prefix: tailLines(lines.slice(0, li).join("\n") + (li > 0 ? "\n" : ""), PREFIX_CHARS),
      middle: lines[li],
      suffix: headLines("\n" + lines.slice(li + 1).join("\n"), SUFFIX_CHARS),
    });
  }
  return out;
}

/** Drop whole lines from the far ends of the prefix and suffix until the prompt fits `budget` tokens. */
function fitContext(engine: Engine, t: LineTask, budget: number): LineTask {
  let pre = t.prefix.split("\n"), suf = t.suffix.split("\n");
  let np = engine.tokenize(t.prefix, { bos: false }).length, ns = engine.tokenize(t.suffix, { bos: false }).length;
  while (np + ns > budget && (pre.length > 1 || suf.length > 1)) {
    if ((np >= ns && pre.length > 1) || suf.length <= 1) { pre = pre.slice(1); np = engine.tokenize(pre.join("\n"), { bos: false }).length; }
    else { suf = suf.slice(0, -1); ns = engine.tokenize(suf.join("\n"), { bos: false }).length; }
  }
  return { ...t, prefix: pre.join("\n"), suffix: suf.join("\n") };
}

export function lineMatches(generated: string, expected: string): boolean {
  const nl = generated.indexOf("\n");
  const first = nl < 0 ? generated : generated.slice(0, nl);
  return first.trim() === expected.trim();
}

/** Infill every task greedily and score exact match; `onResult` sees each result as it lands. */
export async function runLineInfill(engine: Engine, tasks: LineTask[], o: { spm?: boolean; onResult?: (r: LineResult, done: number) => void } = {}): Promise<{ results: LineResult[]; summary: LineInfillSummary }> {
  const results: LineResult[] = [];
  const budget = engine.model.ctx - LINE_TOKENS - 8; // 8: BOS, the three sentinels and slack
  for (const task of tasks) {
    const t = fitContext(engine, task, budget);
    const r = await engine.infill(t.prefix, t.suffix, { temperature: 0, maxTokens: LINE_TOKENS, spm: o.spm, stopStrings: ["\n"] }).result;
    const res = { ...task, generated: r.generation, match: lineMatches(r.generation, t.middle) };
    results.push(res);
    o.onResult?.(res, results.length);
  }
  const matches = results.filter((r) => r.match).length;
  return { results, summary: { n: results.length, matches, exactMatch: results.length ? matches / results.length : 0 } };
}
