/**
 * GGUF metadata (`llama.*`, `tokenizer.ggml.*`) → ModelConfig.
 *
 * Keys as written by llama.cpp's converters (see docs/llamacpp-peer.md §3). Required:
 * general.architecture = "llama", llama.embedding_length, llama.block_count,
 * llama.attention.head_count, llama.feed_forward_length, llama.context_length and
 * llama.attention.layer_norm_rms_epsilon. Optional: llama.attention.head_count_kv (= heads),
 * llama.rope.freq_base (1e4), llama.rope.dimension_count (must equal head_dim),
 * llama.rope.scaling.{type,factor} or the older llama.rope.scale_linear, and llama.vocab_size
 * (else the number of tokenizer pieces, else the embedding's row count).
 *
 * Special ids: tokenizer.ggml.{bos,eos,unknown}_token_id (defaults 1, 2, 0, as llama.cpp's SPM
 * defaults); the FIM sentinels and `<step>` are found by piece name in tokenizer.ggml.tokens,
 * as the reference tokenizer does.
 *
 * The reader does not keep the byte offsets of metadata entries, so errors about a metadata value
 * are reported at byte 0 with the key as the field, like GGUFFile's own getters.
 */
import { FormatError } from "../util/errors.js";
import type { GGUFFile } from "./gguf-reader.js";
import { GGUFValueType } from "./gguf-types.js";
import type { ModelConfig } from "./model-config.js";
import { namedSpecialIds } from "./tokenizer-pieces.js";

export const SUPPORTED_ARCHITECTURES = ["llama"] as const;

const MAX_WIDTH = 1 << 20;

export function ggufConfig(g: GGUFFile): ModelConfig {
  const fail = (key: string, problem: string): never => { throw new FormatError(g.name, 0, `metadata "${key}"`, problem); };

  // An integer in [min, max]; `def` when absent, or a "missing" error when there is no default.
  const int = (key: string, def?: number, min = 1, max = 2 ** 31 - 1): number => {
    const v = g.getNumber(key);
    if (v === undefined) return def ?? fail(key, "is missing (required for llama models)");
    if (!Number.isInteger(v) || v < min || v > max) fail(key, `${v} is not an integer from ${min} to ${max}`);
    return v;
  };
  const positive = (key: string, def?: number): number => {
    const v = g.getNumber(key);
    if (v === undefined) return def ?? fail(key, "is missing (required for llama models)");
    if (!Number.isFinite(v) || v <= 0) fail(key, `${v} must be a positive number`);
    return v;
  };

  // 1. Architecture.
  const arch = g.getString("general.architecture");
  if (arch === undefined) fail("general.architecture", `is missing (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`);
  if (arch !== "llama") fail("general.architecture", `${JSON.stringify(arch)} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(", ")}; Code Llama and Llama 2 files use "llama")`);

  // 2. Shapes.
  const dim = int("llama.embedding_length", undefined, 1, MAX_WIDTH);
  const nLayers = int("llama.block_count", undefined, 1, 4096);
  const nHeads = int("llama.attention.head_count", undefined, 1, 4096);
  const nKVHeads = int("llama.attention.head_count_kv", nHeads, 1, 4096);
  const ffnDim = int("llama.feed_forward_length", undefined, 1, 4 * MAX_WIDTH);
  if (dim % nHeads !== 0) fail("llama.attention.head_count", `${nHeads} does not divide llama.embedding_length ${dim}`);
  if (nHeads % nKVHeads !== 0) fail("llama.attention.head_count_kv", `${nKVHeads} does not divide llama.attention.head_count ${nHeads}`);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) fail("llama.attention.head_count", `head dimension ${dim}/${nHeads} = ${headDim} must be even for RoPE`);
  const ropeDims = int("llama.rope.dimension_count", headDim, 1, MAX_WIDTH);
  if (ropeDims !== headDim) fail("llama.rope.dimension_count", `${ropeDims} differs from the head dimension ${headDim}; partial rotary embeddings are not supported`);

  // 3. Positions, RoPE, norm.
  const contextLength = int("llama.context_length", undefined, 1, 1 << 24);
  const ropeTheta = positive("llama.rope.freq_base", 10000);
  let ropeScale = 1;
  const scaling = g.getString("llama.rope.scaling.type");
  if (scaling === "linear") ropeScale = positive("llama.rope.scaling.factor");
  else if (scaling !== undefined && scaling !== "none") fail("llama.rope.scaling.type", `${JSON.stringify(scaling)} is not supported (supported: none, linear)`);
  else if (g.has("llama.rope.scale_linear")) ropeScale = positive("llama.rope.scale_linear");
  const rmsEps = positive("llama.attention.layer_norm_rms_epsilon");

  // 4. Vocabulary: llama.vocab_size, else the tokenizer's pieces, else the embedding rows.
  const tokens = g.getArray("tokenizer.ggml.tokens", [GGUFValueType.STRING]) as string[] | undefined;
  const embd = g.tensor("token_embd.weight");
  let vocabSize: number;
  if (g.has("llama.vocab_size")) vocabSize = int("llama.vocab_size", undefined, 1, 1 << 24);
  else if (tokens) vocabSize = tokens.length;
  else if (embd && embd.dims.length === 2) vocabSize = embd.dims[1];
  else vocabSize = fail("llama.vocab_size", "is missing, and there is neither tokenizer.ggml.tokens nor token_embd.weight to take it from");
  if (vocabSize < 1 || vocabSize > 1 << 24) fail("tokenizer.ggml.tokens", `${vocabSize} pieces is out of range (1 to ${1 << 24})`);
  if (tokens && tokens.length > vocabSize) fail("tokenizer.ggml.tokens", `has ${tokens.length} pieces but llama.vocab_size is ${vocabSize}`);

  // 5. Special ids.
  const tokenId = (key: string, def: number): number => int(key, def, 0, vocabSize - 1);
  const special = {
    bos: tokenId("tokenizer.ggml.bos_token_id", 1),
    eos: tokenId("tokenizer.ggml.eos_token_id", 2),
    unk: tokenId("tokenizer.ggml.unknown_token_id", 0),
    ...(tokens ? namedSpecialIds(tokens) : {}),
  };

  return {
    architecture: "llama",
    name: g.getString("general.name"),
    dim, nLayers, nHeads, nKVHeads, headDim, ffnDim, vocabSize, contextLength, ropeTheta, ropeScale, rmsEps,
    // Tied only when there are weights and no output matrix (a vocab-only file is neither).
    tiedEmbeddings: embd !== undefined && g.tensor("output.weight") === undefined,
    special,
  };
}
