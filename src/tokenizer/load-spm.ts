/**
 * Loading a SentencePiece `tokenizer.model` (a serialized `ModelProto`, see
 * sentencepiece_model.proto) with our own protobuf reader. Fields used:
 *
 *   ModelProto      1 pieces (repeated SentencePiece) · 2 trainer_spec · 3 normalizer_spec
 *                   5 denormalizer_spec
 *   SentencePiece   1 piece · 2 score (float) · 3 type (enum, default NORMAL)
 *   TrainerSpec     3 model_type (UNIGRAM=1 default, BPE=2, WORD=3, CHAR=4)
 *                   24 treat_whitespace_as_suffix · 35 byte_fallback · 44 unk_surface
 *                   45 unk_piece · 46 bos_piece · 47 eos_piece
 *   NormalizerSpec  1 name · 2 precompiled_charsmap · 3 add_dummy_prefix (default true)
 *                   4 remove_extra_whitespaces (default true) · 5 escape_whitespaces (default true)
 *
 * Only BPE models are supported, and only without a normalisation chars map (Llama's model
 * uses the "identity" rule; spm_train's default "nmt_nfkc" would need an NFKC chars map).
 * Special ids follow SentencePieceProcessor: `<unk>` is the UNKNOWN piece, BOS/EOS are the
 * CONTROL pieces named by bos_piece/eos_piece (default `<s>`, `</s>`), or -1.
 */
import { FormatError } from "../util/errors.js";
import { ProtoReader, type Field } from "./protobuf.js";
import { DEFAULT_UNK_SURFACE, PieceType, type NormalizerSettings, type VocabSpec } from "./types.js";

const MODEL_TYPES: Record<number, string> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

export function vocabFromSentencePiece(bytes: Uint8Array, name = "tokenizer.model"): VocabSpec {
  const r = new ProtoReader(bytes, name);
  // 1. The top-level message: collect pieces and the two spec messages.
  const top = r.readFields(0, bytes.length, "ModelProto");
  const pieceFields = top.filter((f) => f.no === 1);
  const trainer = lastMessage(r, top, 2, "ModelProto.trainer_spec");
  const normalizer = lastMessage(r, top, 3, "ModelProto.normalizer_spec");
  const denormalizer = lastMessage(r, top, 5, "ModelProto.denormalizer_spec");
  if (pieceFields.length === 0) r.fail(0, "ModelProto.pieces", "no pieces: this is not a SentencePiece model");

  // 2. TrainerSpec: model type (must be BPE), byte fallback, special piece names.
  let modelType = 1, byteFallback = false, suffixWs = false, unkSurface = DEFAULT_UNK_SURFACE;
  let bosPiece = "<s>", eosPiece = "</s>", modelTypeAt = 0;
  for (const f of trainer?.fields ?? []) {
    switch (f.no) {
      case 3: modelType = r.int32(f, "trainer_spec.model_type"); modelTypeAt = f.at; break;
      case 24: suffixWs = r.bool(f, "trainer_spec.treat_whitespace_as_suffix"); break;
      case 35: byteFallback = r.bool(f, "trainer_spec.byte_fallback"); break;
      case 44: unkSurface = r.string(f, "trainer_spec.unk_surface"); break;
      case 46: bosPiece = r.string(f, "trainer_spec.bos_piece") || "<s>"; break;
      case 47: eosPiece = r.string(f, "trainer_spec.eos_piece") || "</s>"; break;
    }
  }
  if (modelType !== 2) {
    const what = MODEL_TYPES[modelType] ?? `type ${modelType}`;
    r.fail(modelTypeAt, "trainer_spec.model_type", `is ${what}; only BPE SentencePiece models (as used by Llama and Code Llama) are supported`);
  }
  if (suffixWs) r.fail(trainer!.at, "trainer_spec.treat_whitespace_as_suffix", "is true; models that put the space after words are not supported");

  // 3. NormalizerSpec: identity only (no chars map), and the three flags.
  const norm: NormalizerSettings = { addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
  let ruleName = "";
  for (const f of normalizer?.fields ?? []) {
    switch (f.no) {
      case 1: ruleName = r.string(f, "normalizer_spec.name"); break;
      case 2:
        r.expectLen(f, "normalizer_spec.precompiled_charsmap");
        if (f.end > f.start) {
          r.fail(f.at, "normalizer_spec.precompiled_charsmap", `the model uses the "${ruleName || "custom"}" normalization rule; only "identity" (no chars map, as in Llama's tokenizer.model) is supported — train with --normalization_rule_name=identity`);
        }
        break;
      case 3: norm.addDummyPrefix = r.bool(f, "normalizer_spec.add_dummy_prefix"); break;
      case 4: norm.removeExtraWhitespaces = r.bool(f, "normalizer_spec.remove_extra_whitespaces"); break;
      case 5: norm.escapeWhitespaces = r.bool(f, "normalizer_spec.escape_whitespaces"); break;
    }
  }
  for (const f of denormalizer?.fields ?? []) {
    if (f.no === 2 && f.end > f.start) r.fail(f.at, "denormalizer_spec.precompiled_charsmap", "decoding with a denormalization rule is not supported");
  }

  // 4. The pieces.
  const n = pieceFields.length;
  const pieces = new Array<string>(n);
  const scores = new Float32Array(n);
  const types = new Uint8Array(n);
  let unkId = -1;
  for (let i = 0; i < n; i++) {
    const pf = pieceFields[i];
    r.expectLen(pf, `pieces[${i}]`);
    let piece: string | undefined, type = PieceType.NORMAL;
    for (const f of r.readFields(pf.start, pf.end, `pieces[${i}]`)) {
      if (f.no === 1) piece = r.string(f, `pieces[${i}].piece`);
      else if (f.no === 2) scores[i] = r.float(f, `pieces[${i}].score`);
      else if (f.no === 3) {
        type = r.int32(f, `pieces[${i}].type`);
        if (type < 1 || type > 6) r.fail(f.at, `pieces[${i}].type`, `unknown piece type ${type} (1..6)`);
      }
    }
    if (piece === undefined || piece.length === 0) return r.fail(pf.at, `pieces[${i}].piece`, "is missing or empty");
    if (piece.includes("\0")) r.fail(pf.at, `pieces[${i}].piece`, "contains a NUL character");
    if (type === PieceType.UNKNOWN) {
      if (unkId >= 0) r.fail(pf.at, `pieces[${i}].type`, `a second UNKNOWN piece (the first is id ${unkId})`);
      unkId = i;
    }
    if (type === PieceType.BYTE && !byteFallback) r.fail(pf.at, `pieces[${i}].type`, `byte piece ${piece} although trainer_spec.byte_fallback is false`);
    pieces[i] = piece;
    types[i] = type;
  }
  if (unkId < 0) throw new FormatError(name, 0, "ModelProto.pieces", "there is no UNKNOWN (<unk>) piece");

  // 5. BOS/EOS: the CONTROL pieces with the configured names.
  const controlId = (p: string) => {
    const i = pieces.indexOf(p);
    return i >= 0 && types[i] === PieceType.CONTROL ? i : -1;
  };
  return {
    source: name, pieces, scores, types, byteFallback, normalizer: norm,
    unkId, bosId: controlId(bosPiece), eosId: controlId(eosPiece),
    addBos: true, unkSurface,
  };
}

/** The last occurrence of an embedded message field (protobuf merges; the last scalar wins). */
function lastMessage(r: ProtoReader, fields: Field[], no: number, path: string): { at: number; fields: Field[] } | undefined {
  const all = fields.filter((f) => f.no === no);
  if (all.length === 0) return undefined;
  // Proto2 merges repeated occurrences of a message; concatenating their fields does that.
  const out: Field[] = [];
  for (const f of all) {
    r.expectLen(f, path);
    out.push(...r.readFields(f.start, f.end, path));
  }
  return { at: all[0].at, fields: out };
}
