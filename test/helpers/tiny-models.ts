/**
 * Tiny model files built inside the tests: a safetensors encoder, the Code Llama vocabulary
 * (the llama SPM vocab GGUF + the 16 Code Llama pieces), a tiny Llama GGUF, and a tiny
 * Hugging Face folder. Tensor contents are deterministic so reads can be compared exactly.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "../../src/format/ggml-types.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import type { GGUFMetaValue } from "../../src/format/gguf-types.js";
import { encodeGGUF, meta, type GGUFTensorToWrite } from "../../src/format/gguf-writer.js";
import { permuteMetaToHF } from "../../src/format/hf-permute.js";
import { LLAMA_VOCAB_GGUF } from "./paths.js";

// ------------------------------------------------------------------ safetensors

export interface STTensor { name: string; dtype: string; shape: number[]; data: Uint8Array }

/** A safetensors file: u64 header length, JSON header padded with spaces to 8 bytes, data. */
export function encodeSafetensors(tensors: STTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const hb = Buffer.from(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of tensors) { out.set(t.data, p); p += t.data.length; }
  return out;
}

// ------------------------------------------------------------------ deterministic contents

/** `n` f32 values (as bytes) that depend on `seed` and the index; exact in f32. */
export function f32Bytes(n: number, seed: number): Uint8Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i * 37 + seed * 101) % 251) - 125) / 256;
  return new Uint8Array(a.buffer);
}

/** `n` 16-bit values (as bytes), finite in both f16 and bf16. */
export function u16Bytes(n: number, seed: number): Uint8Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = 0x3000 + ((i * 131 + seed * 7) % 0x0fff);
  return new Uint8Array(a.buffer);
}

// ------------------------------------------------------------------ vocabulary

/** Code Llama's pieces 32000..32015 (shared/data/llama-spm-vocab/PROVENANCE.md). */
export const CODE_LLAMA_EXTRA_PIECES = [
  "\u2581<SU", "\u2581<SUF", "\u2581<PRE", "\u2581<M", "\u2581<MID", "\u2581<E", "\u2581<EOT",
  "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>",
  ...[2, 3, 4, 5, 6].map((k) => "\u2581" + "<EOT>".repeat(k)),
];

/** The tokenizer.* metadata of the llama vocab GGUF, optionally with `extra` pieces appended. */
export function llamaVocabMetadata(extra: string[] = CODE_LLAMA_EXTRA_PIECES): [string, GGUFMetaValue][] {
  const g = GGUFFile.open(LLAMA_VOCAB_GGUF);
  try {
    const out: [string, GGUFMetaValue][] = [];
    for (const [k, v] of g.metadata) {
      if (!k.startsWith("tokenizer.")) continue;
      if (k === "tokenizer.ggml.tokens") out.push([k, meta.strs([...(g.get(k) as string[]), ...extra])]);
      else if (k === "tokenizer.ggml.scores") out.push([k, meta.f32s(Float32Array.from([...(g.get(k) as Float32Array), ...extra.map(() => 0)]))]);
      else if (k === "tokenizer.ggml.token_type") {
        // The four sentinels are CONTROL (3), the merge pieces NORMAL (1), as tools/make_gguf.py --fim does.
        const types = extra.map((p) => (/^\u2581<(PRE|SUF|MID|EOT)>$/.test(p) ? 3 : 1));
        out.push([k, meta.i32s(Int32Array.from([...(g.get(k) as Int32Array), ...types]))]);
      } else out.push([k, v]);
    }
    return out;
  } finally {
    g.close();
  }
}

export function llamaVocabPieces(extra: string[] = CODE_LLAMA_EXTRA_PIECES): string[] {
  const g = GGUFFile.open(LLAMA_VOCAB_GGUF);
  try { return [...(g.get("tokenizer.ggml.tokens") as string[]), ...extra]; } finally { g.close(); }
}

// ------------------------------------------------------------------ a tiny Llama

export interface TinyShape { dim: number; layers: number; heads: number; kvHeads: number; ffn: number; vocab: number; ctx: number; ropeTheta: number }

export const TINY: TinyShape = { dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 96, vocab: 32016, ctx: 128, ropeTheta: 1e6 };

/** Tensors of a tiny Llama in GGUF naming and layout ([cols, rows]), all F32. */
export function tinyLlamaTensors(s: TinyShape): GGUFTensorToWrite[] {
  const kv = (s.dim / s.heads) * s.kvHeads;
  const mats: [string, number, number][] = [["token_embd.weight", s.dim, s.vocab]];
  for (let i = 0; i < s.layers; i++) {
    mats.push([`blk.${i}.attn_norm.weight`, s.dim, 1], [`blk.${i}.attn_q.weight`, s.dim, s.dim], [`blk.${i}.attn_k.weight`, s.dim, kv],
      [`blk.${i}.attn_v.weight`, s.dim, kv], [`blk.${i}.attn_output.weight`, s.dim, s.dim], [`blk.${i}.ffn_norm.weight`, s.dim, 1],
      [`blk.${i}.ffn_gate.weight`, s.dim, s.ffn], [`blk.${i}.ffn_up.weight`, s.dim, s.ffn], [`blk.${i}.ffn_down.weight`, s.ffn, s.dim]);
  }
  mats.push(["output_norm.weight", s.dim, 1], ["output.weight", s.dim, s.vocab]);
  return mats.map(([name, cols, rows], k) => ({ name, dims: rows === 1 ? [cols] : [cols, rows], type: GGMLType.F32, data: f32Bytes(cols * rows, k) }));
}

export function tinyLlamaMetadata(s: TinyShape, name = "tiny-codellama"): [string, GGUFMetaValue][] {
  return [
    ["general.architecture", meta.str("llama")],
    ["general.name", meta.str(name)],
    ["general.file_type", meta.u32(0)],
    ["llama.context_length", meta.u32(s.ctx)],
    ["llama.embedding_length", meta.u32(s.dim)],
    ["llama.block_count", meta.u32(s.layers)],
    ["llama.feed_forward_length", meta.u32(s.ffn)],
    ["llama.attention.head_count", meta.u32(s.heads)],
    ["llama.attention.head_count_kv", meta.u32(s.kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(1e-5)],
    ["llama.rope.freq_base", meta.f32(s.ropeTheta)],
    ["llama.rope.dimension_count", meta.u32(s.dim / s.heads)],
  ];
}

/** A tiny Code Llama GGUF (F32, the llama vocab + the 16 Code Llama pieces). */
export function tinyCodeLlamaGGUF(s: TinyShape = TINY): Uint8Array {
  return encodeGGUF({ metadata: [...tinyLlamaMetadata(s), ...llamaVocabMetadata()], tensors: tinyLlamaTensors(s) });
}

// ------------------------------------------------------------------ a tiny HF folder

const GGUF_TO_HF: [RegExp, string][] = [
  [/^token_embd\.weight$/, "model.embed_tokens.weight"], [/^output_norm\.weight$/, "model.norm.weight"], [/^output\.weight$/, "lm_head.weight"],
  [/^blk\.(\d+)\.attn_q\.weight$/, "model.layers.$1.self_attn.q_proj.weight"], [/^blk\.(\d+)\.attn_k\.weight$/, "model.layers.$1.self_attn.k_proj.weight"],
  [/^blk\.(\d+)\.attn_v\.weight$/, "model.layers.$1.self_attn.v_proj.weight"], [/^blk\.(\d+)\.attn_output\.weight$/, "model.layers.$1.self_attn.o_proj.weight"],
  [/^blk\.(\d+)\.ffn_gate\.weight$/, "model.layers.$1.mlp.gate_proj.weight"], [/^blk\.(\d+)\.ffn_up\.weight$/, "model.layers.$1.mlp.up_proj.weight"],
  [/^blk\.(\d+)\.ffn_down\.weight$/, "model.layers.$1.mlp.down_proj.weight"], [/^blk\.(\d+)\.attn_norm\.weight$/, "model.layers.$1.input_layernorm.weight"],
  [/^blk\.(\d+)\.ffn_norm\.weight$/, "model.layers.$1.post_attention_layernorm.weight"],
];

export function ggufNameToHF(name: string): string {
  for (const [re, to] of GGUF_TO_HF) if (re.test(name)) return name.replace(re, to);
  throw new Error(`no HF name for ${name}`);
}

export interface HFDirOptions {
  shape?: TinyShape;
  /** Tokenizer pieces written to tokenizer.json (BPE vocab {piece: id}). */
  pieces: string[];
  config?: Record<string, unknown>;
  /** Tensors are written as F32 (default) with HF names and HF Q/K row order. */
  extraTensors?: STTensor[];
}

/** Write config.json, model.safetensors and tokenizer.json to `dir`; returns the GGUF-layout tensors it encodes. */
export function writeTinyHFDir(dir: string, o: HFDirOptions): GGUFTensorToWrite[] {
  const s = o.shape ?? TINY;
  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: s.dim, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, intermediate_size: s.ffn, vocab_size: s.vocab,
    max_position_embeddings: s.ctx, rope_theta: s.ropeTheta, rms_norm_eps: 1e-5, tie_word_embeddings: false,
    bos_token_id: 1, eos_token_id: 2, hidden_act: "silu", torch_dtype: "float32", ...o.config,
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  const gguf = tinyLlamaTensors(s);
  const st: STTensor[] = gguf.map((t) => {
    let data = t.data as Uint8Array;
    const rows = t.dims[1] ?? 1;
    if (t.name.endsWith("attn_q.weight")) data = permuteMetaToHF(data, rows, s.heads);
    if (t.name.endsWith("attn_k.weight")) data = permuteMetaToHF(data, rows, s.kvHeads);
    return { name: ggufNameToHF(t.name), dtype: "F32", shape: t.dims.slice().reverse(), data };
  });
  writeFileSync(join(dir, "model.safetensors"), encodeSafetensors([...st, ...(o.extraTensors ?? [])], { format: "pt" }));
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>; // pieces may be "__proto__"
  o.pieces.forEach((p, i) => { if (!Object.hasOwn(vocab, p)) vocab[p] = i; });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ version: "1.0", added_tokens: [], model: { type: "BPE", vocab, merges: [] } }));
  return gguf;
}

// ------------------------------------------------------------------ a hand-built SentencePiece tokenizer.model

function pbVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}
function pbField(no: number, payload: number[]): number[] { return [...pbVarint((no << 3) | 2), ...pbVarint(payload.length), ...payload]; }

/** ModelProto { pieces (1): SentencePiece { piece (1), score (2, f32), type (3) }, trainer_spec (2) }. */
export function encodeSentencePieceModel(pieces: string[]): Uint8Array {
  const out: number[] = [];
  // A trainer_spec before the pieces, to check that other fields are skipped.
  out.push(...pbField(2, [...pbVarint((40 << 3) | 0), 0, ...pbVarint((41 << 3) | 0), 1]));
  pieces.forEach((p, i) => {
    const score = new Uint8Array(new Float32Array([-i]).buffer);
    out.push(...pbField(1, [...pbField(1, [...Buffer.from(p)]), 0x15, ...score, 0x18, i < 3 ? 3 : 1]));
  });
  return Uint8Array.from(out);
}
