/**
 * `codellama tokenize --model FILE [--no-bos] [--infill] [--json] TEXT`: the token ids of TEXT.
 *
 * --model may be a .gguf, a SentencePiece tokenizer.model, an HF tokenizer.json, or an HF model
 * folder holding one of the latter two. TEXT is never parsed for special tokens ("<s>" is three
 * ordinary pieces). BOS is prepended unless --no-bos (also with --infill). --infill encodes
 * without the implicit leading space (Meta's encode_infilling, for FIM middles and suffixes).
 *
 * Output: one `id<TAB>piece` line per token, or with --json `{"ids":[...],"pieces":[...]}`.
 */
import type { Command } from "commander";
import { Tokenizer } from "../../tokenizer/index.js";

export interface TokenizeOptions {
  model: string;
  /** commander's --no-bos sets bos = false. */
  bos?: boolean;
  infill?: boolean;
  json?: boolean;
}

/** Tokenize `text` as the command does and return what it prints. */
export function runTokenize(text: string, opts: TokenizeOptions): string {
  // 1. Load the tokenizer (UserError/FormatError for missing or bad files).
  const tok = Tokenizer.fromFile(opts.model);
  // 2. Encode: with or without the implicit leading space; BOS unless --no-bos.
  const ids = opts.infill ? tok.encodeInfilling(text) : tok.encode(text);
  if (opts.bos !== false && tok.special.bos >= 0) ids.unshift(tok.special.bos);
  // 3. Format.
  const pieces = ids.map((id) => tok.piece(id));
  if (opts.json) return JSON.stringify({ ids, pieces }) + "\n";
  return ids.map((id, i) => `${id}\t${pieces[i]}\n`).join("");
}

export function register(program: Command): void {
  program
    .command("tokenize")
    .description("print the token ids and pieces of TEXT (never parsed for special tokens)")
    .requiredOption("-m, --model <file>", "a .gguf, tokenizer.model, tokenizer.json, or an HF model folder")
    .option("--no-bos", "do not prepend BOS")
    .option("--infill", "encode without the implicit leading space (Meta's encode_infilling)")
    .option("--json", 'print {"ids":[...],"pieces":[...]}')
    .argument("<text>", "the text to tokenize")
    .action((text: string, opts: TokenizeOptions) => {
      process.stdout.write(runTokenize(text, opts));
    });
}
