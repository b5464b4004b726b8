/**
 * The fill-in-the-middle training transformation, as the Code Llama paper describes it
 * (reference §4.4; Bavarian et al. 2022):
 *
 *  - Split: the document is cut at the character level (Unicode code points) at two positions
 *    drawn independently and uniformly from 0..L (L = the number of code points); the smaller
 *    is the end of the prefix, the larger the start of the suffix. Any part may be empty.
 *  - Rate: applied with probability `fimRate` (0.9) per document, and only to documents that fit
 *    in one context (BOS + enc(doc) + EOS <= ctx). PSM or SPM with probability 1 - spmRate /
 *    spmRate (0.5 each).
 *  - Layouts (enc = encode with the implicit leading space; encInf = the ☺ trick, without it):
 *      PSM:  <PRE> enc(prefix) <SUF> encInf(suffix) <MID> encInf(middle) <EOT>
 *      SPM:  <PRE> <SUF> encInf(suffix) <MID> enc(prefix + middle) <EOT>
 *    In SPM, prefix and middle are encoded together (no token is split at their boundary).
 *
 * DECISIONS where the paper is silent (§4.4 marks them UNCONFIRMED):
 *  - Every document, FIM or not, is framed as BOS ... EOS: a FIM document is
 *    [BOS] + layout + [EOS]. The inference prompt starts with BOS, PRE like this (§4.1).
 *  - All tokens are targets (loss mask 1), as for plain documents.
 *  - The layout can be a few tokens longer than the plain document (four sentinels, tokens cut
 *    at the split points). An eligible document whose FIM form no longer fits in ctx is kept
 *    plain and counted (`tooLongAfterTransform`); the draws for it are made all the same.
 */
import { fimTokens, type FimTokens } from "../prompt/infill.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { Rng } from "../util/rng.js";
import { DOC_FIM, DOC_SPM } from "./format.js";

export interface FimParts {
  prefix: string;
  middle: string;
  suffix: string;
}

/** The UTF-16 offset of code point number `cp` in `text` (text.length when cp = the count). */
function codePointOffset(text: string, cp: number): number {
  let i = 0;
  for (let k = 0; k < cp; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return i;
}

/** The number of code points of `text`. */
export function codePointCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++, n++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return n;
}

/** Split `text` at code points `a` and `b` (any order, each in 0..L). */
export function fimSplitAt(text: string, a: number, b: number): FimParts {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  const i = codePointOffset(text, lo);
  const j = i + codePointOffset(text.slice(i), hi - lo);
  return { prefix: text.slice(0, i), middle: text.slice(i, j), suffix: text.slice(j) };
}

/** Two independent uniform cut points over 0..L, drawn from `rng`. */
export function fimSplit(text: string, rng: Rng): FimParts {
  const n = codePointCount(text) + 1;
  const a = rng.int(n), b = rng.int(n);
  return fimSplitAt(text, a, b);
}

/** The PSM or SPM token layout of the parts (without BOS/EOS). */
export function fimLayout(tok: Tokenizer, t: FimTokens, p: FimParts, spm: boolean): number[] {
  if (spm) return [t.prefix, t.suffix, ...tok.encodeInfilling(p.suffix), t.middle, ...tok.encode(p.prefix + p.middle), t.eot];
  return [t.prefix, ...tok.encode(p.prefix), t.suffix, ...tok.encodeInfilling(p.suffix), t.middle, ...tok.encodeInfilling(p.middle), t.eot];
}

export interface FimOptions {
  ctx: number;
  /** Probability of transforming an eligible document (the paper: 0.9). */
  fimRate: number;
  /** Probability of SPM among transformed documents (the paper: 0.5). */
  spmRate: number;
}

export interface FimCounts {
  eligible: number;
  transformed: number;
  psm: number;
  spm: number;
  tooLongAfterTransform: number;
  notEligible: number;
}

export interface DocumentTokens {
  tokens: number[];
  /** DOC_FIM | DOC_SPM */
  flags: number;
  /** The split, when transformed. */
  parts?: FimParts;
}

/**
 * Turns document texts into their training tokens: BOS + enc(text) + EOS, or the FIM form.
 * One instance per split; its RNG stream makes the decisions in document order.
 */
export class FimTransformer {
  readonly counts: FimCounts = { eligible: 0, transformed: 0, psm: 0, spm: 0, tooLongAfterTransform: 0, notEligible: 0 };
  private readonly t: FimTokens | undefined;

  constructor(private readonly tok: Tokenizer, private readonly opts: FimOptions, private readonly rng: Rng) {
    // The sentinels are needed only when FIM can happen (fimTokens explains a vocabulary without them).
    this.t = opts.fimRate > 0 ? fimTokens(tok) : undefined;
  }

  document(text: string): DocumentTokens {
    const { tok, opts, rng } = this;
    const { bos, eos } = tok.special;
    // 1. The plain form; only a document that fits in one context is eligible.
    const plain = tok.encode(text, { bos: true, eos: true });
    if (plain.length > opts.ctx) { this.counts.notEligible++; return { tokens: plain, flags: 0 }; }
    this.counts.eligible++;
    // 2. The draws: FIM or not, then PSM/SPM and the two cut points.
    if (!this.t || !(rng.next() < opts.fimRate)) return { tokens: plain, flags: 0 };
    const spm = rng.next() < opts.spmRate;
    const parts = fimSplit(text, rng);
    // 3. The layout, framed by BOS/EOS like every document.
    const tokens = [bos, ...fimLayout(tok, this.t, parts, spm), eos];
    if (tokens.length > opts.ctx) { this.counts.tooLongAfterTransform++; return { tokens: plain, flags: 0 }; }
    this.counts.transformed++;
    if (spm) this.counts.spm++; else this.counts.psm++;
    return { tokens, flags: DOC_FIM | (spm ? DOC_SPM : 0), parts };
  }
}
