/**
 * An open-addressing hash map from a pair of small non-negative ints (left atom, right atom)
 * to an int (the piece their concatenation spells). It is the encoder's hot lookup, so it is
 * one flat Int32Array of (a, b, value) triples with linear probing: a lookup usually touches
 * a single cache line.
 */
export class PairTable {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private count = 0;

  /** `expected`: the number of entries that will be added (the table is sized for ≤ 50% load). */
  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * 3).fill(-1);
  }

  get size(): number { return this.count; }

  /** Mix two ints into a slot index (multiplicative hashing, then xor-shift). */
  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Insert or keep: the first value stored for a pair wins (returns false if it was present). */
  add(a: number, b: number, value: number): boolean {
    if (this.count * 2 >= this.mask + 1) throw new Error("PairTable is full");
    const t = this.slots;
    let i = this.slot(a, b);
    for (;;) {
      const ka = t[3 * i];
      if (ka === -1) break;
      if (ka === a && t[3 * i + 1] === b) return false;
      i = (i + 1) & this.mask;
    }
    t[3 * i] = a;
    t[3 * i + 1] = b;
    t[3 * i + 2] = value;
    this.count++;
    return true;
  }

  /** The value for (a, b), or -1. */
  get(a: number, b: number): number {
    const t = this.slots, mask = this.mask;
    let i = this.slot(a, b);
    for (;;) {
      const k = 3 * i;
      const ka = t[k];
      if (ka === a && t[k + 1] === b) return t[k + 2];
      if (ka === -1) return -1;
      i = (i + 1) & mask;
    }
  }
}
