/**
 * `openModel(path)`: one entry point for every model the engine can load.
 *
 *   - a `.gguf` file (config from llama.* keys, tokenizer inside the file);
 *   - a Hugging Face folder: config.json + model.safetensors (or shards + index) +
 *     tokenizer.model (SentencePiece, preferred) or tokenizer.json. A `.safetensors` or
 *     `*.index.json` path inside such a folder works too;
 *   - a Meta folder (params.json + consolidated.NN.pth) is recognised and refused with a
 *     message saying how to convert it (PyTorch pickles are not read).
 *
 * Whatever the source, the result speaks GGUF: tensor names are GGUF's, dims are innermost first,
 * types are ggml types, and Q/K rows are in the Meta/GGUF RoPE layout (HF q_proj/k_proj are
 * un-permuted while they are read, see hf-permute.ts). `validateLlamaTensors` checks that the
 * tensors match the config before the engine allocates anything.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UserError } from "../util/errors.js";
import { GGMLType, typeName } from "./ggml-types.js";
import { ggufConfig } from "./gguf-config.js";
import { GGUFFile } from "./gguf-reader.js";
import { readHFConfig } from "./hf-config.js";
import { readUnpermuted } from "./hf-permute.js";
import { pthUnsupported, readMetaParams } from "./meta-params.js";
import type { ModelConfig } from "./model-config.js";
import { SAFETENSORS_DTYPES, SafetensorsCheckpoint } from "./safetensors.js";
import { namedSpecialIds, readSentencePiecePieces, readTokenizerJSONPieces } from "./tokenizer-pieces.js";

export interface ModelTensor {
  /** GGUF order, innermost first: a matrix of `rows` rows of `cols` is [cols, rows]. */
  dims: number[];
  type: GGMLType;
  nbytes: number;
  /** Read the whole tensor (GGUF layout) into `dst`, which must be exactly `nbytes` long. */
  read(dst: Uint8Array): void;
}

export type TokenizerSource =
  | { kind: "gguf"; file: GGUFFile }
  | { kind: "spm"; path: string }
  | { kind: "hf-json"; path: string };

export interface ModelFile {
  /** The path that was opened. */
  path: string;
  config: ModelConfig;
  format: "gguf" | "safetensors";
  /** By GGUF name. */
  tensors: Map<string, ModelTensor>;
  tokenizerSource: TokenizerSource;
  /** Bytes on disk of the weight file(s). */
  fileSize: number;
  /** Checkpoint tensors with no GGUF name (ignored), e.g. HF's rotary_emb.inv_freq. */
  unmapped: string[];
  close(): void;
}

// ------------------------------------------------------------------ HF → GGUF names (the one table)

const HF_GLOBAL_NAMES: Readonly<Record<string, string>> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

/** Per layer: `model.layers.N.<key>` → `blk.N.<value>`. */
const HF_LAYER_NAMES: Readonly<Record<string, string>> = {
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
};

/** The GGUF name of an HF Llama tensor, or undefined for tensors the engine does not use. */
export function hfToGGUFName(name: string): string | undefined {
  const g = HF_GLOBAL_NAMES[name];
  if (g) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const l = m ? HF_LAYER_NAMES[m[2]] : undefined;
  return m && l ? `blk.${Number(m[1])}.${l}` : undefined;
}

// ------------------------------------------------------------------ openModel

export function openModel(path: string): ModelFile {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`${path}: no such file or folder`);
  }
  if (st.isDirectory()) return openFolder(path, path);
  const name = basename(path);
  if (name.endsWith(".pth")) return openFolder(dirname(path), path);
  if (name.endsWith(".safetensors") || name.endsWith(".index.json") || name === "config.json") {
    return openFolder(dirname(path), name === "config.json" ? dirname(path) : path);
  }
  return openGGUF(path, st.size);
}

function openGGUF(path: string, size: number): ModelFile {
  const g = GGUFFile.open(path);
  try {
    const config = ggufConfig(g);
    const tensors = new Map<string, ModelTensor>();
    for (const t of g.tensors) {
      tensors.set(t.name, { dims: t.dims.slice(), type: t.type, nbytes: t.nbytes, read: (dst) => readWhole(t.name, t.nbytes, dst, () => g.readTensorInto(t, dst)) });
    }
    return { path, config, format: "gguf", tensors, tokenizerSource: { kind: "gguf", file: g }, fileSize: size, unmapped: [], close: () => g.close() };
  } catch (e) {
    g.close();
    throw e;
  }
}

function readWhole(name: string, nbytes: number, dst: Uint8Array, read: () => void): void {
  if (dst.length !== nbytes) throw new RangeError(`tensor "${name}" has ${nbytes} bytes; the buffer has ${dst.length}`);
  read();
}

/** `weights` is the folder itself or a specific .safetensors / index file in it. */
function openFolder(dir: string, weights: string): ModelFile {
  const has = (f: string) => existsSync(join(dir, f));
  const spm = has("tokenizer.model") ? join(dir, "tokenizer.model") : undefined;

  // 1. Meta checkpoints: read the config, refuse the pickled weights.
  if (!has("config.json")) {
    if (has("params.json") || weights.endsWith(".pth")) {
      const pth = readdirSync(dir).filter((f) => f.endsWith(".pth")).sort();
      if (!has("params.json")) throw new UserError(`${weights}: PyTorch .pth pickles are not supported, and there is no params.json beside it; convert the checkpoint to HF safetensors or GGUF`);
      const config = readMetaParams(join(dir, "params.json"), { tokenizerPieces: spm ? readSentencePiecePieces(spm).length : undefined });
      throw pthUnsupported(dir, config, pth.length ? pth : ["consolidated.*.pth"]);
    }
    throw new UserError(`${dir}: not a model folder: expected config.json with *.safetensors (Hugging Face) or params.json (Meta); a .gguf file can be opened directly`);
  }

  // 2. HF: config.json, then the tokenizer (for the special ids found by name).
  const config = readHFConfig(join(dir, "config.json"));
  config.name ??= basename(dir);
  let tokenizerSource: TokenizerSource;
  let pieces: string[];
  if (spm) { tokenizerSource = { kind: "spm", path: spm }; pieces = readSentencePiecePieces(spm); }
  else if (has("tokenizer.json")) { tokenizerSource = { kind: "hf-json", path: join(dir, "tokenizer.json") }; pieces = readTokenizerJSONPieces(tokenizerSource.path); }
  else throw new UserError(`${dir}: no tokenizer.model or tokenizer.json beside config.json`);
  const tokPath = tokenizerSource.path;
  if (pieces.length > config.vocabSize) {
    throw new UserError(`${tokPath}: the tokenizer has ${pieces.length} pieces but config.json vocab_size is ${config.vocabSize}; they belong to different models`);
  }
  Object.assign(config.special, namedSpecialIds(pieces));

  // 3. The weights, renamed to GGUF, Q/K un-permuted on read.
  if (weights.endsWith(".pth")) throw new UserError(`${weights}: PyTorch .pth pickles are not supported; use the folder's *.safetensors`);
  const ckpt = SafetensorsCheckpoint.open(weights);
  const tensors = new Map<string, ModelTensor>();
  const unmapped: string[] = [];
  for (const [hfName, { file, info }] of ckpt.tensors) {
    const name = hfToGGUFName(hfName);
    if (!name) { unmapped.push(hfName); continue; }
    const plain = (dst: Uint8Array) => file.readTensorInto(info, dst);
    let read = plain;
    const isQ = name.endsWith(".attn_q.weight"), isK = name.endsWith(".attn_k.weight");
    if (isQ || isK) {
      const heads = isQ ? config.nHeads : config.nKVHeads;
      const rows = info.shape[0];
      read = (dst) => {
        if (info.shape.length !== 2 || rows !== heads * config.headDim) {
          throw new UserError(`${file.name}: tensor ${JSON.stringify(hfName)} of shape [${info.shape.join(", ")}] cannot be split into ${heads} heads of ${config.headDim} rows for the RoPE un-permutation; config.json does not match the weights`);
        }
        readUnpermuted((at, buf) => file.readTensorInto(info, buf, at), dst, rows, heads);
      };
    }
    const r = read;
    tensors.set(name, { dims: info.shape.slice().reverse(), type: SAFETENSORS_DTYPES[info.dtype].ggml, nbytes: info.nbytes, read: (dst) => readWhole(name, info.nbytes, dst, () => r(dst)) });
  }
  return { path: weights, config, format: "safetensors", tensors, tokenizerSource, fileSize: ckpt.totalBytes, unmapped, close: () => ckpt.close() };
}

// ------------------------------------------------------------------ validation

/** Every tensor a Llama with config `c` needs, with its GGUF dims (innermost first). */
export function expectedLlamaTensors(c: ModelConfig): Map<string, number[]> {
  const kv = c.nKVHeads * c.headDim;
  const m = new Map<string, number[]>([
    ["token_embd.weight", [c.dim, c.vocabSize]],
    ["output_norm.weight", [c.dim]],
  ]);
  if (!c.tiedEmbeddings) m.set("output.weight", [c.dim, c.vocabSize]);
  for (let i = 0; i < c.nLayers; i++) {
    const b = `blk.${i}.`;
    m.set(b + "attn_norm.weight", [c.dim]);
    m.set(b + "attn_q.weight", [c.dim, c.nHeads * c.headDim]);
    m.set(b + "attn_k.weight", [c.dim, kv]);
    m.set(b + "attn_v.weight", [c.dim, kv]);
    m.set(b + "attn_output.weight", [c.nHeads * c.headDim, c.dim]);
    m.set(b + "ffn_norm.weight", [c.dim]);
    m.set(b + "ffn_gate.weight", [c.dim, c.ffnDim]);
    m.set(b + "ffn_up.weight", [c.dim, c.ffnDim]);
    m.set(b + "ffn_down.weight", [c.ffnDim, c.dim]);
  }
  return m;
}

/** The problems with `tensors` for config `c` (empty when the model is complete). */
export function checkLlamaTensors(c: ModelConfig, tensors: ReadonlyMap<string, Pick<ModelTensor, "dims" | "type">>): { missing: string[]; wrongShape: string[] } {
  const missing: string[] = [], wrongShape: string[] = [];
  for (const [name, want] of expectedLlamaTensors(c)) {
    const t = tensors.get(name);
    if (!t) missing.push(name);
    else if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
      wrongShape.push(`${name} is ${typeName(t.type)} [${t.dims.join(", ")}], expected [${want.join(", ")}]`);
    }
  }
  return { missing, wrongShape };
}

/** One line summarising `checkLlamaTensors`, or undefined when there is nothing wrong. */
export function describeTensorProblems(p: { missing: string[]; wrongShape: string[] }, limit = 8): string | undefined {
  const list = (xs: string[]) => xs.slice(0, limit).join(", ") + (xs.length > limit ? ` (and ${xs.length - limit} more)` : "");
  const parts: string[] = [];
  if (p.missing.length) parts.push(`${p.missing.length} missing: ${list(p.missing)}`);
  if (p.wrongShape.length) parts.push(`${p.wrongShape.length} with the wrong shape: ${list(p.wrongShape)}`);
  return parts.length ? parts.join("; ") : undefined;
}

/** Throw one UserError listing every missing or misshapen tensor (dims are GGUF order, innermost first). */
export function validateLlamaTensors(c: ModelConfig, tensors: ReadonlyMap<string, Pick<ModelTensor, "dims" | "type">>, source = c.name ?? "model"): void {
  const msg = describeTensorProblems(checkLlamaTensors(c, tensors));
  if (msg) {
    throw new UserError(`${source}: the tensors do not match a Llama of dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads}/${c.nKVHeads} heads, ffn ${c.ffnDim}, vocab ${c.vocabSize}: ${msg}`);
  }
}
