/**
 * Training configuration: plain values in the spirit of nanoGPT's config files, one JSON object.
 * A run's settings are, from lowest to highest priority: the defaults below, a stage preset
 * (presets.ts), the `--config FILE.json`, then command-line flags. Every layer is checked with a
 * strict zod schema (an unknown key is an error naming it), and the merged result for impossible
 * shapes (dim not divisible by heads, heads not divisible by kvHeads, ...), each with a one-line
 * message naming the key.
 *
 *   {
 *     "stage": "pretrain",                  pretrain | lcft | python | instruct (informational)
 *     "model": { "dim": 256, "layers": 4, "heads": 4, "kvHeads": 4, "ffn": 688,
 *                "normEps": 1e-5, "ropeTheta": 10000 },   vocab comes from the tokenizer
 *     "data": "DATASET" | [{ "path": "DATASET", "weight": 0.75 }, ...],   codellama data build folders
 *     "valData": "DATASET",                 default: the val split of the first data folder
 *     "tokenizer": "vocab.gguf",            GGUF whose tokenizer.* keys go into checkpoints
 *                                           (default: the dataset's tokenizer file, or the init model's)
 *     "init": "model.gguf",                 start from these weights (a previous stage), fresh optimizer
 *     "out": "runs/x",                      run folder: checkpoints, log.jsonl, loss.svg, model.gguf
 *     "export": "models/default.gguf",      also write the final model here
 *     "seqLen": 256, "batchSize": 8, "gradAccum": 1, "steps": 1000,
 *     "lr": 3e-4, "minLrRatio": 0.1, "warmup": 100, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8,
 *     "weightDecay": 0.1, "gradClip": 1.0,
 *     "evalEvery": 100, "evalSequences": 64, "ckptEvery": 200, "keepCheckpoints": 2,
 *     "seed": 1, "threads": 0 (all cores), "weightsType": "f32" | "f16", "initStd": 0.02, "logitChunk": 256
 *   }
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { UserError } from "../util/errors.js";

const int = (min: number) => z.number().int().min(min);
const pos = z.number().positive();

const ModelSchema = z.strictObject({
  dim: int(4), layers: int(1), heads: int(1), kvHeads: int(1), ffn: int(4),
  /** Must equal the tokenizer's size when given. */
  vocab: int(2).optional(),
  normEps: pos, ropeTheta: pos,
});
const SourceSchema = z.strictObject({ path: z.string().min(1), weight: pos });
const STAGES = ["pretrain", "lcft", "python", "instruct"] as const;
export type Stage = (typeof STAGES)[number];

const fields = {
  stage: z.enum(STAGES),
  model: ModelSchema.partial(),
  data: z.union([z.string().min(1), z.array(SourceSchema).min(1)]),
  valData: z.string().min(1).nullable(),
  tokenizer: z.string().min(1).nullable(),
  init: z.string().min(1).nullable(),
  out: z.string().min(1),
  export: z.string().min(1).nullable(),
  seqLen: int(2), batchSize: int(1), gradAccum: int(1), steps: int(1),
  lr: pos, minLrRatio: z.number().min(0).max(1), warmup: int(0),
  beta1: z.number().min(0).lt(1), beta2: z.number().min(0).lt(1), eps: pos,
  weightDecay: z.number().min(0), gradClip: z.number().min(0),
  evalEvery: int(0), evalSequences: int(1), ckptEvery: int(0), keepCheckpoints: int(1),
  seed: int(0).max(0xffffffff), threads: int(0), weightsType: z.enum(["f32", "f16"]), initStd: pos, logitChunk: int(1),
};
/** One layer of settings (defaults, preset, file or flags): any subset of the keys. */
export const ConfigLayerSchema = z.strictObject(fields).partial();
export type ConfigLayer = z.infer<typeof ConfigLayerSchema>;

export interface ModelSettings { dim: number; layers: number; heads: number; kvHeads: number; ffn: number; vocab?: number; normEps: number; ropeTheta: number }
export interface DataSource { path: string; weight: number }

/** A complete, checked configuration. */
export interface TrainConfig {
  stage: Stage;
  /** Absent keys come from the init model (or the defaults when training from scratch). */
  model: Partial<ModelSettings>;
  data: DataSource[];
  valData: string | null;
  tokenizer: string | null;
  init: string | null;
  out: string;
  export: string | null;
  seqLen: number; batchSize: number; gradAccum: number; steps: number;
  lr: number; minLrRatio: number; warmup: number; beta1: number; beta2: number; eps: number; weightDecay: number; gradClip: number;
  evalEvery: number; evalSequences: number; ckptEvery: number; keepCheckpoints: number;
  seed: number; threads: number; weightsType: "f32" | "f16"; initStd: number; logitChunk: number;
}

/** Defaults under every preset (model: the bench / default-recipe shape). */
export const DEFAULTS: ConfigLayer = {
  stage: "pretrain",
  valData: null, tokenizer: null, init: null, export: null,
  seqLen: 256, batchSize: 8, gradAccum: 1, steps: 1000,
  lr: 3e-4, minLrRatio: 0.1, warmup: 100, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0,
  evalEvery: 100, evalSequences: 64, ckptEvery: 200, keepCheckpoints: 2,
  seed: 1, threads: 0, weightsType: "f32", initStd: 0.02, logitChunk: 256,
};
/** The model shape used when neither the config nor an init model gives one. */
export const DEFAULT_MODEL: Omit<ModelSettings, "vocab"> = { dim: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688, normEps: 1e-5, ropeTheta: 10000 };

/** "model.dim" style path of a zod issue. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[");
}

/** Check one layer of settings; `where` names it in errors ("config runs/a.json", "--set", ...). */
export function parseLayer(value: unknown, where: string): ConfigLayer {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UserError(`${where}: must be a JSON object of settings`);
  const r = ConfigLayerSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const at = keyPath(issue.path);
    const keys = issue.keys.map((k) => `"${at ? at + "." : ""}${k}"`).join(", ");
    const known = Object.keys(issue.path.length ? ModelSchema.shape : fields).join(", ");
    throw new UserError(`${where}: unknown key ${keys} (known keys${at ? ` of "${at}"` : ""}: ${known})`);
  }
  const at = keyPath(issue.path);
  const got = issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], value);
  throw new UserError(`${where}: "${at}": ${issue.message.replace(/^Invalid input: /, "")}${got !== undefined ? ` (got ${JSON.stringify(got)})` : ""}`);
}

/** Read and check a config file. */
export function readConfigFile(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UserError(`config ${path}: cannot read the file`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseLayer(value, `config ${path}`);
}

/** Merge layers (later wins; `model` is merged key by key) and check the result. */
export function resolveConfig(layers: ConfigLayer[]): TrainConfig {
  const m: ConfigLayer = {};
  for (const l of layers) {
    for (const [k, v] of Object.entries(l)) {
      if (v === undefined) continue;
      if (k === "model") m.model = { ...(m.model ?? {}), ...(v as object) };
      else (m as Record<string, unknown>)[k] = v;
    }
  }
  if (m.data === undefined) throw new UserError(`no training data: give "data" in the config or --data DATASET (a folder made by codellama data build)`);
  if (m.out === undefined) throw new UserError(`no run folder: give "out" in the config or --out FOLDER`);
  const cfg = { ...m, data: typeof m.data === "string" ? [{ path: m.data, weight: 1 }] : m.data, model: m.model ?? {} } as TrainConfig;
  for (const k of Object.keys(fields) as (keyof typeof fields)[]) {
    if ((cfg as unknown as Record<string, unknown>)[k] === undefined && k !== "model") throw new UserError(`config: "${k}" has no value`);
  }
  if (cfg.warmup >= cfg.steps && cfg.warmup > 0) throw new UserError(`"warmup" (${cfg.warmup}) must be smaller than "steps" (${cfg.steps})`);
  checkModel(cfg.model);
  return cfg;
}

/** Impossible shapes, named by key (checked on whatever subset of the model keys is known). */
export function checkModel(md: Partial<ModelSettings>): void {
  const { dim, heads, kvHeads, ffn } = md;
  if (dim !== undefined && heads !== undefined) {
    if (dim % heads !== 0) throw new UserError(`"model.dim" (${dim}) is not divisible by "model.heads" (${heads})`);
    const hd = dim / heads;
    if (hd % 4 !== 0) throw new UserError(`the head dimension "model.dim" / "model.heads" = ${hd} must be a multiple of 4 (RoPE rotates pairs; the kernels work 4 values at a time)`);
  }
  if (heads !== undefined && kvHeads !== undefined) {
    if (kvHeads > heads || heads % kvHeads !== 0) throw new UserError(`"model.heads" (${heads}) is not divisible by "model.kvHeads" (${kvHeads})`);
  }
  if (ffn !== undefined && ffn % 4 !== 0) throw new UserError(`"model.ffn" (${ffn}) must be a multiple of 4`);
}

/** The settings that decide the training trajectory; a resume must match them exactly. */
export const TRAJECTORY_KEYS = [
  "model", "data", "tokenizer", "init", "seqLen", "batchSize", "gradAccum", "steps", "lr", "minLrRatio", "warmup",
  "beta1", "beta2", "eps", "weightDecay", "gradClip", "seed", "initStd", "logitChunk",
] as const;
