/**
 * The parameter layout: every weight of the Llama model in one contiguous f32 buffer (gradients and
 * the AdamW moments use the same offsets in buffers of their own), in GGUF tensor order and with
 * GGUF names. Offsets are in floats from the start of the buffer:
 *
 *   token_embd.weight          [vocab][dim]
 *   per layer i (blk.i.):
 *     attn_norm.weight         [dim]
 *     attn_q.weight            [dim][dim]       \
 *     attn_k.weight            [kvDim][dim]      > consecutive: one fused QKV matrix [dim+2kvDim][dim]
 *     attn_v.weight            [kvDim][dim]     /
 *     attn_output.weight       [dim][dim]
 *     ffn_norm.weight          [dim]
 *     ffn_gate.weight          [ffn][dim]       \ consecutive: one fused gate|up matrix [2ffn][dim]
 *     ffn_up.weight            [ffn][dim]       /
 *     ffn_down.weight          [dim][ffn]
 *   output_norm.weight         [dim]
 *   output.weight              [vocab][dim]
 *
 * A matrix of `rows` rows of `cols` is stored row-major, as GGUF stores it (dims [cols, rows]). Q/K
 * rows are in GGUF's (llama.cpp's) RoPE layout: the pairs rotated together are adjacent.
 *
 * Weight decay (AdamW) applies to the 2-D projection matrices (q, k, v, output, gate, up, down and
 * the output matrix), not to the RMSNorm gains nor to the token embeddings; see `decay` below.
 */
import { crc32 } from "node:zlib";
import { Rng } from "../util/rng.js";

/** The model's shape (Llama 2 / Code Llama hyper-parameters). */
export interface LlamaShape {
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  vocab: number;
  normEps: number;
  ropeTheta: number;
}

export interface ParamTensor {
  name: string;
  /** Offset in floats. */
  offset: number;
  rows: number;
  /** Row length (1-D tensors: rows = 1, cols = length). */
  cols: number;
  size: number;
  kind: "embedding" | "norm" | "matrix";
  /** AdamW weight decay applies. */
  decay: boolean;
}

export interface LayerParams {
  attnNorm: ParamTensor; q: ParamTensor; k: ParamTensor; v: ParamTensor; o: ParamTensor;
  ffnNorm: ParamTensor; gate: ParamTensor; up: ParamTensor; down: ParamTensor;
}

export interface ParamLayout {
  shape: LlamaShape;
  headDim: number;
  kvDim: number;
  tensors: ParamTensor[];
  byName: Map<string, ParamTensor>;
  embd: ParamTensor;
  layers: LayerParams[];
  outNorm: ParamTensor;
  output: ParamTensor;
  /** Floats in the buffer. */
  total: number;
}

export function layoutParams(shape: LlamaShape): ParamLayout {
  const { dim, layers, heads, kvHeads, ffn, vocab } = shape;
  const headDim = dim / heads, kvDim = kvHeads * headDim;
  const tensors: ParamTensor[] = [];
  let off = 0;
  const add = (name: string, rows: number, cols: number, kind: ParamTensor["kind"]): ParamTensor => {
    const t: ParamTensor = { name, offset: off, rows, cols, size: rows * cols, kind, decay: kind === "matrix" };
    tensors.push(t);
    off += t.size;
    return t;
  };
  const embd = add("token_embd.weight", vocab, dim, "embedding");
  const ls: LayerParams[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    ls.push({
      attnNorm: add(p + "attn_norm.weight", 1, dim, "norm"),
      q: add(p + "attn_q.weight", dim, dim, "matrix"),
      k: add(p + "attn_k.weight", kvDim, dim, "matrix"),
      v: add(p + "attn_v.weight", kvDim, dim, "matrix"),
      o: add(p + "attn_output.weight", dim, dim, "matrix"),
      ffnNorm: add(p + "ffn_norm.weight", 1, dim, "norm"),
      gate: add(p + "ffn_gate.weight", ffn, dim, "matrix"),
      up: add(p + "ffn_up.weight", ffn, dim, "matrix"),
      down: add(p + "ffn_down.weight", dim, ffn, "matrix"),
    });
  }
  const outNorm = add("output_norm.weight", 1, dim, "norm");
  const output = add("output.weight", vocab, dim, "matrix");
  return { shape, headDim, kvDim, tensors, byName: new Map(tensors.map((t) => [t.name, t])), embd, layers: ls, outNorm, output, total: off };
}

/**
 * Initial weights, as GPT-2 / llm.c / nanoGPT initialise a pre-norm transformer: every matrix and
 * the embeddings ~ N(0, 0.02^2), the two projections back into the residual stream (attn_output,
 * ffn_down) ~ N(0, (0.02/sqrt(2 layers))^2), norm gains 1. Each tensor draws from its own stream
 * seeded with [seed, crc32(name)], so the weights do not depend on the layout order.
 */
export function initParams(layout: ParamLayout, params: Float32Array, seed: number, std = 0.02): void {
  const residStd = std / Math.sqrt(2 * layout.shape.layers);
  for (const t of layout.tensors) {
    const v = params.subarray(t.offset, t.offset + t.size);
    if (t.kind === "norm") { v.fill(1); continue; }
    const sd = /attn_output|ffn_down/.test(t.name) ? residStd : std;
    const rng = new Rng([seed >>> 0, crc32(t.name)]);
    for (let i = 0; i < v.length; i++) v[i] = sd * rng.normal();
  }
}

/** Parameters in the 2-D matrices and embeddings (what "6N FLOPs per token" counts). */
export function countParams(layout: ParamLayout): { total: number; embedding: number; nonEmbedding: number } {
  return { total: layout.total, embedding: layout.embd.size, nonEmbedding: layout.total - layout.embd.size };
}
