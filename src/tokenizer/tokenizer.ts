/**
 * The Code Llama tokenizer: SentencePiece BPE as Llama uses it (see bpe.ts, decoder.ts), plus
 * what Meta's `llama/tokenizer.py` adds on top (reference §3):
 *
 *  - `encode(s, {bos, eos})`: SentencePiece encode (implicit leading space), optionally with
 *    BOS first and EOS last. Text is never parsed for special tokens: "<s>" is just text.
 *  - `encodeInfilling(s)` = `encode("☺" + s)[2:]`: the tokens of `s` without the implicit
 *    leading space. If the vocabulary has no single `☺` piece (or ☺ would merge with its
 *    neighbours), the same tokens are produced by encoding without the dummy prefix, which is
 *    what the trick achieves whenever ☺ stands alone (`▁` and `☺` are then two symbols that
 *    nothing merges across, so the rest of the text is merged exactly as on its own).
 *  - `decodeInfilling(ids)` = `decode([☺] + ids)[1:]`: decoding that keeps a leading space.
 *  - FIM sentinels `▁<PRE>`, `▁<SUF>`, `▁<MID>`, `▁<EOT>` and `<step>` found by piece name.
 */
import { readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../format/gguf-reader.js";
import type { SpecialTokens } from "../format/model-config.js";
import { UserError } from "../util/errors.js";
import { BpeEncoder } from "./bpe.js";
import { decodeIds, StreamingDecoder, type StreamDecoder } from "./decoder.js";
import { vocabFromGGUF } from "./load-gguf.js";
import { vocabFromHFTokenizerJson } from "./load-hf.js";
import { vocabFromSentencePiece } from "./load-spm.js";
import type { VocabSpec } from "./types.js";
import { Vocab } from "./vocab.js";

export interface EncodeOptions {
  /** Prepend BOS (default false: plain SentencePiece encode, like `sp.encode`). */
  bos?: boolean;
  /** Append EOS (default false). */
  eos?: boolean;
}

/** The character Meta's reference uses to suppress the implicit leading space. */
const SMILEY = "\u263a";

export class Tokenizer {
  readonly vocabSize: number;
  readonly special: SpecialTokens;
  /** Whether the model's files ask for BOS in front of a prompt (GGUF add_bos_token, HF template). */
  readonly addBos: boolean;
  private readonly vocab: Vocab;
  private readonly encoder: BpeEncoder;
  private readonly smileyId: number | undefined;
  private readonly spaceId: number | undefined;

  private constructor(spec: VocabSpec) {
    this.vocab = new Vocab(spec);
    this.encoder = new BpeEncoder(this.vocab, spec.normalizer);
    this.vocabSize = this.vocab.size;
    this.addBos = spec.addBos;
    const opt = (p: string) => this.id(p);
    this.special = {
      bos: spec.bosId, eos: spec.eosId, unk: spec.unkId,
      prefix: opt("\u2581<PRE>"), suffix: opt("\u2581<SUF>"), middle: opt("\u2581<MID>"), eot: opt("\u2581<EOT>"),
      step: opt("<step>"),
    };
    this.smileyId = this.id(SMILEY);
    this.spaceId = this.id("\u2581");
  }

  // ------------------------------------------------------------------ loading

  static fromGGUF(g: GGUFFile): Tokenizer {
    return new Tokenizer(vocabFromGGUF(g));
  }

  static fromSentencePieceModel(bytes: Uint8Array, name = "tokenizer.model"): Tokenizer {
    return new Tokenizer(vocabFromSentencePiece(bytes, name));
  }

  static fromHFTokenizerJson(json: string | object, name = "tokenizer.json"): Tokenizer {
    return new Tokenizer(vocabFromHFTokenizerJson(json, name));
  }

  /**
   * A `.gguf`, a SentencePiece `tokenizer.model`, an HF `tokenizer.json`, or a folder holding
   * `tokenizer.model` or `tokenizer.json` (an HF model folder). Other files are recognised by
   * their first bytes.
   */
  static fromFile(path: string): Tokenizer {
    if (!existsSync(path)) throw new UserError(`${path}: no such file or folder`);
    if (statSync(path).isDirectory()) {
      for (const f of ["tokenizer.model", "tokenizer.json"]) {
        if (existsSync(join(path, f))) return Tokenizer.fromFile(join(path, f));
      }
      throw new UserError(`${path}: the folder holds neither tokenizer.model nor tokenizer.json`);
    }
    const bytes = readFileSync(path);
    const head = bytes.subarray(0, 4).toString("latin1");
    if (head === "GGUF") {
      const g = GGUFFile.parse(bytes, { name: path });
      try { return Tokenizer.fromGGUF(g); } finally { g.close(); }
    }
    const firstNonSpace = bytes.subarray(0, 64).toString("latin1").trimStart()[0];
    if (path.endsWith(".json") || firstNonSpace === "{" || head.startsWith("\xef\xbb\xbf{")) {
      return Tokenizer.fromHFTokenizerJson(bytes.toString("utf8").replace(/^\ufeff/, ""), path);
    }
    if (path.endsWith(".gguf")) throw new UserError(`${path}: not a GGUF file (it does not start with "GGUF")`);
    return Tokenizer.fromSentencePieceModel(bytes, path);
  }

  // ------------------------------------------------------------------ pieces

  /** The piece text of an id (with `▁` for spaces). */
  piece(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new UserError(`token id ${id} is out of range (vocabulary of ${this.vocabSize})`);
    return this.vocab.spec.pieces[id];
  }

  /** The id of a piece text, or undefined. */
  id(piece: string): number | undefined {
    return this.vocab.pieceToId.get(piece);
  }

  // ------------------------------------------------------------------ encode / decode

  /** SentencePiece encode with the implicit leading space; never throws on any string. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.bos && this.special.bos >= 0) out.push(this.special.bos);
    this.encoder.encode(text, this.vocab.spec.normalizer.addDummyPrefix, out);
    if (opts.eos && this.special.eos >= 0) out.push(this.special.eos);
    return out;
  }

  /** Meta's `encode_infilling`: the tokens of `text` without the implicit leading space. */
  encodeInfilling(text: string): number[] {
    const { smileyId, spaceId } = this;
    if (smileyId !== undefined && spaceId !== undefined && this.vocab.spec.normalizer.addDummyPrefix) {
      // The reference trick, literally: encode("☺" + s) and drop [▁, ☺].
      const ids = this.encode(SMILEY + text);
      if (ids[0] === spaceId && ids[1] === smileyId) return ids.slice(2);
    }
    // No (standalone) ☺: encode without the dummy prefix, which gives the same tokens.
    const out: number[] = [];
    this.encoder.encode(text, false, out);
    return out;
  }

  /** SentencePiece decode: the first piece's leading `▁` is dropped. */
  decode(ids: ArrayLike<number>): string {
    return decodeIds(this.vocab, ids, false);
  }

  /** Meta's `decode_infilling`: like decode, but a leading space is kept. */
  decodeInfilling(ids: ArrayLike<number>): string {
    return decodeIds(this.vocab, ids, true);
  }

  /**
   * Incremental decoding for generation: `push(id)` returns the newly complete text (never
   * half a UTF-8 character), `flush()` the rest. `infill: true` keeps a leading space
   * (decodeInfilling), otherwise it is dropped as in decode. Concatenated output = decode.
   */
  streamDecoder(opts: { infill?: boolean } = {}): StreamDecoder {
    return new StreamingDecoder(this.vocab, opts.infill === true);
  }
}
