/**
 * Meta's `params.json` (the reference `ModelArgs`) → ModelConfig.
 *
 * Meta checkpoints ship `params.json`, `tokenizer.model` and `consolidated.NN.pth`. The .pth files
 * are PyTorch pickles (zip archives of pickled storages) and are NOT read by codellama-ts; only the
 * configuration is. `pthUnsupported()` builds the message that says how to convert them.
 *
 * ModelArgs defaults [R llama/model.py]: n_kv_heads None (= n_heads), vocab_size -1 (= the
 * tokenizer's piece count), multiple_of 256, ffn_dim_multiplier None, norm_eps 1e-5, rope_theta 1e4.
 * params.json has no context length; like HF's conversion script we take 16384 when
 * rope_theta > 10000 (Code Llama's long-context models) and 4096 otherwise (70B Python/Instruct).
 */
import { UserError } from "../util/errors.js";
import type { ModelConfig } from "./model-config.js";
import { readJSONFile, topObject, type JSONText } from "./json-file.js";

/**
 * FFN hidden size [reference §2.1]: `multiple_of * ceil(int(ffn_dim_multiplier * int(2*4*dim/3)) / multiple_of)`.
 * 4096 → 11008, 5120 → 13824, 8192 → 22016, and 8192 with (4096, 1.3) → 28672.
 */
export function metaFFNDim(dim: number, multipleOf: number, ffnDimMultiplier?: number): number {
  let hidden = Math.floor((2 * 4 * dim) / 3);
  if (ffnDimMultiplier !== undefined) hidden = Math.floor(ffnDimMultiplier * hidden);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

export interface MetaParamsOptions {
  /** Piece count of `tokenizer.model`, used when params.json says `vocab_size: -1`. */
  tokenizerPieces?: number;
}

export function readMetaParams(path: string, opts: MetaParamsOptions = {}): ModelConfig {
  return parseMetaParams(readJSONFile(path), opts);
}

export function parseMetaParams(j: JSONText, opts: MetaParamsOptions = {}): ModelConfig {
  const p = topObject(j, "params.json");

  // 1. Shapes.
  const dim = p.int("dim", undefined, { max: 1 << 20 });
  const nLayers = p.int("n_layers", undefined, { max: 4096 });
  const nHeads = p.int("n_heads", undefined, { max: 4096 });
  const nKVHeads = p.int("n_kv_heads", nHeads, { max: 4096 });
  if (dim % nHeads !== 0) p.fail("n_heads", `${nHeads} does not divide dim ${dim}`);
  if (nHeads % nKVHeads !== 0) p.fail("n_kv_heads", `${nKVHeads} does not divide n_heads ${nHeads}`);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) p.fail("n_heads", `head dimension ${dim}/${nHeads} = ${headDim} must be even for RoPE`);

  // 2. FFN width from multiple_of and ffn_dim_multiplier.
  const multipleOf = p.int("multiple_of", 256, { max: 1 << 20 });
  const mult = p.has("ffn_dim_multiplier") ? p.positive("ffn_dim_multiplier") : undefined;
  const ffnDim = metaFFNDim(dim, multipleOf, mult);

  // 3. Vocabulary: -1 means "the tokenizer's piece count".
  let vocabSize = p.int("vocab_size", -1, { min: -1, max: 1 << 24 });
  if (vocabSize === 0) p.fail("vocab_size", "is 0");
  if (vocabSize === -1) {
    vocabSize = opts.tokenizerPieces ?? p.fail("vocab_size", "is -1 (take it from the tokenizer) but no tokenizer.model was found beside params.json");
  }

  // 4. Norm and RoPE. Llama 3.1's scaled RoPE is a different model family.
  if (p.bool("use_scaled_rope", false)) p.fail("use_scaled_rope", "is true (Llama 3.1 RoPE scaling), which is not supported");
  const rmsEps = p.positive("norm_eps", 1e-5);
  const ropeTheta = p.positive("rope_theta", 10000);

  return {
    architecture: "llama", dim, nLayers, nHeads, nKVHeads, headDim, ffnDim, vocabSize,
    contextLength: ropeTheta > 10000 ? 16384 : 4096,
    ropeTheta, ropeScale: 1, rmsEps, tiedEmbeddings: false,
    special: { bos: 1, eos: 2, unk: 0 },
  };
}

/** The error for a Meta checkpoint folder: its config is readable, its .pth weights are not. */
export function pthUnsupported(dir: string, c: ModelConfig, pthFiles: string[]): UserError {
  return new UserError(
    `${dir}: Meta checkpoint (params.json: dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads} heads, ffn ${c.ffnDim}, vocab ${c.vocabSize}) ` +
    `with weights in ${pthFiles.join(", ")}: PyTorch .pth pickles are not supported. ` +
    `Convert once to Hugging Face safetensors (transformers: python -m transformers.models.llama.convert_llama_weights_to_hf ` +
    `--input_dir ${dir} --model_size <7B|13B|34B|70B> --output_dir OUT; recent versions write safetensors) and open OUT, ` +
    `or to GGUF with llama.cpp (convert_hf_to_gguf.py OUT --outtype f16) and open the .gguf`,
  );
}
