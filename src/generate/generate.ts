/**
 * The generation loop: prefill the prompt, then sample one token at a time until a stop condition.
 * Output is an async iterator of {token, text} steps (text is UTF-8 safe across byte-fallback
 * tokens), plus a `result` promise with the whole run and its timings. An AbortSignal stops it
 * between tokens.
 *
 * Stop conditions: `maxTokens`; EOS (when `stopAtEos`); any of `stopTokens` (e.g. <EOT> for
 * infilling); any of `stopStrings` (text after it is not emitted); the end of the context.
 * Stop tokens are not part of the output, as in Meta's generate().
 */
import type { LlamaModel } from "../model/llama.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { Sampler, type SamplingOptions } from "./sampler.js";

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default: until the context is full). */
  maxTokens?: number;
  /** Stop when EOS is sampled (default: when sampling, i.e. temperature > 0). */
  stopAtEos?: boolean;
  stopTokens?: number[];
  stopStrings?: string[];
  signal?: AbortSignal;
  /** Decode as an infill (keeps a leading space, as decode_infilling). */
  infill?: boolean;
  /** Positions 0..startPos-1 of the KV cache already hold promptTokens[0..startPos) (prompt cache). */
  startPos?: number;
  /** The KV cache sequence to use (default 0). */
  seq?: number;
}

export type StopReason = "eos" | "stop-token" | "stop-string" | "max-tokens" | "context" | "aborted";

export interface GenerationStep {
  token: number;
  /** Text that became final with this token (may be "" while a character or a possible stop string is pending). */
  text: string;
}

export interface Timings {
  promptTokens: number;
  promptMs: number;
  genTokens: number;
  genMs: number;
  promptTokensPerSecond: number;
  genTokensPerSecond: number;
}

export interface GenerationResult {
  promptTokens: number[];
  tokens: number[];
  text: string;
  stopReason: StopReason;
  timings: Timings;
  /** The tokens the KV cache now holds at positions 0..n-1 (prompt + generated tokens that were fed back). */
  cached: number[];
}

export interface Generation extends AsyncIterable<GenerationStep> {
  /** Awaiting it runs the generation to its end (consuming the iterator if nobody iterates it). */
  readonly result: PromiseLike<GenerationResult>;
  /** Settles when the generation ends, without driving it. */
  readonly settled: Promise<GenerationResult>;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Length of the longest suffix of `text` that is a proper prefix of one of `stops`. */
function pendingStopPrefix(text: string, stops: string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
      if (text.endsWith(s.slice(0, n))) { best = n; break; }
    }
  }
  return best;
}

export function generate(model: LlamaModel, tokenizer: Tokenizer, promptTokens: number[], o: GenerateOptions = {}): Generation {
  const ctx = model.ctx;
  const startPos = o.startPos ?? 0;
  if (promptTokens.length === 0) throw new UserError("the prompt is empty (no tokens)");
  if (promptTokens.length >= ctx) throw new UserError(`the prompt has ${promptTokens.length} tokens but the context holds ${ctx}; nothing is left to generate (set --ctx)`);
  if (!(startPos >= 0 && startPos < promptTokens.length)) throw new Error(`startPos ${startPos} must be below the prompt length ${promptTokens.length}`);
  const maxTokens = Math.min(o.maxTokens ?? Infinity, ctx - promptTokens.length);
  if (!(maxTokens >= 0)) throw new UserError(`maxTokens must be >= 0, got ${o.maxTokens}`);
  const sampler = new Sampler(o);
  const stopAtEos = o.stopAtEos ?? sampler.temperature > 0;
  const stopTokens = new Set(o.stopTokens ?? []);
  const stops = (o.stopStrings ?? []).filter((s) => s.length > 0);
  const eos = tokenizer.special.eos;

  let resolveResult!: (r: GenerationResult) => void;
  let rejectResult!: (e: unknown) => void;
  const result = new Promise<GenerationResult>((res, rej) => { resolveResult = res; rejectResult = rej; });
  result.catch(() => { /* surfaced through the iterator too */ });

  async function* run(): AsyncGenerator<GenerationStep> {
    const tokens: number[] = [];
    const history = [...promptTokens];
    const dec = tokenizer.streamDecoder({ infill: o.infill });
    let text = "", emitted = 0;
    let stopReason: StopReason = "max-tokens";
    const t0 = performance.now();
    const seq = o.seq ?? 0;
    let fed = 0; // generated tokens fed back through the model (and so in the cache)
    let logits = model.prefill(promptTokens.slice(startPos), startPos, "last", seq);
    const t1 = performance.now();
    let pos = promptTokens.length;
    while (tokens.length < maxTokens) {
      if (o.signal?.aborted) { stopReason = "aborted"; break; }
      const tok = sampler.sample(logits, history);
      if (tok === eos && stopAtEos) { stopReason = "eos"; break; }
      if (stopTokens.has(tok)) { stopReason = "stop-token"; break; }
      tokens.push(tok);
      history.push(tok);
      text += dec.push(tok);
      // stop strings: cut at the first one; hold back text that might start one
      let final = text.length;
      const hit = stops.length ? Math.min(...stops.map((s) => { const i = text.indexOf(s, Math.max(0, emitted - s.length)); return i < 0 ? Infinity : i; })) : Infinity;
      if (hit !== Infinity) { text = text.slice(0, hit); final = hit; stopReason = "stop-string"; }
      else if (stops.length) final = text.length - pendingStopPrefix(text, stops);
      const delta = text.slice(emitted, Math.max(emitted, final));
      emitted = Math.max(emitted, final);
      yield { token: tok, text: delta };
      if (stopReason === "stop-string") break;
      if (tokens.length >= maxTokens) break;
      if (pos >= ctx) { stopReason = "context"; break; }
      logits = model.forward([tok], pos++, "last", seq);
      fed++;
      await tick();
    }
    if (stopReason !== "stop-string") {
      text += dec.flush();
      if (text.length > emitted) yield { token: -1, text: text.slice(emitted) };
    }
    const t2 = performance.now();
    const genTokens = tokens.length;
    resolveResult({
      promptTokens, tokens, text, stopReason, cached: [...promptTokens, ...tokens.slice(0, fed)],
      timings: {
        promptTokens: promptTokens.length - startPos, promptMs: t1 - t0, genTokens, genMs: t2 - t1,
        promptTokensPerSecond: (promptTokens.length - startPos) / ((t1 - t0) / 1000),
        genTokensPerSecond: genTokens > 1 ? (genTokens - 1) / ((t2 - t1) / 1000) : 0,
      },
    });
  }

  let iter: AsyncGenerator<GenerationStep> | undefined;
  const start = () => {
    if (iter) throw new Error("a generation can be iterated once");
    const it = run();
    iter = {
      ...it,
      next: async (...a) => { try { return await it.next(...a); } catch (e) { rejectResult(e); throw e; } },
      [Symbol.asyncIterator]() { return this; },
    } as AsyncGenerator<GenerationStep>;
    return iter;
  };
  const drain = () => {
    if (!iter) void (async () => { try { for await (const _ of { [Symbol.asyncIterator]: start }) { /* drain */ } } catch { /* in result */ } })();
  };
  return {
    [Symbol.asyncIterator]: start,
    result: { then: (ok, fail) => { drain(); return result.then(ok, fail); } },
    settled: result,
  };
}
