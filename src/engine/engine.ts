/**
 * An engine is a loaded model plus its tokenizer: what the CLI, the server and the evaluation
 * harness hold. Loading reads the model file's header, builds the tokenizer from wherever the
 * model keeps it (inside the GGUF, tokenizer.model or tokenizer.json), and loads the weights.
 */
import { openModel, type ModelFile, type TokenizerSource } from "../format/model-file.js";
import { generate, type GenerateOptions, type Generation, type GenerationResult, type GenerationStep } from "../generate/generate.js";
import { generateMany, type ManyResult } from "../generate/many.js";
import { LlamaModel, type LoadOptions } from "../model/llama.js";
import { SessionPool, type Session } from "./session.js";
import { assistantMessage, chatPromptTokens, type ChatFormat, type ChatPromptOptions } from "../prompt/chat.js";
import { fimTokens, infillPromptTokens } from "../prompt/infill.js";
import type { ChatMessage } from "../prompt/messages.js";
import { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";

export function tokenizerFrom(src: TokenizerSource): Tokenizer {
  return src.kind === "gguf" ? Tokenizer.fromGGUF(src.file) : Tokenizer.fromFile(src.path);
}

export interface CompleteOptions extends GenerateOptions {
  /** Prepend BOS (default true, as Meta's text_completion). */
  bos?: boolean;
}

export interface InfillOptions extends GenerateOptions {
  /** Suffix-prefix-middle prompt (Meta's suffix_first); default PSM. */
  spm?: boolean;
}

export interface InfillResult extends GenerationResult {
  /** The middle, decoded with decode_infilling (a leading space is kept); same as `text`. */
  generation: string;
  /** prefix + generation + suffix. */
  fullText: string;
}

export interface ChatOptions extends GenerateOptions, ChatPromptOptions {
  /**
   * The tokens the KV cache holds at positions 0..n-1 (a previous ChatResult's `cachedTokens`,
   * when nothing else ran on this engine since). The shared beginning of the new prompt is then
   * not computed again.
   */
  cachedTokens?: readonly number[];
}

export interface ChatResult extends GenerationResult {
  /** The answer as the reference returns it (70B: with destination "user"). */
  message: ChatMessage;
  format: ChatFormat;
  /** The tokens now in the KV cache (to pass as `cachedTokens` for the next turn). */
  cachedTokens: number[];
}

/** A streamed generation whose result is richer than GenerationResult. */
export interface Streamed<R> extends AsyncIterable<GenerationStep> {
  readonly result: Promise<R>;
}

/** The same stream, with `result` mapped through `f`. */
function withResult<R>(gen: Generation, f: (r: GenerationResult) => R): Streamed<R> {
  return {
    [Symbol.asyncIterator]: () => gen[Symbol.asyncIterator](),
    get result(): Promise<R> { return Promise.resolve(gen.result).then<R>(f); },
  };
}

/** Per-token log-probabilities of a text under the model (`score`). */
export interface ScoreResult {
  tokens: number[];
  /** logProbs[i] = log p(tokens[i] | tokens[0..i)) for i >= 1; logProbs[0] is 0 (BOS is given). */
  logProbs: number[];
  /** Sum of logProbs and its perplexity, exp(-mean). */
  total: number;
  perplexity: number;
}

export class Engine {
  private sessions: SessionPool | undefined;
  private constructor(readonly file: ModelFile, readonly tokenizer: Tokenizer, readonly model: LlamaModel) {}

  static async load(path: string, opts: LoadOptions = {}): Promise<Engine> {
    const file = openModel(path);
    try {
      const tokenizer = tokenizerFrom(file.tokenizerSource);
      if (tokenizer.vocabSize !== file.config.vocabSize) {
        throw new UserError(`${path}: the tokenizer has ${tokenizer.vocabSize} pieces but the model's vocabulary is ${file.config.vocabSize}`);
      }
      const model = await LlamaModel.load(file, opts);
      return new Engine(file, tokenizer, model);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Plain completion: BOS + the prompt's tokens (never parsed for special tokens), then sample. */
  complete(prompt: string, opts: CompleteOptions = {}): Generation {
    this.sessions?.clobber(1);
    const ids = this.tokenizer.encode(prompt, { bos: opts.bos ?? true });
    return generate(this.model, this.tokenizer, ids, opts);
  }

  /**
   * Fill in the middle (Meta's text_infilling): the PSM or SPM prompt of src/prompt/infill.ts;
   * generation stops at <EOT> only (EOS is not a stop token here unless `stopAtEos` is given),
   * the <EOT> is not in `tokens`, and the middle is decoded keeping its leading space.
   * A model without the FIM pieces is refused with a UserError naming the reason.
   */
  infill(prefix: string, suffix: string, opts: InfillOptions = {}): Streamed<InfillResult> {
    // 1. The sentinels (or the error that says why this model cannot infill).
    const fim = fimTokens(this.tokenizer, this.file.path);
    // 2. The prompt, token by token as the reference builds it.
    const ids = infillPromptTokens(this.tokenizer, prefix, suffix, { spm: opts.spm });
    // 3. Generate until <EOT>, decoding as an infill.
    const { spm: _spm, ...rest } = opts;
    const gen = generate(this.model, this.tokenizer, ids, {
      ...rest,
      stopTokens: [fim.eot, ...(opts.stopTokens ?? [])],
      stopAtEos: opts.stopAtEos ?? false,
      infill: true,
    });
    return withResult(gen, (r) => ({ ...r, generation: r.text, fullText: prefix + r.text + suffix }));
  }

  /**
   * One assistant answer to `messages` (Meta's chat_completion): the [INST] format, or the 70B
   * Source/<step> format when the vocabulary has <step> (src/prompt/chat.ts). Stops at EOS
   * ([INST]) or at <step> (70B); the answer is decoded like SentencePiece decode (a leading
   * space is dropped). Bad message order or special tags are UserErrors, thrown at once.
   */
  chat(messages: readonly ChatMessage[], opts: ChatOptions = {}): Streamed<ChatResult> {
    // 1. The prompt and the format's stop rule.
    const prompt = chatPromptTokens(this.tokenizer, messages, opts);
    // 2. Reuse the KV cache for the part of the prompt it already holds (at least one prompt
    //    token is always computed, for the logits of the first answer token).
    let startPos = opts.startPos ?? 0;
    if (opts.cachedTokens) {
      const c = opts.cachedTokens;
      let n = 0;
      while (n < c.length && n < prompt.tokens.length && c[n] === prompt.tokens[n]) n++;
      startPos = Math.min(n, prompt.tokens.length - 1);
    }
    // 3. Generate with the format's stop tokens.
    const { cachedTokens: _c, allowSpecialTags: _a, ...rest } = opts;
    const gen = generate(this.model, this.tokenizer, prompt.tokens, {
      ...rest,
      startPos,
      stopTokens: [...prompt.stopTokens, ...(opts.stopTokens ?? [])],
      stopAtEos: opts.stopAtEos ?? prompt.stopAtEos,
      infill: false,
    });
    return withResult(gen, (r) => ({
      ...r,
      message: assistantMessage(prompt.format, r.text),
      format: prompt.format,
      // Every answer token went through the model, except the last one when the run ended on
      // maxTokens, a stop string or a full context (generate() does not feed it back then).
      cachedTokens: [...r.promptTokens, ...(r.stopReason === "eos" || r.stopReason === "stop-token" || r.stopReason === "aborted" ? r.tokens : r.tokens.slice(0, -1))],
    }));
  }

  /** Token ids of `text` (BOS first unless `bos: false`); text is never parsed for special tokens. */
  tokenize(text: string, opts: { bos?: boolean; infill?: boolean } = {}): number[] {
    const ids = opts.infill ? this.tokenizer.encodeInfilling(text) : this.tokenizer.encode(text);
    return (opts.bos ?? true) ? [this.tokenizer.special.bos, ...ids] : ids;
  }

  /** The text of token ids (SentencePiece decoding: the first piece's leading space is dropped). */
  detokenize(ids: ArrayLike<number>): string { return this.tokenizer.decode(ids); }

  /** n samples of one prompt, decoded as a batch over the model's KV sequences (see generateMany). */
  completeMany(prompt: string, n: number, opts: CompleteOptions = {}): Promise<ManyResult> {
    this.sessions?.clobber(n);
    return generateMany(this.model, this.tokenizer, this.tokenizer.encode(prompt, { bos: opts.bos ?? true }), n, opts);
  }

  /** A session: keeps its KV cache between requests and reuses the longest common prefix. */
  session(): Session {
    this.sessions ??= new SessionPool(this.model, this.tokenizer);
    return this.sessions.session();
  }

  /** Per-token log-probabilities of `text` (BOS + its tokens), computed in chunks on sequence 0. */
  score(text: string | number[]): ScoreResult {
    const tokens = typeof text === "string" ? this.tokenizer.encode(text, { bos: true }) : text;
    if (tokens.length > this.model.ctx) throw new UserError(`the text has ${tokens.length} tokens but the context holds ${this.model.ctx}`);
    this.sessions?.clobber(1);
    const V = this.model.config.vocabSize;
    const logits = this.model.prefill(tokens, 0, "all");
    const logProbs = [0];
    let total = 0;
    for (let i = 1; i < tokens.length; i++) {
      const row = logits.subarray((i - 1) * V, i * V);
      let mx = -Infinity;
      for (let j = 0; j < V; j++) if (row[j] > mx) mx = row[j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(row[j] - mx);
      const lp = row[tokens[i]] - mx - Math.log(sum);
      logProbs.push(lp);
      total += lp;
    }
    const n = Math.max(1, tokens.length - 1);
    return { tokens, logProbs, total, perplexity: Math.exp(-total / n) };
  }

  async close(): Promise<void> {
    await this.model.close();
    this.file.close();
  }
}
