// The key-retrieval task (§7.4): where Python can be cut, prompts of the requested token length
// with the key at the requested token index, determinism, scoring, and `codellama eval
// key-retrieval` end to end on a tiny random model (answers checked against the engine run
// in-process) with its one-line errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { FillerCorpus, lineTokens, pythonCuts } from "../../src/eval/code-corpus.js";
import {
  buildKeyPrompt, formatKeyRetrievalTable, GEN_TOKENS, isCorrectAnswer, keyFunctionLines, QUERY, runKeyRetrieval, type KeyRetrievalReport,
} from "../../src/eval/key-retrieval.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

const DIR = join(SCRATCH, "eval-key-retrieval");
const SRC = join(DIR, "src");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(join(SRC, "pkg"), { recursive: true });
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 5, ctx: 1024, outputStd: 0.3 });
const tok = Tokenizer.fromFile(LLAMA_VOCAB_GGUF);

/** A deterministic Python module with the constructs the cutter must respect. */
function pyModule(i: number, rng: Rng): string {
  const out = [`"""Module ${i}: generated helpers."""`, "import os", "from typing import List", "", `LIMIT_${i} = ${rng.int(1000)}`, ""];
  const fns = 1 + rng.int(6);
  for (let j = 0; j < fns; j++) {
    if (rng.int(2)) out.push("@staticmethod_like");
    out.push(`def helper_${i}_${j}(a, b=(${rng.int(50)},`, `        ${rng.int(50)})):`, `    """Add things.`, "", `    More text: def not_code(): pass`, `    """`);
    out.push("    if a > b:", `        return a + b[0] * ${rng.int(9)}`, "    else:", "        return [", "            a,", "            b,", "        ]", "");
  }
  out.push(`class Thing${i}:`, `    text = '''multi`, `line ''' + "str # not a comment"`, "", "    def method(self, x):", `        total = {"k": ${rng.int(99)},`, `                 "v": x}`, "        return total", "");
  out.push("try:", "    import json", "except ImportError:", "    json = None", "", `print(helper_${i}_0(1))`);
  return out.join("\n") + "\n";
}
const rng = new Rng(11);
for (let i = 0; i < 24; i++) writeFileSync(join(SRC, i % 3 ? `mod${i}.py` : join("pkg", `mod${i}.py`)), pyModule(i, rng));
writeFileSync(join(SRC, "uses_key.py"), "def my_function():\n    return 1\n"); // must never be used as filler
writeFileSync(join(SRC, "binary.py"), Buffer.from([0x70, 0x00, 0xff]));
writeFileSync(join(SRC, "notes.txt"), "not python\n");
const corpus = FillerCorpus.fromFolder(SRC, tok);

/** python3 parses `text` (skipped when python3 is not there). */
function pythonParses(text: string): boolean | undefined {
  const r = spawnSync("python3", ["-c", "import ast,sys; ast.parse(sys.stdin.read())"], { input: text, encoding: "utf8" });
  if (r.error) return undefined;
  return r.status === 0;
}
const HAVE_PYTHON = pythonParses("x = 1") === true;

test("pythonCuts: no cut inside strings, brackets, continuations, after a header or a decorator, in an open try", () => {
  const lines = [
    "import os",                 // 0
    "x = (1,",                   // 1
    "     2)",                   // 2 inside brackets
    's = """doc',                // 3
    "def inside(): pass",        // 4 inside a triple string
    '"""',                       // 5
    "@deco",                     // 6
    "def f():",                  // 7 after a decorator
    "    return 1  # : colon in a comment", // 8 after a header
    "if x:",                     // 9
    "    y = 1",                 // 10 after a header
    "else:",                     // 11 continues the if
    "    y = 'a#b' \\",          // 12
    "        + 'c'",             // 13 continuation
    "z = 2",                     // 14
    "try:",                      // 15
    "    a = 1",                 // 16 after a header
    "except E:",                 // 17 the try is still open
    "    pass",                  // 18 after a header
    "z = 3",                     // 19
  ];
  const c = pythonCuts(lines);
  assert.deepEqual(c.topLevel.map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [0, 1, 3, 6, 9, 14, 15, 19, 20]);
  assert.deepEqual(c.safeEnd.map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [0, 1, 3, 6, 9, 11, 14, 15, 19, 20]);
});

test("the corpus: only usable .py files, token costs as the tokenizer counts them", () => {
  assert.equal(corpus.files.filter((f) => f.endsWith(".py")).length, corpus.files.length);
  const usable = corpus.files.map((_, i) => corpus.get(i)).filter((f) => f !== null);
  assert.equal(usable.length, 24); // uses_key.py and binary.py left out
  for (const f of usable.slice(0, 4)) {
    const n = f.lines.length;
    assert.equal(f.cost[n] + f.firstLineExtra, tok.encode(f.lines.join("\n")).length);
    assert.equal(f.cost[3] - f.cost[2], 1 + lineTokens(tok, f.lines[2]));
    assert.equal(f.keyCuts[f.keyCuts.length - 1], n);
  }
});

test("prompts: the requested length (within one line), the key at the requested token index, valid Python", () => {
  const maxLine = Math.max(...corpus.files.map((_, i) => corpus.get(i)).filter((f) => f !== null).flatMap((f) => f.lines.map((l) => lineTokens(tok, l) + 1)));
  for (const length of [200, 700, 2000]) {
    for (const position of [0, 0.2, 0.4, 0.75]) {
      const p = buildKeyPrompt(corpus, { length, position, seed: 3, sample: 1 });
      const ids = tok.encode(p.text, { bos: true });
      assert.equal(p.tokens, ids.length);
      assert.ok(p.tokens <= length && p.tokens > length - maxLine, `length ${length} @${position}: ${p.tokens} tokens`);
      assert.ok(p.text.endsWith("\n\n\n" + QUERY));
      // The key: where keyChar says, its tokens start at keyIndex of the whole prompt's tokens.
      const key = keyFunctionLines(p.value).join("\n");
      assert.equal(p.text.slice(p.keyChar, p.keyChar + key.length), key);
      assert.equal(p.text.split("my_function").length, 3); // the definition and the assert
      const before = tok.encode(p.text.slice(0, p.keyChar), { bos: true });
      assert.deepEqual(ids.slice(0, before.length), before);
      assert.equal(p.keyIndex, position === 0 ? 1 : before.length);
      assert.equal(tok.decode(ids.slice(p.keyIndex, p.keyIndex + 5)).trimStart().slice(0, 6), "def my");
      // Stated tolerance: the key starts at most one line's tokens before round(p * length), never after.
      const target = position === 0 ? 1 : Math.round(position * length);
      assert.ok(p.keyIndex <= target && p.keyIndex > target - maxLine, `length ${length} @${position}: key at ${p.keyIndex}, target ${target}`);
      assert.ok(p.value >= 10 && p.value <= 99);
      if (HAVE_PYTHON) assert.equal(pythonParses(p.text + String(p.value)), true, `length ${length} @${position} is not valid Python`);
    }
  }
});

test("prompts are deterministic per seed; value and filler order are shared across positions", () => {
  const a = buildKeyPrompt(corpus, { length: 700, position: 0.4, seed: 9, sample: 2 });
  const b = buildKeyPrompt(corpus, { length: 700, position: 0.4, seed: 9, sample: 2 });
  assert.deepEqual(a, b);
  const c = buildKeyPrompt(corpus, { length: 700, position: 0, seed: 9, sample: 2 });
  assert.equal(c.value, a.value);
  const values = Array.from({ length: 8 }, (_, s) => buildKeyPrompt(corpus, { length: 700, position: 0.4, seed: 9, sample: s }).value);
  assert.ok(new Set(values).size > 1);
  const other = buildKeyPrompt(corpus, { length: 700, position: 0.4, seed: 10, sample: 2 });
  assert.notEqual(other.text, a.text);
});

test("a folder with fewer tokens than the length is used again", () => {
  const small = join(DIR, "small");
  mkdirSync(small, { recursive: true });
  writeFileSync(join(small, "a.py"), "def a():\n    return 1\n");
  const p = buildKeyPrompt(FillerCorpus.fromFolder(small, tok), { length: 300, position: 0.5, seed: 0, sample: 0 });
  assert.ok(p.tokens <= 300 && p.tokens > 280, String(p.tokens));
  assert.ok(p.files.length > 10);
});

test("isCorrectAnswer: the value's digits first, no further digit", () => {
  assert.equal(isCorrectAnswer("42", 42), true);
  assert.equal(isCorrectAnswer(" 42\n", 42), true);
  assert.equal(isCorrectAnswer("42)", 42), true);
  assert.equal(isCorrectAnswer("420", 42), false);
  assert.equal(isCorrectAnswer("4", 42), false);
  assert.equal(isCorrectAnswer("x42", 42), false);
  assert.equal(isCorrectAnswer("", 42), false);
});

test("runKeyRetrieval: accuracy per cell from the answers", async () => {
  const base = { corpus, lengths: [200, 400], positions: [0, 0.5], n: 3, seed: 1 };
  const oracle = await runKeyRetrieval({ ...base, answer: async (p) => /return (\d\d)\n/.exec(p.text)![1] + "\n" });
  assert.equal(oracle.examples.length, 12);
  assert.deepEqual(oracle.cells.map((c) => [c.length, c.position, c.n, c.correct, c.accuracy]), [[200, 0, 3, 3, 100], [200, 0.5, 3, 3, 100], [400, 0, 3, 3, 100], [400, 0.5, 3, 3, 100]]);
  let k = 0;
  const mixed = await runKeyRetrieval({ ...base, answer: async (p) => (k++ % 3 === 0 ? String(p.value) : String(p.value + 1)) });
  assert.deepEqual(mixed.cells.map((c) => c.correct), [1, 1, 1, 1]);
  assert.equal(mixed.cells[0].accuracy, 100 / 3);
  assert.match(formatKeyRetrievalTable(mixed), /^length\s+@0\s+@0\.5\n200\s+33\.3\s+33\.3\n400\s+33\.3\s+33\.3$/m);
});

const engines: Engine[] = [];
after(async () => { for (const e of engines) await e.close(); });

test("eval key-retrieval end to end: the JSON report holds the engine's greedy answers, scored", async () => {
  const out = join(DIR, "report.json");
  const args = ["eval", "key-retrieval", "-m", MODEL, "-t", "1", "--lengths", "128,300", "--positions", "0,0.5", "--n", "2", "--seed", "7", "--source", SRC];
  const r = runCli([...args, "--json", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as KeyRetrievalReport;
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), j);
  assert.equal(j.examples.length, 8);
  assert.equal(j.genTokens, GEN_TOKENS);
  assert.deepEqual(j.cells.map((c) => [c.length, c.position, c.n]), [[128, 0, 2], [128, 0.5, 2], [300, 0, 2], [300, 0.5, 2]]);
  for (const c of j.cells) {
    const xs = j.examples.filter((e) => e.length === c.length && e.position === c.position);
    assert.equal(c.correct, xs.filter((e) => e.correct).length);
    assert.equal(c.accuracy, (100 * c.correct) / c.n);
  }
  // The same prompts and greedy answers in-process.
  const e = await Engine.load(MODEL, { ctx: 300 + GEN_TOKENS, threads: 1 });
  engines.push(e);
  const srcCorpus = FillerCorpus.fromFolder(SRC, e.tokenizer);
  for (const ex of j.examples) {
    const p = buildKeyPrompt(srcCorpus, { length: ex.length, position: ex.position, seed: 7, sample: ex.sample });
    assert.equal(ex.value, p.value);
    assert.equal(ex.promptTokens, p.tokens);
    assert.equal(ex.keyIndex, p.keyIndex);
    const g = await e.complete(p.text, { temperature: 0, maxTokens: GEN_TOKENS, stopStrings: ["\n"], stopAtEos: true }).result;
    assert.equal(ex.answer, g.text);
    assert.equal(ex.correct, isCorrectAnswer(g.text, p.value));
  }
  // The table form.
  const t = runCli(args);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^key retrieval: accuracy \(%\) over 2 examples per cell, seed 7/);
  assert.match(t.stdout, /^length\s+@0\s+@0\.5$/m);
  assert.match(t.stdout, /^128\s+\d+\.\d\s+\d+\.\d$/m);
});

test("eval key-retrieval: bad input is one line, exit 1", () => {
  const base = ["eval", "key-retrieval", "-m", MODEL, "--source", SRC];
  assertUserError(runCli([...base, "--lengths", "4x"]), /--lengths: "4x" is not a token count/);
  assertUserError(runCli([...base, "--lengths", "4k,,8k"]), /--lengths: "4k,,8k" is not a comma-separated list/);
  assertUserError(runCli([...base, "--lengths", "4k,4096"]), /--lengths: 4096 is given twice/);
  assertUserError(runCli([...base, "--positions", "0,1"]), /--positions: "1" is not a relative position in \[0, 1\)/);
  assertUserError(runCli([...base, "--lengths", "512,2k", "--ctx", "1024"]), /--lengths 2048: .*need --ctx 2052 or more, but --ctx is 1024/);
  assertUserError(runCli([...base, "--lengths", "20"]), /--lengths 20: too short; the key function and the query alone take \d+ tokens/);
  assertUserError(runCli(["eval", "key-retrieval", "-m", MODEL, "--source", join(DIR, "nope")]), /--source: no such folder: .*nope/);
  assertUserError(runCli([...base, "--out", join(DIR, "nope", "r.json")]), /--out: no such folder/);
  assertUserError(runCli(["eval", "key-retrieval", "-m", join(DIR, "missing.gguf"), "--source", SRC, "--lengths", "128"]), /missing\.gguf/);
});
