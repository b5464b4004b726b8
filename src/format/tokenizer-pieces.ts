/**
 * The piece list of a tokenizer file, which the loaders need for two things only: the vocabulary
 * size (Meta's `params.json` says `vocab_size: -1`, meaning "ask the tokenizer") and the ids of the
 * special pieces that are found by name (Code Llama's FIM sentinels and the 70B `<step>`).
 * Tokenizing is `src/tokenizer`'s job; this reads just enough of
 *   - SentencePiece `tokenizer.model` (protobuf ModelProto: field 1 = repeated SentencePiece,
 *     whose field 1 is the piece string), and
 *   - HF `tokenizer.json` (`model.vocab` as {piece: id} or [[piece, score], ...], plus `added_tokens`).
 */
import { FormatError } from "../util/errors.js";
import { readSmallFile } from "./byte-source.js";
import type { SpecialTokens } from "./model-config.js";
import { isObject, keyOffset, readJSONFile } from "./json-file.js";

/** Pieces looked up by name, as the reference `Tokenizer` does with `piece_to_id` [R llama/tokenizer.py]. */
export const FIM_PIECES = { prefix: "\u2581<PRE>", suffix: "\u2581<SUF>", middle: "\u2581<MID>", eot: "\u2581<EOT>" } as const;
export const STEP_PIECE = "<step>";

const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;
const MAX_PIECES = 1 << 24;

/** The ids of the FIM sentinels and `<step>` that `pieces` contains (absent ones are left out). */
export function namedSpecialIds(pieces: readonly string[]): Pick<SpecialTokens, "prefix" | "suffix" | "middle" | "eot" | "step"> {
  const out: Pick<SpecialTokens, "prefix" | "suffix" | "middle" | "eot" | "step"> = {};
  const want = new Map<string, keyof typeof out>([
    [FIM_PIECES.prefix, "prefix"], [FIM_PIECES.suffix, "suffix"], [FIM_PIECES.middle, "middle"], [FIM_PIECES.eot, "eot"], [STEP_PIECE, "step"],
  ]);
  for (let id = 0; id < pieces.length; id++) {
    const k = want.get(pieces[id]);
    if (k !== undefined && out[k] === undefined) out[k] = id; // first occurrence wins, like piece_to_id
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The pieces of a SentencePiece `tokenizer.model`, by id. */
export function readSentencePiecePieces(path: string): string[] {
  const b = readSmallFile(path, MAX_TOKENIZER_BYTES, "a tokenizer");
  let pos = 0;
  const fail = (at: number, field: string, problem: string): never => { throw new FormatError(path, at, field, problem); };

  // A protobuf varint (at most 10 bytes); values above 2^53 are rejected, none are valid here.
  const varint = (field: string): number => {
    let v = 0, mul = 1;
    const at = pos;
    for (let i = 0; i < 10; i++) {
      if (pos >= b.length) fail(at, field, "varint runs past the end of the file");
      const byte = b[pos++];
      v += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        if (v > Number.MAX_SAFE_INTEGER) fail(at, field, "varint is too large");
        return v;
      }
      mul *= 128;
    }
    return fail(at, field, "varint is longer than 10 bytes");
  };
  // Skip a field of the given wire type; returns the end of a length-delimited payload.
  const skip = (wire: number, field: string, end: number): void => {
    const at = pos;
    if (wire === 0) varint(field);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) { const n = varint(field); pos += n; }
    else fail(at, field, `unsupported protobuf wire type ${wire}; this is not a SentencePiece model`);
    if (pos > end) fail(at, field, `runs past the end of its message (byte ${end})`);
  };

  const pieces: string[] = [];
  while (pos < b.length) {
    const keyAt = pos;
    const key = varint("ModelProto field key");
    const fieldNo = Math.floor(key / 8), wire = key & 7;
    if (fieldNo !== 1) { skip(wire, `ModelProto field ${fieldNo}`, b.length); continue; }
    // 1. A SentencePiece message: read its field 1 (piece), skip the rest (score, type).
    const id = pieces.length;
    if (wire !== 2) fail(keyAt, `pieces[${id}]`, `expected a length-delimited message, found wire type ${wire}; this is not a SentencePiece model`);
    const len = varint(`pieces[${id}] length`);
    const end = pos + len;
    if (end > b.length) fail(keyAt, `pieces[${id}]`, `message of ${len} bytes runs past the end of the file (size ${b.length})`);
    if (pieces.length >= MAX_PIECES) fail(keyAt, "pieces", `more than ${MAX_PIECES} pieces`);
    let piece: string | undefined;
    while (pos < end) {
      const k = varint(`pieces[${id}] field key`);
      if (k === (1 << 3 | 2)) {
        const n = varint(`pieces[${id}].piece length`);
        const at = pos;
        if (pos + n > end) fail(at, `pieces[${id}].piece`, `string of ${n} bytes runs past the end of its message`);
        try { piece = utf8.decode(b.subarray(pos, pos + n)); } catch { fail(at, `pieces[${id}].piece`, "is not valid UTF-8"); }
        pos += n;
      } else skip(k & 7, `pieces[${id}] field ${Math.floor(k / 8)}`, end);
    }
    if (piece === undefined) fail(keyAt, `pieces[${id}].piece`, "is missing");
    pieces.push(piece as string);
  }
  if (pieces.length === 0) fail(0, "pieces", "the file holds no pieces; this is not a SentencePiece model");
  return pieces;
}

/** The pieces of a HF `tokenizer.json`, by id (ids with no piece are ""). */
export function readTokenizerJSONPieces(path: string): string[] {
  const j = readJSONFile(path);
  if (!isObject(j.value)) throw new FormatError(path, 0, "tokenizer.json", "must be a JSON object");
  const entries: [string, unknown][] = [];
  const model = j.value.model;
  if (!isObject(model)) throw new FormatError(path, keyOffset(j, "model"), "model", "must be an object with a vocab");
  const vocab = model.vocab;
  if (Array.isArray(vocab)) vocab.forEach((e, id) => entries.push([Array.isArray(e) ? String(e[0]) : "", id])); // Unigram: [[piece, score]]
  else if (isObject(vocab)) for (const [p, id] of Object.entries(vocab)) entries.push([p, id]); // BPE: {piece: id}
  else throw new FormatError(path, keyOffset(j, "vocab"), "model.vocab", "must be an object {piece: id} or an array [[piece, score]]");
  const added = j.value.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) throw new FormatError(path, keyOffset(j, "added_tokens"), "added_tokens", "must be an array");
    for (const a of added) entries.push([isObject(a) && typeof a.content === "string" ? a.content : "", isObject(a) ? a.id : undefined]);
  }
  // Ids must be dense-ish integers; the list is indexed by id.
  let max = -1;
  for (const [p, id] of entries) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= MAX_PIECES) {
      throw new FormatError(path, keyOffset(j, p), `token ${JSON.stringify(p)}`, `id must be an integer from 0 to ${MAX_PIECES - 1}, found ${JSON.stringify(id)}`);
    }
    if (id > max) max = id;
  }
  if (max > 4 * entries.length + 1024) throw new FormatError(path, 0, "model.vocab", `ids go up to ${max} but there are only ${entries.length} pieces`);
  const pieces: string[] = new Array(max + 1).fill("");
  for (const [p, id] of entries) pieces[id as number] = p;
  return pieces;
}
