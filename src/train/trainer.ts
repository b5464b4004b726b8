/**
 * The training loop: data -> micro-batches -> forward/backward (model.ts) -> AdamW (optimizer.ts),
 * with validation loss every `evalEvery` steps, checkpoints every `ckptEvery` steps (checkpoint.ts),
 * a log (RUN/log.jsonl, one JSON line per step), a loss-curve SVG (RUN/loss.svg) and the final model
 * (RUN/model.gguf, and `export` when set).
 *
 * Resuming restores the weights, the AdamW moments, the step, the data sampler's counters and
 * therefore the RNG streams (every random choice is a function of the seed and a counter), so N
 * steps + resume + N steps gives the same bits as 2N steps in one go (for the same thread count or
 * not: every kernel sums in an order fixed by the shapes). The loss of each step is the mean over
 * all target tokens of its gradAccum micro-batches.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { GGUFFile } from "../format/gguf-reader.js";
import type { GGUFMetaValue } from "../format/gguf-types.js";
import { writeGGUF } from "../format/gguf-writer.js";
import type { KernelVariant } from "../kernels/wasm.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import { lineChart } from "../util/svg-plot.js";
import {
  checkModel, DEFAULT_MODEL, TRAJECTORY_KEYS, type ModelSettings, type TrainConfig,
} from "./config.js";
import {
  findCheckpoint, ggufShape, loadWeights, modelGGUF, readTrainState, tokenizerMetadata, writeCheckpoint, type TrainState,
} from "./checkpoint.js";
import { DatasetSource, Sampler, sequenceTargets, type SequenceSource } from "./data.js";
import type { TrainBackend } from "./exec.js";
import { TrainModel } from "./model.js";
import { adamwStep } from "./optimizer.js";
import { initParams, type LlamaShape } from "./params.js";

export interface StepLog {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  /** Training tokens per second over this step. */
  tokPerSec: number;
  valLoss?: number;
}

export interface TrainOptions {
  /** Resume from this run folder (its latest.json) or step-*.gguf. */
  resume?: string;
  /** Start afresh even though `out` already holds a run's checkpoints (they are overwritten). */
  overwrite?: boolean;
  backend?: TrainBackend;
  variant?: KernelVariant;
  /** Called after every step (progress display). */
  onStep?: (s: StepLog, total: number) => void;
  /** Called once the model is built, before the first step. */
  onStart?: (info: { startStep: number; total: number; params: number; shape: LlamaShape; memoryBytes: number; threads: number }) => void;
  /** Stop (after writing a checkpoint) once this many steps are done: an interruption, for tests and Ctrl-C. */
  stopAfter?: number;
  /** Polled after every step; true = checkpoint and stop. */
  shouldStop?: () => boolean;
  /** Sources held in memory instead of dataset folders (tests), with the tokenizer's GGUF metadata. */
  sources?: { train: SequenceSource[]; val?: SequenceSource; vocabSize: number; tokenizer: [string, GGUFMetaValue][] };
}

export interface TrainResult {
  step: number;
  finished: boolean;
  lastLoss: number;
  valLoss?: number;
  /** RUN/model.gguf once finished, else the last checkpoint's GGUF. */
  model: string;
  log: StepLog[];
}

/** What the run was trained from, to tell an interrupted run from a different one. */
function trajectory(cfg: TrainConfig): Record<string, unknown> {
  return Object.fromEntries(TRAJECTORY_KEYS.map((k) => [k, cfg[k]]));
}

function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  if (typeof a === "object" && a && typeof b === "object" && b) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : path;
}

export async function train(cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  // 1. Data: every source's sequences must be seqLen long and share one vocabulary.
  let trainSources: SequenceSource[], valSource: SequenceSource | undefined, vocab: number, tokMeta: [string, GGUFMetaValue][] | undefined;
  const opened: SequenceSource[] = [];
  if (opts.sources) {
    trainSources = opts.sources.train;
    valSource = opts.sources.val;
    vocab = opts.sources.vocabSize;
    tokMeta = opts.sources.tokenizer;
  } else {
    trainSources = cfg.data.map((d) => { const s = new DatasetSource(d.path, "train"); opened.push(s); return s; });
    const manifests = (trainSources as DatasetSource[]).map((s) => s.ds.manifest);
    const fp = manifests[0].tokenizer.sha256;
    manifests.forEach((m, i) => {
      if (m.tokenizer.sha256 !== fp) throw new UserError(`dataset ${cfg.data[i].path} was tokenized with a different vocabulary than ${cfg.data[0].path}`);
    });
    if (cfg.stage === "instruct" && manifests.some((m) => m.kind !== "instruct")) {
      throw new UserError(`stage "instruct" trains on instruction datasets (codellama data instruct), but ${cfg.data[manifests.findIndex((m) => m.kind !== "instruct")].path} is a ${manifests.find((m) => m.kind !== "instruct")!.kind} dataset`);
    }
    vocab = manifests[0].tokenizer.vocabSize;
    const valPath = cfg.valData ?? cfg.data[0].path;
    const vs = new DatasetSource(valPath, "val");
    opened.push(vs);
    if (vs.numSequences > 0) valSource = vs;
    if (!cfg.tokenizer && !cfg.init) {
      const f = manifests[0].tokenizer.file;
      tokMeta = existsSync(f) ? tokenizerMetadata(f) : undefined;
    }
  }
  try {
    for (const s of [...trainSources, ...(valSource ? [valSource] : [])]) {
      if (s.ctx !== cfg.seqLen) throw new UserError(`dataset ${s.name} holds sequences of ${s.ctx} tokens but "seqLen" is ${cfg.seqLen}; build it with --ctx ${cfg.seqLen} or set seqLen to ${s.ctx}`);
    }
    return await trainOn(cfg, opts, trainSources, valSource, vocab, tokMeta);
  } finally {
    for (const s of opened) s.close?.();
  }
}

async function trainOn(cfg: TrainConfig, opts: TrainOptions, trainSources: SequenceSource[], valSource: SequenceSource | undefined,
  vocab: number, tokMeta: [string, GGUFMetaValue][] | undefined): Promise<TrainResult> {
  // 2. The shape: from the checkpoint being resumed, the init model, or the config (over the defaults).
  let resumeFrom: { gguf: string; state: string } | undefined;
  let initShape: (LlamaShape & { ctx: number }) | undefined;
  if (opts.resume) {
    resumeFrom = findCheckpoint(opts.resume);
    const g = GGUFFile.open(resumeFrom.gguf);
    try {
      const saved = JSON.parse(g.getString("codellama.train.config") ?? "null") as TrainConfig | null;
      if (!saved) throw new UserError(`--resume ${opts.resume}: ${resumeFrom.gguf} has no training config`);
      const d = firstDifference(trajectory(saved), trajectory(cfg));
      if (d) {
        const get = (c: unknown) => JSON.stringify(d.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c));
        throw new UserError(`--resume ${opts.resume}: the checkpoint was trained with "${d}" = ${get(saved)}, this config has ${get(cfg)}; resume with the same settings (or start a new stage with "init")`);
      }
      initShape = ggufShape(g);
      tokMeta ??= [...g.metadata].filter(([k]) => k.startsWith("tokenizer."));
    } finally {
      g.close();
    }
  } else if (cfg.init) {
    if (!existsSync(cfg.init)) throw new UserError(`"init" ${cfg.init}: no such file`);
    const g = GGUFFile.open(cfg.init);
    try {
      initShape = ggufShape(g);
      if (!cfg.tokenizer) tokMeta ??= [...g.metadata].filter(([k]) => k.startsWith("tokenizer."));
    } finally {
      g.close();
    }
  }
  if (!opts.resume && !opts.overwrite && existsSync(join(cfg.out, "latest.json"))) {
    throw new UserError(`${cfg.out} already holds a training run; continue it with --resume, or start over with --force (its checkpoints are replaced)`);
  }
  if (cfg.tokenizer) tokMeta = tokenizerMetadata(cfg.tokenizer);
  if (!tokMeta || tokMeta.length === 0) throw new UserError(`no tokenizer for the checkpoints: set "tokenizer" to a GGUF vocabulary (codellama data vocab writes Code Llama's)`);

  const md: ModelSettings = { ...DEFAULT_MODEL, ...(initShape ?? {}), ...cfg.model, vocab } as ModelSettings;
  if (initShape) {
    for (const k of ["dim", "layers", "heads", "kvHeads", "ffn", "normEps"] as const) {
      if (cfg.model[k] !== undefined && Math.fround(cfg.model[k]!) !== Math.fround(initShape[k])) throw new UserError(`"model.${k}" is ${cfg.model[k]} but ${opts.resume ? "the checkpoint" : `"init" ${cfg.init}`} has ${initShape[k]}`);
    }
    if (initShape.vocab !== vocab) throw new UserError(`${opts.resume ? "the checkpoint" : `"init" ${cfg.init}`} has a vocabulary of ${initShape.vocab} tokens, the data ${vocab}`);
  }
  if (cfg.model.vocab !== undefined && cfg.model.vocab !== vocab) throw new UserError(`"model.vocab" is ${cfg.model.vocab} but the data's tokenizer has ${vocab} tokens`);
  checkModel(md);
  const shape: LlamaShape = { dim: md.dim, layers: md.layers, heads: md.heads, kvHeads: md.kvHeads, ffn: md.ffn, vocab, normEps: md.normEps, ropeTheta: md.ropeTheta };

  // 3. The model and its starting weights.
  const threads = cfg.threads || cpus().length;
  const model = await TrainModel.create(shape, { batch: cfg.batchSize, seqLen: cfg.seqLen, chunk: cfg.logitChunk, threads, backend: opts.backend, variant: opts.variant });
  try {
    mkdirSync(cfg.out, { recursive: true });
    if (!resumeFrom) clearRun(cfg.out);
    const params = model.params(), { m, v } = model.moments();
    let state: TrainState | undefined;
    if (resumeFrom) {
      const g = GGUFFile.open(resumeFrom.gguf);
      try { loadWeights(g, model.layout, params); } finally { g.close(); }
      state = readTrainState(resumeFrom.state, { m, v, params });
      const g2 = GGUFFile.open(resumeFrom.gguf);
      const id = g2.getString("codellama.train.id");
      g2.close();
      if (id !== state.id) throw new UserError(`--resume: ${resumeFrom.gguf} and ${resumeFrom.state} belong to different checkpoints`);
    } else if (cfg.init) {
      const g = GGUFFile.open(cfg.init);
      try { loadWeights(g, model.layout, params); } finally { g.close(); }
    } else {
      initParams(model.layout, params, cfg.seed, cfg.initStd);
    }
    return await loop(cfg, opts, model, trainSources, valSource, tokMeta, state);
  } finally {
    await model.close();
  }
}

async function loop(cfg: TrainConfig, opts: TrainOptions, model: TrainModel, trainSources: SequenceSource[], valSource: SequenceSource | undefined,
  tokMeta: [string, GGUFMetaValue][], state: TrainState | undefined): Promise<TrainResult> {
  const B = cfg.batchSize, T = cfg.seqLen, N = B * T, A = cfg.gradAccum;
  const sampler = new Sampler(trainSources, cfg.data.map((d) => d.weight), cfg.seed, state?.sampler);
  const startStep = state?.step ?? 0;
  let tokensSeen = state?.tokensSeen ?? 0;
  const logPath = join(cfg.out, "log.jsonl");
  const log: StepLog[] = readLog(logPath).filter((l) => l.step <= startStep);
  opts.onStart?.({ startStep, total: cfg.steps, params: model.layout.total, shape: model.layout.shape, memoryBytes: model.memoryBytes, threads: model.exec.nThreads });

  const inputs = Array.from({ length: A }, () => new Int32Array(N)), targets = Array.from({ length: A }, () => new Int32Array(N));
  const isTarget = Array.from({ length: A }, () => new Uint8Array(N));
  const weights = new Float32Array(N), seqTok = new Int32Array(T), seqMask = new Uint8Array(T);
  const runId = createHash("sha256").update(JSON.stringify(trajectory(cfg))).digest("hex").slice(0, 16);

  const checkpoint = (step: number) => writeCheckpoint(cfg.out, {
    layout: model.layout, params: model.params(), ...model.moments(), config: cfg, tokenizer: tokMeta, keep: cfg.keepCheckpoints,
    state: { id: `${runId}-${step}`, step, tokensSeen, sampler: sampler.getState(), paramCount: model.layout.total, masterWeights: false },
  });
  let lastLoss = NaN, lastVal: number | undefined, lastCkpt = startStep;
  let step = startStep;
  for (; step < cfg.steps; step++) {
    const t0 = performance.now();
    // the step's micro-batches (their target count normalises the loss)
    let count = 0;
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) {
        sampler.next(seqTok, seqMask);
        count += sequenceTargets(seqTok, seqMask, inputs[a].subarray(b * T, (b + 1) * T), targets[a].subarray(b * T, (b + 1) * T), isTarget[a].subarray(b * T, (b + 1) * T));
      }
    }
    model.zeroGrads();
    let lossSum = 0;
    for (let a = 0; a < A; a++) {
      for (let i = 0; i < N; i++) weights[i] = isTarget[a][i] / Math.max(1, count);
      const losses = model.forward(inputs[a], targets[a], weights);
      model.backward();
      for (let i = 0; i < N; i++) if (isTarget[a][i]) lossSum += losses[i];
    }
    const st = adamwStep(model, step, cfg);
    tokensSeen += N * A;
    const dt = (performance.now() - t0) / 1000;
    lastLoss = lossSum / Math.max(1, count);
    if (!Number.isFinite(lastLoss) || !Number.isFinite(st.gradNorm)) throw new UserError(`step ${step + 1}: the loss became ${lastLoss} (gradient norm ${st.gradNorm}); lower "lr"`);
    const entry: StepLog = { step: step + 1, loss: lastLoss, lr: st.lr, gradNorm: st.gradNorm, tokens: tokensSeen, tokPerSec: (N * A) / dt };
    const done = step + 1;
    if (valSource && cfg.evalEvery > 0 && (done % cfg.evalEvery === 0 || done === cfg.steps)) {
      lastVal = evaluate(model, valSource, cfg.evalSequences);
      entry.valLoss = lastVal;
    }
    log.push(entry);
    writeFileAtomic(logPath, log.map((l) => JSON.stringify(l)).join("\n") + "\n");
    opts.onStep?.(entry, cfg.steps);
    const stop = (opts.stopAfter !== undefined && done >= opts.stopAfter) || (opts.shouldStop?.() ?? false);
    if ((cfg.ckptEvery > 0 && done % cfg.ckptEvery === 0) || done === cfg.steps || stop) {
      checkpoint(done);
      lastCkpt = done;
      if (entry.valLoss !== undefined || done === cfg.steps || stop) writeLossChart(join(cfg.out, "loss.svg"), log);
    }
    if (stop && done < cfg.steps) { step = done; break; }
  }
  const finished = step >= cfg.steps;
  let modelPath = join(cfg.out, `step-${String(lastCkpt).padStart(6, "0")}.gguf`);
  if (finished) {
    const g = modelGGUF(model.layout, model.params(), { name: `codellama-ts ${cfg.stage}`, ctx: cfg.seqLen, tokenizer: tokMeta, type: cfg.weightsType });
    modelPath = join(cfg.out, "model.gguf");
    writeGGUF(modelPath, g);
    if (cfg.export) {
      mkdirSync(join(cfg.export, ".."), { recursive: true });
      writeGGUF(cfg.export, g);
    }
    writeLossChart(join(cfg.out, "loss.svg"), log);
  }
  return { step: finished ? cfg.steps : step, finished, lastLoss, valLoss: lastVal, model: modelPath, log };
}

/** Mean loss over the target tokens of the first `n` validation sequences (in order; padded batches). */
export function evaluate(model: TrainModel, val: SequenceSource, n: number): number {
  const B = model.B, T = model.T, N = B * T;
  const count = Math.min(n, val.numSequences);
  const inputs = new Int32Array(N), targets = new Int32Array(N), isT = new Uint8Array(N);
  const tok = new Int32Array(T), mask = new Uint8Array(T);
  let sum = 0, cnt = 0;
  for (let s0 = 0; s0 < count; s0 += B) {
    isT.fill(0);
    for (let b = 0; b < B; b++) {
      if (s0 + b < count) {
        val.read(s0 + b, tok, mask);
        sequenceTargets(tok, mask, inputs.subarray(b * T, (b + 1) * T), targets.subarray(b * T, (b + 1) * T), isT.subarray(b * T, (b + 1) * T));
      } else {
        inputs.fill(0, b * T, (b + 1) * T);
        targets.fill(0, b * T, (b + 1) * T);
      }
    }
    const losses = model.forward(inputs, targets);
    for (let i = 0; i < N; i++) if (isT[i]) { sum += losses[i]; cnt++; }
  }
  return sum / Math.max(1, cnt);
}

/** Remove an earlier run's files from a run folder (a fresh start there). */
function clearRun(dir: string): void {
  for (const f of readdirSync(dir)) {
    if (/^step-\d+\.(gguf|state)$/.test(f) || ["latest.json", "log.jsonl", "loss.svg", "model.gguf"].includes(f)) rmSync(join(dir, f), { force: true });
  }
}

function readLog(path: string): StepLog[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l) as StepLog; } catch { return undefined; }
  }).filter((x): x is StepLog => x !== undefined);
}

/** Training loss (mean of each 1/50 of the run) and validation loss against step. */
export function writeLossChart(path: string, log: StepLog[]): void {
  if (log.length === 0) return;
  const bucket = Math.max(1, Math.ceil(log.length / 50));
  const trainPts: [number, number][] = [];
  for (let i = 0; i < log.length; i += bucket) {
    const part = log.slice(i, i + bucket);
    trainPts.push([part[part.length - 1].step, part.reduce((s, l) => s + l.loss, 0) / part.length]);
  }
  const valPts = log.filter((l) => l.valLoss !== undefined).map((l) => [l.step, l.valLoss!] as [number, number]);
  const svg = lineChart({
    title: "Training loss",
    x: { label: "step" },
    y: { label: "loss (nats per token)" },
    series: [{ name: "train", points: trainPts }, ...(valPts.length ? [{ name: "validation", points: valPts, dashed: true }] : [])],
  });
  writeFileAtomic(path, svg);
}
