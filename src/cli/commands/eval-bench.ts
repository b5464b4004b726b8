/**
 * `codellama eval <benchmark> (--model FILE | --endpoint URL --model-name NAME | --samples FILE)
 * [--k 1,10,100] [--n N] [--temperature T] [--top-p P] [--max-tokens N] [--out DIR] [--json]
 * [--data PATH] [--compare [MODEL]] [--limit N] [--tasks LIST] [--mode psm|spm] [--workers N]
 * [--unsafe-no-sandbox]`: HumanEval, MBPP, their EvalPlus versions and the HumanEval infilling
 * benchmarks, scored with pass@k by running every sample in the sandbox (src/eval/run.ts).
 *
 * Defaults follow the paper (§9.1): pass@1 greedy; pass@10/100 from 200 samples at T = 0.8,
 * p = 0.95. Data comes from --data or the cache (downloaded from the official source on first
 * use, sha256-checked). Everything lands in --out (samples.jsonl, results.jsonl, results.json,
 * report.html); rerunning the same command carries on where a stopped run left off.
 */
import { availableParallelism } from "node:os";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { Option, type Command } from "commander";
import { z } from "zod";
import { BENCHMARKS, loadTasks, mbppShotTasks, type BenchmarkName, type EvalTask } from "../../eval/datasets.js";
import { resolveBenchmarkData, sha256File } from "../../eval/download.js";
import { endpointBase, EndpointGenerator, LocalGenerator, type Generator } from "../../eval/generator.js";
import { paperFigures, resolvePaperModel } from "../../eval/paper.js";
import { parseKList } from "../../eval/pass-at-k.js";
import { isInfill, isMbpp, type InfillMode } from "../../eval/prompts.js";
import { formatSummaryTable, taskCounts, writeReport } from "../../eval/report.js";
import { RunDir, type Manifest } from "../../eval/results.js";
import { planRuns, runBenchmark, type GivenSample } from "../../eval/run.js";
import { Executor } from "../../eval/sandbox/index.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, loadOptions, num, type ModelCliOptions } from "../options.js";
import { evalGroup } from "./key-retrieval.js";

/** Bump when prompts or post-processing change, so old run folders are not mixed with new samples. */
const PROMPT_VERSION = 1;
const DEFAULT_MAX_TOKENS = 512;
const DEFAULT_CTX = 2048;

const DESCRIPTIONS: Record<BenchmarkName, string> = {
  "humaneval": "HumanEval (164 tasks), zero-shot",
  "mbpp": "MBPP test split (tasks 11-510), 3-shot [BEGIN]/[DONE] prompt",
  "humaneval-plus": "HumanEval+ (EvalPlus v0.1.10): HumanEval with many more tests",
  "mbpp-plus": "MBPP+ (EvalPlus v0.2.0, 378 tasks): MBPP with many more tests, 3-shot prompt",
  "humaneval-infill-single": "HumanEval single-line infilling (1033 tasks), pass@1 greedy",
  "humaneval-infill-multi": "HumanEval multi-line infilling (5815 tasks), pass@1 greedy",
  "humaneval-infill-random": "HumanEval random-span infilling (1640 tasks), pass@1 greedy",
};

interface EvalBenchOptions extends Omit<ModelCliOptions, "model"> {
  model?: string;
  endpoint?: string;
  modelName?: string;
  samples?: string;
  k: number[];
  n?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed: number;
  out?: string;
  json?: boolean;
  data?: string;
  compare?: string | boolean;
  limit?: number;
  tasks?: string;
  mode?: InfillMode;
  workers?: number;
  parallel?: number;
  unsafeNoSandbox?: boolean;
}

/** The completions of a --samples file (JSONL, or .gz): {"task_id", "completion"} per line. */
export function readSamplesFile(path: string, benchmark: BenchmarkName, known: ReadonlySet<string>): GivenSample[] {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError(`--samples: no such file: ${path}`);
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
  } catch (e) {
    throw new UserError(`--samples ${path}: cannot read it: ${(e as Error).message.split("\n")[0]}`);
  }
  const Line = z.object({ task_id: z.string(), completion: z.string() });
  const out: GivenSample[] = [];
  const example = [...known][0];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${path}:${i + 1}`;
    let obj: unknown;
    try { obj = JSON.parse(line); } catch { throw new UserError(`${where}: not a JSON object (each line must be {"task_id": ..., "completion": ...})`); }
    const r = Line.safeParse(obj);
    if (!r.success) throw new UserError(`${where}: ${r.error.issues.map((x) => `${x.path.join(".") || "line"}: ${x.message}`).join("; ")} (each line must be {"task_id": string, "completion": string})`);
    if (!known.has(r.data.task_id)) throw new UserError(`${where}: task_id ${JSON.stringify(r.data.task_id)} is not a ${benchmark} task (e.g. ${JSON.stringify(example)})`);
    out.push({ taskId: r.data.task_id, completion: r.data.completion });
  });
  if (out.length === 0) throw new UserError(`--samples ${path}: no samples in the file`);
  return out;
}

/** --tasks: task ids ("HumanEval/3") or their numbers ("3"), comma-separated. */
export function selectTasks(all: readonly EvalTask[], benchmark: BenchmarkName, tasks?: string, limit?: number): EvalTask[] {
  let out = [...all];
  if (tasks !== undefined) {
    const byId = new Map(all.map((t) => [t.taskId, t]));
    const byNum = new Map(all.map((t) => [t.taskId.split("/").pop()!, t]));
    const picked: EvalTask[] = [];
    for (const raw of tasks.split(",").map((s) => s.trim())) {
      const t = byId.get(raw) ?? byNum.get(raw);
      if (!t) throw new UserError(`--tasks: "${raw}" is not a ${benchmark} task id (e.g. ${all[0]?.taskId ?? "?"} or its number)`);
      if (!picked.includes(t)) picked.push(t);
    }
    out = picked;
  }
  return limit !== undefined ? out.slice(0, limit) : out;
}

function safeName(s: string): string {
  return s.replace(/\.(gguf|bin|safetensors)$/i, "").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "model";
}

/** Check the flags against each other before anything runs. */
function checkFlags(b: BenchmarkName, o: EvalBenchOptions): void {
  const sources = [o.model !== undefined && "--model", o.endpoint !== undefined && "--endpoint", o.samples !== undefined && "--samples"].filter(Boolean);
  if (sources.length === 0) throw new UserError("give the model to evaluate: --model FILE, --endpoint URL --model-name NAME, or --samples FILE");
  if (sources.length > 1) throw new UserError(`${sources.join(" and ")} cannot be used together; give one of them`);
  if (o.endpoint !== undefined && o.modelName === undefined) throw new UserError("--endpoint needs --model-name NAME (the model name the server serves)");
  if (o.modelName !== undefined && o.endpoint === undefined) throw new UserError("--model-name goes with --endpoint URL");
  if (o.samples !== undefined) {
    for (const [flag, v] of [["--n", o.n], ["--temperature", o.temperature], ["--top-p", o.topP], ["--max-tokens", o.maxTokens]] as const) {
      if (v !== undefined) throw new UserError(`${flag} does not apply to --samples (the completions are already generated)`);
    }
  }
  if (o.mode !== undefined && !isInfill(b)) throw new UserError(`--mode applies to the infilling benchmarks only, not ${b}`);
}

async function action(b: BenchmarkName, o: EvalBenchOptions): Promise<void> {
  checkFlags(b, o);
  const note = (m: string) => process.stderr.write(`codellama: ${m}\n`);
  const mode: InfillMode | undefined = isInfill(b) && o.samples === undefined ? (o.mode ?? "psm") : undefined;
  const progress = process.stderr.isTTY === true && !o.json;

  // 1. The data, the selected tasks, MBPP's worked examples.
  const { dataDir, shotsDir } = await resolveBenchmarkData(b, { data: o.data, onNote: note });
  const all = loadTasks(b, dataDir);
  const tasks = selectTasks(all, b, o.tasks, o.limit);
  const shots = isMbpp(b) ? mbppShotTasks(shotsDir!) : undefined;

  // 2. The sampling setups and the samples' source.
  let given: GivenSample[] | undefined;
  let manifest: Manifest;
  let out: string;
  const runs = o.samples !== undefined
    ? [] // filled below from the file
    : planRuns(o.k, { temperature: o.temperature, topP: o.topP, n: o.n });
  const maxTokens = o.maxTokens ?? DEFAULT_MAX_TOKENS;
  const suffix = mode === "spm" ? "-spm" : "";
  if (o.samples !== undefined) {
    given = readSamplesFile(o.samples, b, new Set(all.map((t) => t.taskId)));
    const wanted = new Set(tasks.map((t) => t.taskId));
    const perTask = new Map<string, number>();
    for (const g of given) if (wanted.has(g.taskId)) perTask.set(g.taskId, (perTask.get(g.taskId) ?? 0) + 1);
    if (perTask.size === 0) throw new UserError(`--samples ${o.samples}: none of its samples is for the selected tasks`);
    runs.push({ label: "samples", temperature: null, topP: null, n: Math.max(...perTask.values()), ks: o.k });
    manifest = { format: 1, benchmark: b, samples: resolve(o.samples), samplesSha256: sha256File(o.samples) };
    out = o.out ?? `${o.samples.replace(/\.gz$/, "").replace(/\.jsonl?$/, "")}_${b}_results`;
  } else if (o.endpoint !== undefined) {
    manifest = { format: 1, benchmark: b, endpoint: endpointBase(o.endpoint), modelName: o.modelName!, maxTokens, seed: o.seed, mode: mode ?? null, prompts: PROMPT_VERSION };
    out = o.out ?? join("codellama-eval", `${b}${suffix}-${safeName(o.modelName!)}`);
  } else {
    const model = resolve(o.model!);
    if (!existsSync(model)) throw new UserError(`--model: no such file or folder: ${o.model}`);
    manifest = { format: 1, benchmark: b, model, modelBytes: statSync(model).isFile() ? statSync(model).size : null, kv: o.kv, maxTokens, seed: o.seed, mode: mode ?? null, prompts: PROMPT_VERSION };
    out = o.out ?? join("codellama-eval", `${b}${suffix}-${safeName(basename(model))}`);
  }

  // 3. The sandbox first (so a missing sandbox shows before any generation), then the model.
  const workers = o.workers ?? availableParallelism();
  const executor = await Executor.create({ workers, unsafeNoSandbox: o.unsafeNoSandbox, onWarning: note });
  let generator: Generator | undefined;
  let dir: RunDir | undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    note("stopping: saving what is done (Ctrl-C again to quit at once)");
    controller.abort();
  };
  try {
    if (o.endpoint !== undefined) {
      const g = new EndpointGenerator(o.endpoint, o.modelName!, { parallel: o.parallel, apiKey: process.env.OPENAI_API_KEY || undefined });
      await g.probe();
      generator = g;
    } else if (o.model !== undefined) {
      const seqs = Math.max(1, Math.min(o.parallel ?? 4, Math.max(...runs.map((r) => r.n))));
      generator = await LocalGenerator.load(o.model, { ...loadOptions({ ...o, model: o.model }), ctx: o.ctx ?? DEFAULT_CTX, seqs });
    }
    const names = generator ? generator.names : [basename(o.samples!)];
    const paper = o.compare !== undefined && o.compare !== false
      ? paperFigures(resolvePaperModel(typeof o.compare === "string" ? o.compare : undefined, names), b, mode)
      : undefined;
    if (o.compare !== undefined && o.compare !== false && !paper) note(`the paper reports no ${b}${mode ? ` ${mode.toUpperCase()}` : ""} figures for this model`);

    // 4. The run.
    dir = new RunDir(out, manifest);
    process.on("SIGINT", onSigint);
    const { summary, results } = await runBenchmark({
      benchmark: b, tasks, shots, mode, dir, runs, generator, given,
      source: generator ? generator.description : `samples ${o.samples}`, maxTokens, seed: o.seed,
      executor, workers, progress, signal: controller.signal, onNote: note,
    });
    if (paper) summary.paper = paper;

    // 5. The report.
    const taskIds = tasks.map((t) => t.taskId);
    const perTask = Object.fromEntries(runs.map((r) => [r.label, Object.fromEntries(taskCounts(results, r.label, taskIds))]));
    writeReport(dir.dir, summary, results, perTask);
    if (o.json) {
      process.stdout.write(JSON.stringify(summary) + "\n");
    } else {
      process.stdout.write(formatSummaryTable(summary));
      process.stdout.write(`results: ${join(dir.dir, "results.json")}, report: ${join(dir.dir, "report.html")}\n`);
    }
  } finally {
    process.off("SIGINT", onSigint);
    dir?.close();
    await generator?.close();
    await executor.close();
  }
}

export function register(program: Command): void {
  const group = evalGroup(program);
  for (const b of BENCHMARKS) {
    const cmd = group.command(b).description(`${DESCRIPTIONS[b]}: pass@k of a model (local or OpenAI-compatible server) or of a samples file`);
    addModelOptions(cmd);
    const model = cmd.options.find((x) => x.long === "--model")!;
    model.makeOptionMandatory(false);
    model.description = "model to evaluate: a .gguf file or a Hugging Face folder (or use --endpoint / --samples)";
    const ctx = cmd.options.find((x) => x.long === "--ctx");
    if (ctx) ctx.description = `KV cache positions (default ${DEFAULT_CTX})`;
    cmd
      .option("--endpoint <url>", "an OpenAI-compatible server (vLLM, TGI, llama.cpp server, ollama), e.g. http://localhost:8000/v1; $OPENAI_API_KEY is sent as its key when set")
      .option("--model-name <name>", "the model name to ask the --endpoint for")
      .option("--samples <file>", "score these completions instead of generating: JSONL with {\"task_id\", \"completion\"} per line")
      .option("--k <list>", "the ks of pass@k, e.g. 1,10,100 (pass@1 greedy; larger ks from --n samples at T=0.8, p=0.95)", parseKList, [1])
      .option("--n <count>", "samples per task for pass@k with k > 1 (default 200)", num("--n", { int: true, min: 1 }))
      .option("--temperature <t>", "sample every k from one setup at this temperature (default: the paper's: greedy for pass@1, 0.8 for larger k)", num("--temperature", { min: 0 }))
      .option("--top-p <p>", "nucleus sampling p (default 0.95)", num("--top-p", { min: 0, max: 1 }))
      .option("--max-tokens <n>", `most tokens per sample (default ${DEFAULT_MAX_TOKENS})`, num("--max-tokens", { int: true, min: 1 }))
      .option("--seed <s>", "seed of the samples (sample i of a task uses a seed from it, the task and i)", num("--seed", { int: true, min: 0, max: 2 ** 32 - 1 }), 0)
      .option("--out <dir>", "run folder: samples, results and the report; rerun with it to carry on (default codellama-eval/<benchmark>-<model>)")
      .option("--json", "print one summary object as JSON (no progress bars)")
      .option("--data <path>", "a local copy of the data (a folder laid out like the official files, e.g. ../shared/data) instead of the download cache")
      .option("--compare [model]", "show the paper's figures for this model (default: guessed from the model's name), e.g. python-13b")
      .option("--limit <n>", "only the first n tasks", num("--limit", { int: true, min: 1 }))
      .option("--tasks <list>", "only these tasks: ids or numbers, comma-separated (e.g. HumanEval/0,5)")
      .option("--workers <n>", "programs run at once in the sandbox (default: the number of cores)", num("--workers", { int: true, min: 1, max: 256 }))
      .option("--parallel <n>", "samples generated together: KV sequences of a local model (default min(n, 4)), requests in flight to an endpoint (default 4)", num("--parallel", { int: true, min: 1, max: 256 }))
      .option("--unsafe-no-sandbox", "run the generated code without the sandbox (only for code you trust)");
    if (isInfill(b)) cmd.addOption(new Option("--mode <mode>", "infilling prompt: prefix-suffix-middle or suffix-prefix-middle").choices(["psm", "spm"]));
    else cmd.addOption(new Option("--mode <mode>").hideHelp());
    cmd.action((o: EvalBenchOptions) => action(b, o));
  }
  // `codellama eval <something else>`: one line naming what exists.
  group.argument("[benchmark]").allowUnknownOption().allowExcessArguments().action((name?: string) => {
    const known = group.commands.map((c) => c.name());
    if (name === undefined) throw new UserError(`name what to evaluate: codellama eval <${known.join("|")}> ...`);
    throw new UserError(`unknown benchmark "${name}"; choose one of: ${known.join(", ")}`);
  });
}
