/**
 * Shared fixtures for the tokenizer tests: the Llama SPM vocabulary, the Code Llama
 * vocabulary GGUF built from it (32016 pieces), and llama.cpp's test-vector files.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGUFValueType, type GGUFMetaValue } from "../../src/format/gguf-types.js";
import { meta, writeGGUF } from "../../src/format/gguf-writer.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

/** The 16 pieces Code Llama appends to the Llama vocabulary (ids 32000..32015). */
export const CODELLAMA_EXTRA = [
  "▁<SU", "▁<SUF", "▁<PRE", "▁<M", "▁<MID", "▁<E", "▁<EOT",
  "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>",
  "▁<EOT><EOT>", "▁<EOT><EOT><EOT>", "▁<EOT><EOT><EOT><EOT>",
  "▁<EOT><EOT><EOT><EOT><EOT>", "▁<EOT><EOT><EOT><EOT><EOT><EOT>",
];

let llama: Tokenizer | undefined;
/** The Llama / Llama-2 SPM tokenizer (32000 pieces) from the shared vocab GGUF. */
export function llamaTokenizer(): Tokenizer {
  if (!llama) {
    const g = GGUFFile.open(LLAMA_VOCAB_GGUF);
    try { llama = Tokenizer.fromGGUF(g); } finally { g.close(); }
  }
  return llama;
}

/**
 * Metadata of a Code Llama vocab-only GGUF: the Llama vocab GGUF's metadata with the 16 pieces
 * appended (score 0; the four sentinels 32007..32010 CONTROL, the rest NORMAL, as
 * tools/make_gguf.py --fim does), `general.name` = "codellama-vocab-test".
 */
export function codeLlamaMetadata(): Map<string, GGUFMetaValue> {
  const g = GGUFFile.parse(readFileSync(LLAMA_VOCAB_GGUF), { name: LLAMA_VOCAB_GGUF });
  const md = new Map(g.metadata);
  const tokens = [...(g.get("tokenizer.ggml.tokens") as string[]), ...CODELLAMA_EXTRA];
  const scores = new Float32Array(tokens.length);
  scores.set(g.get("tokenizer.ggml.scores") as Float32Array);
  const types = new Int32Array(tokens.length);
  types.set(g.get("tokenizer.ggml.token_type") as Int32Array);
  CODELLAMA_EXTRA.forEach((_, i) => { types[32000 + i] = i >= 7 && i <= 10 ? 3 : 1; });
  md.set("general.name", meta.str("codellama-vocab-test"));
  md.set("general.architecture", meta.str("llama"));
  md.set("llama.vocab_size", meta.u32(tokens.length));
  md.set("tokenizer.ggml.tokens", meta.strs(tokens));
  md.set("tokenizer.ggml.scores", meta.f32s(scores));
  md.set("tokenizer.ggml.token_type", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT32, value: types });
  return md;
}

/** Write (into SCRATCH) and return the path of the Code Llama vocab-only GGUF. */
export function codeLlamaVocabPath(): string {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "codellama-vocab.gguf");
  writeGGUF(path, { metadata: codeLlamaMetadata(), tensors: [] });
  return path;
}

let codeLlama: Tokenizer | undefined;
/** Our tokenizer on the Code Llama vocabulary (32016 pieces). */
export function codeLlamaTokenizer(): Tokenizer {
  if (!codeLlama) {
    const g = GGUFFile.open(codeLlamaVocabPath());
    try { codeLlama = Tokenizer.fromGGUF(g); } finally { g.close(); }
  }
  return codeLlama;
}

/** A llama.cpp `.inp/.out` test-vector pair, split as tests/test-tokenizer-0.cpp does. */
export function readVocabTests(inpPath: string, outPath: string): { input: string; want: number[] }[] {
  const raw = readFileSync(inpPath, "utf8");
  const sep = "\n__ggml_vocab_test__\n";
  const inputs: string[] = [];
  for (let pos = 0; pos < raw.length;) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) { inputs.push(raw.slice(pos)); break; }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const lines = readFileSync(outPath, "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length !== inputs.length) throw new Error(`${inputs.length} inputs but ${lines.length} output lines`);
  return inputs.map((input, i) => ({ input, want: lines[i].trim() === "" ? [] : lines[i].trim().split(/\s+/).map(Number) }));
}
