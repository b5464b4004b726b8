/**
 * Options shared by the commands that run a model, and their parsing into LoadOptions /
 * sampling options. Bad values are UserErrors that say what is accepted.
 */
import { existsSync } from "node:fs";
import { Option, type Command } from "commander";
import type { LoadOptions } from "../model/llama.js";
import type { SamplingOptions } from "../generate/sampler.js";
import { UserError } from "../util/errors.js";
import { defaultModelPath } from "../util/package-root.js";

export function num(name: string, opts: { int?: boolean; min?: number; max?: number } = {}) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      const range = [opts.min !== undefined ? `>= ${opts.min}` : "", opts.max !== undefined ? `<= ${opts.max}` : ""].filter(Boolean).join(" and ");
      throw new UserError(`${name} must be ${opts.int ? "a whole number" : "a number"}${range ? ` ${range}` : ""}, got "${v}"`);
    }
    return n;
  };
}

/**
 * The embedded default model (models/default.gguf in the package, trained by `codellama train
 * --recipe default`), used by complete, infill and chat when no --model is given.
 */
export { defaultModelPath };

/** --model, else the embedded default model (a clear error if it is missing from this install). */
export function modelPath(o: { model?: string }): string {
  if (o.model !== undefined) return o.model;
  const p = defaultModelPath();
  if (!existsSync(p)) throw new UserError(`no --model given and the embedded default model is missing (${p}); give --model FILE, or rebuild it with: codellama train --recipe default`);
  return p;
}

/** The model flags; with `defaultModel`, --model may be left out (see modelPath). */
export function addModelOptions(cmd: Command, opts: { defaultModel?: boolean } = {}): Command {
  const model = new Option("-m, --model <file>", `model: a .gguf file or a Hugging Face folder${opts.defaultModel ? " (default: the embedded default model, models/default.gguf)" : ""}`);
  if (!opts.defaultModel) model.makeOptionMandatory(true);
  return cmd
    .addOption(model)
    .option("-t, --threads <n>", "compute threads (default: all cores)", num("--threads", { int: true, min: 1, max: 256 }))
    .option("-c, --ctx <n>", "context length: KV cache positions (default: the model's, at most 4096)", num("--ctx", { int: true, min: 1 }))
    .option("--batch <n>", "tokens per prefill chunk", num("--batch", { int: true, min: 1, max: 4096 }))
    .addOption(new Option("--kv <type>", "KV cache type (q8_0: about half of f16, for long contexts)").choices(["f16", "f32", "q8_0"]).default("f16"))
    .option("--rope-theta <theta>", "override the RoPE base from the file", num("--rope-theta", { min: 1 }))
    .option("--rope-scale <s>", "linear RoPE position scale (positions are divided by it)", num("--rope-scale", { min: 1 }))
    .option("-v, --verbose", "print the planned memory (weights, KV cache) and timings to stderr");
}

export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option("-n, --max-tokens <n>", "most tokens to generate", num("--max-tokens", { int: true, min: 0 }))
    .option("--temperature <t>", "sampling temperature; 0 = greedy", num("--temperature", { min: 0 }), 0.6)
    .option("--top-p <p>", "nucleus sampling (Meta's sample_top_p)", num("--top-p", { min: 0, max: 1 }), 0.9)
    .option("--top-k <k>", "keep the k most likely tokens; 0 = off", num("--top-k", { int: true, min: 0 }), 0)
    .option("--min-p <p>", "drop tokens below p x the top probability; 0 = off", num("--min-p", { min: 0, max: 1 }), 0)
    .option("--repeat-penalty <r>", "repetition penalty; 1 = off", num("--repeat-penalty", { min: 0.01 }), 1)
    .option("--seed <s>", "random seed, so runs reproduce", num("--seed", { int: true, min: 0, max: 2 ** 32 - 1 }))
    .option("--stop <text...>", "stop when this text is generated (repeatable)");
}

export interface ModelCliOptions {
  model: string; threads?: number; ctx?: number; batch?: number; kv: "f16" | "f32" | "q8_0"; ropeTheta?: number; ropeScale?: number; verbose?: boolean;
}
export interface SamplingCliOptions {
  maxTokens?: number; temperature: number; topP: number; topK: number; minP: number; repeatPenalty: number; seed?: number; stop?: string[];
}

/** Load options from the flags. The planned memory is printed (before allocating) on a terminal or with --verbose. */
export function loadOptions(o: ModelCliOptions): LoadOptions {
  const show = o.verbose || process.stderr.isTTY;
  return {
    threads: o.threads, ctx: o.ctx, batch: o.batch, kvType: o.kv, ropeTheta: o.ropeTheta, ropeScale: o.ropeScale,
    onPlan: show ? (_plan, summary) => process.stderr.write(`codellama: ${o.model}: ${summary}\n`) : undefined,
  };
}

export function samplingOptions(o: SamplingCliOptions): SamplingOptions & { maxTokens?: number; stopStrings?: string[] } {
  return {
    temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, repetitionPenalty: o.repeatPenalty,
    seed: o.seed, maxTokens: o.maxTokens, stopStrings: o.stop,
  };
}
