// `codellama infill` end to end on a tiny random FIM model: the --json contract, streaming,
// --file with a <FILL> marker and --write (temp file + rename, nothing left behind), greedy by
// default, <EOT> ends the middle and is not returned, and each bad input exits 1 with one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { infillPromptTokens } from "../../src/prompt/infill.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { codeLlamaTok } from "../prompt/vocab.js";
import { DIR, forceFirst, tinyModel } from "../prompt/models.js";

const MODEL = tinyModel("fim");
const PREFIX = "def fibonacci(n):\n    ";
const SUFFIX = "\n    return fibonacci(n - 1) + fibonacci(n - 2)\n";
const WORK = join(DIR, "cli-infill");
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

function json(args: string[]) {
  const r = runCli(["infill", "-m", MODEL, "-t", "1", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { promptTokens: number[]; tokens: number[]; generation: string; fullText: string };
}

test("--json: exactly promptTokens, tokens, generation, fullText; Meta's PSM/SPM prompt; greedy by default", () => {
  const tok = codeLlamaTok();
  for (const spm of [false, true]) {
    const j = json(["--prefix", PREFIX, "--suffix", SUFFIX, "-n", "10", "--json", ...(spm ? ["--spm"] : [])]);
    assert.deepEqual(Object.keys(j), ["promptTokens", "tokens", "generation", "fullText"]);
    assert.deepEqual(j.promptTokens, infillPromptTokens(tok, PREFIX, SUFFIX, { spm }));
    assert.equal(j.tokens.length, 10);
    assert.ok(!j.tokens.includes(32010));
    assert.equal(j.generation, tok.decodeInfilling(j.tokens));
    assert.equal(j.fullText, PREFIX + j.generation + SUFFIX);
    // the default temperature is 0: the same as an explicit greedy run
    assert.deepEqual(json(["--prefix", PREFIX, "--suffix", SUFFIX, "-n", "10", "--json", "--temperature", "0", ...(spm ? ["--spm"] : [])]), j);
  }
  // streamed: the middle and a newline
  const j = json(["--prefix", PREFIX, "--suffix", SUFFIX, "-n", "10", "--json"]);
  const s = runCli(["infill", "-m", MODEL, "-t", "1", "--prefix", PREFIX, "--suffix", SUFFIX, "-n", "10"]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, j.generation + "\n");
  // a missing --suffix is empty (the FIM prompt is still built)
  assert.deepEqual(json(["--prefix", PREFIX, "-n", "1", "--json"]).promptTokens, infillPromptTokens(tok, PREFIX, ""));
});

test("--file with <FILL> and --write: the file is filled in place, no temporary file is left", () => {
  const path = join(WORK, "fib.py");
  writeFileSync(path, PREFIX + "<FILL>" + SUFFIX);
  const expected = json(["--prefix", PREFIX, "--suffix", SUFFIX, "-n", "6", "--json"]);
  // --file without --write: the same JSON, the file untouched
  assert.deepEqual(json(["--file", path, "-n", "6", "--json"]), expected);
  assert.equal(readFileSync(path, "utf8"), PREFIX + "<FILL>" + SUFFIX);
  // --write: nothing on stdout, the file holds prefix + middle + suffix, and only it is in the folder
  const w = runCli(["infill", "-m", MODEL, "-t", "1", "-f", path, "-n", "6", "--write"]);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stdout, "");
  assert.equal(readFileSync(path, "utf8"), expected.fullText);
  assert.deepEqual(readdirSync(WORK), ["fib.py"]);
  // --write --json: both
  writeFileSync(path, PREFIX + "<FILL>" + SUFFIX);
  const wj = runCli(["infill", "-m", MODEL, "-t", "1", "-f", path, "-n", "6", "--write", "--json"]);
  assert.deepEqual(JSON.parse(wj.stdout), expected);
  assert.equal(readFileSync(path, "utf8"), expected.fullText);
  assert.deepEqual(readdirSync(WORK), ["fib.py"]);
});

test("<EOT> ends the middle and is not in tokens", async () => {
  const tok = codeLlamaTok();
  const eot = await forceFirst(MODEL, infillPromptTokens(tok, PREFIX, SUFFIX), 32010, "cli-first-eot.gguf");
  const r = runCli(["infill", "-m", eot, "-t", "1", "--prefix", PREFIX, "--suffix", SUFFIX, "-n", "10", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { promptTokens: infillPromptTokens(tok, PREFIX, SUFFIX), tokens: [], generation: "", fullText: PREFIX + SUFFIX });
});

test("bad input: one line, exit 1 (and the file is left alone)", () => {
  const none = join(WORK, "none.py"), two = join(WORK, "two.py");
  writeFileSync(none, "def f():\n    pass\n");
  writeFileSync(two, "a = <FILL>\nb = <FILL>\n");
  assertUserError(runCli(["infill", "-m", MODEL, "-f", none, "--write"]), /^codellama: .*none\.py has no <FILL> marker; put one where the code should be filled in$/m);
  assertUserError(runCli(["infill", "-m", MODEL, "-f", two, "--write"]), /two\.py has 2 <FILL> markers \(lines 1, 2\); it must have exactly one/);
  assert.equal(readFileSync(none, "utf8"), "def f():\n    pass\n");
  assert.equal(readFileSync(two, "utf8"), "a = <FILL>\nb = <FILL>\n");
  assertUserError(runCli(["infill", "-m", MODEL, "-f", join(WORK, "missing.py")]), /missing\.py: no such file/);
  assertUserError(runCli(["infill", "-m", tinyModel("plain"), "--prefix", "a", "--suffix", "b"]),
    /tiny-plain-5\.gguf: this model cannot fill in the middle: its 32000-piece vocabulary has none of Code Llama's fill-in-the-middle pieces .*not the Python or 34B models$/m);
  assertUserError(runCli(["infill", "-m", MODEL, "--prefix", "x ".repeat(40), "--suffix", "y", "--ctx", "16"]), /the prompt has \d+ tokens but the context holds 16/);
  assertUserError(runCli(["infill", "-m", MODEL, "--prefix", "a", "--write"]), /--write needs --file/);
  assertUserError(runCli(["infill", "-m", MODEL, "-f", two, "--prefix", "a"]), /give either --file or --prefix\/--suffix, not both/);
  assertUserError(runCli(["infill", "-m", MODEL]), /give the code around the gap/);
  assert.deepEqual(readdirSync(WORK).filter((f) => f.includes(".tmp")), []);
});
