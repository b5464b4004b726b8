/**
 * Checkpoints. A checkpoint is a pair of files in the run folder, plus a pointer:
 *
 *   step-000200.gguf   the model as a Llama GGUF that our engine and llama.cpp load: F32 (or F16)
 *                      weights, norms always F32, the llama.* hyper-parameters (rope.freq_base = the
 *                      stage's RoPE base, context_length = the stage's sequence length), the
 *                      tokenizer.* keys of the run's tokenizer, and private keys codellama.train.*
 *                      (step, checkpoint id, the run's config as JSON), which llama.cpp ignores.
 *   step-000200.state  the rest of the training state (binary, little-endian):
 *                        0  magic "CLTS", 4  version 1, 8  u32 JSON length L, 12  JSON (TrainState),
 *                        padding to a multiple of 16, then f32 m[P], f32 v[P] (AdamW moments) and,
 *                        when the GGUF weights are not F32, the f32 master weights[P]
 *                        (P = parameter count, in the layout of params.ts).
 *   latest.json        {"step", "gguf", "state", "id"}: written last, so it always names a complete pair.
 *
 * Both files are written to temporary files and renamed into place (util/atomic-write.ts), the
 * pointer after both, so no checkpoint is ever seen half-written; the same id in both files ties
 * a pair together when a .gguf is named directly.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { floatToHalf } from "../format/f16.js";
import { dequantizeRow } from "../format/dequant.js";
import { GGMLType, typeName } from "../format/ggml-types.js";
import { GGUFFile } from "../format/gguf-reader.js";
import { GGUFValueType, type GGUFMetaValue } from "../format/gguf-types.js";
import { meta, writeGGUF, type GGUFTensorToWrite } from "../format/gguf-writer.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import type { TrainConfig } from "./config.js";
import type { SamplerState } from "./data.js";
import type { LlamaShape, ParamLayout } from "./params.js";

export interface TrainState {
  id: string;
  step: number;
  tokensSeen: number;
  sampler: SamplerState;
  paramCount: number;
  masterWeights: boolean;
}

export interface Pointer { step: number; gguf: string; state: string; id: string }

const MAGIC = 0x53544c43; // "CLTS"

/** The GGUF of a model: hyper-parameters, tokenizer, weights (F32, or F16 for 2-D tensors). */
export function modelGGUF(layout: ParamLayout, params: Float32Array, o: {
  name: string; ctx: number; tokenizer: [string, GGUFMetaValue][]; type: "f32" | "f16"; extra?: [string, GGUFMetaValue][];
}): { metadata: [string, GGUFMetaValue][]; tensors: GGUFTensorToWrite[] } {
  const s = layout.shape;
  const metadata: [string, GGUFMetaValue][] = [
    ["general.architecture", meta.str("llama")],
    ["general.name", meta.str(o.name)],
    ["general.file_type", meta.u32(o.type === "f16" ? 1 : 0)],
    ["llama.vocab_size", meta.u32(s.vocab)],
    ["llama.context_length", meta.u32(o.ctx)],
    ["llama.embedding_length", meta.u32(s.dim)],
    ["llama.block_count", meta.u32(s.layers)],
    ["llama.feed_forward_length", meta.u32(s.ffn)],
    ["llama.rope.dimension_count", meta.u32(layout.headDim)],
    ["llama.attention.head_count", meta.u32(s.heads)],
    ["llama.attention.head_count_kv", meta.u32(s.kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(s.normEps)],
    ["llama.rope.freq_base", meta.f32(s.ropeTheta)],
    ...o.tokenizer,
    ...(o.extra ?? []),
  ];
  const tensors: GGUFTensorToWrite[] = layout.tensors.map((t) => {
    const half = o.type === "f16" && t.kind !== "norm";
    return {
      name: t.name,
      dims: t.kind === "norm" ? [t.cols] : [t.cols, t.rows],
      type: half ? GGMLType.F16 : GGMLType.F32,
      data: () => {
        const v = params.subarray(t.offset, t.offset + t.size);
        if (!half) return new Uint8Array(v.slice().buffer);
        const h = new Uint16Array(t.size);
        for (let i = 0; i < t.size; i++) h[i] = floatToHalf(v[i]);
        return new Uint8Array(h.buffer);
      },
    };
  });
  return { metadata, tensors };
}

/** Write the checkpoint of `step` into the run folder and point latest.json at it; prune old ones. */
export function writeCheckpoint(dir: string, o: {
  layout: ParamLayout; params: Float32Array; m: Float32Array; v: Float32Array; state: TrainState; config: TrainConfig;
  tokenizer: [string, GGUFMetaValue][]; keep: number;
}): Pointer {
  const stem = `step-${String(o.state.step).padStart(6, "0")}`;
  const gguf = `${stem}.gguf`, stateFile = `${stem}.state`;
  const type = o.config.weightsType;
  const st: TrainState = { ...o.state, masterWeights: type !== "f32", paramCount: o.layout.total };
  // the state first, then the model, then the pointer
  const json = Buffer.from(JSON.stringify(st));
  const head = Buffer.alloc(Math.ceil((12 + json.length) / 16) * 16);
  head.writeUInt32LE(MAGIC, 0); head.writeUInt32LE(1, 4); head.writeUInt32LE(json.length, 8); json.copy(head, 12);
  const chunks: Uint8Array[] = [head, bytesOf(o.m), bytesOf(o.v)];
  if (st.masterWeights) chunks.push(bytesOf(o.params));
  writeFileAtomic(join(dir, stateFile), chunks);
  const g = modelGGUF(o.layout, o.params, {
    name: `codellama-ts ${o.config.stage} step ${o.state.step}`, ctx: o.config.seqLen, tokenizer: o.tokenizer, type,
    extra: [
      ["codellama.train.step", meta.u32(o.state.step)],
      ["codellama.train.id", meta.str(o.state.id)],
      ["codellama.train.state", meta.str(stateFile)],
      ["codellama.train.config", meta.str(JSON.stringify(o.config))],
    ],
  });
  writeGGUF(join(dir, gguf), g);
  const ptr: Pointer = { step: o.state.step, gguf, state: stateFile, id: o.state.id };
  writeFileAtomic(join(dir, "latest.json"), JSON.stringify(ptr) + "\n");
  pruneCheckpoints(dir, o.keep, o.state.step);
  return ptr;
}

function bytesOf(a: Float32Array): Uint8Array { return new Uint8Array(a.buffer, a.byteOffset, a.byteLength); }

/** Delete all but the newest `keep` step-* pairs (never the one of `current`). */
function pruneCheckpoints(dir: string, keep: number, current: number): void {
  const steps = [...new Set(readdirSafe(dir).map((f) => /^step-(\d+)\.(gguf|state)$/.exec(f)?.[1]).filter((x): x is string => !!x))]
    .map(Number).sort((a, b) => b - a);
  for (const s of steps.slice(keep)) {
    if (s === current) continue;
    const stem = `step-${String(s).padStart(6, "0")}`;
    rmSync(join(dir, `${stem}.gguf`), { force: true });
    rmSync(join(dir, `${stem}.state`), { force: true });
  }
}

function readdirSafe(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** A checkpoint to resume from: the run folder's latest.json, or a step-*.gguf named directly. */
export function findCheckpoint(path: string): { gguf: string; state: string } {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const p = join(path, "latest.json");
    if (!existsSync(p)) throw new UserError(`--resume ${path}: the run folder has no checkpoint yet (no latest.json)`);
    let ptr: Pointer;
    try { ptr = JSON.parse(readFileSync(p, "utf8")) as Pointer; } catch { throw new UserError(`${p}: not valid JSON`); }
    return { gguf: join(path, ptr.gguf), state: join(path, ptr.state) };
  }
  if (!existsSync(path)) throw new UserError(`--resume ${path}: no such file or folder`);
  const g = GGUFFile.open(path);
  try {
    const st = g.getString("codellama.train.state");
    if (!st) throw new UserError(`--resume ${path}: not a training checkpoint (no codellama.train.state key); use it as "init" to start a new stage from it`);
    return { gguf: path, state: join(dirname(path), basename(st)) };
  } finally {
    g.close();
  }
}

/** Read a checkpoint's config, state and the optimizer moments (m, v) and master weights into the given arrays. */
export function readTrainState(statePath: string, into: { m: Float32Array; v: Float32Array; params: Float32Array }): TrainState {
  if (!existsSync(statePath)) throw new UserError(`${statePath}: the checkpoint's training state file is missing`);
  const fd = openSync(statePath, "r");
  try {
    const head = Buffer.alloc(12);
    readSync(fd, head, 0, 12, 0);
    if (head.readUInt32LE(0) !== MAGIC) throw new UserError(`${statePath}: not a training state file (bad magic)`);
    const len = head.readUInt32LE(8);
    const json = Buffer.alloc(len);
    readSync(fd, json, 0, len, 12);
    const st = JSON.parse(json.toString("utf8")) as TrainState;
    const P = into.m.length;
    if (st.paramCount !== P) throw new UserError(`${statePath}: holds ${st.paramCount} parameters, the model has ${P}`);
    const size = statSync(statePath).size, body = Math.ceil((12 + len) / 16) * 16;
    if (size !== body + P * 4 * (st.masterWeights ? 3 : 2)) throw new UserError(`${statePath}: the file is ${size} bytes, expected ${body + P * 4 * (st.masterWeights ? 3 : 2)}; it is truncated or damaged`);
    const readF = (dst: Float32Array, at: number) => {
      const b = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
      let o = 0;
      while (o < b.length) o += readSync(fd, b, o, b.length - o, at + o);
    };
    readF(into.m, body);
    readF(into.v, body + P * 4);
    if (st.masterWeights) readF(into.params, body + 2 * P * 4);
    return st;
  } finally {
    closeSync(fd);
  }
}

/** The hyper-parameters of a Llama GGUF (for init / resume), vocab from its token list. */
export function ggufShape(g: GGUFFile): LlamaShape & { ctx: number } {
  const n = (k: string) => g.requireNumber(`llama.${k}`);
  const tokens = g.getArray("tokenizer.ggml.tokens", [GGUFValueType.STRING]);
  const emb = g.tensor("token_embd.weight");
  return {
    dim: n("embedding_length"), layers: n("block_count"), heads: n("attention.head_count"),
    kvHeads: g.getNumber("llama.attention.head_count_kv") ?? n("attention.head_count"), ffn: n("feed_forward_length"),
    vocab: tokens ? tokens.length : emb ? emb.dims[1] : n("vocab_size"),
    normEps: g.getNumber("llama.attention.layer_norm_rms_epsilon") ?? 1e-5, ropeTheta: g.getNumber("llama.rope.freq_base") ?? 10000,
    ctx: g.getNumber("llama.context_length") ?? 0,
  };
}

/** Load every weight of `layout` from a GGUF (any type our dequantiser reads) into params (f32). */
export function loadWeights(g: GGUFFile, layout: ParamLayout, params: Float32Array): void {
  for (const t of layout.tensors) {
    const info = g.tensor(t.name);
    if (!info) throw new UserError(`${g.name}: tensor ${t.name} is missing`);
    const n = info.dims.reduce((a, d) => a * d, 1);
    if (n !== t.size || info.dims[0] !== t.cols) throw new UserError(`${g.name}: tensor ${t.name} is [${info.dims.join(", ")}], the model needs [${t.kind === "norm" ? t.cols : `${t.cols}, ${t.rows}`}]`);
    const bytes = g.tensorBytes(info);
    if (info.type === GGMLType.F32) {
      params.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), t.offset);
    } else {
      try {
        params.set(dequantizeRow(info.type, bytes, n), t.offset);
      } catch {
        throw new UserError(`${g.name}: tensor ${t.name} has type ${typeName(info.type)}, which cannot be read back into f32 weights`);
      }
    }
  }
}

/** The tokenizer.* entries of a GGUF (model or vocabulary-only file). */
export function tokenizerMetadata(path: string): [string, GGUFMetaValue][] {
  if (!existsSync(path)) throw new UserError(`tokenizer ${path}: no such file`);
  let g: GGUFFile;
  try {
    g = GGUFFile.open(path);
  } catch {
    throw new UserError(`tokenizer ${path}: not a GGUF file; checkpoints need a GGUF tokenizer (codellama data vocab writes Code Llama's)`);
  }
  try {
    const md = [...g.metadata].filter(([k]) => k.startsWith("tokenizer."));
    if (!md.some(([k]) => k === "tokenizer.ggml.tokens")) throw new UserError(`tokenizer ${path}: has no tokenizer.ggml.tokens`);
    return md;
  } finally {
    g.close();
  }
}
