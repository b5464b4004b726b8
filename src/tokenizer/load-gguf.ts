/**
 * Loading the tokenizer from GGUF metadata (`tokenizer.ggml.*`), as llama.cpp writes it for
 * SentencePiece vocabularies (`tokenizer.ggml.model = "llama"`):
 *
 *   tokens (string[]), scores (f32[], default 0), token_type (i32[], default NORMAL),
 *   bos/eos/unknown_token_id (defaults 1, 2, 0 as in llama.cpp), add_bos_token (default true),
 *   add_space_prefix (default true), remove_extra_whitespaces (default false).
 *
 * Byte fallback is on when the vocabulary holds the 256 `<0xNN>` BYTE pieces. Merging follows
 * SentencePiece (CONTROL pieces are never merge targets, UNUSED pieces are resegmented),
 * which is where llama.cpp differs: its SPM tokenizer merges into any piece, so text such as
 * " <PRE>" becomes the CONTROL sentinel there but `▁<PRE` `>` here and in SentencePiece.
 */
import type { GGUFFile } from "../format/gguf-reader.js";
import { GGUFValueType } from "../format/gguf-types.js";
import { FormatError } from "../util/errors.js";
import { DEFAULT_UNK_SURFACE, PieceType, type VocabSpec } from "./types.js";

export function vocabFromGGUF(g: GGUFFile): VocabSpec {
  const bad = (key: string, problem: string): never => { throw new FormatError(g.name, 0, `metadata "${key}"`, problem); };

  // 1. Only SentencePiece ("llama") vocabularies.
  const model = g.getString("tokenizer.ggml.model");
  if (model === undefined) bad("tokenizer.ggml.model", "is missing; the file has no tokenizer");
  if (model !== "llama") bad("tokenizer.ggml.model", `is "${model}"; only SentencePiece vocabularies ("llama", as in Llama and Code Llama) are supported`);

  // 2. Pieces, scores, types.
  const tokens = g.getArray("tokenizer.ggml.tokens", [GGUFValueType.STRING]) as string[] | undefined;
  if (!tokens) return bad("tokenizer.ggml.tokens", "is missing");
  const n = tokens.length;
  if (n === 0) bad("tokenizer.ggml.tokens", "is empty");
  const rawScores = g.getArray("tokenizer.ggml.scores", [GGUFValueType.FLOAT32]) as Float32Array | undefined;
  if (rawScores && rawScores.length !== n) bad("tokenizer.ggml.scores", `has ${rawScores.length} entries for ${n} tokens`);
  const scores = rawScores ? Float32Array.from(rawScores) : new Float32Array(n);
  const rawTypes = g.getArray("tokenizer.ggml.token_type", [GGUFValueType.INT32, GGUFValueType.UINT32, GGUFValueType.UINT8, GGUFValueType.INT8]) as ArrayLike<number> | undefined;
  if (rawTypes && rawTypes.length !== n) bad("tokenizer.ggml.token_type", `has ${rawTypes.length} entries for ${n} tokens`);
  const types = new Uint8Array(n).fill(PieceType.NORMAL);
  if (rawTypes) {
    for (let i = 0; i < n; i++) {
      const t = rawTypes[i];
      if (t < 0 || t > 6) bad("tokenizer.ggml.token_type", `token ${i} (${JSON.stringify(tokens[i])}) has unknown type ${t} (0..6)`);
      types[i] = t === 0 ? PieceType.NORMAL : t; // 0 = llama.cpp's "undefined": treated as normal
    }
  }

  // 3. Special ids and flags (llama.cpp's SPM defaults).
  const id = (key: string, def: number): number => {
    const v = g.getNumber(key);
    if (v === undefined) return def < n ? def : -1;
    if (v === -1) return -1;
    if (!Number.isInteger(v) || v < 0 || v >= n) bad(key, `${v} is not a token id (0..${n - 1})`);
    return v;
  };
  const unkId = id("tokenizer.ggml.unknown_token_id", 0);
  let nBytes = 0;
  for (let i = 0; i < n; i++) if (types[i] === PieceType.BYTE) nBytes++;
  return {
    source: g.name,
    pieces: tokens,
    scores,
    types,
    byteFallback: nBytes > 0,
    normalizer: {
      addDummyPrefix: g.getBool("tokenizer.ggml.add_space_prefix") ?? true,
      removeExtraWhitespaces: g.getBool("tokenizer.ggml.remove_extra_whitespaces") ?? false,
      escapeWhitespaces: true,
    },
    unkId: unkId >= 0 && types[unkId] === PieceType.UNKNOWN ? unkId : -1,
    bosId: id("tokenizer.ggml.bos_token_id", 1),
    eosId: id("tokenizer.ggml.eos_token_id", 2),
    addBos: g.getBool("tokenizer.ggml.add_bos_token") ?? true,
    unkSurface: DEFAULT_UNK_SURFACE,
  };
}
