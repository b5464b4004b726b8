/**
 * Public tokenizer API: `Tokenizer` (SentencePiece BPE as Code Llama uses it; load it from a
 * GGUF, a `tokenizer.model` or a `tokenizer.json`) and its streaming decoder interface.
 */
export { Tokenizer, type EncodeOptions } from "./tokenizer.js";
export type { StreamDecoder } from "./decoder.js";
export { PieceType } from "./types.js";
