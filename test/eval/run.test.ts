// The paper's sampling protocol as planRuns lays it out (reference §9.1), and per-task seeds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planRuns, taskSeed } from "../../src/eval/run.js";
import { UserError } from "../../src/util/errors.js";

const brief = (ks: number[], o: Parameters<typeof planRuns>[1] = {}) => planRuns(ks, o).map((r) => [r.label, r.temperature, r.topP, r.n, r.ks]);

test("planRuns: pass@1 greedy; pass@10/100 from 200 samples at T=0.8, p=0.95", () => {
  assert.deepEqual(brief([1]), [["greedy", 0, 1, 1, [1]]]);
  assert.deepEqual(brief([1, 10, 100]), [["greedy", 0, 1, 1, [1]], ["T0.8-p0.95", 0.8, 0.95, 200, [10, 100]]]);
  assert.deepEqual(brief([10]), [["T0.8-p0.95", 0.8, 0.95, 200, [10]]]);
  assert.deepEqual(brief([1, 10], { n: 20, topP: 0.9 }), [["greedy", 0, 1, 1, [1]], ["T0.8-p0.9", 0.8, 0.9, 20, [10]]]);
});

test("planRuns: --temperature gives one setup for every k", () => {
  assert.deepEqual(brief([1, 10], { temperature: 0.1 }), [["T0.1-p0.95", 0.1, 0.95, 200, [1, 10]]]);
  assert.deepEqual(brief([1], { temperature: 0 }), [["greedy", 0, 1, 1, [1]]]);
  assert.deepEqual(brief([1, 5], { temperature: 0.6, n: 5 }), [["T0.6-p0.95", 0.6, 0.95, 5, [1, 5]]]);
});

test("planRuns: impossible combinations are UserErrors", () => {
  assert.throws(() => planRuns([1, 100], { n: 50 }), (e: unknown) => e instanceof UserError && e.message === "--k 100 needs at least 100 samples per task, but T0.8-p0.95 draws 50 (raise --n)");
  assert.throws(() => planRuns([10], { temperature: 0 }), (e: unknown) => e instanceof UserError && /--k 10 needs at least 10 samples per task, but greedy draws 1/.test(e.message));
  assert.throws(() => planRuns([1], { n: 5 }), (e: unknown) => e instanceof UserError && /pass@1 is greedy/.test(e.message));
});

test("taskSeed: fixed per (seed, task), different across tasks and seeds", () => {
  assert.equal(taskSeed(0, "HumanEval/0"), taskSeed(0, "HumanEval/0"));
  assert.notEqual(taskSeed(0, "HumanEval/0"), taskSeed(0, "HumanEval/1"));
  assert.notEqual(taskSeed(0, "HumanEval/0"), taskSeed(1, "HumanEval/0"));
  const s = taskSeed(42, "Mbpp/2");
  assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
});
