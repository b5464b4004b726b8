import { test } from "node:test";
import assert from "node:assert/strict";
import { ggufConfig } from "../../src/format/gguf-config.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF, meta } from "../../src/format/gguf-writer.js";
import { parseHFConfig } from "../../src/format/hf-config.js";
import { parseJSONBytes } from "../../src/format/json-file.js";
import { metaFFNDim, parseMetaParams } from "../../src/format/meta-params.js";
import type { GGUFMetaValue } from "../../src/format/gguf-types.js";
import { FormatError } from "../../src/util/errors.js";
import { LLAMA_VOCAB_GGUF } from "../helpers/paths.js";
import { TINY, tinyLlamaMetadata } from "../helpers/tiny-models.js";

const json = (v: unknown, file = "config.json") => {
  const text = JSON.stringify(v);
  return { j: parseJSONBytes(Buffer.from(text), file, 0), text };
};

/** Assert a FormatError on `file` at the byte offset of `"key"` in `text`, for `field`. */
function failsAtKey(fn: () => unknown, file: string, text: string, key: string, field: string, problem: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.equal(e.file, file);
    assert.equal(e.offset, Math.max(0, text.indexOf(JSON.stringify(key))));
    assert.equal(e.field, field);
    assert.match(e.problem, problem);
    return true;
  });
}

// The published config.json of codellama/CodeLlama-7b-hf and the 34B shape.
const CODELLAMA_7B_HF = {
  _name_or_path: "codellama/CodeLlama-7b-hf", architectures: ["LlamaForCausalLM"], bos_token_id: 1, eos_token_id: 2,
  hidden_act: "silu", hidden_size: 4096, initializer_range: 0.02, intermediate_size: 11008, max_position_embeddings: 16384,
  model_type: "llama", num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32, pretraining_tp: 1,
  rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 1000000, tie_word_embeddings: false, torch_dtype: "bfloat16", vocab_size: 32016,
};

test("HF config.json: Code Llama 7B", () => {
  assert.deepEqual(parseHFConfig(json(CODELLAMA_7B_HF).j), {
    architecture: "llama", name: "codellama/CodeLlama-7b-hf", dim: 4096, nLayers: 32, nHeads: 32, nKVHeads: 32, headDim: 128,
    ffnDim: 11008, vocabSize: 32016, contextLength: 16384, ropeTheta: 1e6, ropeScale: 1, rmsEps: 1e-5, tiedEmbeddings: false,
    special: { bos: 1, eos: 2, unk: 0 },
  });
});

test("HF config.json: 34B (GQA), defaults, linear RoPE scaling, EOS lists", () => {
  const c34 = parseHFConfig(json({ ...CODELLAMA_7B_HF, hidden_size: 8192, num_hidden_layers: 48, num_attention_heads: 64, num_key_value_heads: 8, intermediate_size: 22016, vocab_size: 32000 }).j);
  assert.deepEqual([c34.dim, c34.nLayers, c34.nHeads, c34.nKVHeads, c34.headDim, c34.ffnDim, c34.vocabSize], [8192, 48, 64, 8, 128, 22016, 32000]);
  // Only the shape fields: transformers' defaults for the rest.
  const min = parseHFConfig(json({ architectures: ["LlamaForCausalLM"], hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 }).j);
  assert.deepEqual([min.nKVHeads, min.contextLength, min.ropeTheta, min.rmsEps, min.tiedEmbeddings, min.special.bos, min.special.eos, min.name], [4, 2048, 10000, 1e-6, false, 1, 2, undefined]);
  const lin = parseHFConfig(json({ ...CODELLAMA_7B_HF, rope_scaling: { type: "linear", factor: 4 }, eos_token_id: [2, 32010] }).j);
  assert.equal(lin.ropeScale, 4);
  assert.equal(lin.special.eos, 2);
  assert.equal(parseHFConfig(json({ ...CODELLAMA_7B_HF, architectures: undefined, model_type: "llama" }).j).dim, 4096);
});

test("HF config.json: unsupported or broken configs name the key and its byte offset", () => {
  const bad = (patch: Record<string, unknown>, key: string, field: string, problem: RegExp) => {
    const { j, text } = json({ ...CODELLAMA_7B_HF, ...patch });
    failsAtKey(() => parseHFConfig(j), "config.json", text, key, field, problem);
  };
  bad({ architectures: ["MistralForCausalLM"] }, "architectures", "architectures", /^\["MistralForCausalLM"\] is not supported \(supported: \["LlamaForCausalLM"\]/);
  bad({ hidden_size: undefined }, "hidden_size", "hidden_size", /^is missing$/);
  bad({ hidden_size: "4096" }, "hidden_size", "hidden_size", /expected an integer, found "4096"/);
  bad({ num_key_value_heads: 5 }, "num_key_value_heads", "num_key_value_heads", /5 does not divide num_attention_heads 32/);
  bad({ num_attention_heads: 3 }, "num_attention_heads", "num_attention_heads", /3 does not divide hidden_size 4096/);
  bad({ rope_scaling: { type: "dynamic", factor: 2 } }, "type", "rope_scaling.type", /"dynamic" is not supported \(supported: "linear"\)/);
  bad({ rope_scaling: { type: "linear", factor: -1 } }, "factor", "rope_scaling.factor", /expected a positive number, found -1/);
  bad({ rope_theta: 0 }, "rope_theta", "rope_theta", /positive number/);
  bad({ attention_bias: true }, "attention_bias", "attention_bias", /without biases/);
  bad({ hidden_act: "gelu" }, "hidden_act", "hidden_act", /"gelu" is not supported \(supported: "silu"\)/);
  bad({ bos_token_id: 40000 }, "bos_token_id", "bos_token_id", /40000 is out of range \(supported: 0 to 32015\)/);
  bad({ head_dim: 64 }, "head_dim", "head_dim", /differs from hidden_size \/ num_attention_heads = 128/);
  assert.throws(() => parseHFConfig(json([1, 2]).j), (e: unknown) => e instanceof FormatError && e.field === "config.json" && /must be a JSON object/.test(e.problem));
});

test("Meta params.json: FFN size formula (reference §2.2 table)", () => {
  assert.equal(metaFFNDim(4096, 256, 1.0), 11008);
  assert.equal(metaFFNDim(5120, 256, 1.0), 13824);
  assert.equal(metaFFNDim(8192, 256, 1.0), 22016);
  assert.equal(metaFFNDim(8192, 4096, 1.3), 28672);
  assert.equal(metaFFNDim(4096, 256), 11008);
  assert.equal(metaFFNDim(288, 32), 768); // llama2.c stories15M
});

test("Meta params.json: Code Llama 7B, vocab_size -1 taken from the tokenizer", () => {
  const p = { dim: 4096, n_layers: 32, n_heads: 32, multiple_of: 256, ffn_dim_multiplier: 1.0, norm_eps: 1e-5, rope_theta: 1000000, vocab_size: -1 };
  assert.deepEqual(parseMetaParams(json(p, "params.json").j, { tokenizerPieces: 32016 }), {
    architecture: "llama", dim: 4096, nLayers: 32, nHeads: 32, nKVHeads: 32, headDim: 128, ffnDim: 11008, vocabSize: 32016,
    contextLength: 16384, ropeTheta: 1e6, ropeScale: 1, rmsEps: 1e-5, tiedEmbeddings: false, special: { bos: 1, eos: 2, unk: 0 },
  });
  // 70B Instruct: GQA, rope 1e4, so the 4096 context.
  const c70 = parseMetaParams(json({ dim: 8192, n_layers: 80, n_heads: 64, n_kv_heads: 8, multiple_of: 4096, ffn_dim_multiplier: 1.3, norm_eps: 1e-5, vocab_size: 32016 }, "params.json").j);
  assert.deepEqual([c70.nKVHeads, c70.ffnDim, c70.ropeTheta, c70.contextLength, c70.vocabSize], [8, 28672, 10000, 4096, 32016]);
  const { j, text } = json(p, "params.json");
  failsAtKey(() => parseMetaParams(j), "params.json", text, "vocab_size", "vocab_size", /is -1 \(take it from the tokenizer\) but no tokenizer.model/);
  const bad = json({ ...p, n_kv_heads: 3 }, "params.json");
  failsAtKey(() => parseMetaParams(bad.j, { tokenizerPieces: 32016 }), "params.json", bad.text, "n_kv_heads", "n_kv_heads", /3 does not divide n_heads 32/);
});

// ------------------------------------------------------------------ GGUF

function gguf(entries: [string, GGUFMetaValue][], tokens: string[] | null): GGUFFile {
  const md = new Map(entries);
  if (tokens) md.set("tokenizer.ggml.tokens", meta.strs(tokens));
  return GGUFFile.parse(encodeGGUF({ metadata: md, tensors: [] }), { name: "m.gguf" });
}
const small = ["<unk>", "<s>", "</s>", "a", "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>", "<step>", "\u2581<EOT>"];

test("GGUF: llama.* keys and special ids by piece name", () => {
  const c = ggufConfig(gguf(tinyLlamaMetadata(TINY), small));
  assert.deepEqual(c, {
    architecture: "llama", name: "tiny-codellama", dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, headDim: 8, ffnDim: 96,
    vocabSize: 10, contextLength: 128, ropeTheta: 1e6, ropeScale: 1, rmsEps: Math.fround(1e-5), tiedEmbeddings: false,
    special: { bos: 1, eos: 2, unk: 0, prefix: 4, suffix: 5, middle: 6, eot: 7, step: 8 },
  });
  // Explicit ids, vocab_size above the piece count, linear scaling.
  const c2 = ggufConfig(gguf([...tinyLlamaMetadata(TINY), ["llama.vocab_size", meta.u32(64)], ["tokenizer.ggml.bos_token_id", meta.u32(3)],
    ["llama.rope.scaling.type", meta.str("linear")], ["llama.rope.scaling.factor", meta.f32(2)]], small.slice(0, 4)));
  assert.deepEqual([c2.vocabSize, c2.special.bos, c2.special.prefix, c2.ropeScale], [64, 3, undefined, 2]);
});

test("GGUF: the llama vocab GGUF (Llama-2-7B keys, vocabulary only)", () => {
  const g = GGUFFile.open(LLAMA_VOCAB_GGUF);
  try {
    const c = ggufConfig(g);
    assert.deepEqual([c.dim, c.nLayers, c.nHeads, c.nKVHeads, c.ffnDim, c.vocabSize, c.contextLength, c.ropeTheta, c.tiedEmbeddings],
      [4096, 32, 32, 32, 11008, 32000, 4096, 10000, false]);
    assert.deepEqual(c.special, { bos: 1, eos: 2, unk: 0 });
  } finally {
    g.close();
  }
});

test("GGUF: unsupported architecture, missing or bad keys", () => {
  const without = (key: string) => tinyLlamaMetadata(TINY).filter(([k]) => k !== key);
  const bad = (entries: [string, GGUFMetaValue][], field: string, problem: RegExp, tokens: string[] | null = small) => {
    assert.throws(() => ggufConfig(gguf(entries, tokens)), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.message, `m.gguf: at byte 0, ${field}: ${e.problem}`);
      assert.equal(e.field, field);
      assert.match(e.problem, problem);
      return true;
    });
  };
  bad(without("general.architecture"), 'metadata "general.architecture"', /^is missing \(supported: llama\)$/);
  bad([["general.architecture", meta.str("gpt2")], ...without("general.architecture")], 'metadata "general.architecture"', /^"gpt2" is not supported \(supported: llama;/);
  bad(without("llama.block_count"), 'metadata "llama.block_count"', /^is missing \(required for llama models\)$/);
  bad(without("llama.attention.layer_norm_rms_epsilon"), 'metadata "llama.attention.layer_norm_rms_epsilon"', /is missing/);
  bad([...without("llama.embedding_length"), ["llama.embedding_length", meta.str("32")]], 'metadata "llama.embedding_length"', /expected a number, found string/);
  bad([...without("llama.attention.head_count_kv"), ["llama.attention.head_count_kv", meta.u32(3)]], 'metadata "llama.attention.head_count_kv"', /3 does not divide/);
  bad([...without("llama.rope.dimension_count"), ["llama.rope.dimension_count", meta.u32(4)]], 'metadata "llama.rope.dimension_count"', /partial rotary/);
  bad([...tinyLlamaMetadata(TINY), ["llama.rope.scaling.type", meta.str("yarn")]], 'metadata "llama.rope.scaling.type"', /"yarn" is not supported \(supported: none, linear\)/);
  bad([...tinyLlamaMetadata(TINY), ["llama.vocab_size", meta.u32(4)]], 'metadata "tokenizer.ggml.tokens"', /has 10 pieces but llama.vocab_size is 4/);
  bad([...tinyLlamaMetadata(TINY), ["tokenizer.ggml.eos_token_id", meta.u32(10)]], 'metadata "tokenizer.ggml.eos_token_id"', /10 is not an integer from 0 to 9/);
  bad(tinyLlamaMetadata(TINY), 'metadata "llama.vocab_size"', /is missing, and there is neither/, null);
});
