/**
 * The data every tokenizer loader produces (GGUF metadata, a SentencePiece `tokenizer.model`,
 * an HF `tokenizer.json`): the pieces with their scores and types, the normaliser settings and
 * the special ids. `compile.ts` turns it into the lookup tables the encoder runs on.
 */

/** SentencePiece piece types; GGUF's `tokenizer.ggml.token_type` uses the same numbers. */
export enum PieceType {
  NORMAL = 1,
  /** `<unk>`: the id characters without a piece map to (when there is no byte fallback). */
  UNKNOWN = 2,
  /** `<s>`, `</s>`, FIM sentinels: never produced from text, decode to "". */
  CONTROL = 3,
  /** Matched greedily (longest first) in the text before BPE, never merged further. */
  USER_DEFINED = 4,
  /** Takes part in merges, but is split back into its parts afterwards (resegmentation). */
  UNUSED = 5,
  /** `<0x00>`..`<0xFF>`: byte fallback for characters that have no piece. */
  BYTE = 6,
}

/** How raw text becomes the normalised string the BPE runs on (SentencePiece `NormalizerSpec`). */
export interface NormalizerSettings {
  /** Prepend `▁` to non-empty text (Llama: true). */
  addDummyPrefix: boolean;
  /** Drop leading/trailing spaces and collapse runs of spaces (Llama: false; spm_train default: true). */
  removeExtraWhitespaces: boolean;
  /** Replace ' ' with `▁` (U+2581) (always true for the models we support). */
  escapeWhitespaces: boolean;
}

/** Everything a loader reads from a tokenizer file, before compilation. */
export interface VocabSpec {
  /** File name used in error messages. */
  source: string;
  pieces: string[];
  /** One float32 score per piece (larger merges first). */
  scores: Float32Array;
  /** One `PieceType` per piece. */
  types: Uint8Array;
  /** True when the vocab has all 256 `<0xNN>` byte pieces and unknown characters become bytes. */
  byteFallback: boolean;
  normalizer: NormalizerSettings;
  /** Ids of `<unk>`, `<s>`, `</s>` (-1 when the vocab has none). */
  unkId: number;
  bosId: number;
  eosId: number;
  /** Whether a plain `encode` of this model is normally preceded by BOS (informational). */
  addBos: boolean;
  /** What `<unk>` decodes to (SentencePiece default " ⁇ "). */
  unkSurface: string;
}

/** The space symbol SentencePiece writes for ' ' (U+2581 LOWER ONE EIGHTH BLOCK). */
export const SPACE_SYMBOL = "\u2581";
export const SPACE_CP = 0x2581;
/** SentencePiece's default `unk_surface`. */
export const DEFAULT_UNK_SURFACE = " \u2047 ";
