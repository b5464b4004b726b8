// `codellama eval <benchmark>` through the real CLI, the real sandbox and real files:
// - mixed samples (correct, wrong, raising, looping, killed) scored from a --samples file give
//   exactly the expected outcomes and the hand-computed pass@k; a rerun executes nothing again;
// - a tiny local model runs humaneval and mbpp end to end (generation, execution, report), its
//   completions equal the in-process Engine's for the same prompts;
// - the --endpoint path against a loopback OpenAI-compatible server gives the same completions;
// - resume: a larger --limit or --n only adds what is missing; a run killed mid-way and rerun ends
//   with every sample and result exactly once;
// - bad input: one-line UserErrors naming what is wrong (and file:line for a samples file).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { loadTasks, mbppShotTasks } from "../../src/eval/datasets.js";
import { cutAtStops, HUMANEVAL_STOPS, mbppPrompt } from "../../src/eval/prompts.js";
import type { ResultLine, SampleLine } from "../../src/eval/results.js";
import type { Summary } from "../../src/eval/report.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { assertUserError, CLI, runCli } from "../helpers/cli.js";
import { startOpenAIServer } from "../helpers/openai-server.js";
import { LLAMA_VOCAB_GGUF, REPO_ROOT, SCRATCH, SHARED_DATA } from "../helpers/paths.js";

// One folder per test process: concurrent runs of the suite must not delete each other's files.
const DIR = join(SCRATCH, `eval-bench-${process.pid}`);
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 11, ctx: 2048, outputStd: 0.3 });
const DATA = ["--data", SHARED_DATA];
const COMMON = [...DATA, "--workers", "2", "--threads", "1"];

const he = loadTasks("humaneval", join(SHARED_DATA, "humaneval"));
const mbpp = loadTasks("mbpp", join(SHARED_DATA, "mbpp"));
const shots = mbppShotTasks(join(SHARED_DATA, "mbpp"));

function jsonl<T>(path: string): T[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as T);
}
function summaryOf(stdout: string): Summary {
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, stdout);
  return JSON.parse(lines[0]) as Summary;
}
function keysUnique(rows: { run: string; task_id: string; sample: number }[]): boolean {
  return new Set(rows.map((r) => `${r.run}|${r.task_id}|${r.sample}`)).size === rows.length;
}
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

// ------------------------------------------------------------------ mixed samples

test("--samples: correct, wrong, raising, looping and killed samples give the expected outcomes and pass@k", () => {
  const t0 = he.find((t) => t.taskId === "HumanEval/0")!, t2 = he.find((t) => t.taskId === "HumanEval/2")!;
  const file = join(DIR, "mixed.jsonl");
  const rows: [string, string, string][] = [
    ["HumanEval/0", t0.canonical, "passed"],
    ["HumanEval/0", "    return False\n", "failed"],
    ["HumanEval/0", "    return undefined_name\n", "failed"],
    ["HumanEval/0", "    while True:\n        pass\n", "timeout"],
    ["HumanEval/0", "    import os\n    os.kill(os.getpid(), 9)\n", "killed"],
    ["HumanEval/0", t0.canonical, "passed"],
    ["HumanEval/2", "    return 0.0\n", "failed"],
    ["HumanEval/2", t2.canonical, "passed"],
  ];
  writeFileSync(file, rows.map(([task_id, completion]) => JSON.stringify({ task_id, completion })).join("\n") + "\n");
  const out = join(DIR, "mixed-out");
  const args = ["eval", "humaneval", "--samples", file, "--k", "1,2,10", "--out", out, "--json", ...DATA, "--workers", "2"];
  const r = runCli(args, { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  // By hand: HumanEval/0 has n = 6, c = 2; HumanEval/2 has n = 2, c = 1.
  //   pass@1 = (2/6 + 1/2) / 2 = 5/12
  //   pass@2 = ((1 - C(4,2)/C(6,2)) + 1) / 2 = ((1 - 6/15) + 1) / 2 = 0.8   (n - c = 1 < 2 for HumanEval/2)
  //   pass@10 is not reported: a task has fewer than 10 samples.
  assert.deepEqual(Object.keys(s.passAtK), ["1", "2"]);
  assert.ok(close(s.passAtK["1"], 5 / 12), String(s.passAtK["1"]));
  assert.ok(close(s.passAtK["2"], 0.8), String(s.passAtK["2"]));
  assert.deepEqual(s.counts, { passed: 3, failed: 3, timeout: 1, error: 0, killed: 1 });
  assert.equal(s.tasks, 2);
  assert.equal(s.tasksSelected, 164);
  assert.equal(s.benchmark, "humaneval");
  assert.equal(s.n, 6);
  assert.equal(s.out, out);
  assert.equal(s.executed, 8);
  // Every result line: task_id, completion, passed, result, reason; in file order per task.
  const res = jsonl<ResultLine>(join(out, "results.jsonl"));
  assert.equal(res.length, 8);
  for (const [i, [task, completion, want]] of rows.entries()) {
    const idx = rows.slice(0, i).filter((x) => x[0] === task).length;
    const line = res.find((x) => x.task_id === task && x.sample === idx)!;
    assert.equal(line.completion, completion);
    assert.equal(line.result, want, `${task} #${idx}: ${line.reason}`);
    assert.equal(line.passed, want === "passed");
    assert.equal(typeof line.reason, "string");
  }
  assert.match(res.find((x) => x.completion.includes("undefined_name"))!.reason, /NameError/);
  // The report files.
  const rj = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Summary & { perTask: Record<string, Record<string, { n: number; c: number }>> };
  assert.deepEqual(rj.perTask.samples, { "HumanEval/0": { n: 6, c: 2 }, "HumanEval/2": { n: 2, c: 1 } });
  const html = readFileSync(join(out, "report.html"), "utf8");
  assert.match(html, /<svg[^>]*>/);
  assert.match(html, /pass@2<\/td><td>80\.00%/);
  // Rerun: nothing is executed twice, same figures.
  const again = runCli(args, { timeout: 300_000 });
  assert.equal(again.code, 0, again.stderr);
  const s2 = summaryOf(again.stdout);
  assert.equal(s2.executed, 0);
  assert.deepEqual(s2.passAtK, s.passAtK);
  assert.equal(jsonl<ResultLine>(join(out, "results.jsonl")).length, 8);
  // The table form.
  const table = runCli(args.filter((a) => a !== "--json"), { timeout: 300_000 });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^humaneval: samples .*mixed\.jsonl; 2 of 164 tasks scored\n/);
  assert.match(table.stdout, /pass@1\s+41\.67%\s+samples\s+6/);
  assert.match(table.stdout, /pass@10\s+- \(needs n >= 10\)/);
  assert.match(table.stdout, /outcomes: passed 3, failed 3, timeout 1, error 0, killed 1\n/);
});

test("--samples: a bad line is a one-line error naming file:line", () => {
  const file = join(DIR, "bad.jsonl");
  const cases: [string, RegExp][] = [
    ['{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "HumanEval/1"}\n', /bad\.jsonl:2: completion: .*\{"task_id": string, "completion": string\}/],
    ['{"task_id": "HumanEval/0", "completion": "x"}\n\n{oops\n', /bad\.jsonl:3: not a JSON object/],
    ['{"task_id": "Nope/1", "completion": "x"}\n', /bad\.jsonl:1: task_id "Nope\/1" is not a humaneval task \(e\.g\. "HumanEval\/0"\)/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(file, text);
    assertUserError(runCli(["eval", "humaneval", "--samples", file, ...DATA, "--out", join(DIR, "bad-out")]), re);
  }
  assertUserError(runCli(["eval", "humaneval", "--samples", join(DIR, "missing.jsonl"), ...DATA]), /--samples: no such file: .*missing\.jsonl/);
});

// ------------------------------------------------------------------ a real local model, end to end

/** What the engine itself generates for these prompts (greedy, the same stops). */
async function expectedCompletions(prompts: string[], stops: readonly string[], maxTokens: number): Promise<string[]> {
  const engine = await Engine.load(MODEL, { ctx: 2048, threads: 1 });
  try {
    const out: string[] = [];
    for (const p of prompts) out.push(cutAtStops((await engine.complete(p, { temperature: 0, maxTokens, stopAtEos: true, stopStrings: [...stops] }).result).text, stops));
    return out;
  } finally {
    await engine.close();
  }
}

test("humaneval with a local model: generation, execution, report; a larger --limit only adds the new tasks", async () => {
  const out = join(DIR, "he-local");
  const base = ["eval", "humaneval", "--model", MODEL, "--max-tokens", "16", "--out", out, "--json", ...COMMON];
  const r = runCli([...base, "--limit", "2"], { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.equal(s.n, 1);
  assert.equal(s.generated, 2);
  assert.equal(s.executed, 2);
  assert.equal(s.tasks, 2);
  assert.equal(Object.values(s.counts).reduce((a, b) => a + b, 0), 2);
  const samples = jsonl<SampleLine>(join(out, "samples.jsonl"));
  const want = await expectedCompletions(he.slice(0, 2).map((t) => t.prompt), HUMANEVAL_STOPS, 16);
  assert.deepEqual(samples.map((x) => [x.run, x.task_id, x.sample, x.completion]), he.slice(0, 2).map((t, i) => ["greedy", t.taskId, 0, want[i]]));
  const res = jsonl<ResultLine>(join(out, "results.jsonl"));
  assert.equal(res.length, 2);
  assert.equal(s.passAtK["1"], res.filter((x) => x.passed).length / 2);
  assert.ok(existsSync(join(out, "report.html")) && existsSync(join(out, "results.json")));
  // More tasks: only the third one is generated and executed.
  const r2 = runCli([...base, "--limit", "3"], { timeout: 300_000 });
  assert.equal(r2.code, 0, r2.stderr);
  const s2 = summaryOf(r2.stdout);
  assert.deepEqual([s2.generated, s2.executed, s2.tasks], [1, 1, 3]);
  const samples2 = jsonl<SampleLine>(join(out, "samples.jsonl"));
  assert.equal(samples2.length, 3);
  assert.ok(keysUnique(samples2) && keysUnique(jsonl<ResultLine>(join(out, "results.jsonl"))));
  // Other settings in the same folder are refused.
  assertUserError(runCli([...base, "--limit", "3", "--max-tokens", "8"]), /--out .* holds a run with maxTokens = 16, not 8; choose another --out/);
});

test("humaneval: pass@1 greedy and pass@2 from sampled runs side by side; raising --n only draws the extra samples", () => {
  const out = join(DIR, "he-sampled");
  const base = ["eval", "humaneval", "--model", MODEL, "--max-tokens", "8", "--limit", "2", "--k", "1,2", "--out", out, "--json", ...COMMON];
  const r = runCli([...base, "--n", "3"], { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.deepEqual(s.runs.map((x) => [x.label, x.temperature, x.topP, x.n, x.ks]), [["greedy", 0, 1, 1, [1]], ["T0.8-p0.95", 0.8, 0.95, 3, [2]]]);
  assert.deepEqual(Object.keys(s.passAtK), ["1", "2"]);
  assert.equal(s.generated, 2 * (1 + 3));
  const r2 = runCli([...base, "--n", "4"], { timeout: 300_000 });
  assert.equal(r2.code, 0, r2.stderr);
  const s2 = summaryOf(r2.stdout);
  assert.deepEqual([s2.generated, s2.executed], [2, 2]);
  const samples = jsonl<SampleLine>(join(out, "samples.jsonl"));
  assert.equal(samples.length, 2 * (1 + 4));
  assert.ok(keysUnique(samples));
});

test("mbpp with a local model: the 3-shot prompt, cut at [DONE]; the paper's row with --compare", async () => {
  const out = join(DIR, "mbpp-local");
  const r = runCli(["eval", "mbpp", "--model", MODEL, "--max-tokens", "16", "--limit", "2", "--out", out, "--compare", "code-llama-7b", ...COMMON], { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^mbpp: model .*tiny\.gguf; 2 of 2 tasks scored\n/);
  assert.match(r.stdout, /paper \(Code Llama 7B, Table 2\)/);
  assert.match(r.stdout, /pass@1\s+\d+\.\d\d%\s+greedy\s+1\s+41\.4%/);
  const samples = jsonl<SampleLine>(join(out, "samples.jsonl"));
  const want = await expectedCompletions(mbpp.slice(0, 2).map((t) => mbppPrompt(t, shots)), ["[DONE]"], 16);
  assert.deepEqual(samples.map((x) => [x.task_id, x.completion]), mbpp.slice(0, 2).map((t, i) => [t.taskId, want[i]]));
  // results land in the order the sandbox workers finish them
  assert.deepEqual(jsonl<ResultLine>(join(out, "results.jsonl")).map((x) => x.task_id).sort(), ["11", "12"]);
});

test("humaneval-plus and mbpp-plus with a local model: the zero-shot and 3-shot prompts, EvalPlus checks", async () => {
  const heOut = join(DIR, "heplus-local"), mbOut = join(DIR, "mbppplus-local");
  const a = runCli(["eval", "humaneval-plus", "--model", MODEL, "--max-tokens", "8", "--limit", "1", "--out", heOut, "--json", ...COMMON], { timeout: 300_000 });
  assert.equal(a.code, 0, a.stderr);
  const b = runCli(["eval", "mbpp-plus", "--model", MODEL, "--max-tokens", "8", "--tasks", "Mbpp/3", "--out", mbOut, "--json", ...COMMON], { timeout: 300_000 });
  assert.equal(b.code, 0, b.stderr);
  const heplus = loadTasks("humaneval-plus", join(SHARED_DATA, "humaneval-plus"));
  const mbppplus = loadTasks("mbpp-plus", join(SHARED_DATA, "mbpp-plus")).filter((t) => t.taskId === "Mbpp/3");
  const [w1] = await expectedCompletions([heplus[0].prompt], HUMANEVAL_STOPS, 8);
  const [w2] = await expectedCompletions([mbppPrompt(mbppplus[0], shots)], ["[DONE]"], 8);
  assert.deepEqual(jsonl<SampleLine>(join(heOut, "samples.jsonl")).map((x) => [x.task_id, x.completion]), [["HumanEval/0", w1]]);
  assert.deepEqual(jsonl<SampleLine>(join(mbOut, "samples.jsonl")).map((x) => [x.task_id, x.completion]), [["Mbpp/3", w2]]);
  for (const out of [heOut, mbOut]) {
    const res = jsonl<ResultLine>(join(out, "results.jsonl"));
    assert.equal(res.length, 1);
    assert.notEqual(res[0].result, "error", res[0].reason); // the check program ran
  }
});

test("humaneval-infill-single with a local model (SPM), and the --endpoint path gives the local completions", async () => {
  const infOut = join(DIR, "infill-local");
  const ri = runCli(["eval", "humaneval-infill-single", "--model", MODEL, "--mode", "spm", "--max-tokens", "8", "--limit", "2", "--out", infOut, "--json", ...COMMON], { timeout: 300_000 });
  assert.equal(ri.code, 0, ri.stderr);
  const si = summaryOf(ri.stdout);
  assert.equal(si.mode, "spm");
  assert.equal(jsonl<SampleLine>(join(infOut, "samples.jsonl")).length, 2);

  const engine = await Engine.load(MODEL, { ctx: 2048, threads: 1 });
  const server = await startOpenAIServer(engine, { modelName: "codellama-7b-tiny" });
  try {
    const localOut = join(DIR, "he-local-3"), epOut = join(DIR, "he-endpoint");
    const common = ["--max-tokens", "16", "--limit", "3", "--json", ...DATA, "--workers", "2"];
    const a = runCli(["eval", "humaneval", "--model", MODEL, "--threads", "1", "--out", localOut, ...common], { timeout: 300_000 });
    assert.equal(a.code, 0, a.stderr);
    const b = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // Asynchronous: the server lives in this process.
      const p = spawn(process.execPath, [...CLI, "eval", "humaneval", "--endpoint", server.url, "--model-name", "codellama-7b-tiny", "--out", epOut, "--compare", ...common], { cwd: REPO_ROOT });
      let stdout = "", stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(b.code, 0, b.stderr);
    const sb = summaryOf(b.stdout);
    assert.match(sb.source, /^endpoint http:\/\/127\.0\.0\.1:\d+\/v1 \(model codellama-7b-tiny\)$/);
    assert.equal(sb.paper?.model, "Code Llama 7B"); // --compare guessed from the served name
    const strip = (rows: SampleLine[]) => rows.map((x) => [x.task_id, x.completion]);
    assert.deepEqual(strip(jsonl<SampleLine>(join(epOut, "samples.jsonl"))), strip(jsonl<SampleLine>(join(localOut, "samples.jsonl"))));
    const byTask = (rows: ResultLine[]) => rows.map((x) => [x.task_id, x.result]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(byTask(jsonl<ResultLine>(join(epOut, "results.jsonl"))), byTask(jsonl<ResultLine>(join(localOut, "results.jsonl"))));
    assert.equal(server.requests.length, 3);
  } finally {
    await server.close();
    await engine.close();
  }
});

test("resume after a kill: every sample and result exactly once", async () => {
  const out = join(DIR, "killed");
  const args = ["eval", "humaneval", "--model", MODEL, "--max-tokens", "48", "--limit", "6", "--out", out, "--json", ...COMMON];
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, stdio: "ignore" });
  const exited = new Promise((r) => child.once("exit", r));
  // Kill it once it has written its first sample (or when it ends by itself first).
  const samplesPath = join(out, "samples.jsonl");
  let ended = false;
  void exited.then(() => (ended = true));
  while (!ended && !(existsSync(samplesPath) && readFileSync(samplesPath, "utf8").length > 0)) await new Promise((r) => setTimeout(r, 20));
  child.kill("SIGKILL");
  await exited;
  const before = existsSync(samplesPath) ? jsonl<SampleLine>(samplesPath).length : 0;
  // As if the kill had landed in the middle of a write.
  mkdirSync(out, { recursive: true });
  appendFileSync(samplesPath, '{"run":"greedy","task_id":"HumanEval/5","sam');
  const r = runCli(args, { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.equal(s.generated, 6 - before);
  const samples = jsonl<SampleLine>(samplesPath), results = jsonl<ResultLine>(join(out, "results.jsonl"));
  assert.equal(samples.length, 6);
  assert.equal(results.length, 6);
  assert.ok(keysUnique(samples) && keysUnique(results));
  assert.deepEqual(samples.map((x) => x.task_id).sort(), he.slice(0, 6).map((t) => t.taskId).sort());
  assert.equal(existsSync(join(out, ".lock")), false);
});

// ------------------------------------------------------------------ bad input

test("bad input: one-line errors", async () => {
  assertUserError(runCli(["eval", "humaneva", "--model", MODEL]), /unknown benchmark "humaneva"; choose one of: .*humaneval, mbpp, humaneval-plus, mbpp-plus, humaneval-infill-single/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--k", "1,0"]), /--k: "0" is not a whole number >= 1/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--k", "ten"]), /--k: "ten" is not a whole number/);
  assertUserError(runCli(["eval", "humaneval", "--endpoint", "http://127.0.0.1:9/v1", ...DATA]), /--endpoint needs --model-name NAME/);
  assertUserError(runCli(["eval", "humaneval", ...DATA]), /give the model to evaluate: --model FILE, --endpoint URL --model-name NAME, or --samples FILE/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--endpoint", "http://x", "--model-name", "m"]), /--model and --endpoint cannot be used together/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--mode", "spm", ...DATA]), /--mode applies to the infilling benchmarks only, not humaneval/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--k", "10", "--temperature", "0", ...DATA]), /--k 10 needs at least 10 samples per task, but greedy draws 1 \(raise --n\)/);
  assertUserError(runCli(["eval", "humaneval", "--samples", join(DIR, "mixed.jsonl"), "--temperature", "0.2", ...DATA]), /--temperature does not apply to --samples/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--data", join(DIR, "no-data")]), /--data: no such file or folder/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--tasks", "HumanEval/999", ...DATA]), /--tasks: "HumanEval\/999" is not a humaneval task id/);
  assertUserError(runCli(["eval", "humaneval", "--model", MODEL, "--compare", "gpt-4", ...COMMON, "--limit", "1", "--out", join(DIR, "cmp")]), /--compare: "gpt-4" is not a model of the paper's Table 2/);
  // Unreachable endpoint: a port that was just closed.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  assertUserError(runCli(["eval", "humaneval", "--endpoint", `http://127.0.0.1:${port}/v1`, "--model-name", "m", ...DATA, "--limit", "1", "--out", join(DIR, "unreach")]),
    new RegExp(`--endpoint http://127\\.0\\.0\\.1:${port}/v1: cannot connect \\(ECONNREFUSED\\)`));
});
