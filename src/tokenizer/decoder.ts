/**
 * Decoding ids to text, as SentencePiece's `SentencePieceProcessor::Decode` does it:
 *
 *  - runs of byte pieces `<0xNN>` are joined and decoded as UTF-8; an invalid or truncated
 *    sequence gives one U+FFFD per offending byte (see utf8.ts);
 *  - CONTROL pieces decode to "", `<unk>` to the unk surface (" ⁇ "), other pieces to their
 *    text with `▁` → ' ';
 *  - the leading-space rule: while nothing has been output yet, the first non-byte piece that
 *    starts with `▁` loses that `▁` (only if the model adds a dummy prefix or removes extra
 *    whitespace; with remove_extra_whitespaces every leading `▁` piece is stripped). Control
 *    pieces (`<s>`) before it do not count as output.
 *
 * `keepLeadingSpace` turns the rule off: that is Meta's `decode_infilling`, which decodes
 * `[☺] + ids` and drops the ☺, so the first piece keeps its space.
 *
 * `StreamDecoder` produces the same text incrementally: `push(id)` returns what can be shown
 * now, holding back the bytes of a character that is split across byte pieces, and
 * `flush()` returns the rest. The concatenation of all chunks equals `decode(ids)`.
 */
import { UserError } from "../util/errors.js";
import { PieceType } from "./types.js";
import { decodeBytesSpm, decodeCodePointAt, isDoomedPrefix, utf8Length, utf8SequenceLength } from "./utf8.js";
import type { Vocab } from "./vocab.js";

/** The leading-space state machine shared by `decode` and `StreamDecoder`. */
class LeadingSpace {
  /** Still at the beginning (no visible text, no stripped `▁` piece yet). */
  private atStart: boolean;
  private readonly strips: boolean;
  private readonly stripAll: boolean;

  constructor(v: Vocab, keepLeadingSpace: boolean) {
    const n = v.spec.normalizer;
    this.strips = !keepLeadingSpace && (n.addDummyPrefix || n.removeExtraWhitespaces);
    this.stripAll = n.removeExtraWhitespaces;
    this.atStart = this.strips;
  }

  /** Text of a non-byte piece; `textSoFar` says whether anything visible was output before. */
  piece(v: Vocab, id: number, textSoFar: boolean): string {
    if (textSoFar) this.atStart = false;
    const text = v.decodeText[id];
    const t = v.spec.types[id];
    if (t === PieceType.CONTROL || t === PieceType.UNKNOWN) {
      // Invisible (control) or the unk surface: neither consumes the leading `▁`.
      return text;
    }
    if (this.atStart && v.spec.pieces[id].startsWith("\u2581")) {
      // SentencePiece: a stripped leading `▁` ends the start state, unless every leading
      // whitespace is removed (remove_extra_whitespaces).
      if (!this.stripAll) this.atStart = false;
      return text.slice(1);
    }
    if (this.atStart && text.length > 0) this.atStart = false;
    return text;
  }
}

function checkId(v: Vocab, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= v.size) throw new UserError(`token id ${id} is out of range (vocabulary of ${v.size})`);
}

/** Decode a whole id sequence. */
export function decodeIds(v: Vocab, ids: ArrayLike<number>, keepLeadingSpace: boolean): string {
  const lead = new LeadingSpace(v, keepLeadingSpace);
  const parts: string[] = [];
  let textSoFar = false;
  let bytes: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    checkId(v, id);
    const b = v.byteValue[id];
    if (b >= 0) { bytes.push(b); continue; }
    // A non-byte piece ends the byte run before it.
    if (bytes.length > 0) {
      parts.push(decodeBytesSpm(bytes));
      textSoFar = true;
      bytes = [];
    }
    const s = lead.piece(v, id, textSoFar);
    if (s.length > 0) { parts.push(s); textSoFar = true; }
  }
  if (bytes.length > 0) parts.push(decodeBytesSpm(bytes));
  return parts.join("");
}

export interface StreamDecoder {
  /** Feed one id; returns the text that is complete so far (possibly ""). */
  push(id: number): string;
  /** End of stream: returns any held-back bytes (as U+FFFD if they never completed). */
  flush(): string;
}

/** Incremental decoder; see the file comment. */
export class StreamingDecoder implements StreamDecoder {
  private readonly lead: LeadingSpace;
  private textSoFar = false;
  /** Bytes of a character still being assembled (at most 3 wait here). */
  private pending: number[] = [];

  constructor(private readonly v: Vocab, keepLeadingSpace: boolean) {
    this.lead = new LeadingSpace(v, keepLeadingSpace);
  }

  push(id: number): string {
    checkId(this.v, id);
    const b = this.v.byteValue[id];
    if (b >= 0) {
      this.pending.push(b);
      return this.drain(false);
    }
    // A non-byte piece: the byte run is over, so whatever is pending is final.
    let s = this.drain(true);
    const t = this.lead.piece(this.v, id, this.textSoFar);
    if (t.length > 0) { s += t; this.textSoFar = true; }
    return s;
  }

  flush(): string {
    return this.drain(true);
  }

  /**
   * Emit every character at the front of `pending` that is decided: complete sequences, and
   * invalid lead bytes (one U+FFFD each, like the batch decoder). With `final`, an incomplete
   * tail is decided too (the run has ended).
   */
  private drain(final: boolean): string {
    const p = this.pending;
    let s = "";
    let i = 0;
    while (i < p.length) {
      const need = p[i] < 0x80 ? 1 : utf8SequenceLength(p[i]);
      if (!final && p.length - i < need && !isDoomedPrefix(p, i, p.length)) break; // wait for more bytes
      const cp = decodeCodePointAt(p, i, p.length);
      if (cp < 0) { s += "\ufffd"; i += 1; }
      else { s += String.fromCodePoint(cp); i += utf8Length(cp); }
    }
    if (i > 0) this.pending = p.slice(i);
    if (s.length > 0) this.textSoFar = true;
    return s;
  }
}
