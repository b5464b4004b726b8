// Tokenizers for the prompt tests, built from the llama SPM vocab (LLAMA_VOCAB_GGUF):
//  - llama: the 32000 base pieces (a Python / 34B model: no FIM pieces);
//  - codeLlama: + Code Llama's 16 pieces (32016, ids 32000..32015, sentinels 32007..32010);
//  - step: the Code Llama vocabulary with `<step>` in slot 32015.
//
// DECISION (reference §3.2 leaves the id of `<step>` UNCONFIRMED, "probably one of 32000–32015"):
// 70B-Instruct keeps a 32016-row vocabulary, so `<step>` must sit in one of the 16 added slots; we
// put it in 32015, replacing the last filler piece `▁<EOT>×6`, as a CONTROL piece (so text can
// never produce it). Nothing in src/ depends on the id: `<step>` is found by piece name.
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF, meta, writeGGUF } from "../../src/format/gguf-writer.js";
import type { GGUFMetaValue } from "../../src/format/gguf-types.js";
import { buildVocab, TOKEN_TYPE } from "../../src/format/synth-llama.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

export const STEP_ID = 32015;

/** The tokenizer.* metadata: the llama vocab, optionally with the FIM pieces and <step>. */
function metadata(kind: "llama" | "codeLlama" | "step"): [string, GGUFMetaValue][] {
  const v = buildVocab(LLAMA_VOCAB_GGUF, kind !== "llama");
  if (kind !== "step") return v.metadata;
  const tokens = [...v.tokens];
  tokens[STEP_ID] = "<step>";
  const types = Int32Array.from(v.types);
  types[STEP_ID] = TOKEN_TYPE.CONTROL;
  return v.metadata.map(([k, val]): [string, GGUFMetaValue] =>
    k === "tokenizer.ggml.tokens" ? [k, meta.strs(tokens)] : k === "tokenizer.ggml.token_type" ? [k, meta.i32s(types)] : [k, val]);
}

const cache = new Map<string, Tokenizer>();
function tokenizer(kind: "llama" | "codeLlama" | "step"): Tokenizer {
  let t = cache.get(kind);
  if (!t) {
    t = Tokenizer.fromGGUF(GGUFFile.parse(encodeGGUF({ metadata: metadata(kind), tensors: [] })));
    cache.set(kind, t);
  }
  return t;
}

/** The Code Llama vocabulary with some pieces renamed (e.g. to take one sentinel away). */
export function codeLlamaTokWith(renamed: Record<number, string>): Tokenizer {
  const md = metadata("codeLlama").map(([k, v]): [string, GGUFMetaValue] => {
    if (k !== "tokenizer.ggml.tokens") return [k, v];
    const tokens = [...(v.value as string[])];
    for (const [id, piece] of Object.entries(renamed)) tokens[Number(id)] = piece;
    return [k, meta.strs(tokens)];
  });
  return Tokenizer.fromGGUF(GGUFFile.parse(encodeGGUF({ metadata: md, tensors: [] })));
}

export const llamaTok = () => tokenizer("llama");
export const codeLlamaTok = () => tokenizer("codeLlama");
export const stepTok = () => tokenizer("step");

/** A vocab-only GGUF with <step> (for writeSynthLlama's `vocab` option), written once into SCRATCH. */
export function stepVocabPath(): string {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "prompt-step-vocab.gguf");
  // Written to a temporary file and renamed: test files run in parallel and share this file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeGGUF(tmp, { metadata: [["general.architecture", meta.str("llama")], ...metadata("step")], tensors: [] });
  renameSync(tmp, path);
  return path;
}
