/**
 * pass@k, the unbiased estimator of Chen et al. 2021 (openai/human-eval `estimate_pass_at_k`):
 * for a problem with n samples of which c pass,
 *
 *     pass@k = 1 - C(n - c, k) / C(n, k)  =  1 - prod_{i = n-c+1}^{n} (1 - k / i)
 *
 * computed in the numerically stable product form (no big binomials), 1 when n - c < k. The
 * benchmark figure is the mean over problems. As human-eval does, a k is reported only when
 * every problem has at least k samples (`reportableKs`).
 */
import { UserError } from "../util/errors.js";

/** pass@k of one problem with `n` samples, `c` of them correct. */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k) && n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n)) {
    throw new RangeError(`passAtK needs whole numbers 0 <= c <= n and 1 <= k <= n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Samples and correct samples of one problem. */
export interface TaskCount { n: number; c: number }

/** The mean pass@k over problems (every problem needs n >= k). */
export function meanPassAtK(tasks: readonly TaskCount[], k: number): number {
  if (tasks.length === 0) throw new RangeError("meanPassAtK needs at least one problem");
  let sum = 0;
  for (const t of tasks) sum += passAtK(t.n, t.c, k);
  return sum / tasks.length;
}

/** The ks that every problem has enough samples for (human-eval reports only those). */
export function reportableKs(tasks: readonly TaskCount[], ks: readonly number[]): number[] {
  if (tasks.length === 0) return [];
  const minN = Math.min(...tasks.map((t) => t.n));
  return ks.filter((k) => k <= minN);
}

/** pass@k for each reportable k: {"1": 0.5, "10": 0.8}. */
export function passAtKTable(tasks: readonly TaskCount[], ks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of reportableKs(tasks, ks)) out[String(k)] = meanPassAtK(tasks, k);
  return out;
}

/** `--k 1,10,100`: whole numbers >= 1, no repeats; returned sorted. */
export function parseKList(v: string): number[] {
  const items = v.split(",").map((s) => s.trim());
  const out = items.map((s) => {
    const k = Number(s);
    if (s === "" || !/^\d+$/.test(s) || !Number.isSafeInteger(k) || k < 1) throw new UserError(`--k: "${s}" is not a whole number >= 1 (expected a list like 1,10,100)`);
    return k;
  });
  const dup = out.find((x, i) => out.indexOf(x) !== i);
  if (dup !== undefined) throw new UserError(`--k: ${dup} is given twice`);
  return out.sort((a, b) => a - b);
}
