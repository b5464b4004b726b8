/**
 * The one model description every loader produces (GGUF, HF safetensors + config.json,
 * Meta params.json). Tensor names are always GGUF's (`token_embd.weight`, `blk.N.attn_q.weight`, ...),
 * and Q/K rows are always in the GGUF/Meta layout (RoPE on adjacent pairs); see `hf-permute.ts`.
 */
export interface SpecialTokens {
  bos: number;
  eos: number;
  unk: number;
  /** Code Llama FIM sentinels, present only on FIM tokenizers (32016 pieces). */
  prefix?: number;
  suffix?: number;
  middle?: number;
  eot?: number;
  /** `<step>`, the 70B-Instruct turn separator. */
  step?: number;
}

export interface ModelConfig {
  architecture: "llama";
  name?: string;
  /** Model width (embedding length). */
  dim: number;
  nLayers: number;
  nHeads: number;
  nKVHeads: number;
  /** dim / nHeads (128 for every Code Llama size). */
  headDim: number;
  /** FFN hidden size. */
  ffnDim: number;
  vocabSize: number;
  /** Training context length from the file. */
  contextLength: number;
  /** RoPE base θ (1e6 for Code Llama, 1e4 for Llama 2 and the 70B Python/Instruct models). */
  ropeTheta: number;
  /** Linear RoPE position scale (1 = none). Positions are divided by it. */
  ropeScale: number;
  rmsEps: number;
  /** True when there is no `output.weight` and the embedding is reused. */
  tiedEmbeddings: boolean;
  special: SpecialTokens;
}

/** Parameter count of the Llama weights described by `c`. */
export function parameterCount(c: ModelConfig): number {
  const kvDim = c.nKVHeads * c.headDim;
  const perLayer = 2 * c.dim + c.dim * c.dim * 2 + c.dim * kvDim * 2 + 3 * c.dim * c.ffnDim;
  return c.vocabSize * c.dim * (c.tiedEmbeddings ? 1 : 2) + c.dim + c.nLayers * perLayer;
}
