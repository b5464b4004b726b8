// The run folder: appends survive a reopen, a line torn by a kill is dropped (and the file cut
// back), a damaged line is a one-line error naming file:line, a rerun with other settings is
// refused, and a second live writer is locked out.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { RunDir, SampleLine, JsonlLog } from "../../src/eval/results.js";
import { UserError } from "../../src/util/errors.js";
import { SCRATCH } from "../helpers/paths.js";

// One folder per test process: concurrent runs of the suite must not delete each other's files.
const DIR = join(SCRATCH, `eval-results-${process.pid}`);
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));

const M = { format: 1, benchmark: "humaneval", model: "/m.gguf", maxTokens: 512 };

test("RunDir: records persist; a torn last line is dropped and cut from the file", () => {
  const out = join(DIR, "a");
  let d = new RunDir(out, M);
  d.samples.append({ run: "greedy", task_id: "HumanEval/0", sample: 0, completion: "    return 1\n", finish: "eos" });
  d.samples.append({ run: "greedy", task_id: "HumanEval/1", sample: 0, completion: "", finish: "stop-string" });
  d.results.append({ run: "greedy", task_id: "HumanEval/0", sample: 0, completion: "    return 1\n", passed: true, result: "passed", reason: "", ms: 12 });
  assert.throws(() => d.samples.append({ run: "greedy", task_id: "HumanEval/0", sample: 0, completion: "x", finish: "eos" }), /already recorded/);
  d.close();
  assert.equal(existsSync(join(out, ".lock")), false);
  // A kill in the middle of a write leaves half a line.
  appendFileSync(join(out, "samples.jsonl"), '{"run":"greedy","task_id":"HumanEval/2","sam');
  d = new RunDir(out, M);
  assert.deepEqual(d.samples.records.map((r) => r.task_id), ["HumanEval/0", "HumanEval/1"]);
  assert.equal(d.samples.has("greedy", "HumanEval/2", 0), false);
  assert.equal(d.results.get("greedy", "HumanEval/0", 0)?.passed, true);
  d.samples.append({ run: "greedy", task_id: "HumanEval/2", sample: 0, completion: "pass", finish: "eos" });
  d.close();
  const lines = readFileSync(join(out, "samples.jsonl"), "utf8").split("\n");
  assert.equal(lines.length, 4); // three records + the final newline
  assert.deepEqual(lines.slice(0, 3).map((l) => (JSON.parse(l) as SampleLine).task_id), ["HumanEval/0", "HumanEval/1", "HumanEval/2"]);
});

test("RunDir: a damaged line names file:line; other settings are refused", () => {
  const out = join(DIR, "b");
  new RunDir(out, M).close();
  writeFileSync(join(out, "results.jsonl"), '{"run":"greedy","task_id":"HumanEval/0","sample":0,"completion":"","passed":true,"result":"passed","reason":"","ms":1}\nnot json\n');
  assert.throws(() => new RunDir(out, M), (e: unknown) => e instanceof UserError && e.message.startsWith(`${join(out, "results.jsonl")}:2: not a JSON line`));
  writeFileSync(join(out, "results.jsonl"), '{"run":"greedy","task_id":"HumanEval/0","sample":0,"completion":"","passed":"yes","result":"passed","reason":"","ms":1}\n');
  assert.throws(() => new RunDir(out, M), (e: unknown) => e instanceof UserError && e.message.startsWith(`${join(out, "results.jsonl")}:1: passed:`));
  writeFileSync(join(out, "results.jsonl"), "");
  assert.throws(() => new RunDir(out, { ...M, maxTokens: 128 }), (e: unknown) => e instanceof UserError && /holds a run with maxTokens = 512, not 128/.test(e.message));
  assert.throws(() => new RunDir(out, { ...M, seed: 3 }), (e: unknown) => e instanceof UserError && /seed = undefined, not 3/.test(e.message));
  new RunDir(out, M).close(); // the lock was released by the refused attempts
});

test("RunDir: a live writer locks the folder; a dead one's lock is taken over", async () => {
  const out = join(DIR, "c");
  new RunDir(out, M).close();
  // Another process that is alive holds the lock.
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    writeFileSync(join(out, ".lock"), `${child.pid}\n`);
    assert.throws(() => new RunDir(out, M), (e: unknown) => e instanceof UserError && e.message === `--out ${out} is being written by another codellama eval (pid ${child.pid}); wait for it or choose another --out`);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
  // Now that process is gone: its lock is stale and taken over.
  new RunDir(out, M).close();
  assert.equal(existsSync(join(out, ".lock")), false);
});

test("JsonlLog: blank lines are skipped", () => {
  const p = join(DIR, "blank.jsonl");
  writeFileSync(p, '\n{"run":"r","task_id":"t","sample":0,"completion":"","finish":"eos"}\n\n');
  const log = new JsonlLog(p, SampleLine);
  assert.equal(log.records.length, 1);
  log.close();
});
