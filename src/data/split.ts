/**
 * The train/validation split and the document order, deterministic by seed.
 *
 * Documents are split whole (never a document in both). The number of validation documents is
 * round(n * val), at least 1 when val > 0 and there are two or more documents, and always
 * leaving at least one for training. One seeded Fisher–Yates shuffle decides both the split
 * (its first nVal entries) and the order in which each split's documents are packed.
 */
import { Rng } from "../util/rng.js";

/** Seed words for the independent random streams of a build (split, FIM of train, FIM of val). */
export const STREAM = { split: 0x73706c74, fimTrain: 0x66696d74, fimVal: 0x66696d76 } as const;

/** A seeded permutation of 0..n-1. */
export function shuffled(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** The number of validation documents for n documents and a fraction `val`. */
export function validationCount(n: number, val: number): number {
  if (!(val > 0) || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * val)));
}

/** Document indices of each split, each in packing order. */
export function splitDocuments(n: number, val: number, seed: number): { train: number[]; val: number[] } {
  const perm = shuffled(n, new Rng([seed >>> 0, STREAM.split]));
  const nVal = validationCount(n, val);
  return { val: perm.slice(0, nVal), train: perm.slice(nVal) };
}
