// Single-line infilling exact match (src/eval/line-infill.ts, `codellama eval line-infill`): the
// line choice is seeded and reassembles the file, matching is exact after trimming, and the CLI's
// generations are the Engine's own greedy infills.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Engine } from "../../src/engine/engine.js";
import { loadTasks } from "../../src/eval/datasets.js";
import { lineMatches, LINE_TOKENS, sourceFiles, tasksFromBenchmark, tasksFromFiles } from "../../src/eval/line-infill.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, SCRATCH, SHARED_DATA } from "../helpers/paths.js";

const DIR = join(SCRATCH, `line-infill-${process.pid}`);
rmSync(DIR, { recursive: true, force: true });
mkdirSync(join(DIR, "src", "pkg"), { recursive: true });
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 5, ctx: 1024, outputStd: 0.3 });
const A = ["def add(a, b):", "    # a comment line is never chosen", "    c = a + b", "    return c", "", "x = add(1, 2)", "print(x)"].join("\n") + "\n";
const B = ["import os", "", "def home():", "    return os.environ.get('HOME', '/')", ""].join("\n");
writeFileSync(join(DIR, "src", "a.py"), A);
writeFileSync(join(DIR, "src", "pkg", "b.py"), B);
writeFileSync(join(DIR, "src", "pkg", "notes.txt"), "not python\n");

test("tasks from files: seeded, eligible lines only, prefix + middle + suffix is the file", () => {
  const files = sourceFiles([join(DIR, "src")], [".py"]);
  assert.deepEqual(files, [join(DIR, "src", "a.py"), join(DIR, "src", "pkg", "b.py")]);
  const tasks = tasksFromFiles(files, 100, 3);
  // eligible: a.py lines 1, 3, 4, 6, 7 and b.py lines 1, 3, 4 (4..120 characters, no comments)
  assert.deepEqual(tasks.map((t) => t.id).sort(), [
    ...[1, 3, 4, 6, 7].map((l) => `${files[0]}:${l}`), ...[1, 3, 4].map((l) => `${files[1]}:${l}`),
  ].sort());
  for (const t of tasks) assert.equal(t.prefix + t.middle + t.suffix, t.id.startsWith(files[0]) ? A : B, t.id);
  assert.deepEqual(tasksFromFiles(files, 4, 3), tasksFromFiles(files, 4, 3));
  assert.notDeepEqual(tasksFromFiles(files, 4, 3).map((t) => t.id), tasksFromFiles(files, 4, 4).map((t) => t.id));
});

test("exact match: the first generated line against the expected line, whitespace at the ends ignored", () => {
  assert.equal(lineMatches("    c = a + b\n    return c", "    c = a + b"), true);
  assert.equal(lineMatches(" c = a + b ", "c = a + b\n"), true);
  assert.equal(lineMatches("c = a+b", "c = a + b"), false);
  assert.equal(lineMatches("\nc = a + b", "c = a + b"), false);
});

test("codellama eval line-infill: the Engine's greedy infills, scored; bad input is one line", async () => {
  const out = join(DIR, "he.jsonl");
  const r = runCli(["eval", "line-infill", "-m", MODEL, "--humaneval", "--data", SHARED_DATA, "--n", "3", "--threads", "1", "--json", "--out", out], { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { n: number; matches: number; exactMatch: number; mode: string };
  const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; generated: string; match: boolean; middle: string });
  const tasks = tasksFromBenchmark(loadTasks("humaneval-infill-single", join(SHARED_DATA, "humaneval-infilling"))).slice(0, 3);
  assert.deepEqual(rows.map((x) => x.id), tasks.map((t) => t.id));
  const engine = await Engine.load(MODEL, { threads: 1 });
  try {
    for (const [i, t] of tasks.entries()) {
      const g = await engine.infill(t.prefix, t.suffix, { temperature: 0, maxTokens: LINE_TOKENS, stopStrings: ["\n"] }).result;
      assert.equal(rows[i].generated, g.generation);
      assert.equal(rows[i].match, lineMatches(g.generation, t.middle));
    }
  } finally {
    await engine.close();
  }
  assert.deepEqual([summary.n, summary.matches, summary.mode], [3, rows.filter((x) => x.match).length, "psm"]);
  assertUserError(runCli(["eval", "line-infill", "-m", MODEL]), /^codellama: give one source of lines: --files PATH\.\.\. or --humaneval/);
  assertUserError(runCli(["eval", "line-infill", "-m", MODEL, "--files", join(DIR, "nowhere")]), /^codellama: --files: no such file or folder: /);
  assertUserError(runCli(["eval", "line-infill", "-m", MODEL, "--files", join(DIR, "src", "pkg", "notes.txt")]), /^codellama: --files: no \.py files in /);
});
