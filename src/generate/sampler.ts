/**
 * Choosing the next token from logits. The chain, in order:
 *   1. repetition penalty over the recent tokens (positive logits divided by it, negative multiplied);
 *   2. temperature 0: argmax, done. Otherwise logits / temperature, softmax;
 *   3. top-k: keep the k most probable;
 *   4. top-p exactly as Meta's `sample_top_p`: sorted descending, a token is kept if the mass
 *      *before* it is <= p (so the token that crosses p is kept);
 *   5. min-p: drop tokens whose probability is below min_p times the top one;
 *   6. renormalise and draw with the seeded RNG.
 * Only as many candidates as needed are sorted (64, 256, ... then all), which keeps a 32K vocabulary
 * cheap per token.
 */
import { Rng } from "../util/rng.js";

export interface SamplingOptions {
  /** 0 = greedy (default 0.6, as Meta's library default). */
  temperature?: number;
  /** 1 = off (default 0.9, as Meta's). */
  topP?: number;
  /** 0 = off. */
  topK?: number;
  /** 0 = off. */
  minP?: number;
  /** 1 = off. */
  repetitionPenalty?: number;
  /** How many recent tokens the penalty looks at (default 64). */
  penaltyLastN?: number;
  seed?: number;
}

export function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
}

/** Indexes of the `k` largest values of `v`, sorted descending (ties: lower index first). */
export function topIndices(v: Float32Array | Float64Array, k: number): Int32Array {
  k = Math.min(k, v.length);
  // min-heap of the best k seen so far
  const heap = new Int32Array(k);
  let n = 0;
  const less = (a: number, b: number) => v[a] < v[b] || (v[a] === v[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && less(heap[l], heap[m])) m = l;
      if (r < n && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      const t = heap[i]; heap[i] = heap[m]; heap[m] = t; i = m;
    }
  };
  for (let i = 0; i < v.length; i++) {
    if (n < k) {
      heap[n] = i;
      let j = n++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!less(heap[j], heap[p])) break;
        const t = heap[j]; heap[j] = heap[p]; heap[p] = t; j = p;
      }
    } else if (less(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return Int32Array.from(heap).sort((a, b) => (v[b] - v[a]) || (a - b));
}

/**
 * Meta's top-p set in O(V): a token is kept when the mass of the tokens sorted before it is <= p.
 * Tokens are bucketed by log2 of their probability (relative to the top one); all buckets before
 * the one where the running mass first exceeds p are kept whole (the mass before any of their
 * tokens is at most that running mass), all after it are dropped, and only the crossing bucket is
 * sorted to find the exact cut. Returns the candidates (kept buckets in index order, then the
 * crossing bucket's kept tokens in descending order) and their count.
 */
function nucleus(p: Float64Array, topP: number): [Int32Array, number] {
  const NB = 160;
  const V = p.length;
  let pmax = 0;
  for (let i = 0; i < V; i++) if (p[i] > pmax) pmax = p[i];
  const bucket = new Uint8Array(V);
  const mass = new Float64Array(NB);
  for (let i = 0; i < V; i++) {
    const b = p[i] > 0 ? Math.min(NB - 1, Math.floor(-Math.log2(p[i] / pmax) * 4)) : NB - 1;
    bucket[i] = b;
    mass[b] += p[i];
  }
  let c = 0, running = 0;
  while (c < NB && running + mass[c] <= topP) { running += mass[c]; c++; }
  const out = new Int32Array(V);
  let n = 0;
  const crossing: number[] = [];
  for (let i = 0; i < V; i++) {
    if (bucket[i] < c) out[n++] = i;
    else if (bucket[i] === c) crossing.push(i);
  }
  crossing.sort((a, b) => p[b] - p[a] || a - b);
  let before = running;
  for (const i of crossing) {
    if (before > topP) break;
    out[n++] = i;
    before += p[i];
  }
  return [out, n];
}

export class Sampler {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly penaltyLastN: number;
  private readonly rng: Rng;
  private probs = new Float64Array(0);

  constructor(o: SamplingOptions = {}) {
    this.temperature = o.temperature ?? 0.6;
    this.topP = o.topP ?? 0.9;
    this.topK = o.topK ?? 0;
    this.minP = o.minP ?? 0;
    this.repetitionPenalty = o.repetitionPenalty ?? 1;
    this.penaltyLastN = o.penaltyLastN ?? 64;
    this.rng = new Rng(o.seed ?? ((Math.random() * 2 ** 32) >>> 0));
    for (const [k, v, lo, hi] of [["temperature", this.temperature, 0, Infinity], ["topP", this.topP, 0, 1], ["minP", this.minP, 0, 1], ["repetitionPenalty", this.repetitionPenalty, 0, Infinity]] as const) {
      if (!(v >= lo && v <= hi) || (k === "repetitionPenalty" && v === 0)) throw new RangeError(`${k} must be in [${lo}, ${hi}], got ${v}`);
    }
    if (!(Number.isInteger(this.topK) && this.topK >= 0)) throw new RangeError(`topK must be a whole number >= 0, got ${this.topK}`);
  }

  /** Pick the next token. `logits` is modified in place by the penalty. `recent`: tokens seen so far. */
  sample(logits: Float32Array, recent: ArrayLike<number> = []): number {
    // 1. repetition penalty
    if (this.repetitionPenalty !== 1 && recent.length) {
      const seen = new Set<number>();
      for (let i = Math.max(0, recent.length - this.penaltyLastN); i < recent.length; i++) seen.add(recent[i]);
      for (const t of seen) logits[t] = logits[t] > 0 ? logits[t] / this.repetitionPenalty : logits[t] * this.repetitionPenalty;
    }
    // 2. greedy, or softmax(logits / T)
    if (this.temperature === 0) return argmax(logits);
    const V = logits.length;
    if (this.probs.length !== V) this.probs = new Float64Array(V);
    const p = this.probs;
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i] > mx) mx = logits[i];
    let sum = 0;
    for (let i = 0; i < V; i++) { const e = Math.exp((logits[i] - mx) / this.temperature); p[i] = e; sum += e; }
    for (let i = 0; i < V; i++) p[i] /= sum;
    // 3-4. candidates: top-k (sorted), then Meta's top-p rule
    let cand: Int32Array;
    let keep: number;
    if (this.topK > 0 || this.topP >= 1) {
      cand = topIndices(p, this.topK > 0 ? Math.min(this.topK, V) : V);
      keep = cand.length;
      if (this.topP < 1) {
        let before = 0;
        keep = 0;
        while (keep < cand.length && before <= this.topP) { before += p[cand[keep]]; keep++; }
      }
    } else {
      [cand, keep] = nucleus(p, this.topP);
    }
    // 5. min-p: drop candidates below min_p x the most probable
    if (this.minP > 0) {
      let top = 0;
      for (let i = 0; i < keep; i++) top = Math.max(top, p[cand[i]]);
      const floor = this.minP * top;
      let w = 0;
      for (let i = 0; i < keep; i++) if (p[cand[i]] >= floor) cand[w++] = cand[i];
      keep = w;
    }
    // 6. renormalise over the kept candidates and draw
    let mass = 0;
    for (let i = 0; i < keep; i++) mass += p[cand[i]];
    let r = this.rng.next() * mass;
    for (let i = 0; i < keep; i++) {
      r -= p[cand[i]];
      if (r < 0) return cand[i];
    }
    return cand[keep - 1];
  }
}
