/**
 * Hugging Face `config.json` (LlamaForCausalLM) → ModelConfig.
 *
 * Defaults are transformers' LlamaConfig defaults where a Code Llama config may leave a field out
 * (num_key_value_heads = num_attention_heads, rope_theta 10000, rms_norm_eps 1e-6,
 * max_position_embeddings 2048, bos 1, eos 2); the shape fields are required. Anything that
 * changes the computation in a way this engine does not implement (biases, another activation,
 * a RoPE scaling other than linear, a head_dim other than hidden_size / heads) is refused here,
 * with the file, the key's byte offset and what is supported.
 *
 * FIM and `<step>` ids are not in config.json; `model-file.ts` adds them from the tokenizer.
 */
import type { ModelConfig } from "./model-config.js";
import { JSONFields, readJSONFile, topObject, type JSONText } from "./json-file.js";

const MAX_WIDTH = 1 << 20;

/** Read `config.json` at `path`. */
export function readHFConfig(path: string): ModelConfig {
  return parseHFConfig(readJSONFile(path));
}

/** Map a parsed `config.json` to a ModelConfig. */
export function parseHFConfig(j: JSONText): ModelConfig {
  const c = topObject(j, "config.json");

  // 1. The architecture: only Llama's decoder (Code Llama is one) is implemented.
  const arch = c.obj.architectures;
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || arch.length !== 1 || arch[0] !== "LlamaForCausalLM") {
      c.fail("architectures", `${JSON.stringify(arch)} is not supported (supported: ["LlamaForCausalLM"], i.e. Code Llama and Llama 2)`);
    }
  } else if (c.str("model_type") !== "llama") {
    c.fail(c.has("model_type") ? "model_type" : "architectures", `is missing or not "llama"; supported: architectures ["LlamaForCausalLM"]`);
  }
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (c.bool(key, false)) c.fail(key, "is true; Llama layers without biases are supported");
  }
  const act = c.str("hidden_act");
  if (act !== undefined && act !== "silu") c.fail("hidden_act", `${JSON.stringify(act)} is not supported (supported: "silu")`);

  // 2. Shapes.
  const dim = c.int("hidden_size", undefined, { max: MAX_WIDTH });
  const nLayers = c.int("num_hidden_layers", undefined, { max: 4096 });
  const nHeads = c.int("num_attention_heads", undefined, { max: 4096 });
  const nKVHeads = c.int("num_key_value_heads", nHeads, { max: 4096 });
  const ffnDim = c.int("intermediate_size", undefined, { max: 4 * MAX_WIDTH });
  const vocabSize = c.int("vocab_size", undefined, { max: 1 << 24 });
  if (dim % nHeads !== 0) c.fail("num_attention_heads", `${nHeads} does not divide hidden_size ${dim}`);
  if (nHeads % nKVHeads !== 0) c.fail("num_key_value_heads", `${nKVHeads} does not divide num_attention_heads ${nHeads}`);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) c.fail("num_attention_heads", `head dimension ${dim}/${nHeads} = ${headDim} must be even for RoPE`);
  if (c.has("head_dim") && c.int("head_dim", undefined, { max: MAX_WIDTH }) !== headDim) {
    c.fail("head_dim", `${String(c.obj.head_dim)} differs from hidden_size / num_attention_heads = ${headDim}, which is not supported`);
  }

  // 3. Positions: context, RoPE base and (linear) scaling.
  const contextLength = c.int("max_position_embeddings", 2048, { max: 1 << 24 });
  const ropeTheta = c.positive("rope_theta", 10000);
  let ropeScale = 1;
  const rs = c.object("rope_scaling");
  if (rs) {
    const kind = rs.str("type") ?? rs.str("rope_type");
    if (kind === "linear") ropeScale = rs.positive("factor");
    else if (kind !== "default") rs.fail(rs.has("type") ? "type" : "rope_type", `${JSON.stringify(kind ?? null)} is not supported (supported: "linear")`);
  }

  // 4. Norm, tying, special ids.
  const rmsEps = c.positive("rms_norm_eps", 1e-6);
  const tiedEmbeddings = c.bool("tie_word_embeddings", false);
  const bos = tokenId(c, "bos_token_id", 1, vocabSize);
  const eos = tokenId(c, "eos_token_id", 2, vocabSize);
  const name = c.str("_name_or_path") || undefined;

  return {
    architecture: "llama", name, dim, nLayers, nHeads, nKVHeads, headDim, ffnDim, vocabSize,
    contextLength, ropeTheta, ropeScale, rmsEps, tiedEmbeddings,
    special: { bos, eos, unk: 0 },
  };
}

/** A token id field; an array (several EOS ids) yields its first element. */
function tokenId(c: JSONFields, key: string, def: number, vocabSize: number): number {
  const v = c.obj[key];
  if (Array.isArray(v)) {
    if (v.length === 0) c.fail(key, "is an empty array");
    return tokenId(new JSONFields(c.j, { [key]: v[0] }, c.prefix), key, def, vocabSize);
  }
  return c.int(key, def, { min: 0, max: vocabSize - 1 });
}
