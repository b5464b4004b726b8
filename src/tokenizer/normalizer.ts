/**
 * SentencePiece's normaliser for the "identity" rule (Llama's; no NFKC), working directly on
 * a JS string and writing code points:
 *
 *  - UTF-16 is read as code points; a lone surrogate becomes U+FFFD, exactly what a UTF-8
 *    encoder (TextEncoder, Buffer.from) writes for it, so the text SentencePiece would see;
 *  - with `removeExtraWhitespaces`, leading spaces are dropped, runs of spaces inside the text
 *    collapse to one, and trailing spaces (also literal `▁` characters, as SentencePiece checks
 *    the already-escaped output) are dropped; all-space input yields nothing;
 *  - with `escapeWhitespaces`, ' ' becomes `▁` (U+2581); no other character is touched
 *    (tabs, newlines, NUL and other control characters pass through unchanged);
 *  - with `addDummyPrefix`, non-empty output starts with `▁`.
 *
 * Only ' ' (U+0020) counts as whitespace here, as in SentencePiece without a chars map.
 */
import { SPACE_CP, type NormalizerSettings } from "./types.js";

/**
 * Normalise `text` into `out` (which must hold at least `text.length + 1` entries).
 * Returns the number of code points written.
 */
export function normalizeInto(text: string, s: NormalizerSettings, addDummyPrefix: boolean, out: Int32Array): number {
  const len = text.length;
  let i = 0;
  const removeExtra = s.removeExtraWhitespaces;
  // 1. Leading spaces go when extra whitespace is removed; empty text stays empty (no prefix).
  if (removeExtra) while (i < len && text.charCodeAt(i) === 0x20) i++;
  if (i >= len) return 0;
  const space = s.escapeWhitespaces ? SPACE_CP : 0x20;
  let n = 0;
  // 2. The dummy prefix.
  if (addDummyPrefix) out[n++] = space;
  // 3. Character by character: decode surrogate pairs, replace spaces, collapse space runs.
  let prevSpace = removeExtra;
  for (; i < len; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x20) {
      if (prevSpace) continue; // only reachable with removeExtraWhitespaces
      out[n++] = space;
      prevSpace = removeExtra;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < len ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // lone surrogate
      }
    }
    out[n++] = c;
    prevSpace = false;
  }
  // 4. Trailing spaces (SentencePiece strips trailing `▁` from the escaped output).
  if (removeExtra) while (n > 0 && out[n - 1] === space) n--;
  return n;
}
