/**
 * The end of a benchmark run: pass@k per sampling setup and the outcome counts, computed from
 * the result lines; the terminal table; `results.json`; and `report.html` (settings, table,
 * pass@k chart drawn with svg-plot.ts, the paper's figures beside ours with --compare, and the
 * most common failure reasons).
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import type { BenchmarkName } from "./datasets.js";
import type { PaperRow } from "./paper.js";
import { passAtKTable, type TaskCount } from "./pass-at-k.js";
import type { ResultLine } from "./results.js";
import type { ExecStatus } from "./sandbox/index.js";
import { escapeXml, lineChart, type Series } from "./svg-plot.js";

export const OUTCOMES: readonly ExecStatus[] = ["passed", "failed", "timeout", "error", "killed"];
export type Counts = Record<ExecStatus, number>;

/** A sampling setup of the run and the ks it estimates. */
export interface RunSpec {
  /** "greedy", "T0.8-p0.95", or "samples" (a --samples file). */
  label: string;
  temperature: number | null;
  topP: number | null;
  /** Samples per task (the most any task has, for --samples). */
  n: number;
  ks: number[];
}

export interface RunSummary extends RunSpec {
  /** pass@k (fraction, 0..1) for the ks every scored task has enough samples for. */
  passAtK: Record<string, number>;
  tasks: number;
  counts: Counts;
}

export interface Summary {
  benchmark: BenchmarkName;
  /** What produced the samples: "model FILE", "endpoint URL (model NAME)", or "samples FILE". */
  source: string;
  mode?: "psm" | "spm";
  /** Samples per task of the largest setup. */
  n: number;
  /** pass@k over all setups (pass@1 from the greedy run when there is one). */
  passAtK: Record<string, number>;
  counts: Counts;
  /** Tasks scored (with every sample executed) and tasks selected. */
  tasks: number;
  tasksSelected: number;
  runs: RunSummary[];
  paper?: PaperRow;
  protections: string[];
  /** Samples generated and executed by this invocation (the rest came from the folder). */
  generated: number;
  executed: number;
  out: string;
}

export function emptyCounts(): Counts {
  return { passed: 0, failed: 0, timeout: 0, error: 0, killed: 0 };
}

/** Per task: samples and correct samples, over the results of one setup (tasks without results are left out). */
export function taskCounts(results: readonly ResultLine[], run: string, taskIds: readonly string[]): Map<string, TaskCount> {
  const wanted = new Set(taskIds);
  const out = new Map<string, TaskCount>();
  for (const r of results) {
    if (r.run !== run || !wanted.has(r.task_id)) continue;
    const t = out.get(r.task_id) ?? { n: 0, c: 0 };
    t.n++;
    if (r.passed) t.c++;
    out.set(r.task_id, t);
  }
  return out;
}

/** pass@k and counts of one setup over the selected tasks. */
export function summarizeRun(spec: RunSpec, results: readonly ResultLine[], taskIds: readonly string[]): RunSummary {
  const per = taskCounts(results, spec.label, taskIds);
  const counts = emptyCounts();
  const wanted = new Set(taskIds);
  for (const r of results) if (r.run === spec.label && wanted.has(r.task_id)) counts[r.result]++;
  return { ...spec, passAtK: passAtKTable([...per.values()], spec.ks), tasks: per.size, counts };
}

/** The whole summary: setups merged (a k comes from the first setup that estimates it). */
export function summarize(o: Omit<Summary, "n" | "passAtK" | "counts" | "tasks">): Summary {
  const passAtK: Record<string, number> = {};
  const counts = emptyCounts();
  for (const r of o.runs) {
    for (const [k, v] of Object.entries(r.passAtK)) if (!(k in passAtK)) passAtK[k] = v;
    for (const s of OUTCOMES) counts[s] += r.counts[s];
  }
  const sorted = Object.fromEntries(Object.entries(passAtK).sort((a, b) => Number(a[0]) - Number(b[0])));
  return {
    ...o, n: Math.max(0, ...o.runs.map((r) => r.n)), passAtK: sorted, counts,
    tasks: Math.max(0, ...o.runs.map((r) => r.tasks)),
  };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** Left-aligned columns separated by two spaces. */
function columns(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? "").length)));
  return rows.map((r) => r.map((c, j) => (j === r.length - 1 ? c : c.padEnd(w[j]))).join("  ").trimEnd()).join("\n") + "\n";
}

/** The terminal summary: one row per k, then the outcome counts. */
export function formatSummaryTable(s: Summary): string {
  const head = `${s.benchmark}${s.mode ? ` (${s.mode.toUpperCase()})` : ""}: ${s.source}; ${s.tasks} of ${s.tasksSelected} tasks scored\n`;
  const paperCol = s.paper ? [`paper (${s.paper.model}, ${s.paper.table})`] : [];
  const rows: string[][] = [["k", "pass@k", "setup", "n", ...paperCol]];
  for (const r of s.runs) {
    for (const k of r.ks) {
      const v = r.passAtK[String(k)];
      const paper = s.paper?.figures.find((f) => f.k === k);
      rows.push([`pass@${k}`, v === undefined ? `- (needs n >= ${k})` : pct(v), r.label, String(r.n), ...(s.paper ? [paper ? `${paper.percent.toFixed(1)}%` : "-"] : [])]);
    }
  }
  const c = s.counts;
  const outcomes = `outcomes: ${OUTCOMES.map((o) => `${o} ${c[o]}`).join(", ")}\n`;
  return head + columns(rows) + outcomes;
}

/** The pass@k chart: ours (one line per setup) and, with --compare, the paper's. */
export function passAtKChart(s: Summary): string {
  const series: Series[] = [];
  for (const r of s.runs) {
    const pts = r.ks.filter((k) => r.passAtK[String(k)] !== undefined).map((k) => [k, 100 * r.passAtK[String(k)]] as const);
    if (pts.length) series.push({ name: `ours (${r.label})`, points: pts });
  }
  if (s.paper) series.push({ name: `paper: ${s.paper.model}`, points: s.paper.figures.map((f) => [f.k, f.percent] as const), dashed: true });
  const ks = [...new Set(series.flatMap((x) => x.points.map((p) => p[0])))].sort((a, b) => a - b);
  return lineChart({
    title: `${s.benchmark}: pass@k`,
    x: { label: "k", scale: "log", ticks: ks.length ? ks : [1] },
    y: { label: "pass@k (%)", min: 0, max: 100 },
    series, legend: series.length > 0,
  });
}

/** The most frequent failure reasons (first line of each), for the report. */
function topReasons(results: readonly ResultLine[], limit = 10): [string, number][] {
  const m = new Map<string, number>();
  for (const r of results) {
    if (r.passed) continue;
    const key = `${r.result}: ${r.reason.split("\n")[0].slice(0, 160)}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
}

/** report.html: standalone, the chart inline. */
export function reportHtml(s: Summary, results: readonly ResultLine[]): string {
  const e = escapeXml;
  const svg = passAtKChart(s).replace(/^<\?xml[^>]*>\n/, "");
  const rows = s.runs.flatMap((r) => r.ks.map((k) => {
    const v = r.passAtK[String(k)];
    const paper = s.paper?.figures.find((f) => f.k === k);
    return `<tr><td>pass@${k}</td><td>${v === undefined ? "-" : e(pct(v))}</td><td>${e(r.label)}</td><td>${r.n}</td>${s.paper ? `<td>${paper ? `${paper.percent.toFixed(1)}%` : "-"}</td>` : ""}</tr>`;
  }));
  const counts = OUTCOMES.map((o) => `<tr><td>${o}</td><td>${s.counts[o]}</td></tr>`).join("");
  const reasons = topReasons(results).map(([r, n]) => `<tr><td>${n}</td><td><code>${e(r)}</code></td></tr>`).join("");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${e(s.benchmark)} - codellama eval</title>
<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}code{font-size:90%}</style>
</head><body>
<h1>${e(s.benchmark)}${s.mode ? ` (${s.mode.toUpperCase()})` : ""}</h1>
<p>${e(s.source)}. ${s.tasks} of ${s.tasksSelected} tasks scored. Sandbox: ${e(s.protections.join(", ") || "none")}.</p>
<table><tr><th>k</th><th>pass@k</th><th>setup</th><th>n</th>${s.paper ? `<th>paper (${e(s.paper.model)}, ${e(s.paper.table)})</th>` : ""}</tr>
${rows.join("\n")}
</table>
${svg}
<h2>Outcomes</h2>
<table>${counts}</table>
${reasons ? `<h2>Most common failures</h2>\n<table><tr><th>count</th><th>reason</th></tr>${reasons}</table>` : ""}
<p>Every sample and result: <code>samples.jsonl</code>, <code>results.jsonl</code>.</p>
</body></html>
`;
}

/** Write results.json and report.html into the run folder; returns their paths. */
export function writeReport(dir: string, s: Summary, results: readonly ResultLine[], perTask: Record<string, Record<string, TaskCount>>): { json: string; html: string } {
  const json = join(dir, "results.json"), html = join(dir, "report.html");
  try {
    writeFileAtomic(json, JSON.stringify({ ...s, perTask }, null, 2) + "\n");
    writeFileAtomic(html, reportHtml(s, results));
  } catch (err) {
    throw new UserError(`--out: cannot write the report in ${dir}: ${(err as Error).message.split("\n")[0]}`);
  }
  return { json, html };
}
