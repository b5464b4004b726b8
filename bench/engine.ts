/**
 * Engine benchmark: our prefill/decode speed against llama.cpp (node-llama-cpp) on random-weight
 * Llama files, one `codellama bench --peer --json` child process per model (so each model's
 * memory is returned before the next one loads), and one table at the end.
 *
 * Models (generated once into .cache/bench/, reused while their sidecar `<file>.json` records the
 * same generation options and file size):
 *   small-q4_0, small-q8_0   dim 512, 8 layers, 8 heads / 4 kv, ffn 1376 (normal fill)
 *   7b-q4_0, 7b-q8_0, 7b-q4_k_m   Code Llama 7B shapes (fast fill: quantised bytes drawn directly)
 * All use the llama SPM vocabulary + Code Llama's 16 FIM pieces (32016 tokens) when the team's
 * shared vocab GGUF is present, else the built-in byte vocabulary padded to 32016.
 *
 * Select models with BENCH_MODELS (comma list of names or prefixes: "small", "7b-q4_0", ...).
 * Other knobs: BENCH_THREADS (2), BENCH_PROMPT (512), BENCH_GEN (128), BENCH_REPEAT (3),
 * BENCH_PEER=0 (ours only), BENCH_WAIT_IDLE (seconds, default 0), BENCH_BATCH (our prefill chunk).
 * Run directly with `node dist/bench/engine.js`, or call `benchEngine()` (bench/run.ts does).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeSynthLlama, type SynthLlamaOptions } from "../src/format/synth-llama.js";
import { packageRoot } from "../src/util/package-root.js";

export interface BenchEngineOptions {
  /** Model names or prefixes (default: BENCH_MODELS, else all). */
  models?: string[];
  threads?: number;
  promptTokens?: number;
  genTokens?: number;
  repeat?: number;
  /** Run llama.cpp too (default true). */
  peer?: boolean;
  /** Seconds to wait for an idle machine before each measured run (default 0). */
  waitIdle?: number;
  /** Our prefill chunk (default: the bench command's). */
  batch?: number;
  /** Where the model files go (default <repo>/.cache/bench). */
  dir?: string;
  log?: (line: string) => void;
}

export interface BenchEngineRow {
  name: string;
  file: string;
  /** The `codellama bench --json` object (see src/cli/commands/bench.ts), or the error. */
  result?: BenchJSON;
  error?: string;
}

interface Stats { median: number; min: number; max: number }
interface EngineJSON { prefill: Stats; decode: Stats; decodeGBs: number; rounds: { cpuShare: { prefill: number; decode: number } }[] }
export interface BenchJSON {
  model: string; threads: number; variant: string; batch: number; fileSize: number; types: string;
  ours: EngineJSON & { kernels: { prefill: Record<string, number>; decode: Record<string, number> } };
  peer: (EngineJSON & { llamaCppRelease?: string }) | null;
  ratio: { prefill: number; decode: number } | null;
  date: string;
}

/** The repository root. */
const ROOT = packageRoot();
const SHARED_VOCAB = join(process.env.CODELLAMA_SHARED ?? join(ROOT, "..", "shared"), "data", "llama-spm-vocab", "ggml-vocab-llama-spm.gguf");

const SMALL = { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1376 };
const MODELS: { name: string; opts: SynthLlamaOptions }[] = [
  { name: "small-q4_0", opts: { ...SMALL, type: "q4_0", fill: "normal" } },
  { name: "small-q8_0", opts: { ...SMALL, type: "q8_0", fill: "normal" } },
  { name: "7b-q4_0", opts: { preset: "7b", type: "q4_0", fill: "fast" } },
  { name: "7b-q8_0", opts: { preset: "7b", type: "q8_0", fill: "fast" } },
  { name: "7b-q4_k_m", opts: { preset: "7b", type: "q4_k_m", fill: "fast" } },
];
export const BENCH_MODEL_NAMES = MODELS.map((m) => m.name);

function vocabOptions(): SynthLlamaOptions {
  return existsSync(SHARED_VOCAB) ? { vocab: SHARED_VOCAB, fim: true } : { vocab: "bytes", vocabSize: 32016 };
}

/** The model file for `name`, generated unless a file with a matching sidecar is already there. */
export function ensureBenchModel(name: string, dir: string, log: (l: string) => void): string {
  const spec = MODELS.find((m) => m.name === name);
  if (!spec) throw new Error(`unknown bench model ${name} (known: ${BENCH_MODEL_NAMES.join(", ")})`);
  const file = join(dir, `${name}.gguf`), side = `${file}.json`;
  const opts: SynthLlamaOptions = { ...spec.opts, ...vocabOptions(), seed: 1, name: `bench-${name}` };
  const key = JSON.stringify(opts);
  if (existsSync(file) && existsSync(side)) {
    try {
      const s = JSON.parse(readFileSync(side, "utf8")) as { options: string; size: number };
      if (s.options === key && s.size === statSync(file).size) return file;
    } catch { /* regenerate */ }
  }
  mkdirSync(dir, { recursive: true });
  log(`generating ${file} ...`);
  const t0 = Date.now();
  writeSynthLlama(file, opts);
  writeFileSync(side, JSON.stringify({ options: key, size: statSync(file).size, written: new Date().toISOString() }) + "\n");
  log(`  ${(statSync(file).size / 1e9).toFixed(2)} GB in ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
  return file;
}

function selected(patterns: string[] | undefined): string[] {
  const env = process.env.BENCH_MODELS?.split(",").map((s) => s.trim()).filter(Boolean);
  const pats = patterns ?? env;
  if (!pats?.length) return BENCH_MODEL_NAMES;
  const out = BENCH_MODEL_NAMES.filter((n) => pats.some((p) => n === p || n.startsWith(p)));
  const unknown = pats.filter((p) => !BENCH_MODEL_NAMES.some((n) => n === p || n.startsWith(p)));
  if (unknown.length) throw new Error(`BENCH_MODELS: unknown ${unknown.join(", ")} (known: ${BENCH_MODEL_NAMES.join(", ")})`);
  return out;
}

const envNum = (k: string): number | undefined => (process.env[k] ? Number(process.env[k]) : undefined);

/** The CLI to spawn: the compiled one, or the TypeScript source under tsx when this runs as .ts. */
function cli(): string[] {
  return import.meta.url.endsWith(".ts") ? ["--import", "tsx", join(ROOT, "src/cli/main.ts")] : [join(ROOT, "dist/src/cli/main.js")];
}

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The summary table (medians; ratios are ours / llama.cpp). */
export function formatEngineTable(rows: BenchEngineRow[]): string {
  const head = ["model", "ours prefill", "ours decode", "peer prefill", "peer decode", "prefill ratio", "decode ratio", "ours GB/s", "peer GB/s", "min cpu share"];
  const t: string[][] = [head];
  for (const r of rows) {
    const j = r.result;
    if (!j) { t.push([r.name, `error: ${r.error}`, "", "", "", "", "", "", "", ""]); continue; }
    const share = (e: EngineJSON | null) => (e ? Math.min(...e.rounds.flatMap((x) => [x.cpuShare.prefill, x.cpuShare.decode])).toFixed(2) : "-");
    t.push([
      r.name, f(j.ours.prefill.median), f(j.ours.decode.median),
      j.peer ? f(j.peer.prefill.median) : "-", j.peer ? f(j.peer.decode.median) : "-",
      j.ratio ? `${j.ratio.prefill.toFixed(2)}x` : "-", j.ratio ? `${j.ratio.decode.toFixed(2)}x` : "-",
      j.ours.decodeGBs.toFixed(1), j.peer ? j.peer.decodeGBs.toFixed(1) : "-", `${share(j.ours)} / ${share(j.peer)}`,
    ]);
  }
  const ok = t.filter((row) => !row[1].startsWith("error"));
  const w = head.map((_, i) => Math.max(...ok.map((row) => row[i].length)));
  return t.map((row) => (row[1].startsWith("error") ? `${row[0].padEnd(w[0])}   ${row[1]}` : row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("   "))).join("\n");
}

export async function benchEngine(opts: BenchEngineOptions = {}): Promise<BenchEngineRow[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const dir = opts.dir ?? join(ROOT, ".cache", "bench");
  const threads = opts.threads ?? envNum("BENCH_THREADS") ?? Math.min(2, cpus().length);
  const P = opts.promptTokens ?? envNum("BENCH_PROMPT") ?? 512, G = opts.genTokens ?? envNum("BENCH_GEN") ?? 128;
  const R = opts.repeat ?? envNum("BENCH_REPEAT") ?? 3;
  const peer = opts.peer ?? process.env.BENCH_PEER !== "0";
  const waitIdle = opts.waitIdle ?? envNum("BENCH_WAIT_IDLE") ?? 0;
  const batch = opts.batch ?? envNum("BENCH_BATCH");
  const names = selected(opts.models);

  log(`engine bench: ${names.join(", ")}; ${threads} threads, prefill ${P}, decode ${G}, ${R} rounds${peer ? ", against llama.cpp" : ""}`);
  const rows: BenchEngineRow[] = [];
  for (const name of names) {
    const file = ensureBenchModel(name, dir, log);
    log(`${name}:`);
    const args = [...cli(), "bench", "--model", file, "--threads", String(threads), "--prompt-tokens", String(P), "--gen-tokens", String(G), "--repeat", String(R), "--json"];
    if (peer) args.push("--peer");
    if (waitIdle) args.push("--wait-idle", String(waitIdle));
    if (batch) args.push("--batch", String(batch));
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      rows.push({ name, file, error: `exit ${r.status ?? r.signal}` });
      continue;
    }
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as BenchJSON;
    rows.push({ name, file, result });
    const k = (s: Record<string, number>) => Object.entries(s).filter(([, v]) => v >= 1).map(([n, v]) => `${n} ${v.toFixed(0)}%`).join(", ");
    log(`  ours: prefill ${f(result.ours.prefill.median)} tok/s, decode ${f(result.ours.decode.median)} tok/s (${result.ours.decodeGBs.toFixed(1)} GB/s)` +
      (result.peer ? `; llama.cpp: prefill ${f(result.peer.prefill.median)}, decode ${f(result.peer.decode.median)}` : ""));
    log(`  our kernels, prefill: ${k(result.ours.kernels.prefill)}`);
    log(`  our kernels, decode:  ${k(result.ours.kernels.decode)}`);
  }
  log("");
  log(`engine bench ${new Date().toISOString()}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${threads} threads, prefill ${P} / decode ${G} tok/s (medians of ${R})`);
  log(formatEngineTable(rows));
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `results-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify(rows, null, 1) + "\n");
  log(`(full results: ${out})`);
  return rows;
}

// `node dist/bench/engine.js` runs it directly.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchEngine();
