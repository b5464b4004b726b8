/**
 * One benchmark run, in two phases over a run folder (results.ts):
 *
 *   1. generation: for every sampling setup, task and sample index not yet in samples.jsonl, ask
 *      the generator (a batch of indices at a time) and append each sample as it comes;
 *   2. execution: for every sample without a line in results.jsonl, build the check program
 *      (programs.ts), run it in the sandbox (several at once) and append the outcome.
 *
 * Each phase has its own progress bar with an ETA (stderr, only on a terminal). Either phase can
 * be stopped at any point (Ctrl-C, a kill): what was appended stays, and the next run with the
 * same folder does only what is missing. With `--samples FILE` phase 1 is skipped: the file's
 * completions are executed (sample i of a task = its i-th line for that task).
 */
import cliProgress from "cli-progress";
import { UserError } from "../util/errors.js";
import type { BenchmarkName, EvalTask } from "./datasets.js";
import { GenerationAborted, type Generator } from "./generator.js";
import { buildProgram } from "./programs.js";
import { taskRequest, type InfillMode } from "./prompts.js";
import { summarize, summarizeRun, type RunSpec, type Summary } from "./report.js";
import type { ResultLine, RunDir } from "./results.js";
import type { Executor } from "./sandbox/index.js";

/** A completion given in a --samples file. */
export interface GivenSample { taskId: string; completion: string }

export interface RunOptions {
  benchmark: BenchmarkName;
  /** The selected tasks, in order. */
  tasks: readonly EvalTask[];
  /** MBPP's worked examples (tasks 2, 3, 4), for MBPP prompts. */
  shots?: readonly EvalTask[];
  mode?: InfillMode;
  dir: RunDir;
  runs: readonly RunSpec[];
  /** Where samples come from: a generator, or the completions of a --samples file. */
  generator?: Generator;
  given?: readonly GivenSample[];
  source: string;
  maxTokens: number;
  seed: number;
  executor: Executor;
  /** Programs run at once (default: the executor's workers). */
  workers: number;
  progress: boolean;
  signal?: AbortSignal;
  onNote?: (message: string) => void;
}

/** The seed of sample 0 of a task (sample i uses it + i): the run's seed mixed with the task id (FNV-1a). */
export function taskSeed(seed: number, taskId: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < taskId.length; i++) h = Math.imul(h ^ taskId.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

interface Bar { tick(n?: number): void; stop(): void }

function progressBar(enabled: boolean, label: string, total: number, unit: string): Bar {
  if (!enabled || total === 0) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: `${label.padEnd(8)} [{bar}] {value}/{total} ${unit} | {percentage}% | ETA {eta_formatted} | {duration_formatted}`,
    stream: process.stderr, hideCursor: true, etaBuffer: 50, fps: 5, clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}

/** Run `jobs` with at most `limit` at once; stops taking new ones when `stop()` says so. The first error wins. */
async function pool<T>(jobs: readonly T[], limit: number, work: (job: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0, failure: unknown;
  const lane = async () => {
    while (failure === undefined && !stop() && next < jobs.length) {
      const job = jobs[next++];
      try { await work(job); } catch (e) { failure ??= e; }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, lane));
  if (failure !== undefined) throw failure;
}

/** Indices in [0, n) missing from `has`, in runs of at most `batch` consecutive ones. */
function missingRuns(n: number, batch: number, has: (i: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (has(i)) continue;
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === i && last[1] < batch) last[1]++;
    else out.push([i, 1]);
  }
  return out;
}

/** Phase 1: generate what samples.jsonl lacks. Returns the number of samples generated. */
async function generatePhase(o: RunOptions, gen: Generator, aborted: () => boolean): Promise<number> {
  interface Job { run: RunSpec; task: EvalTask; first: number; count: number }
  const jobs: Job[] = [];
  for (const run of o.runs) {
    for (const task of o.tasks) {
      for (const [first, count] of missingRuns(run.n, gen.batch, (i) => o.dir.samples.has(run.label, task.taskId, i))) jobs.push({ run, task, first, count });
    }
  }
  const total = jobs.reduce((s, j) => s + j.count, 0);
  const bar = progressBar(o.progress, "generate", total, "samples");
  let done = 0, tooLong = 0;
  try {
    await pool(jobs, gen.parallel, async (j) => {
      const req = taskRequest(j.task, { shots: o.shots, mode: o.mode });
      const params = { temperature: j.run.temperature ?? 0, topP: j.run.topP ?? 1, maxTokens: o.maxTokens, seed: taskSeed(o.seed, j.task.taskId) };
      let samples;
      try {
        samples = await gen.generate(req, j.first, j.count, params, o.signal);
      } catch (e) {
        if (e instanceof GenerationAborted) return;
        throw e;
      }
      samples.forEach((s, i) => {
        if (s.finish === "prompt-too-long") tooLong++;
        o.dir.samples.append({ run: j.run.label, task_id: j.task.taskId, sample: j.first + i, completion: s.completion, finish: s.finish });
      });
      done += samples.length;
      bar.tick(samples.length);
    }, aborted);
  } finally {
    bar.stop();
  }
  if (tooLong > 0) o.onNote?.(`warning: ${tooLong} samples were not generated because their prompt does not fit the model's context (raise --ctx, or the server's context); they count as errors`);
  return done;
}

/** Phase 2: execute what results.jsonl lacks. Returns the number of programs run. */
async function executePhase(o: RunOptions, items: { run: string; task: EvalTask; sample: number; completion: string; finish?: string }[], aborted: () => boolean): Promise<number> {
  const todo = items.filter((it) => !o.dir.results.has(it.run, it.task.taskId, it.sample));
  const bar = progressBar(o.progress, "execute", todo.length, "programs");
  let done = 0;
  try {
    await pool(todo, o.workers, async (it) => {
      let rec: ResultLine;
      const base = { run: it.run, task_id: it.task.taskId, sample: it.sample, completion: it.completion };
      if (it.finish === "prompt-too-long") {
        rec = { ...base, passed: false, result: "error", reason: "not generated: the prompt does not fit the model's context", ms: 0 };
      } else {
        const prog = buildProgram(it.task, it.completion);
        const r = await o.executor.run(prog.source, { timeoutMs: prog.timeoutMs });
        rec = { ...base, passed: r.status === "passed", result: r.status, reason: r.reason, ms: Math.round(r.ms * 10) / 10 };
      }
      o.dir.results.append(rec); // recorded even when an interrupt came meanwhile: it ran to its end
      done++;
      bar.tick();
    }, aborted);
  } finally {
    bar.stop();
  }
  return done;
}

/** Both phases, then the summary over the selected tasks (and the results it counts). */
export async function runBenchmark(o: RunOptions): Promise<{ summary: Summary; results: ResultLine[] }> {
  const aborted = () => o.signal?.aborted === true;
  // 1. Generation (none for --samples).
  let generated = 0;
  if (o.generator) generated = await generatePhase(o, o.generator, aborted);
  if (aborted()) throw interrupted(o, generated, 0);

  // 2. What to execute: the selected tasks' samples below each setup's n, or the given ones.
  const byId = new Map(o.tasks.map((t) => [t.taskId, t]));
  const items: { run: string; task: EvalTask; sample: number; completion: string; finish?: string }[] = [];
  if (o.given) {
    const seen = new Map<string, number>();
    for (const g of o.given) {
      const task = byId.get(g.taskId);
      if (!task) continue;
      const i = seen.get(g.taskId) ?? 0;
      seen.set(g.taskId, i + 1);
      items.push({ run: o.runs[0].label, task, sample: i, completion: g.completion });
    }
  } else {
    for (const run of o.runs) {
      for (const task of o.tasks) {
        for (let i = 0; i < run.n; i++) {
          const s = o.dir.samples.get(run.label, task.taskId, i);
          if (s) items.push({ run: run.label, task, sample: i, completion: s.completion, finish: s.finish });
        }
      }
    }
  }
  const executed = await executePhase(o, items, aborted);
  if (aborted()) throw interrupted(o, generated, executed);

  // 3. The summary: only results of the selected tasks and, per setup, samples below its n.
  const results = o.dir.results.records.filter((r) => {
    const run = o.runs.find((x) => x.label === r.run);
    return run !== undefined && byId.has(r.task_id) && (o.given !== undefined || r.sample < run.n);
  });
  const taskIds = o.tasks.map((t) => t.taskId);
  const summary = summarize({
    benchmark: o.benchmark, source: o.source, mode: o.mode, tasksSelected: o.tasks.length,
    runs: o.runs.map((r) => summarizeRun(r, results, taskIds)),
    protections: o.executor.protections, generated, executed, out: o.dir.dir,
  });
  return { summary, results };
}

function interrupted(o: RunOptions, generated: number, executed: number): UserError {
  return new UserError(`interrupted: ${generated} samples generated and ${executed} programs run are saved in ${o.dir.dir}; run the same command again to carry on`);
}

/** The paper's defaults (reference §9.1): pass@1 greedy; pass@10/100 from n = 200 samples at T = 0.8, p = 0.95. */
export const PAPER_SAMPLING = { temperature: 0.8, topP: 0.95, n: 200 } as const;

/** Label of a sampling setup. */
export function setupLabel(temperature: number, topP: number): string {
  return temperature === 0 ? "greedy" : `T${temperature}-p${topP}`;
}

/**
 * The sampling setups for the requested ks. Without --temperature, as the paper: k = 1 from a
 * greedy sample, the larger ks from n samples at T = 0.8, p = 0.95 (n = 200 unless --n). With
 * --temperature, one setup estimates every k from its n samples (n = 1 at T = 0, else 200).
 */
export function planRuns(ks: readonly number[], o: { temperature?: number; topP?: number; n?: number }): RunSpec[] {
  const runs: RunSpec[] = [];
  const check = (r: RunSpec) => {
    const bad = r.ks.find((k) => k > r.n);
    if (bad !== undefined) throw new UserError(`--k ${bad} needs at least ${bad} samples per task, but ${r.label} draws ${r.n} (raise --n)`);
    runs.push(r);
  };
  if (o.temperature === undefined) {
    if (ks.includes(1)) {
      if (o.n !== undefined && ks.length === 1) throw new UserError(`--n ${o.n} with --k 1: pass@1 is greedy, one sample per task; give --temperature to estimate pass@1 from samples`);
      check({ label: "greedy", temperature: 0, topP: 1, n: 1, ks: [1] });
    }
    const rest = ks.filter((k) => k !== 1);
    if (rest.length) {
      const topP = o.topP ?? PAPER_SAMPLING.topP;
      check({ label: setupLabel(PAPER_SAMPLING.temperature, topP), temperature: PAPER_SAMPLING.temperature, topP, n: o.n ?? PAPER_SAMPLING.n, ks: rest });
    }
  } else {
    const t = o.temperature, topP = t === 0 ? 1 : (o.topP ?? PAPER_SAMPLING.topP);
    check({ label: setupLabel(t, topP), temperature: t, topP, n: o.n ?? (t === 0 ? 1 : PAPER_SAMPLING.n), ks: [...ks] });
  }
  return runs;
}
