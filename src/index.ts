/**
 * codellama-ts: Meta's Code Llama in TypeScript.
 *
 * ```ts
 * import { loadModel } from "codellama-ts";
 * const model = await loadModel("codellama-7b.Q4_0.gguf", { threads: 2, ctx: 4096 });
 * for await (const step of model.complete("def fib(n):", { temperature: 0, maxTokens: 64 })) process.stdout.write(step.text);
 * const { generation } = await model.infill("def add(a, b):\n    ", "\n    return c\n").result;
 * const { message } = await model.chat([{ role: "user", content: "Write fizzbuzz in Rust" }]).result;
 * await model.close();
 * ```
 *
 * Every generating call returns an async iterable of `{token, text}` steps and a `result` to await,
 * and takes an AbortSignal (`signal`). `session()` keeps a KV cache between requests (prompt cache);
 * `completeMany(prompt, n)` draws n samples as one batch; `score(text)` gives per-token log-probs.
 */
import { Engine } from "./engine/engine.js";
import type { LoadOptions } from "./model/llama.js";

/** Load a model (a .gguf file or a Hugging Face folder) with its tokenizer. */
export function loadModel(path: string, opts: LoadOptions = {}): Promise<Engine> {
  return Engine.load(path, opts);
}

export { Engine };
export type { CompleteOptions, InfillOptions, InfillResult, ChatOptions, ChatResult, ScoreResult, Streamed } from "./engine/engine.js";
export type { Session } from "./engine/session.js";
export type { LoadOptions, LogitsWanted } from "./model/llama.js";
export { LlamaModel } from "./model/llama.js";
export type { KVType } from "./model/plan.js";
export { generate } from "./generate/generate.js";
export type { Generation, GenerationResult, GenerationStep, GenerateOptions, StopReason, Timings } from "./generate/generate.js";
export { generateMany } from "./generate/many.js";
export type { ManyResult, Sample } from "./generate/many.js";
export { Sampler } from "./generate/sampler.js";
export type { SamplingOptions } from "./generate/sampler.js";
export { Tokenizer } from "./tokenizer/index.js";
export type { StreamDecoder } from "./tokenizer/index.js";
export type { ChatMessage } from "./prompt/messages.js";
export { infillPromptTokens, splitFillMarker } from "./prompt/infill.js";
export { chatPromptTokens } from "./prompt/chat.js";
export { openModel } from "./format/model-file.js";
export type { ModelFile, ModelTensor } from "./format/model-file.js";
export type { ModelConfig, SpecialTokens } from "./format/model-config.js";
export { GGUFFile } from "./format/gguf-reader.js";
export { writeGGUF, encodeGGUF } from "./format/gguf-writer.js";
export { GGMLType } from "./format/ggml-types.js";
export { dequantizeRow } from "./format/dequant.js";
export { quantizeRow } from "./format/quantize.js";
export { UserError, FormatError } from "./util/errors.js";
