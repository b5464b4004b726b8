// `codellama data` through the real binary: vocab, build on a slice of the Python standard
// library, info, instruct, and the bad-input cases (one-line errors, exit 1, nothing written).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatasetManifest } from "../../src/data/format.js";
import { PackedDataset } from "../../src/data/reader.js";
import { defaultModelPath } from "../../src/data/vocab.js";
import { pythonStdlibDir } from "../../src/eval/code-corpus.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF } from "../helpers/paths.js";
import { codeLlamaVocabFile, scratchDir } from "./fixture.js";

const dir = scratchDir("cli");
after(() => rmSync(dir, { recursive: true, force: true }));

test("data vocab writes the 32016-piece Code Llama vocabulary", () => {
  const out = join(dir, "vocab.gguf");
  const r = runCli(["data", "vocab", "--from", LLAMA_VOCAB_GGUF, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${out}: 32016 pieces\n`);
  const tok = Tokenizer.fromFile(out);
  assert.deepEqual([tok.vocabSize, tok.special.prefix, tok.special.suffix, tok.special.middle, tok.special.eot], [32016, 32007, 32008, 32009, 32010]);
  assertUserError(runCli(["data", "vocab", "--from", join(dir, "nothing.gguf"), "--out", join(dir, "v2.gguf")]), /--from .*nothing\.gguf: no such file/);
  writeFileSync(join(dir, "not.gguf"), "hello");
  assertUserError(runCli(["data", "vocab", "--from", join(dir, "not.gguf"), "--out", join(dir, "v2.gguf")]), /not a GGUF file/);
});

test("data build on a slice of the Python standard library, then data info", () => {
  const std = pythonStdlibDir();
  const out = join(dir, "stdlib");
  const r = runCli(["data", "build", "--src", join(std, "json"), join(std, "email"), "--lang", "py", "--out", out, "--ctx", "1024", "--val", "0.1", "--seed", "4", "--tokenizer", codeLlamaVocabFile()], { timeout: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, ""); // not a terminal: no progress bar, and no warnings
  assert.match(r.stdout, /^.*stdlib: pretrain dataset, ctx 1024, 32016-piece vocabulary, seed 4\nfiles: \d+ found; removed/);
  assert.match(r.stdout, /\ntrain: \d+ documents, \d+ tokens \(\+\d+ padding\) in \d+ sequences, \d+ documents longer than ctx split; FIM \d+ of \d+ eligible \(PSM \d+, SPM \d+\)\n/);
  const ds = PackedDataset.open(out, "train");
  const m = ds.manifest;
  assert.equal(m.splits.train.documents + m.splits.val.documents, m.dedup!.kept);
  assert.equal(m.filter!.candidates, m.sources![0].files + m.sources![1].files);
  assert.ok(m.splits.train.fim.transformed > 0);
  assert.equal(ds.numSequences, m.splits.train.sequences);
  // the first sequence starts with a document's BOS
  assert.equal(ds.tokens(0)[0], 1);
  ds.close();
  const info = runCli(["data", "info", out]);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(info.stdout, r.stdout);
  const json = JSON.parse(runCli(["data", "info", out, "--json"]).stdout) as DatasetManifest;
  assert.deepEqual(json, m);
  // an existing dataset is not replaced without --force
  assertUserError(runCli(["data", "build", "--src", join(std, "json"), "--lang", "py", "--out", out, "--tokenizer", codeLlamaVocabFile()]), /--out .*stdlib: already exists; use --force to replace it/);
});

test("data instruct end to end", () => {
  const input = join(dir, "d.jsonl");
  writeFileSync(input, [
    JSON.stringify({ dialog: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }] }),
    JSON.stringify({ messages: [{ role: "system", content: "Be brief" }, { role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] }),
  ].join("\n") + "\n");
  const out = join(dir, "inst");
  const r = runCli(["data", "instruct", "--in", input, "--out", out, "--ctx", "64", "--tokenizer", codeLlamaVocabFile()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dialogs: 2 read, 2 used;/);
  const ds = PackedDataset.open(out);
  assert.equal(ds.numDocuments, 2);
  ds.close();
  writeFileSync(join(dir, "bad.jsonl"), '{"dialog":[]}\n{oops}\n');
  assertUserError(runCli(["data", "instruct", "--in", join(dir, "bad.jsonl"), "--out", join(dir, "inst2"), "--tokenizer", codeLlamaVocabFile()]), /bad\.jsonl:2: not valid JSON/);
  assertUserError(runCli(["data", "instruct", "--in", join(dir, "none.jsonl"), "--out", join(dir, "inst2"), "--tokenizer", codeLlamaVocabFile()]), /--in .*none\.jsonl: cannot read \(ENOENT\)/);
  assert.equal(existsSync(join(dir, "inst2")), false);
});

test("bad input: one-line errors, exit 1, no dataset and no temporary folder left", () => {
  const vocab = codeLlamaVocabFile();
  const empty = join(dir, "empty-tree");
  mkdirSync(empty);
  writeFileSync(join(empty, "README.md"), "# nothing here\n");
  const unusable = join(dir, "unusable-tree");
  mkdirSync(unusable);
  writeFileSync(join(unusable, "blank.py"), "\n\n");
  symlinkSync(join(unusable, "gone.py"), join(unusable, "link.py"));
  const out = join(dir, "bad-out");
  const build = (...args: string[]) => runCli(["data", "build", "--out", out, ...args]);
  assertUserError(build("--src", empty, "--lang", "py,js", "--tokenizer", vocab), /--src .*empty-tree: no files of the requested languages \(py, js: \.py \.js \.mjs \.cjs \.jsx\)/);
  assertUserError(build("--src", unusable, "--tokenizer", vocab), /none of the 2 files is usable \(1 unreadable, 1 empty\)/);
  assertUserError(build("--src", join(dir, "missing"), "--tokenizer", vocab), /--src .*missing: no such file or folder/);
  assertUserError(build("--src", empty, "--fim-rate", "1.5", "--tokenizer", vocab), /--fim-rate must be a number >= 0 and <= 1, got "1\.5"/);
  assertUserError(build("--src", empty, "--spm-rate", "-0.1", "--tokenizer", vocab), /--spm-rate must be a number >= 0 and <= 1/);
  assertUserError(build("--src", empty, "--ctx", "8", "--tokenizer", vocab), /--ctx must be a whole number >= 16/);
  assertUserError(build("--src", empty, "--lang", "cobol", "--tokenizer", vocab), /--lang: unknown language cobol; supported: py, js/);
  assertUserError(build("--src", empty, "--tokenizer", join(dir, "no-vocab.gguf")), /--tokenizer .*no-vocab\.gguf: no such file or folder/);
  // the plain llama vocabulary has no FIM pieces: FIM must be turned off
  assertUserError(build("--src", unusable, "--tokenizer", LLAMA_VOCAB_GGUF), /32000-piece vocabulary lacks Code Llama's FIM pieces .* --fim-rate must be 0 \(it is 0\.9\)/);
  if (!defaultModelPath()) assertUserError(build("--src", empty), /no --tokenizer given and the embedded default model \(models\/default\.gguf\) is not there/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".bad-out")), []);
});
