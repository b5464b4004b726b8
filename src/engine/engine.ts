/**
 * An engine is a loaded model plus its tokenizer: what the CLI, the server and the evaluation
 * harness hold. Loading reads the model file's header, builds the tokenizer from wherever the
 * model keeps it (inside the GGUF, tokenizer.model or tokenizer.json), and loads the weights.
 */
import { openModel, type ModelFile, type TokenizerSource } from "../format/model-file.js";
import { generate, type GenerateOptions, type Generation } from "../generate/generate.js";
import { LlamaModel, type LoadOptions } from "../model/llama.js";
import { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";

export function tokenizerFrom(src: TokenizerSource): Tokenizer {
  return src.kind === "gguf" ? Tokenizer.fromGGUF(src.file) : Tokenizer.fromFile(src.path);
}

export interface CompleteOptions extends GenerateOptions {
  /** Prepend BOS (default true, as Meta's text_completion). */
  bos?: boolean;
}

export class Engine {
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
    const ids = this.tokenizer.encode(prompt, { bos: opts.bos ?? true });
    return generate(this.model, this.tokenizer, ids, opts);
  }

  async close(): Promise<void> {
    await this.model.close();
    this.file.close();
  }
}
