/**
 * UTF-8 helpers with SentencePiece's exact rules (`string_util::DecodeUTF8`): a structurally
 * invalid or truncated sequence turns into one U+FFFD for its *first byte only*, and decoding
 * resumes at the next byte. (TextDecoder replaces a whole "maximal subpart" instead, which gives
 * a different number of U+FFFD for some inputs, so it is not used for byte-fallback output.)
 */

export const REPLACEMENT_CP = 0xfffd;

/** Bytes a sequence starting with `lead` claims (1 for ASCII and for bytes that cannot start one). */
export function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1; // 0x80..0xBF (continuation) and 0xF8..0xFF: invalid as a lead byte
}

const isTrail = (b: number) => (b & 0xc0) === 0x80;
const isValidCodePoint = (c: number) => c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);

/**
 * Decode the code point at `bytes[i]` (`end` exclusive). Returns the code point, or -1 when the
 * sequence is invalid or truncated (then exactly one byte is consumed, as SentencePiece does).
 */
export function decodeCodePointAt(bytes: ArrayLike<number>, i: number, end: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return b0;
  const need = utf8SequenceLength(b0);
  if (need === 1 || end - i < need) return -1;
  // Every continuation byte must be 10xxxxxx; then the value must be in range and not overlong.
  if (need === 2) {
    const b1 = bytes[i + 1];
    const c = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
    return isTrail(b1) && c >= 0x80 ? c : -1;
  }
  if (need === 3) {
    const b1 = bytes[i + 1], b2 = bytes[i + 2];
    const c = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    return isTrail(b1) && isTrail(b2) && c >= 0x800 && isValidCodePoint(c) ? c : -1;
  }
  const b1 = bytes[i + 1], b2 = bytes[i + 2], b3 = bytes[i + 3];
  const c = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
  return isTrail(b1) && isTrail(b2) && isTrail(b3) && c >= 0x10000 && isValidCodePoint(c) ? c : -1;
}

/**
 * True when the bytes present so far (`i`..`end`) can no longer become a valid sequence,
 * whatever follows: some continuation byte that is present is not 10xxxxxx.
 * Used by the streaming decoder to emit U+FFFD early instead of waiting.
 */
export function isDoomedPrefix(bytes: ArrayLike<number>, i: number, end: number): boolean {
  const need = utf8SequenceLength(bytes[i]);
  if (bytes[i] >= 0x80 && need === 1) return true;
  for (let k = i + 1; k < end && k < i + need; k++) if (!isTrail(bytes[k])) return true;
  return false;
}

/** Byte length of the UTF-8 encoding of one code point. */
export function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Write the UTF-8 bytes of `cp` to `out` from `at`; returns the number written. */
export function writeUtf8(cp: number, out: Uint8Array | number[], at: number): number {
  if (cp < 0x80) { out[at] = cp; return 1; }
  if (cp < 0x800) {
    out[at] = 0xc0 | (cp >> 6);
    out[at + 1] = 0x80 | (cp & 0x3f);
    return 2;
  }
  if (cp < 0x10000) {
    out[at] = 0xe0 | (cp >> 12);
    out[at + 1] = 0x80 | ((cp >> 6) & 0x3f);
    out[at + 2] = 0x80 | (cp & 0x3f);
    return 3;
  }
  out[at] = 0xf0 | (cp >> 18);
  out[at + 1] = 0x80 | ((cp >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((cp >> 6) & 0x3f);
  out[at + 3] = 0x80 | (cp & 0x3f);
  return 4;
}

/** Decode a whole byte run with SentencePiece's rules (one U+FFFD per invalid byte). */
export function decodeBytesSpm(bytes: ArrayLike<number>, start = 0, end = bytes.length): string {
  let s = "";
  let i = start;
  while (i < end) {
    const cp = decodeCodePointAt(bytes, i, end);
    if (cp < 0) { s += "\ufffd"; i += 1; continue; }
    s += String.fromCodePoint(cp);
    i += utf8Length(cp);
  }
  return s;
}
