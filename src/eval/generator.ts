/**
 * One interface over the two ways a benchmark gets its samples: a model loaded here (an Engine)
 * or an OpenAI-compatible server (vLLM, TGI, llama.cpp server, ollama) reached over HTTP with
 * Node's fetch (`POST {url}/v1/completions`).
 *
 * `generate(req, first, count, params)` returns samples `first .. first+count-1` of a request.
 * Sample i is drawn with seed `params.seed + i`, so a resumed run draws the samples it has not
 * got yet, and with temperature 0 every sample is the greedy one. Locally, several samples of
 * one prompt decode together as a batch (Engine.completeMany / generateMany); a server gets the
 * count as `n` (servers that return fewer choices are asked again for the rest).
 *
 * Infilling over HTTP: the OpenAI completions API has no standard fill-in-the-middle field, so
 * the prompt is sent as text in the form Meta's docs write (`<PRE> {prefix} <SUF>{suffix} <MID>`,
 * SPM `<PRE> <SUF>{suffix} <MID> {prefix}`) with stop `<EOT>`; the server has to turn those
 * markers into Code Llama's sentinel tokens.
 */
import { z } from "zod";
import { Engine } from "../engine/engine.js";
import { generateMany } from "../generate/many.js";
import type { LoadOptions } from "../model/llama.js";
import { fimTokens, infillPromptTokens } from "../prompt/infill.js";
import { UserError } from "../util/errors.js";
import { completionFrom, type GenRequest } from "./prompts.js";

export interface SampleParams {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Seed of sample 0; sample i uses seed + i. */
  seed: number;
}

export interface GeneratedSample {
  /** The completion to execute (already cut at the request's stop sequences). */
  completion: string;
  /** Why generation ended: "eos", "stop", "length", ..., or "prompt-too-long" (nothing was generated). */
  finish: string;
}

export interface Generator {
  /** "model FILE" or "endpoint URL (model NAME)", for reports. */
  readonly description: string;
  /** Names the model goes by (file name, GGUF general.name, server model name), for --compare. */
  readonly names: readonly string[];
  /** How many generate() calls may run at once. */
  readonly parallel: number;
  /** Samples asked for in one generate() call (at most). */
  readonly batch: number;
  generate(req: GenRequest, first: number, count: number, p: SampleParams, signal?: AbortSignal): Promise<GeneratedSample[]>;
  close(): Promise<void>;
}

/** Thrown when a generation was cut short by the abort signal (nothing of it is kept). */
export class GenerationAborted extends Error {
  constructor() { super("generation aborted"); this.name = "GenerationAborted"; }
}

// ------------------------------------------------------------------ local model

export class LocalGenerator implements Generator {
  readonly parallel = 1;
  private constructor(readonly engine: Engine, readonly description: string, readonly names: readonly string[], readonly batch: number) {}

  /** Load `path`; `seqs` KV sequences let that many samples of one prompt decode together. */
  static async load(path: string, opts: LoadOptions & { seqs: number }): Promise<LocalGenerator> {
    const { seqs, ...load } = opts;
    const engine = await Engine.load(path, { ...load, nSeq: seqs });
    const base = path.split(/[\\/]/).filter(Boolean).pop() ?? path;
    const gname = engine.file.config.name;
    return new LocalGenerator(engine, `model ${path}`, [base, ...(gname ? [gname] : [])], seqs);
  }

  async generate(req: GenRequest, first: number, count: number, p: SampleParams, signal?: AbortSignal): Promise<GeneratedSample[]> {
    const e = this.engine;
    const common = { temperature: p.temperature, topP: p.topP, maxTokens: p.maxTokens, seed: (p.seed + first) >>> 0, signal };
    // 1. The prompt's tokens, to refuse one the context cannot hold (recorded as an empty sample).
    const ids = req.kind === "complete" ? e.tokenizer.encode(req.prompt, { bos: true }) : infillPromptTokens(e.tokenizer, req.prefix, req.suffix, { spm: req.spm });
    if (ids.length >= e.model.ctx) return Array.from({ length: count }, () => ({ completion: "", finish: "prompt-too-long" }));
    // 2. One sample: the streaming path; several: one batch over the KV sequences.
    let outs: { text: string; stopReason: string }[];
    if (req.kind === "complete") {
      const o = { ...common, stopStrings: [...req.stop], stopAtEos: true };
      outs = count === 1 ? [await e.complete(req.prompt, o).result] : (await e.completeMany(req.prompt, count, o)).samples;
    } else if (count === 1) {
      outs = [await e.infill(req.prefix, req.suffix, { ...common, spm: req.spm }).result];
    } else {
      const fim = fimTokens(e.tokenizer, e.file.path);
      outs = (await generateMany(e.model, e.tokenizer, ids, count, { ...common, infill: true, stopTokens: [fim.eot], stopAtEos: false })).samples;
    }
    if (outs.some((o) => o.stopReason === "aborted")) throw new GenerationAborted();
    return outs.map((o) => ({ completion: completionFrom(req, o.text), finish: o.stopReason }));
  }

  async close(): Promise<void> { await this.engine.close(); }
}

// ------------------------------------------------------------------ OpenAI-compatible endpoint

/** The infill prompt as text, in the form of Meta's docs (the server must map the markers to sentinel tokens). */
export function infillPromptText(prefix: string, suffix: string, spm: boolean): string {
  return spm ? `<PRE> <SUF>${suffix} <MID> ${prefix}` : `<PRE> ${prefix} <SUF>${suffix} <MID>`;
}

/** Several servers (TGI, some proxies) refuse more than 4 stop sequences; the rest are cut here. */
export const MAX_SERVER_STOPS = 4;

/** How servers word a prompt that does not fit (vLLM, TGI, llama.cpp, ollama). */
const TOO_LONG = /context length|context size|too long|exceeds|maximum.*tokens|input validation error/i;

class PromptTooLong extends Error {
  constructor() { super("the prompt does not fit the server's context"); }
}

const CompletionResponse = z.object({
  choices: z.array(z.object({ text: z.string(), index: z.number().optional(), finish_reason: z.string().nullish() })).min(1),
});

export interface EndpointOptions {
  /** Requests in flight at once (default 4). */
  parallel?: number;
  /** Samples asked for per request, as `n` (default 20). */
  batch?: number;
  /** Per-request time limit (default 10 minutes). */
  timeoutMs?: number;
  /** Attempts for 429/5xx answers and dropped connections (default 3). */
  attempts?: number;
  /** Sent as `Authorization: Bearer KEY` (servers started with an API key). */
  apiKey?: string;
}

/** The `/v1` base of a server URL given with or without `/v1` (and with or without a trailing slash). */
export function endpointBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--endpoint: "${url}" is not a URL (expected e.g. http://localhost:8000/v1)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UserError(`--endpoint: "${url}" is not an http:// or https:// URL`);
  const path = u.pathname.replace(/\/+$/, "");
  u.pathname = /\/v1$/.test(path) ? path : `${path}/v1`;
  return u.toString().replace(/\/+$/, "");
}

function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

/** Why a fetch failed, in a few words (ECONNREFUSED, ENOTFOUND, a timeout, ...). */
function fetchFailure(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return "no answer in time";
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

export class EndpointGenerator implements Generator {
  readonly parallel: number;
  readonly batch: number;
  readonly description: string;
  readonly names: readonly string[];
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly headers: Record<string, string>;

  constructor(url: string, readonly model: string, o: EndpointOptions = {}) {
    this.base = endpointBase(url);
    this.parallel = o.parallel ?? 4;
    this.batch = o.batch ?? 20;
    this.timeoutMs = o.timeoutMs ?? 600_000;
    this.attempts = o.attempts ?? 3;
    this.headers = o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {};
    this.description = `endpoint ${this.base} (model ${model})`;
    this.names = [model];
  }

  /** Fail early when nothing answers at the URL (any HTTP answer, even an error, will do). */
  async probe(): Promise<void> {
    try {
      const r = await fetch(`${this.base}/models`, { headers: this.headers, signal: AbortSignal.timeout(30_000) });
      await r.body?.cancel();
    } catch (e) {
      throw new UserError(`--endpoint ${this.base}: cannot connect (${fetchFailure(e)})`);
    }
  }

  private async post(body: Record<string, unknown>, signal?: AbortSignal): Promise<z.infer<typeof CompletionResponse>> {
    const url = `${this.base}/completions`;
    for (let attempt = 1; ; attempt++) {
      const sig = signal ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs);
      let retry: string;
      try {
        const r = await fetch(url, { method: "POST", headers: { ...this.headers, "content-type": "application/json" }, body: JSON.stringify(body), signal: sig });
        const text = await r.text();
        if (r.ok) {
          let json: unknown;
          try { json = JSON.parse(text); } catch { throw new UserError(`--endpoint ${url}: the answer is not JSON: ${oneLine(text)}`); }
          const parsed = CompletionResponse.safeParse(json);
          if (!parsed.success) throw new UserError(`--endpoint ${url}: the answer is not an OpenAI completion (${oneLine(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "))})`);
          return parsed.data;
        }
        // A prompt longer than the server's context is that task's problem, not the run's.
        if (r.status === 400 && TOO_LONG.test(text)) throw new PromptTooLong();
        if (r.status !== 429 && r.status < 500) throw new UserError(`--endpoint ${url}: HTTP ${r.status}: ${oneLine(text) || r.statusText}`);
        retry = `HTTP ${r.status}: ${oneLine(text) || r.statusText}`;
      } catch (e) {
        if (e instanceof UserError || e instanceof PromptTooLong) throw e;
        if (signal?.aborted) throw new GenerationAborted();
        retry = fetchFailure(e);
        if (attempt === 1 && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH/.test(retry)) throw new UserError(`--endpoint ${this.base}: cannot connect (${retry})`);
      }
      if (attempt >= this.attempts) throw new UserError(`--endpoint ${url}: ${retry} (after ${attempt} attempts)`);
      await new Promise((res) => setTimeout(res, 1000 * 2 ** (attempt - 1)));
    }
  }

  async generate(req: GenRequest, first: number, count: number, p: SampleParams, signal?: AbortSignal): Promise<GeneratedSample[]> {
    const prompt = req.kind === "complete" ? req.prompt : infillPromptText(req.prefix, req.suffix, req.spm);
    const stop = req.kind === "complete" ? req.stop.slice(0, MAX_SERVER_STOPS) : ["<EOT>"];
    const out: GeneratedSample[] = [];
    while (out.length < count) {
      const n = count - out.length;
      const body: Record<string, unknown> = {
        model: this.model, prompt, max_tokens: p.maxTokens, temperature: p.temperature, top_p: p.temperature === 0 ? 1 : p.topP,
        n, stop, seed: (p.seed + first + out.length) >>> 0, stream: false,
      };
      let r;
      try {
        r = await this.post(body, signal);
      } catch (e) {
        if (!(e instanceof PromptTooLong)) throw e;
        while (out.length < count) out.push({ completion: "", finish: "prompt-too-long" });
        break;
      }
      const choices = [...r.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).slice(0, n);
      for (const c of choices) out.push({ completion: completionFrom(req, c.text), finish: c.finish_reason ?? "unknown" });
    }
    return out;
  }

  async close(): Promise<void> { /* nothing held */ }
}
