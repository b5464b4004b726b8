/**
 * `codellama bench --model FILE [--threads N] [--prompt-tokens 512] [--gen-tokens 128] [--repeat R] [--peer] [--json]`:
 * prefill and decode speed of our engine, optionally next to llama.cpp (node-llama-cpp) on the same
 * file, in the same process, with the same thread count.
 *
 * A round: prefill P token ids (BOS + P-1 seeded random ids in 3..vocab-1) in batch-sized chunks,
 * timed; then G single-token decode steps, timed, each feeding the argmax of the previous logits
 * (positions P..P+G-1). Round 0 is a short warm-up (32 + 8 tokens, pages the weights in) that is
 * not counted. With --peer every round runs ours and then llama.cpp, interleaved, and llama.cpp
 * runs exactly as the team's tools/peer.mjs --bench: F16 KV cache, flash attention "auto", batch
 * 512, `evaluateWithoutGeneratingNewTokens` for the P prompt tokens, then `evaluate([next prompt
 * token], {temperature: 0})`, its decode clock starting at the first yielded token (so it times G
 * steps at positions P+1..P+G, sampling included).
 *
 * Reported: tok/s min/median/max over the rounds, "cpu share" per round (process CPU time /
 * (wall x threads); well under 1 means other work took our cores), achieved decode GB/s, and, from
 * one extra profiled round of ours, the share of wall time per kernel for prefill and decode.
 *
 * Decode bytes per token = every layer matrix and norm (as loaded) + output_norm + output.weight
 * + the KV cache read by attention: 2 (K and V) x layers x (pos + 1) x kvDim x 2 bytes (F16) at the
 * mean decode position; token_embd is not counted (one row is read). GB/s = that x tok/s.
 */
import { cpus, loadavg } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { typeName } from "../../format/ggml-types.js";
import { openModel } from "../../format/model-file.js";
import { LlamaModel } from "../../model/llama.js";
import { UserError } from "../../util/errors.js";
import { Rng } from "../../util/rng.js";
import { num } from "../options.js";

export const PEER_INSTALL = "npm install --no-save node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1";

export interface BenchOptions {
  model: string;
  /** Threads for both engines (default: all cores). */
  threads?: number;
  promptTokens?: number;
  genTokens?: number;
  /** Measured rounds (default 3), after one warm-up round. */
  repeat?: number;
  /** Our prefill chunk (default 64). */
  batch?: number;
  /** Also run llama.cpp (node-llama-cpp). */
  peer?: boolean;
  /** Before each measured round wait up to this many seconds for the machine to be < 10% busy (Linux). */
  waitIdle?: number;
  /** Seed of the prompt ids (default 1). */
  seed?: number;
  /** Progress lines (per round); default: stderr. */
  log?: (line: string) => void;
}

export interface Stats { median: number; min: number; max: number }
export interface Round { prefill: number; decode: number; cpuShare: { prefill: number; decode: number }; busyBefore?: number }
export interface EngineResult {
  prefill: Stats;
  decode: Stats;
  /** Median decode tok/s x decode bytes per token, in GB/s (1e9 bytes). */
  decodeGBs: number;
  rounds: Round[];
}
export interface KernelSplit {
  /** Percent of wall time per kernel; "other" is the rest (JS, embedding rows, copies). */
  prefill: Record<string, number>;
  decode: Record<string, number>;
  /** Wall ms of the profiled prefill and decode. */
  prefillMs: number;
  decodeMs: number;
}
export interface BenchResult {
  model: string;
  threads: number;
  variant: string;
  batch: number;
  promptTokens: number;
  genTokens: number;
  repeat: number;
  fileSize: number;
  /** Type counts of the 2-D tensors, e.g. "Q4_0 x225, Q6_K x1". */
  types: string;
  /** Bytes read per decoded token: weights (layers + output) and KV cache at the mean decode position. */
  decodeBytes: { weights: number; kv: number; meanPos: number };
  ours: EngineResult & { kernels: KernelSplit; loadSeconds: number };
  peer: (EngineResult & { llamaCppRelease?: string; loadSeconds: number }) | null;
  ratio: { prefill: number; decode: number } | null;
  date: string;
  loadavg: number[];
}

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1] };
}

/** System-wide busy fraction of all cores over `ms` (Linux /proc/stat; 0 elsewhere). */
async function busyFraction(ms: number): Promise<number> {
  const rd = () => {
    const v = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: v[3] + (v[4] || 0), total: v.reduce((a, b) => a + b, 0) };
  };
  if (!existsSync("/proc/stat")) return 0;
  const a = rd();
  await new Promise((r) => setTimeout(r, ms));
  const b = rd();
  return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

async function waitIdle(maxSec: number): Promise<number> {
  const t0 = Date.now();
  let busy = 1;
  while ((Date.now() - t0) / 1000 < maxSec) {
    busy = await busyFraction(1000);
    if (busy < 0.1) break;
  }
  return busy;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpuSeconds = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;

function argmax(v: Float32Array): number {
  let best = 0, bv = v[0];
  for (let i = 1; i < v.length; i++) if (v[i] > bv) { bv = v[i]; best = i; }
  return best;
}

// ------------------------------------------------------------------ the peer (loaded only for --peer)

type PeerModule = typeof import("node-llama-cpp");
type Token = import("node-llama-cpp").Token;

async function importPeer(): Promise<PeerModule> {
  const dir = process.env.NODE_LLAMA_CPP_DIR;
  const spec = dir ? pathToFileURL(resolve(dir, "node_modules", "node-llama-cpp", "dist", "index.js")).href : "node-llama-cpp";
  try {
    return (await import(spec)) as PeerModule;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new UserError(`--peer needs llama.cpp through node-llama-cpp, which is not installed${dir ? ` under NODE_LLAMA_CPP_DIR=${dir}` : ""}: run ${PEER_INSTALL}`);
    }
    throw e;
  }
}

interface PeerRunner {
  release?: string;
  round(ids: number[], pN: number, gN: number): Promise<{ tp: number; td: number; cp: number; cd: number }>;
  dispose(): Promise<void>;
}

async function startPeer(path: string, threads: number, ctx: number): Promise<PeerRunner> {
  const { getLlama, LlamaLogLevel } = await importPeer();
  let llama;
  try {
    llama = await getLlama({
      gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error,
      logger: (level, message) => { if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`[llama.cpp] ${message.trim()}\n`); },
    });
  } catch (e) {
    throw new UserError(`--peer: node-llama-cpp could not load its prebuilt CPU binary (${(e as Error).message.split("\n")[0]}); run ${PEER_INSTALL}`);
  }
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: ctx, batchSize: 512, threads: { ideal: threads, min: threads }, flashAttention: "auto",
    experimentalKvCacheKeyType: "F16", experimentalKvCacheValueType: "F16", sequences: 1,
  });
  const seq = context.getSequence();
  return {
    release: llama.llamaCppRelease?.release,
    async round(ids, pN, gN) {
      await seq.clearHistory();
      let c0 = process.cpuUsage();
      let t0 = now();
      await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, pN) as Token[]);
      const tp = now() - t0;
      const cp = cpuSeconds(process.cpuUsage(c0));
      // decode: feed the next prompt token, then gN single-token greedy steps; the clock starts at the first yield
      let n = 0, tFirst = 0;
      for await (const _tok of seq.evaluate([ids[pN] as Token], { temperature: 0, yieldEogToken: true })) {
        if (n === 0) { tFirst = now(); c0 = process.cpuUsage(); }
        if (++n > gN) break;
      }
      const td = now() - tFirst;
      return { tp, td, cp, cd: cpuSeconds(process.cpuUsage(c0)) };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

// ------------------------------------------------------------------ the bench

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const P = o.promptTokens ?? 512, G = o.genTokens ?? 128, R = o.repeat ?? 3;
  const threads = o.threads ?? cpus().length;
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  if (!existsSync(o.model)) throw new UserError(`${o.model}: no such file`);
  const ctx = P + G + 16;

  // 1. Ours.
  const file = openModel(o.model);
  let model: LlamaModel | undefined;
  let peer: PeerRunner | undefined;
  try {
    const c = file.config;
    if (c.vocabSize <= 3) throw new UserError(`${o.model}: the vocabulary (${c.vocabSize}) is too small for random prompts`);
    const typeCount = new Map<string, number>();
    for (const t of file.tensors.values()) if (t.dims.length >= 2) typeCount.set(typeName(t.type), (typeCount.get(typeName(t.type)) ?? 0) + 1);
    let t0 = now();
    model = await LlamaModel.load(file, { threads, ctx, batch: o.batch ?? 64, kvType: "f16" });
    const loadSeconds = now() - t0;

    // Decode bytes per token.
    let weights = model.plan.output.nbytes + model.plan.outputNorm.nbytes;
    for (const L of model.plan.layers) {
      for (const k of ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] as const) weights += L[k].nbytes;
    }
    const meanPos = P + (G - 1) / 2; // ours decodes at positions P..P+G-1
    const kvBytesAt = (pos: number) => 2 * c.nLayers * (pos + 1) * c.nKVHeads * c.headDim * 2;
    const kv = kvBytesAt(meanPos);

    // Prompt ids: BOS + random ids in 3..vocab-1, one more for the peer's first decode input.
    const rng = new Rng([o.seed ?? 1, P]);
    const ids = [c.special.bos ?? 1];
    while (ids.length < P + 1) ids.push(3 + rng.int(c.vocabSize - 3));

    // 2. The peer, loaded now so both stay resident for the interleaved rounds.
    let peerLoad = 0;
    if (o.peer) {
      t0 = now();
      peer = await startPeer(resolve(o.model), threads, Math.max(1024, ctx));
      peerLoad = now() - t0;
    }

    const m = model;
    const oursRound = (pN: number, gN: number) => {
      let c0 = process.cpuUsage();
      let t = now();
      let logits = m.prefill(ids.slice(0, pN), 0, "last");
      const tp = now() - t;
      const cp = cpuSeconds(process.cpuUsage(c0));
      c0 = process.cpuUsage();
      t = now();
      for (let i = 0; i < gN; i++) logits = m.forward([argmax(logits)], pN + i, "last");
      const td = now() - t;
      return { tp, td, cp, cd: cpuSeconds(process.cpuUsage(c0)) };
    };

    const ours: Round[] = [], theirs: Round[] = [];
    const share = (cpu: number, wall: number) => cpu / wall / threads;
    for (let r = 0; r <= R; r++) {
      const warm = r === 0;
      const pN = warm ? Math.min(P, 32) : P, gN = warm ? Math.min(G, 8) : G;
      const busyBefore = !warm && o.waitIdle ? await waitIdle(o.waitIdle) : undefined;
      const a = oursRound(pN, gN);
      if (!warm) ours.push({ prefill: P / a.tp, decode: G / a.td, cpuShare: { prefill: share(a.cp, a.tp), decode: share(a.cd, a.td) }, busyBefore });
      let line = warm ? "  warm-up done" : `  round ${r}: ours prefill ${(P / a.tp).toFixed(2)} tok/s (cpu ${share(a.cp, a.tp).toFixed(2)}), decode ${(G / a.td).toFixed(2)} tok/s (cpu ${share(a.cd, a.td).toFixed(2)})`;
      if (peer) {
        const busy2 = !warm && o.waitIdle ? await waitIdle(o.waitIdle) : undefined;
        const b = await peer.round(ids, pN, gN);
        if (!warm) {
          theirs.push({ prefill: P / b.tp, decode: G / b.td, cpuShare: { prefill: share(b.cp, b.tp), decode: share(b.cd, b.td) }, busyBefore: busy2 });
          line += `; llama.cpp prefill ${(P / b.tp).toFixed(2)} (cpu ${share(b.cp, b.tp).toFixed(2)}), decode ${(G / b.td).toFixed(2)} (cpu ${share(b.cd, b.td).toFixed(2)})`;
        }
      }
      log(line + (warm ? "" : `; loadavg ${loadavg()[0].toFixed(2)}`));
    }

    // 3. One profiled round of ours: the time split by kernel.
    const split = (times: Record<string, number>, wallMs: number) => {
      const out: Record<string, number> = {};
      let sum = 0;
      for (const [k, v] of Object.entries(times).sort((x, y) => y[1] - x[1])) { out[k] = (100 * v) / wallMs; sum += v; }
      out.other = Math.max(0, (100 * (wallMs - sum)) / wallMs);
      return out;
    };
    const reset = () => { for (const k of Object.keys(m.times)) delete m.times[k]; };
    m.profile = true;
    reset();
    let t = now();
    let logits = m.prefill(ids.slice(0, P), 0, "last");
    const prefillMs = (now() - t) * 1e3;
    const prefillSplit = split(m.times, prefillMs);
    reset();
    t = now();
    for (let i = 0; i < G; i++) logits = m.forward([argmax(logits)], P + i, "last");
    const decodeMs = (now() - t) * 1e3;
    const decodeSplit = split(m.times, decodeMs);
    m.profile = false;
    reset();

    const bytesPerToken = weights + kv;
    const engine = (rounds: Round[], bytes: number): EngineResult => {
      const d = stats(rounds.map((x) => x.decode));
      return { prefill: stats(rounds.map((x) => x.prefill)), decode: d, decodeGBs: (d.median * bytes) / 1e9, rounds };
    };
    const oursRes = { ...engine(ours, bytesPerToken), kernels: { prefill: prefillSplit, decode: decodeSplit, prefillMs, decodeMs }, loadSeconds };
    const peerRes = peer ? { ...engine(theirs, weights + kvBytesAt(meanPos + 1)), llamaCppRelease: peer.release, loadSeconds: peerLoad } : null;
    return {
      model: o.model, threads, variant: m.variant, batch: m.batch, promptTokens: P, genTokens: G, repeat: R, fileSize: file.fileSize,
      types: [...typeCount].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} x${v}`).join(", "),
      decodeBytes: { weights, kv, meanPos },
      ours: oursRes,
      peer: peerRes,
      ratio: peerRes ? { prefill: oursRes.prefill.median / peerRes.prefill.median, decode: oursRes.decode.median / peerRes.decode.median } : null,
      date: new Date().toISOString(),
      loadavg: loadavg(),
    };
  } finally {
    await peer?.dispose();
    await model?.close();
    file.close();
  }
}

// ------------------------------------------------------------------ output

const f2 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mmm = (s: Stats) => `${f2(s.min)} / ${f2(s.median)} / ${f2(s.max)}`;
const gbs = (b: number) => `${(b / 1e9).toFixed(2)} GB`;

export function formatBench(r: BenchResult): string {
  const L: string[] = [];
  L.push(`model ${basename(r.model)} (${gbs(r.fileSize)}; ${r.types})  threads ${r.threads}  variant ${r.variant}  batch ${r.batch}`);
  L.push(`prefill ${r.promptTokens} tokens, decode ${r.genTokens}; ${r.repeat} rounds after a warm-up; tok/s min / median / max`);
  const rows: string[][] = [["", "prefill tok/s", "decode tok/s", "decode GB/s", "cpu share p/d (min)"]];
  const minShare = (e: EngineResult) => `${Math.min(...e.rounds.map((x) => x.cpuShare.prefill)).toFixed(2)} / ${Math.min(...e.rounds.map((x) => x.cpuShare.decode)).toFixed(2)}`;
  rows.push(["ours", mmm(r.ours.prefill), mmm(r.ours.decode), r.ours.decodeGBs.toFixed(1), minShare(r.ours)]);
  if (r.peer) {
    rows.push([`llama.cpp ${r.peer.llamaCppRelease ?? ""}`.trim(), mmm(r.peer.prefill), mmm(r.peer.decode), r.peer.decodeGBs.toFixed(1), minShare(r.peer)]);
    rows.push(["ours / llama.cpp", `${r.ratio!.prefill.toFixed(2)}x`, `${r.ratio!.decode.toFixed(2)}x`, "", ""]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) L.push(row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("   ").trimEnd());
  L.push(`decode bytes/token: weights ${gbs(r.decodeBytes.weights)} + F16 KV ${gbs(r.decodeBytes.kv)} (mean position ${r.decodeBytes.meanPos})`);
  const ks = (s: Record<string, number>) => Object.entries(s).filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(", ");
  L.push(`our kernels, prefill (${(r.ours.kernels.prefillMs / 1e3).toFixed(2)} s profiled): ${ks(r.ours.kernels.prefill)}`);
  L.push(`our kernels, decode  (${(r.ours.kernels.decodeMs / 1e3).toFixed(2)} s profiled): ${ks(r.ours.kernels.decode)}`);
  return L.join("\n");
}

/** The --json shape. */
export function benchJSON(r: BenchResult): object {
  const eng = (e: EngineResult) => ({ prefill: e.prefill, decode: e.decode, decodeGBs: e.decodeGBs, rounds: e.rounds });
  return {
    model: r.model, threads: r.threads, variant: r.variant, batch: r.batch, promptTokens: r.promptTokens, genTokens: r.genTokens, repeat: r.repeat,
    fileSize: r.fileSize, types: r.types, decodeBytes: r.decodeBytes,
    ours: { ...eng(r.ours), kernels: r.ours.kernels, loadSeconds: r.ours.loadSeconds },
    peer: r.peer ? { ...eng(r.peer), llamaCppRelease: r.peer.llamaCppRelease, loadSeconds: r.peer.loadSeconds } : null,
    ratio: r.ratio, date: r.date, loadavg: r.loadavg,
  };
}

interface BenchCliOptions {
  model: string; threads?: number; promptTokens: number; genTokens: number; repeat: number; batch: number; peer?: boolean; json?: boolean; waitIdle?: number; seed: number;
}

export function register(program: Command): void {
  program
    .command("bench")
    .description("prefill and decode speed (tok/s, GB/s, time per kernel), optionally against llama.cpp on the same file")
    .requiredOption("-m, --model <file>", "a .gguf file (or model folder)")
    .option("-t, --threads <n>", "threads, for both engines (default: all cores)", num("--threads", { int: true, min: 1, max: 256 }))
    .option("--prompt-tokens <n>", "prefill length (BOS + random ids)", num("--prompt-tokens", { int: true, min: 1 }), 512)
    .option("--gen-tokens <n>", "decode steps", num("--gen-tokens", { int: true, min: 1 }), 128)
    .option("--repeat <n>", "measured rounds (after one short warm-up)", num("--repeat", { int: true, min: 1 }), 3)
    .option("--batch <n>", "our prefill chunk", num("--batch", { int: true, min: 1, max: 4096 }), 64)
    .option("--peer", "also run llama.cpp (node-llama-cpp) on the same file, interleaved round by round")
    .option("--wait-idle <s>", "before each measured run wait up to s seconds for the machine to be <10% busy", num("--wait-idle", { min: 0 }))
    .option("--seed <n>", "seed of the random prompt", num("--seed", { int: true, min: 0, max: 2 ** 32 - 1 }), 1)
    .option("--json", "print one JSON object")
    .action(async (o: BenchCliOptions) => {
      const r = await runBench({
        model: o.model, threads: o.threads, promptTokens: o.promptTokens, genTokens: o.genTokens, repeat: o.repeat, batch: o.batch,
        peer: o.peer, waitIdle: o.waitIdle, seed: o.seed,
      });
      process.stdout.write((o.json ? JSON.stringify(benchJSON(r)) : formatBench(r)) + "\n");
    });
}
