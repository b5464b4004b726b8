/**
 * SentencePiece BPE encoding (src/bpe_model.cc, `Model::SampleEncode` with alpha = 0), exactly:
 *
 *  1. The normalised text is split into symbols: one per character, except that a user-defined
 *     piece starting at the current position is taken whole (longest match) and frozen.
 *  2. Every adjacent pair whose concatenation is a mergeable piece (NORMAL, USER_DEFINED,
 *     UNUSED) goes into a priority queue keyed by that piece's score; ties go to the leftmost
 *     pair (the comparator is `score` then smaller `left`).
 *  3. The best pair is popped; if either side has changed since it was queued it is skipped,
 *     otherwise the right symbol is merged into the left one and the two new neighbouring pairs
 *     are queued. Repeat until the queue is empty.
 *  4. Each final symbol is emitted; an UNUSED piece is split back ("resegmented") into the two
 *     symbols it was last queued from (SentencePiece's `rev_merge`, last write wins), recursively.
 *     A symbol that is not a piece is unknown: with byte fallback it becomes its UTF-8 bytes as
 *     `<0xNN>` pieces, otherwise `<unk>`, one for each run of unknown symbols.
 *
 * CONTROL, UNKNOWN and BYTE pieces are never merge targets, so `<s>`, `</s>` and the FIM
 * sentinels typed CONTROL are never produced from text (a one-character CONTROL piece, which
 * SentencePiece itself rejects at encode time, is treated as unknown).
 *
 * Everything runs on typed arrays owned by the encoder and reused between calls: symbols are
 * a doubly linked list, the queue a binary heap stored inline in one Float64Array. Cost is
 * O(n log n) in the number of characters. A character that occurs in no multi-character
 * piece (e.g. a newline in Llama's vocabulary) can never merge, so the text between two such
 * walls is merged on its own with a small, cache-resident heap; merges never cross a wall,
 * so this gives the same result as one global queue. (Not done when the vocabulary has
 * UNUSED pieces: their `rev_merge` entries are global, last write wins, so the global order
 * of queue pushes matters there.)
 */
import { normalizeInto } from "./normalizer.js";
import type { NormalizerSettings } from "./types.js";
import { writeUtf8 } from "./utf8.js";
import type { Vocab } from "./vocab.js";

export class BpeEncoder {
  // normalised code points
  private cps = new Int32Array(256);
  // symbols: atom, length in code points, first code point, linked list
  private symAtom = new Int32Array(256);
  private symLen = new Int32Array(256);
  private symStart = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);
  /**
   * The queue: a binary max-heap stored inline, 2 doubles per entry:
   * [priority rank * 2^32 + (2^32 - 1 - left symbol), size * 2^24 + piece id].
   * The right symbol is not stored: while an entry is valid it is `next[left]` (see below).
   */
  private heap = new Float64Array(2 * 768);
  private heapLen = 0;
  // rev_merge for UNUSED pieces: piece id → left atom * nAtoms + right atom
  private readonly revMerge = new Map<number, number>();
  private readonly utf8 = new Uint8Array(4);
  private prevUnk = false;

  constructor(private readonly vocab: Vocab, private readonly norm: NormalizerSettings) {}

  /** Encode `text` and append the ids to `out`. `dummyPrefix` overrides the normaliser setting. */
  encode(text: string, dummyPrefix: boolean, out: number[]): void {
    if (this.cps.length < text.length + 1) this.cps = new Int32Array(text.length + 1 + (text.length >> 2));
    const n = normalizeInto(text, this.norm, dummyPrefix, this.cps);
    if (n > 0) this.encodeCodePoints(n, out);
    // Scratch space is kept between calls, but not the tens of MB a huge input needed.
    if (this.cps.length > KEEP) this.cps = new Int32Array(256);
    if (this.symAtom.length > KEEP) this.reallocSymbols(256);
    if (this.heap.length > 6 * KEEP) this.heap = new Float64Array(2 * 768);
  }

  private reallocSymbols(cap: number): void {
    this.symAtom = new Int32Array(cap);
    this.symLen = new Int32Array(cap);
    this.symStart = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  /** Make room for `n` symbols. */
  private reserve(n: number): void {
    if (this.symAtom.length < n) this.reallocSymbols(n + (n >> 2));
  }

  /** Make room for a queue serving `m` symbols: m - 1 initial pairs + 2 per merge. */
  private reserveHeap(m: number): void {
    const need = 2 * (3 * m + 3);
    if (this.heap.length < need) this.heap = new Float64Array(need + (need >> 2));
  }

  private encodeCodePoints(n: number, out: number[]): void {
    const v = this.vocab;
    const cps = this.cps;
    this.reserve(n);
    const symAtom = this.symAtom, symLen = this.symLen, symStart = this.symStart, prev = this.prev, next = this.next;
    const joins = v.joins;
    const segment = !v.hasUnused;

    // 1. Split into symbols. Atom -1: a character in no piece; atom <= -2: a frozen
    //    user-defined symbol whose piece id is -(atom + 2). Each symbol that cannot merge
    //    (a wall) ends the current segment, which is merged right away.
    let ns = 0;
    let segStart = 0;
    const user = v.userTrie !== null;
    const bmp = v.bmpAtom;
    if (v.hasUnused) this.revMerge.clear();
    for (let i = 0; i < n;) {
      const cp = cps[i];
      let len = 1;
      let atom: number;
      if (user && v.userFirst.has(cp) && (len = v.matchUser(cps, i, n)) > 0) {
        atom = -2 - v.lastUserId;
      } else {
        len = 1;
        atom = cp < 0x10000 ? bmp[cp] : v.atomOf(cp);
      }
      symAtom[ns] = atom;
      symLen[ns] = len;
      symStart[ns] = i;
      prev[ns] = ns - 1;
      next[ns] = ns + 1;
      i += len;
      ns++;
      if (segment && (atom < 0 || joins[atom] === 0)) {
        this.mergeSegment(segStart, ns - 1);
        segStart = ns;
      }
    }
    next[ns - 1] = -1;
    this.mergeSegment(segStart, ns);

    // 2. Emit the final symbols.
    this.prevUnk = false;
    for (let i = 0; i !== -1; i = next[i]) {
      const a = symAtom[i];
      if (a <= -2) { out.push(-2 - a); this.prevUnk = false; }
      else if (a === -1) this.emitUnknown(cps[symStart[i]], out);
      else this.emitAtom(a, out);
    }
  }

  /** Run the merge loop over the symbols [from, to), which nothing outside can merge with. */
  private mergeSegment(from: number, to: number): void {
    if (to - from < 2) return;
    this.reserveHeap(to - from);
    const symAtom = this.symAtom, symLen = this.symLen, prev = this.prev, next = this.next;
    // 1. Queue every adjacent pair that spells a mergeable piece.
    this.heapLen = 0;
    for (let i = from + 1; i < to; i++) this.tryPair(i - 1, i);
    // 2. Merge best-first until nothing is left to merge.
    while (this.heapLen > 0) {
      const heap = this.heap;
      const l = LEFT_MASK - (heap[0] % TWO_32), sp = heap[1];
      this.pop();
      // Stale: the left symbol was merged away, or one side changed since the pair was queued.
      // (If both sides are unchanged the right one is still next[l]; SentencePiece checks the
      // same condition with the right index it stored.)
      const ll = symLen[l];
      if (ll === 0) continue;
      const r = next[l];
      if (r < 0) continue;
      const rl = symLen[r];
      const size = Math.floor(sp / 16777216);
      if (ll + rl !== size) continue;
      symAtom[l] = sp - size * 16777216;
      symLen[l] = size;
      symLen[r] = 0;
      const nr = next[r];
      next[l] = nr;
      if (nr >= 0) prev[nr] = l;
      if (prev[l] >= 0) this.tryPair(prev[l], l);
      if (nr >= 0) this.tryPair(l, nr);
    }
  }

  /** Queue the pair (l, r) if their concatenation is a mergeable piece. */
  private tryPair(l: number, r: number): void {
    const a = this.symAtom[l], b = this.symAtom[r];
    if (a < 0 || b < 0) return;
    const v = this.vocab;
    const piece = v.pairs.get(a, b);
    if (piece < 0) return;
    this.push(v.priority[piece] + (LEFT_MASK - l), (this.symLen[l] + this.symLen[r]) * 16777216 + piece);
    // Remember how an UNUSED piece was formed, for resegmentation (last write wins).
    if (v.unused[piece] === 1) this.revMerge.set(piece, a * v.nAtoms + b);
  }

  /** Emit an atom, resegmenting UNUSED pieces into the parts they were merged from. */
  private emitAtom(a: number, out: number[]): void {
    const v = this.vocab;
    if (a >= v.size) { this.emitUnknown(v.extraAtomCp[a - v.size], out); return; }
    if (v.unused[a] === 1) {
      const parts = this.revMerge.get(a);
      if (parts !== undefined) {
        const left = Math.floor(parts / v.nAtoms);
        this.emitAtom(left, out);
        this.emitAtom(parts - left * v.nAtoms, out);
        return;
      }
    }
    out.push(a);
    this.prevUnk = false;
  }

  /** An unknown character: its UTF-8 bytes as byte pieces, or `<unk>` (one per run). */
  private emitUnknown(cp: number, out: number[]): void {
    const v = this.vocab;
    if (v.spec.byteFallback) {
      const k = writeUtf8(cp, this.utf8, 0);
      for (let j = 0; j < k; j++) out.push(v.byteIds[this.utf8[j]]);
      this.prevUnk = false;
      return;
    }
    if (!this.prevUnk) out.push(v.spec.unkId);
    this.prevUnk = true;
  }

  // ------------------------------------------------------------ binary heap (max-priority)
  // Entry k occupies heap[2k], heap[2k + 1]; the larger key comes out first.

  private push(key: number, sizePiece: number): void {
    const h = this.heap;
    let i = this.heapLen++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = h[2 * parent];
      if (pk >= key) break;
      h[2 * i] = pk;
      h[2 * i + 1] = h[2 * parent + 1];
      i = parent;
    }
    h[2 * i] = key;
    h[2 * i + 1] = sizePiece;
  }

  /** Remove the top entry (read it from heap[0], heap[1] first). */
  private pop(): void {
    const h = this.heap;
    const len = --this.heapLen;
    const key = h[2 * len], sp = h[2 * len + 1];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= len) break;
      let ck = h[2 * c];
      if (c + 1 < len) {
        const dk = h[2 * c + 2];
        if (dk > ck) { c++; ck = dk; }
      }
      if (ck <= key) break;
      h[2 * i] = ck;
      h[2 * i + 1] = h[2 * c + 1];
      i = c;
    }
    h[2 * i] = key;
    h[2 * i + 1] = sp;
  }
}

const TWO_32 = 4294967296;
/** Scratch arrays above this many entries are released after the call. */
const KEEP = 1 << 16;
/** 2^32 - 1: keys hold (2^32 - 1 - left) so that a smaller left index sorts higher. */
const LEFT_MASK = 4294967295;
