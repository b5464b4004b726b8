/**
 * Many samples from one prompt (pass@k draws 200 per problem): the prompt is prefilled once into
 * sequence 0, its KV cache is copied into the other sequences, and all unfinished samples decode
 * together, one token each per step, as one batch (matrix-matrix products over the rows). More
 * samples than the model has sequences run in waves. Sample i uses seed `seed + i`, so a run
 * reproduces, and with temperature 0 every sample is the greedy output.
 */
import type { LlamaModel } from "../model/llama.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import type { GenerateOptions, StopReason } from "./generate.js";
import { Sampler } from "./sampler.js";

export interface Sample {
  tokens: number[];
  text: string;
  stopReason: StopReason;
}

export interface ManyResult {
  samples: Sample[];
  promptTokens: number[];
  /** Generated tokens per second over all samples (prompt excluded). */
  tokensPerSecond: number;
}

export async function generateMany(model: LlamaModel, tokenizer: Tokenizer, promptTokens: number[], n: number,
  o: GenerateOptions & { onSample?: (i: number, s: Sample) => void } = {}): Promise<ManyResult> {
  const P = promptTokens.length;
  if (!(Number.isInteger(n) && n >= 1)) throw new UserError(`the number of samples must be a whole number >= 1, got ${n}`);
  if (P === 0) throw new UserError("the prompt is empty (no tokens)");
  if (P >= model.ctx) throw new UserError(`the prompt has ${P} tokens but the context holds ${model.ctx}`);
  const maxTokens = Math.min(o.maxTokens ?? Infinity, model.ctx - P);
  const baseSeed = o.seed ?? ((Math.random() * 2 ** 32) >>> 0);
  const stopTokens = new Set(o.stopTokens ?? []);
  const stops = (o.stopStrings ?? []).filter((s) => s.length > 0);
  const eos = tokenizer.special.eos;
  const V = model.config.vocabSize;
  const samples: Sample[] = new Array(n);
  const t0 = performance.now();
  let generated = 0;

  for (let first = 0; first < n; first += model.nSeq) {
    const wave = Math.min(model.nSeq, n - first);
    // prompt into sequence 0, copied to the others
    const last = model.prefill(promptTokens, 0, "last", 0);
    for (let s = 1; s < wave; s++) model.copySeq(0, s, P);
    interface Live { i: number; seq: number; sampler: Sampler; tokens: number[]; history: number[]; logits: Float32Array; done?: StopReason }
    const live: Live[] = Array.from({ length: wave }, (_, s) => {
      const sampler = new Sampler({ ...o, seed: (baseSeed + first + s) >>> 0 });
      return { i: first + s, seq: s, sampler, tokens: [], history: [...promptTokens], logits: last.slice() };
    });
    const stopAtEos = o.stopAtEos ?? live[0].sampler.temperature > 0;
    let active = live;
    while (active.length) {
      if (o.signal?.aborted) { for (const l of active) l.done = "aborted"; break; }
      // sample one token per live sequence; decide who stops
      const step: Live[] = [];
      for (const l of active) {
        const tok = l.sampler.sample(l.logits, l.history);
        if (tok === eos && stopAtEos) { l.done = "eos"; continue; }
        if (stopTokens.has(tok)) { l.done = "stop-token"; continue; }
        l.tokens.push(tok); l.history.push(tok); generated++;
        if (stops.length && stops.some((s) => (o.infill ? tokenizer.decodeInfilling(l.tokens) : tokenizer.decode(l.tokens)).includes(s))) { l.done = "stop-string"; continue; }
        if (l.tokens.length >= maxTokens) { l.done = P + l.tokens.length >= model.ctx ? "context" : "max-tokens"; continue; }
        step.push(l);
      }
      // feed the new tokens back as one batch (in chunks of the model's batch size)
      for (let c = 0; c < step.length; c += model.batch) {
        const part = step.slice(c, c + model.batch);
        const logits = model.forwardBatch(part.map((l) => l.tokens[l.tokens.length - 1]), part.map((l) => l.seq), part.map((l) => P + l.tokens.length - 1), "all");
        part.forEach((l, k) => { l.logits = logits.subarray(k * V, (k + 1) * V); });
      }
      active = step;
      await new Promise<void>((r) => setImmediate(r));
    }
    for (const l of live) {
      let text = o.infill ? tokenizer.decodeInfilling(l.tokens) : tokenizer.decode(l.tokens);
      if (l.done === "stop-string") {
        const cut = Math.min(...stops.map((s) => { const k = text.indexOf(s); return k < 0 ? Infinity : k; }));
        text = text.slice(0, cut);
      }
      samples[l.i] = { tokens: l.tokens, text, stopReason: l.done ?? "max-tokens" };
      o.onSample?.(l.i, samples[l.i]);
    }
  }
  return { samples, promptTokens, tokensPerSecond: generated / ((performance.now() - t0) / 1000) };
}
