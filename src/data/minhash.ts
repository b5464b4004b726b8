/**
 * Near-duplicate detection with MinHash and locality-sensitive hashing (Broder 1997; the banding
 * scheme of Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3).
 *
 *  - Words: maximal runs of letters, digits and `_` (\p{L}\p{N}_); punctuation, whitespace and
 *    layout are ignored, so re-indented or re-formatted copies still match.
 *  - Shingles: every run of `shingle` consecutive words (5), hashed to 32 bits (each word by
 *    FNV-1a, the words combined in order); a document with fewer words is one shingle; a
 *    document without words has no signature (only exact dedup applies to it).
 *  - Signature: for each of `hashes` (128) hash functions h_i(x) = (a_i * x + b_i) mod 2^32
 *    (a_i odd, so each is a permutation of u32; the high bits, which decide the minimum, are
 *    well mixed, and x is already a mixed shingle hash; a_i, b_i are fixed constants drawn once
 *    from a seeded generator, so results never depend on --seed), the minimum over the
 *    document's distinct shingles. P[sig_i(A) = sig_i(B)] is about the Jaccard similarity of the
 *    shingle sets (tested: estimates agree with exact Jaccard within the binomial error).
 *  - LSH: the signature is cut into `bands` (16) bands of `hashes / bands` (8) rows; documents
 *    that agree on all rows of any band are candidates (a pair with Jaccard s becomes one with
 *    probability 1 - (1 - s^8)^16: 0.99 at s = 0.85, 0.05 at s = 0.5).
 *  - Candidates count as near duplicates when the fraction of equal signature entries (the
 *    Jaccard estimate) is at least `threshold` (0.85).
 *
 * `NearDedup` keeps the first of every group: a document is dropped when it is a near duplicate
 * of one already kept; otherwise it is kept and indexed.
 */
import { Rng } from "../util/rng.js";

export interface MinHashOptions {
  shingle: number;
  hashes: number;
  bands: number;
  threshold: number;
}

export const DEFAULT_MINHASH: MinHashOptions = { shingle: 5, hashes: 128, bands: 16, threshold: 0.85 };

/** murmur3's 32-bit finaliser: a bijection on u32 with good avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}_]+/gu;

/** The distinct shingle hashes of a text (empty when it has no words). */
export function shingleHashes(text: string, shingle: number): Uint32Array {
  // 1. Word hashes (FNV-1a over UTF-16 code units).
  const words: number[] = [];
  for (const m of text.matchAll(WORD)) {
    const w = m[0];
    let h = 0x811c9dc5;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193);
    words.push(h >>> 0);
  }
  if (words.length === 0) return new Uint32Array(0);
  // 2. Shingles: k consecutive word hashes combined in order.
  const k = Math.min(shingle, words.length);
  const set = new Set<number>();
  for (let i = 0; i + k <= words.length; i++) {
    let h = 0x9747b28c;
    for (let j = 0; j < k; j++) h = fmix32(Math.imul(h ^ words[i + j], 0x5bd1e995) + j);
    set.add(h);
  }
  return Uint32Array.from(set);
}

export class MinHasher {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;

  constructor(readonly opts: MinHashOptions = DEFAULT_MINHASH) {
    if (!Number.isInteger(opts.hashes) || opts.hashes < 1 || opts.hashes % opts.bands !== 0) throw new Error(`MinHash: ${opts.hashes} hashes cannot be cut into ${opts.bands} bands`);
    const rng = new Rng([0x6d696e68, 0x61736821]); // fixed: "minhash!"
    this.a = new Uint32Array(opts.hashes);
    this.b = new Uint32Array(opts.hashes);
    for (let i = 0; i < opts.hashes; i++) { this.a[i] = rng.nextU32() | 1; this.b[i] = rng.nextU32(); }
  }

  /** The signature of a text, or undefined when it has no words. */
  signature(text: string): Uint32Array | undefined {
    const sh = shingleHashes(text, this.opts.shingle);
    if (sh.length === 0) return undefined;
    const { a, b } = this;
    const n = a.length;
    const sig = new Uint32Array(n).fill(0xffffffff);
    for (let s = 0; s < sh.length; s++) {
      const x = sh[s];
      for (let i = 0; i < n; i++) {
        const v = (Math.imul(a[i], x) + b[i]) >>> 0;
        if (v < sig[i]) sig[i] = v;
      }
    }
    return sig;
  }
}

/** The fraction of equal entries of two signatures (the Jaccard estimate). */
export function estimateJaccard(x: Uint32Array, y: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) eq++;
  return eq / x.length;
}

/** First-kept near-duplicate removal over an LSH index. */
export class NearDedup {
  readonly hasher: MinHasher;
  private readonly kept: Uint32Array[] = [];
  private readonly buckets: Map<number, number[]>[];
  private readonly rows: number;

  constructor(readonly opts: MinHashOptions = DEFAULT_MINHASH) {
    this.hasher = new MinHasher(opts);
    this.rows = opts.hashes / opts.bands;
    this.buckets = Array.from({ length: opts.bands }, () => new Map<number, number[]>());
  }

  /**
   * Offer a text: returns true when it is a near duplicate of one kept before (drop it), false
   * when it is kept (and indexed). A text without words is always kept, unindexed.
   */
  isDuplicate(text: string): boolean {
    const sig = this.hasher.signature(text);
    if (!sig) return false;
    // 1. The band keys; candidates are kept documents sharing any of them.
    const keys: number[] = [];
    for (let band = 0; band < this.opts.bands; band++) {
      let h = band;
      for (let r = 0; r < this.rows; r++) h = fmix32(Math.imul(h ^ sig[band * this.rows + r], 0x5bd1e995));
      keys.push(h);
    }
    const seen = new Set<number>();
    for (let band = 0; band < keys.length; band++) {
      for (const c of this.buckets[band].get(keys[band]) ?? []) {
        if (seen.has(c)) continue;
        seen.add(c);
        // 2. Verify with the full signature.
        if (estimateJaccard(sig, this.kept[c]) >= this.opts.threshold) return true;
      }
    }
    // 3. Keep it and index its bands.
    const id = this.kept.length;
    this.kept.push(sig);
    keys.forEach((k, band) => {
      const list = this.buckets[band].get(k);
      if (list) list.push(id); else this.buckets[band].set(k, [id]);
    });
    return false;
  }
}
