/**
 * Tokenizers for the data pipeline.
 *
 *  - `writeCodeLlamaVocab(from, out)`: a tokenizer-only GGUF with Code Llama's vocabulary: the
 *    llama SentencePiece vocabulary of `from` (a GGUF, e.g. llama.cpp's ggml-vocab-llama-spm.gguf)
 *    plus the 16 FIM pieces at ids 32000..32015 (format/synth-llama.ts `buildVocab`), 32016 pieces.
 *    `ensureCodeLlamaVocab` writes it only when missing. The trainer and the embedded default
 *    model use exactly this vocabulary.
 *  - `loadDataTokenizer(file?)`: --tokenizer FILE (a .gguf, tokenizer.model, tokenizer.json or
 *    an HF folder), or the embedded default model `models/default.gguf` when present, else a
 *    UserError asking for --tokenizer. A GGUF is opened by header only (a model's weights are
 *    never read).
 *  - `vocabFingerprint(tok)`: sha256 over the pieces and special ids, recorded in the manifest
 *    so a dataset names the vocabulary it was tokenized with, whatever file it came from.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { GGUFFile } from "../format/gguf-reader.js";
import { meta, writeGGUF } from "../format/gguf-writer.js";
import { buildVocab } from "../format/synth-llama.js";
import { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { defaultModelPath as defaultModelFile } from "../util/package-root.js";

/** Write the Code Llama (FIM) vocabulary built from `from` to `out` (temp file + rename). */
export function writeCodeLlamaVocab(from: string, out: string): { vocabSize: number } {
  if (!existsSync(from)) throw new UserError(`--from ${from}: no such file`);
  if (!isGGUF(from)) throw new UserError(`--from ${from}: not a GGUF file (it does not start with "GGUF"); give a llama vocabulary GGUF such as ggml-vocab-llama-spm.gguf`);
  const v = buildVocab(from, true);
  writeGGUF(out, {
    metadata: [["general.architecture", meta.str("llama")], ["general.name", meta.str("codellama-vocab")], ...v.metadata],
    tensors: [],
  });
  return { vocabSize: v.tokens.length };
}

/** `out`, written from `from` first when it does not exist yet. */
export function ensureCodeLlamaVocab(from: string, out: string): string {
  if (!existsSync(out)) writeCodeLlamaVocab(from, out);
  return out;
}

function isGGUF(path: string): boolean {
  if (statSync(path).isDirectory()) return false;
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString("latin1") === "GGUF";
  } finally {
    closeSync(fd);
  }
}

/** The embedded default model (`models/default.gguf` at the package root), when present. */
export function defaultModelPath(): string | undefined {
  const p = defaultModelFile();
  return existsSync(p) ? p : undefined;
}

/** Load the tokenizer for a data build (see the file comment). */
export function loadDataTokenizer(file?: string): { tokenizer: Tokenizer; file: string } {
  const path = file ?? defaultModelPath();
  if (path === undefined) {
    throw new UserError("no --tokenizer given and the embedded default model (models/default.gguf) is not there; give --tokenizer FILE (a .gguf, tokenizer.model or tokenizer.json; codellama data vocab writes Code Llama's)");
  }
  if (!existsSync(path)) throw new UserError(`--tokenizer ${path}: no such file or folder`);
  if (isGGUF(path)) {
    const g = GGUFFile.open(path);
    try { return { tokenizer: Tokenizer.fromGGUF(g), file: path }; } finally { g.close(); }
  }
  return { tokenizer: Tokenizer.fromFile(path), file: path };
}

/** sha256 (hex) over the vocabulary's pieces and its BOS/EOS/UNK ids. */
export function vocabFingerprint(tok: Tokenizer): string {
  const h = createHash("sha256");
  for (let id = 0; id < tok.vocabSize; id++) h.update(tok.piece(id)).update("\0");
  h.update(`bos=${tok.special.bos};eos=${tok.special.eos};unk=${tok.special.unk}`);
  return h.digest("hex");
}
