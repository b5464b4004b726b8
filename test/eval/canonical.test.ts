// Every benchmark's reference solutions pass through the real sandbox (2 workers): HumanEval
// 164/164, MBPP 500/500, HumanEval+ 164/164, MBPP+ 378/378, infilling single 1033, multi 5815,
// random 1640. Also: the programs are assembled exactly as the reference harnesses do, and
// wrong completions fail (including EvalPlus's stricter tests, its float tolerance and oracles).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { BENCHMARKS, datasetFolder, loadTasks, type BenchmarkName, type EvalTask } from "../../src/eval/datasets.js";
import { buildProgram, countJsonArray } from "../../src/eval/programs.js";
import { Executor, type ExecResult } from "../../src/eval/sandbox/index.js";
import { SHARED_DATA } from "../helpers/paths.js";

let ex: Executor;
before(async () => { ex = await Executor.create({ workers: 2 }); });
after(async () => { await ex.close(); });

const tasksOf = (b: BenchmarkName) => loadTasks(b, join(SHARED_DATA, datasetFolder(b)));
const find = (b: BenchmarkName, id: string) => tasksOf(b).find((t) => t.taskId === id)!;

async function check(task: EvalTask, completion: string): Promise<ExecResult> {
  const p = buildProgram(task, completion);
  return ex.run(p.source, p);
}

test("programs are assembled as the reference harnesses do", () => {
  const he = find("humaneval", "HumanEval/0");
  const p = buildProgram(he, "    return X\n");
  assert.equal(p.source, he.prompt + "    return X\n" + "\n" + String(he.raw.test) + "\n" + "check(has_close_elements)");
  assert.equal(p.timeoutMs, 3000);
  const inf = tasksOf("humaneval-infill-multi")[5];
  assert.equal(buildProgram(inf, "MID").source, inf.prompt + "MID" + inf.suffix + "\n" + String(inf.raw.test) + "\n" + `check(${inf.entryPoint})`);
  const m11 = find("mbpp", "11");
  assert.equal(buildProgram(m11, "CODE").source, "CODE\n" + m11.tests.join("\n"));
  assert.equal(buildProgram(m11, "CODE").timeoutMs, 10_000);
  assert.equal(buildProgram(find("mbpp", "123"), "CODE").timeoutMs, 30_000);
  const m367 = find("mbpp", "367");
  const src = buildProgram(m367, m367.canonical).source;
  assert.equal(src, m367.canonical + "\n" + String(m367.raw.test_setup_code) + "\n" + m367.tests.join("\n"));
  const hp = find("humaneval-plus", "HumanEval/0");
  const pp = buildProgram(hp, "    return %BASE%\n");
  assert.ok(pp.source.includes(JSON.stringify(hp.prompt + "    return %BASE%\n")), "the completion is inserted once, verbatim");
  assert.ok(pp.source.includes(JSON.stringify(String(hp.raw.plus_input))));
  assert.equal(countJsonArray(String(hp.raw.base_input)), 7);
  assert.equal(countJsonArray("[]"), 0);
  assert.equal(countJsonArray('[[1, "a,]"], {"b": [2, 3]}, 4]'), 3);
  // 60 s for the reference, then per phase min(60, 4 s x inputs) + 2 s.
  assert.equal(pp.timeoutMs, (60 + (28 + 2) + (60 + 2)) * 1000);
});

for (const b of BENCHMARKS) {
  test(`canonical solutions pass: ${b}`, async () => {
    const tasks = tasksOf(b);
    const results = await Promise.all(tasks.map((t) => check(t, t.canonical)));
    // A reference that only ran out of time on a loaded machine gets one more try with 10x the
    // time, so the test does not depend on timing; it still has to pass.
    const retried: string[] = [];
    for (let i = 0; i < tasks.length; i++) {
      if (results[i].status !== "timeout") continue;
      retried.push(tasks[i].taskId);
      const p = buildProgram(tasks[i], tasks[i].canonical);
      results[i] = await ex.run(p.source, { timeoutMs: p.timeoutMs * 10 });
    }
    const failed = tasks.map((t, i) => [t.taskId, results[i]] as const).filter(([, r]) => r.status !== "passed");
    assert.deepEqual(failed.map(([id, r]) => `${id}: ${r.status} ${r.reason}`), [], `${b}: ${tasks.length - failed.length}/${tasks.length} passed`);
    if (retried.length) console.log(`# ${b}: re-run with 10x time after a timeout: ${retried.join(", ")}`);
  });
}

test("wrong completions fail, with the reason", async () => {
  const r0 = await check(find("humaneval", "HumanEval/0"), "    return None\n");
  assert.deepEqual([r0.status, r0.reason], ["failed", "AssertionError"]);
  const r1 = await check(find("mbpp", "12"), find("mbpp", "11").canonical);
  assert.equal(r1.status, "failed");
  assert.match(r1.reason, /^NameError: name 'sort_matrix' is not defined$/);
  const inf = tasksOf("humaneval-infill-single")[0];
  const r2 = await check(inf, "    for idx, elem in enumerate(numbers[1:]):\n");
  assert.deepEqual([r2.status, r2.reason], ["failed", "AssertionError"]);
  const r3 = await check(find("humaneval-plus", "HumanEval/0"), "    return\n");
  assert.equal(r3.status, "failed");
  assert.match(r3.reason, /^AssertionError: base input 0: AssertionError$/);
  const r4 = await check(find("humaneval-plus", "HumanEval/0"), "    syntax error here\n");
  assert.match(r4.reason, /^AssertionError: base: the solution does not load: SyntaxError/);
});

test("EvalPlus: plus inputs catch what the original tests miss", async () => {
  // Correct for lists of up to 6 numbers (all of HumanEval/0's original tests), wrong beyond.
  const partial = [
    "    if len(numbers) > 6:",
    "        return False",
    "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j)",
    "",
  ].join("\n");
  assert.equal((await check(find("humaneval", "HumanEval/0"), partial)).status, "passed");
  const r = await check(find("humaneval-plus", "HumanEval/0"), partial);
  assert.equal(r.status, "failed");
  assert.match(r.reason, /^AssertionError: plus input \d+: AssertionError$/);
});

test("EvalPlus: float tolerance (atol 1e-6 enforced for float outputs) and special oracles", async () => {
  const trunc = find("humaneval-plus", "HumanEval/2"); // truncate_number, atol 1e-6 in the data
  assert.equal(trunc.raw.atol, 1e-6);
  assert.equal((await check(trunc, "    return number % 1.0 + 1e-9\n")).status, "passed");
  const far = await check(trunc, "    return number % 1.0 + 1e-4\n");
  assert.equal(far.status, "failed");
  assert.match(far.reason, /^AssertionError: base input 0: AssertionError$/);
  const area = find("humaneval-plus", "HumanEval/45"); // triangle_area: float outputs, atol 0 -> 1e-6
  assert.equal(area.raw.atol, 0);
  assert.equal((await check(area, "    return a * h / 2.0 + 1e-9\n")).status, "passed");
  assert.equal((await check(area, "    return a * h / 2.0 + 1e-4\n")).status, "failed");
  assert.equal((await check(area, "    return str(a * h / 2.0)\n")).status, "failed");
  // Mbpp/2 similar_elements: compared as sets, so any order passes; a wrong set does not.
  const sim = find("mbpp-plus", "Mbpp/2");
  assert.equal((await check(sim, "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n")).status, "passed");
  assert.equal((await check(sim, "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n")).status, "failed");
  // HumanEval/32 find_zero: any x with |poly(x)| <= atol passes, e.g. a more precise Newton root
  // than the reference's (tolerance 1e-9 instead of 1e-5), whose values differ from its outputs.
  const fz = find("humaneval-plus", "HumanEval/32");
  assert.equal(fz.raw.atol, 1e-4);
  assert.ok(fz.canonical.includes("tol = 0, 1e-5"));
  assert.equal((await check(fz, fz.canonical.replace("tol = 0, 1e-5", "tol = 0, 1e-9"))).status, "passed");
  assert.equal((await check(fz, "    return 12345.0\n")).status, "failed");
});
