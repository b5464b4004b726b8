/**
 * Where everything lives in memory. A wasm32 memory stops at 4 GiB, so the model is split by
 * layers into shards: each shard is one shared WebAssembly memory holding a run of consecutive
 * layers with their KV cache and a private set of activation buffers. The residual stream x is
 * copied from one shard to the next (dim floats per token: nothing next to a layer's weights).
 * The last shard also holds token_embd, output_norm and output (or token_embd alone when tied).
 *
 * Sizes are planned before anything is allocated, so a model that does not fit fails with a
 * message that says how much memory it needs.
 */
import { readFileSync } from "node:fs";
import { GGMLType, rowBytes } from "../format/ggml-types.js";
import type { ModelConfig } from "../format/model-config.js";
import type { ModelTensor } from "../format/model-file.js";
import { ArenaPlan } from "../kernels/arena.js";
import { activationStride, type ActivationFormat } from "../kernels/formats.js";
import { kernelKind } from "../kernels/repack.js";
import { MAX_PAGES, PAGE } from "../kernels/wasm.js";
import { UserError } from "../util/errors.js";

export type KVType = "f16" | "f32" | "q8_0";

/** The kernels' KV type codes (as/attention.ts). */
export const KV_CODE: Record<KVType, number> = { f32: 0, f16: 1, q8_0: 2 };

/** Bytes of one cache position holding `kvDim` values (Q8_0: 34 bytes per 32 values). */
export function kvRowBytes(kvType: KVType, kvDim: number): number {
  return kvType === "q8_0" ? (kvDim / 32) * 34 : kvDim * (kvType === "f16" ? 2 : 4);
}

export interface PlanOptions {
  /** Context length: KV cache positions per sequence. */
  ctx: number;
  /** KV cache sequences ("slots"): independent caches for sessions or parallel samples (default 1). */
  nSeq?: number;
  /** Most tokens one forward call processes (prefill chunk). */
  batch: number;
  kvType: KVType;
  nThreads: number;
  /** Bytes the kernel module reserves at the bottom of each memory. */
  heapBase: number;
  /** Largest shard in bytes (tests lower it to exercise sharding on small models). */
  maxShardBytes?: number;
}

/** A weight placed in a shard. `rows` x `cols`, GGUF layout, `rowBytes` apart. */
export interface PlacedWeight {
  name: string;
  ptr: number;
  /** The file's ggml type. */
  type: number;
  /** What the matmul kernel runs: the type, or its row-interleaved x4 layout (src/kernels/repack.ts). */
  kind: number;
  rows: number;
  cols: number;
  rowBytes: number;
  nbytes: number;
}

/** Activation buffers of one shard. Shapes are [batch][n]; f32 unless said. */
export interface ShardBuffers {
  x: number; // residual stream [B][dim]
  xb: number; // normed input [B][dim]
  xb2: number; // attention output [B][dim]
  q: number; // [B][dim]
  k: number; // [B][kvDim]
  v: number; // [B][kvDim]
  hb: number; // [B][ffn]
  hb2: number; // [B][ffn]
  act: Record<Exclude<ActivationFormat, "f32">, number>; // quantised activations [B][stride(max(dim, ffn))]
  cs: number; // RoPE cos/sin [B][headDim]
  repack: number; // scratch for loading: one group of four rows of the widest repacked weight
  info: number; // attention: per token i32 (K cache ptr, V cache ptr, positions seen) [B][3]
  scores: number; // attention scratch [threads][ctx * (2 * headDim + 4)] f32 (see attentionScratchBytes)
  logits: number; // [min(B, LOGIT_ROWS)][vocab], last shard only (0 elsewhere)
}

export interface LayerPlan {
  attn_norm: PlacedWeight; attn_q: PlacedWeight; attn_k: PlacedWeight; attn_v: PlacedWeight;
  attn_output: PlacedWeight; ffn_norm: PlacedWeight; ffn_gate: PlacedWeight; ffn_up: PlacedWeight; ffn_down: PlacedWeight;
  /** KV caches: [nSeq][ctx][kvDim] of kvType; sequence s starts at kCache + s * seqBytes. */
  kCache: number;
  vCache: number;
}

export interface ShardPlan {
  arena: ArenaPlan;
  lut: number;
  layers: number[]; // layer indexes
  buffers: ShardBuffers;
  weights: PlacedWeight[];
}

export interface ModelPlan {
  shards: ShardPlan[];
  layers: LayerPlan[]; // by layer index
  tokenEmbd: PlacedWeight; // in the last shard
  outputNorm: PlacedWeight;
  output: PlacedWeight; // token_embd itself when tied
  totalBytes: number;
  weightBytes: number;
  kvBytes: number;
  /** Bytes of one sequence's K (or V) cache in one layer: ctx * kvDim * element size. */
  seqBytes: number;
  nSeq: number;
}

/** Rows of logits computed per output matmul (a long prompt's "all" logits are made in chunks). */
export const LOGIT_ROWS = 64;

/** Per-thread attention scratch: one K/V head decoded to f32 and four tokens' scores, for prefill (as/attention.ts). */
export function attentionScratchBytes(ctx: number, headDim: number): number { return 4 * ctx * (2 * headDim + 4); }

const LAYER_TENSORS = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] as const;
const MAX_SHARD = MAX_PAGES * PAGE - 64 * PAGE;

/** 1-D tensors (the norms) are always held as F32, whatever the file stores; the loader converts. */
function weightOf(name: string, t: ModelTensor): Omit<PlacedWeight, "ptr"> {
  const cols = t.dims[0];
  if (t.dims.length === 1) return { name, type: GGMLType.F32, kind: GGMLType.F32, rows: 1, cols, rowBytes: cols * 4, nbytes: cols * 4 };
  // token_embd keeps the GGUF layout: the embedding lookup reads its rows
  const kind = name === "token_embd.weight" ? t.type : kernelKind(t.type, t.dims[1]);
  return { name, type: t.type, kind, rows: t.dims[1], cols, rowBytes: rowBytes(t.type, cols), nbytes: t.nbytes };
}

/** Plan shards for `config` given its tensors (already validated against the config). */
export function planModel(c: ModelConfig, tensors: ReadonlyMap<string, ModelTensor>, o: PlanOptions): ModelPlan {
  const kvDim = c.nKVHeads * c.headDim;
  if (o.kvType === "q8_0" && c.headDim % 32 !== 0) throw new UserError(`--kv q8_0 needs a head size that is a multiple of 32; this model's is ${c.headDim} (use f16)`);
  const nSeq = o.nSeq ?? 1;
  const seqBytes = o.ctx * kvRowBytes(o.kvType, kvDim);
  const kvLayerBytes = 2 * nSeq * seqBytes;
  const maxShard = Math.min(o.maxShardBytes ?? MAX_SHARD, MAX_SHARD);
  const tensor = (name: string): ModelTensor => {
    const t = tensors.get(name);
    if (!t) throw new UserError(`the model has no tensor "${name}"`);
    return t;
  };
  const tied = !tensors.has("output.weight");
  const globals = ["token_embd.weight", "output_norm.weight", ...(tied ? [] : ["output.weight"])];
  const size = (n: string) => weightOf(n, tensor(n)).nbytes + 64;
  const globalBytes = globals.reduce((a, n) => a + size(n), 0);
  const layerBytes = (l: number) => LAYER_TENSORS.reduce((a, n) => a + size(`blk.${l}.${n}.weight`), 0) + kvLayerBytes + 128;

  // Activation buffers per shard (the last one adds the logits).
  const B = o.batch, wide = Math.max(c.dim, c.ffnDim);
  const actBytes = 4 * B * (4 * c.dim + 2 * kvDim + 2 * c.ffnDim + c.headDim + 3) + B * activationStride("q8_0", wide)
    + B * activationStride("q8_K", Math.ceil(wide / 256) * 256) + o.nThreads * attentionScratchBytes(o.ctx, c.headDim) + 65536 * 4 + 64 * 16 + o.heapBase;
  const logitBytes = 4 * Math.min(B, LOGIT_ROWS) * c.vocabSize;

  // Greedy: fill a shard with layers while they fit; the last shard must also take the globals.
  const groups: number[][] = [[]];
  let used = actBytes;
  for (let l = 0; l < c.nLayers; l++) {
    const lb = layerBytes(l);
    if (actBytes + lb > maxShard) throw new UserError(`layer ${l} alone needs ${gb(lb + actBytes)} with a ${o.ctx}-token context, more than one 4 GiB wasm memory; use a smaller --ctx`);
    if (used + lb > maxShard && groups[groups.length - 1].length > 0) { groups.push([]); used = actBytes; }
    groups[groups.length - 1].push(l);
    used += lb;
  }
  if (used + globalBytes + logitBytes > maxShard) { groups.push([]); }

  const layers: LayerPlan[] = new Array(c.nLayers);
  const shards: ShardPlan[] = [];
  let tokenEmbd: PlacedWeight | undefined, outputNorm: PlacedWeight | undefined, output: PlacedWeight | undefined;
  let weightBytes = 0;
  groups.forEach((group, si) => {
    const last = si === groups.length - 1;
    const arena = new ArenaPlan(o.heapBase);
    const lut = arena.alloc("f16 table", 65536 * 4);
    const weights: PlacedWeight[] = [];
    const place = (name: string): PlacedWeight => {
      const w = weightOf(name, tensor(name));
      const placed = { ...w, ptr: arena.alloc(name, w.nbytes) };
      weights.push(placed);
      weightBytes += w.nbytes;
      return placed;
    };
    for (const l of group) {
      const p = Object.fromEntries(LAYER_TENSORS.map((n) => [n, place(`blk.${l}.${n}.weight`)])) as Record<(typeof LAYER_TENSORS)[number], PlacedWeight>;
      layers[l] = { ...p, kCache: arena.alloc(`blk.${l}.k_cache`, nSeq * seqBytes), vCache: arena.alloc(`blk.${l}.v_cache`, nSeq * seqBytes) };
    }
    if (last) {
      tokenEmbd = place("token_embd.weight");
      outputNorm = place("output_norm.weight");
      output = tied ? tokenEmbd : place("output.weight");
    }
    const f = (name: string, n: number) => arena.alloc(name, n * 4);
    const buffers: ShardBuffers = {
      x: f("x", B * c.dim), xb: f("xb", B * c.dim), xb2: f("xb2", B * c.dim), q: f("q", B * c.dim),
      k: f("k", B * kvDim), v: f("v", B * kvDim), hb: f("hb", B * c.ffnDim), hb2: f("hb2", B * c.ffnDim),
      act: {
        q8_0: arena.alloc("act q8_0", B * activationStride("q8_0", wide)),
        q8_K: arena.alloc("act q8_K", B * activationStride("q8_K", Math.ceil(wide / 256) * 256)),
      },
      cs: f("rope cos/sin", B * c.headDim),
      repack: arena.alloc("repack scratch", Math.max(...weights.map((w) => (w.kind !== w.type ? 4 * w.rowBytes : 0)), 0)),
      info: f("attention info", B * 3),
      scores: arena.alloc("attention scratch", o.nThreads * attentionScratchBytes(o.ctx, c.headDim)),
      logits: last ? f("logits", Math.min(B, LOGIT_ROWS) * c.vocabSize) : 0,
    };
    if (arena.size > MAX_PAGES * PAGE) throw new Error(`shard ${si} planned at ${arena.size} bytes, over 4 GiB (planner bug)`);
    shards.push({ arena, lut, layers: group, buffers, weights });
  });
  const totalBytes = shards.reduce((a, s) => a + s.arena.pages * PAGE, 0);
  return {
    shards, layers, tokenEmbd: tokenEmbd!, outputNorm: outputNorm!, output: output!,
    totalBytes, weightBytes, kvBytes: c.nLayers * kvLayerBytes, seqBytes, nSeq,
  };
}

export function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** MemAvailable from /proc/meminfo (bytes), or undefined where that file does not exist. */
export function availableMemory(): number | undefined {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
