// llama.cpp (node-llama-cpp 3.22.1, CPU build, a devDependency) as the reference for whole-model
// numerics: raw logits after each position and greedy continuations, fed as token ids.
// For exact comparisons use kv "f32" and flashAttention false (llamacpp-peer.md §2).
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";

let llamaP: Promise<Llama> | undefined;
function llama(): Promise<Llama> {
  llamaP ??= getLlama({ gpu: false, build: "never", maxThreads: 2, logLevel: LlamaLogLevel.error, logger: () => {} });
  return llamaP;
}

export interface PeerRunOptions {
  kv?: "f32" | "f16" | "q8_0";
  flashAttention?: boolean;
  threads?: number;
  contextSize?: number;
  batchSize?: number;
}

export interface PeerRun {
  /** Full logit vectors: after each prompt position asked for (allPositions / positions, and the last), then after each generated token. */
  logits: Float32Array[];
  /** Greedy tokens generated after the prompt. */
  tokens: number[];
}

function toVector(m: ReadonlyMap<number, number>, vocab: number): Float32Array {
  const v = new Float32Array(vocab).fill(Number.NaN);
  for (const [t, x] of m) v[t] = x;
  return v;
}

/** Evaluate `ids` (BOS included by the caller), then generate `n` greedy tokens; all logits returned. */
export async function peerGreedy(modelPath: string, ids: number[], n: number, opts: PeerRunOptions & { allPositions?: boolean; positions?: number[] } = {}): Promise<PeerRun> {
  const l = await llama();
  const model: LlamaModel = await l.loadModel({ modelPath, gpuLayers: 0 });
  const vocab = ((model.fileInfo.metadata as any).tokenizer.ggml.tokens as unknown[]).length;
  const kv = (opts.kv ?? "f32").toUpperCase() as "F32" | "F16" | "Q8_0";
  const context = await model.createContext({
    contextSize: opts.contextSize ?? Math.max(256, ids.length + n + 8),
    batchSize: opts.batchSize ?? 512,
    threads: { ideal: opts.threads ?? 2, min: opts.threads ?? 2 },
    flashAttention: opts.flashAttention ?? false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
    sequences: 1,
  });
  try {
    const seq = context.getSequence();
    const wanted = new Set(opts.positions ?? []);
    const input = ids.map((t, i) => (i === ids.length - 1 || opts.allPositions || wanted.has(i) ? [t, { generateNext: { token: true, logits: true } }] : t));
    const res = await seq.controlledEvaluate(input as any);
    const logits: Float32Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const r = res[i] as any;
      if (r?.next?.logits) logits.push(toVector(r.next.logits, vocab));
    }
    const tokens: number[] = [];
    let next = (res[ids.length - 1] as any).next.token as number;
    while (tokens.length < n) {
      tokens.push(next);
      if (tokens.length === n) break;
      const r = (await seq.controlledEvaluate([[next, { generateNext: { token: true, logits: true } }]] as any))[0] as any;
      logits.push(toVector(r.next.logits, vocab));
      next = r.next.token;
    }
    return { logits, tokens };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** llama.cpp's tokenization (no BOS, no special-token parsing). */
export async function peerTokenize(modelPath: string, text: string): Promise<number[]> {
  const l = await llama();
  const model = await l.loadModel({ modelPath, gpuLayers: 0 });
  try {
    return [...model.tokenize(text, false)];
  } finally {
    await model.dispose();
  }
}
