// Evaluation datasets: every benchmark parses from ../shared/data with the published counts and
// exact fields; EvalPlus inputs keep their exact JSON text (Infinity, integers past 2^53, 1.0 vs
// 1); the MBPP test split and 3-shot tasks; one-line errors naming the file and line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BENCHMARKS, datasetFile, datasetFolder, loadTasks, mbppShotTasks, type BenchmarkName } from "../../src/eval/datasets.js";
import { UserError } from "../../src/util/errors.js";
import { SCRATCH, SHARED_DATA } from "../helpers/paths.js";

const dir = (b: BenchmarkName) => join(SHARED_DATA, datasetFolder(b));

test("benchmarks: counts, first and last task ids, fields", () => {
  const expected: Record<BenchmarkName, [number, string, string]> = {
    "humaneval": [164, "HumanEval/0", "HumanEval/163"],
    "mbpp": [500, "11", "510"],
    "humaneval-plus": [164, "HumanEval/0", "HumanEval/163"],
    "mbpp-plus": [378, "Mbpp/2", "Mbpp/809"],
    "humaneval-infill-single": [1033, "SingleLineInfilling/HumanEval/0/L0", "SingleLineInfilling/HumanEval/163/L3"],
    "humaneval-infill-multi": [5815, "MultiLineInfilling/HumanEval/0/L0_L0", "MultiLineInfilling/HumanEval/163/L3_L3"],
    "humaneval-infill-random": [1640, "RandomSpanInfilling/HumanEval/0/1", "RandomSpanInfilling/HumanEval/163/10"],
  };
  assert.deepEqual([...BENCHMARKS], Object.keys(expected));
  for (const b of BENCHMARKS) {
    const tasks = loadTasks(b, dir(b));
    const [n, first, last] = expected[b];
    assert.equal(tasks.length, n, b);
    assert.equal(tasks[0].taskId, first, b);
    assert.equal(tasks[n - 1].taskId, last, b);
    assert.equal(new Set(tasks.map((t) => t.taskId)).size, n, `${b}: unique ids`);
    if (b === "humaneval-infill-random") assert.equal(tasks.filter((t) => t.canonical === "").length, 14);
    for (const t of tasks) {
      assert.equal(t.benchmark, b);
      assert.ok(t.prompt.length > 0, `${b} ${t.taskId}`);
      assert.ok(t.canonical.length > 0 || b === "humaneval-infill-random", `${b} ${t.taskId}`); // 14 random spans are empty
      if (b !== "mbpp") assert.ok(t.entryPoint && /^\w+$/.test(t.entryPoint), `${b} ${t.taskId} entry point`);
      assert.equal(t.suffix !== undefined, b.startsWith("humaneval-infill"), `${b} suffix`);
    }
  }
  assert.equal(datasetFolder("humaneval-infill-multi"), "humaneval-infilling");
  assert.equal(datasetFile("humaneval-infill-random"), "HumanEval-RandomSpanInfilling.jsonl.gz");
});

test("HumanEval and infilling: exact fields", () => {
  const he = loadTasks("humaneval", dir("humaneval"));
  assert.equal(he[0].entryPoint, "has_close_elements");
  assert.ok(he[0].prompt.startsWith("from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"));
  assert.equal(he[0].canonical.split("\n")[0], "    for idx, elem in enumerate(numbers):");
  assert.deepEqual(he[0].tests, []);
  assert.match(String(he[0].raw.test), /^\n\nMETADATA = /);
  const single = loadTasks("humaneval-infill-single", dir("humaneval-infill-single"));
  assert.equal(single[0].canonical, "    for idx, elem in enumerate(numbers):\n");
  // The infilling prompt keeps an empty line after the docstring that HumanEval's prompt does not.
  assert.equal(single[0].prompt + single[0].canonical + single[0].suffix, he[0].prompt + "\n" + he[0].canonical);
});

test("MBPP: the test split 11..510 in order, its three asserts, setup code kept, and the 3-shot tasks 2, 3, 4", () => {
  const tasks = loadTasks("mbpp", dir("mbpp"));
  assert.deepEqual(tasks.map((t) => Number(t.taskId)), Array.from({ length: 500 }, (_, i) => i + 11));
  for (const t of tasks) assert.equal(t.tests.length, 3, t.taskId);
  const t11 = tasks[0];
  assert.equal(t11.prompt, "Write a python function to remove first and last occurrence of a given character from the string.");
  assert.equal(t11.tests[0], 'assert remove_Occ("hello","l") == "heo"');
  assert.equal(t11.entryPoint, undefined);
  const withSetup = tasks.filter((t) => String(t.raw.test_setup_code).trim() !== "").map((t) => t.taskId);
  assert.deepEqual(withSetup, ["367"]);
  const shots = mbppShotTasks(dir("mbpp"));
  assert.deepEqual(shots.map((t) => t.taskId), ["2", "3", "4"]);
  assert.deepEqual(shots.map((t) => t.prompt), [
    "Write a function to find the similar elements from the given two tuple lists.",
    "Write a python function to identify non-prime numbers.",
    "Write a function to find the largest integers from a given list of numbers using heap queue algorithm.",
  ]);
  assert.equal(shots[0].tests.length, 3);
});

test("EvalPlus: inputs kept as exact JSON text; atol; MBPP+ asserts as tests", () => {
  const hp = loadTasks("humaneval-plus", dir("humaneval-plus"));
  const t0 = hp[0];
  assert.equal(typeof t0.raw.base_input, "string");
  assert.ok(String(t0.raw.base_input).startsWith("[[[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3], "), "floats keep their .0");
  assert.equal(t0.raw.atol, 0);
  // Integers past 2^53 survive (JSON.parse would turn them into 1e+23 and the like).
  assert.ok(hp.some((t) => String(t.raw.plus_input).includes("99999999999999999999999")));
  const mp = loadTasks("mbpp-plus", dir("mbpp-plus"));
  assert.ok(mp.some((t) => String(t.raw.plus_input).includes("-Infinity")), "Infinity kept (not valid JSON for JSON.parse)");
  const m2 = mp[0];
  assert.equal(m2.entryPoint, "similar_elements");
  assert.deepEqual(m2.tests, [
    "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
    "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
    "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
  ]);
  assert.equal(mp.filter((t) => Number(t.raw.atol) !== 0).length, 13);
});

test("errors name the file and the line", () => {
  const d = join(SCRATCH, `eval-datasets-${process.pid}`); // own folder: suites may run concurrently
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  const expectError = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes("\n"));
  expectError(() => loadTasks("humaneval", d), /HumanEval\.jsonl\.gz: not found/);
  writeFileSync(join(d, "HumanEval.jsonl.gz"), "not gzip");
  expectError(() => loadTasks("humaneval", d), /HumanEval\.jsonl\.gz: not a valid gzip file/);
  const good = JSON.stringify({ task_id: "HumanEval/0", prompt: "def f():\n", entry_point: "f", canonical_solution: "    return 1\n", test: "def check(c): pass" });
  writeFileSync(join(d, "HumanEval.jsonl.gz"), gzipSync(good + "\n" + '{"task_id": "HumanEval/1", "prompt": "x",' + "\n"));
  expectError(() => loadTasks("humaneval", d), /HumanEval\.jsonl\.gz:2: invalid JSON at column \d+/);
  writeFileSync(join(d, "HumanEval.jsonl.gz"), gzipSync(good + "\n\n" + good.replace('"entry_point":"f",', "") + "\n"));
  expectError(() => loadTasks("humaneval", d), /HumanEval\.jsonl\.gz:3: field entry_point missing/);
  writeFileSync(join(d, "HumanEval.jsonl.gz"), gzipSync(good + "\n"));
  assert.equal(loadTasks("humaneval", d)[0].canonical, "    return 1\n");
  writeFileSync(join(d, "mbpp.jsonl"), JSON.stringify({ task_id: 11, text: "t", code: "c", test_list: ["assert 1"], test_setup_code: "", challenge_test_list: [] }) + "\n");
  expectError(() => loadTasks("mbpp", d), /mbpp\.jsonl: expected the 500 MBPP test tasks \(task_id 11\.\.510\), found 1/);
  expectError(() => mbppShotTasks(d), /mbpp\.jsonl: MBPP task 2 \(a 3-shot example\) is missing/);
  // Raw input text with brackets and escaped quotes inside strings, kept byte for byte.
  const inputs = '[["a]\\"[", {"k": [1, 2.0]}], [Infinity, 123456789012345678901234567890]]';
  writeFileSync(join(d, "HumanEvalPlus.jsonl.gz"), gzipSync(`{"task_id": "HumanEval/0", "prompt": "p", "entry_point": "f", "canonical_solution": "c", "contract": "", "base_input": ${inputs}, "plus_input": [], "atol": 0, "test": ""}\n`));
  const [t] = loadTasks("humaneval-plus", d);
  assert.equal(t.raw.base_input, inputs);
  assert.equal(t.raw.plus_input, "[]");
  rmSync(d, { recursive: true, force: true });
});
