import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, SCRATCH } from "../helpers/paths.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { TINY, llamaVocabPieces, tinyCodeLlamaGGUF, writeTinyHFDir } from "../helpers/tiny-models.js";

const run = (...args: string[]) => runCli(args);

const DIR = join(SCRATCH, "cli-inspect");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const GGUF = join(DIR, "tiny-codellama.gguf");
const GGUF_BYTES = tinyCodeLlamaGGUF();
writeFileSync(GGUF, GGUF_BYTES);

// Hand-computed for TINY (dim 32, 2 layers, 4 heads, 2 kv heads -> kv dim 16, ffn 96, vocab 32016, untied):
// 2 x 32016 x 32 (embedding + output) + 32 (output norm) + 2 x (2 x 32 + 2 x 32 x 32 + 2 x 32 x 16 + 3 x 32 x 96) = 2,073,760.
const PARAMS = 2_073_760;

test("inspect --json on a generated Code Llama GGUF", () => {
  const r = run("inspect", GGUF, "--json");
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    file: GGUF, format: "gguf", formatVersion: 3, fileType: "ALL_F32", fileSize: GGUF_BYTES.length,
    architecture: "llama", name: "tiny-codellama", parameters: PARAMS,
    dim: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, ffnDim: 96,
    contextLength: 128, ropeTheta: 1e6, ropeScale: 1, rmsEps: Math.fround(1e-5), vocabSize: 32016, tiedEmbeddings: false,
    special: { bos: 1, eos: 2, unk: 0, prefix: 32007, suffix: 32008, middle: 32009, eot: 32010, step: null },
    tokenizer: "gguf",
    tensorTypes: [{ type: "F32", count: 21, bytes: PARAMS * 4 }],
    tensorCount: 21, tensorBytes: PARAMS * 4, tensorCheck: "ok",
    infill: true, chat: "inst",
  });
});

test("inspect prints an aligned table", () => {
  const r = run("inspect", GGUF);
  assert.equal(r.code, 0);
  const lines = r.stdout.split("\n");
  // Every row of the first table has its value in the same column.
  const first = lines.slice(0, lines.indexOf(""));
  assert.equal(first.length, 23);
  const col = first[0].indexOf(GGUF);
  for (const l of first) assert.match(l.slice(0, col), /^\S[\S ]*\S? +$/, l);
  for (const l of first) assert.notEqual(l[col], " ", l);
  assert.equal(first[0], `file            ${GGUF} (GGUF v3, ALL_F32)`);
  assert.ok(first.includes("parameters      2.07 M (2,073,760)"));
  assert.ok(first.includes("kv heads        2 (grouped-query, 2 heads per kv head)"));
  assert.ok(first.includes("rope theta      1000000"));
  assert.ok(first.includes("rms eps         1e-5"));
  assert.ok(first.includes("special tokens  BOS 1, EOS 2, UNK 0"));
  assert.ok(first.includes("FIM tokens      PRE 32007, SUF 32008, MID 32009, EOT 32010"));
  assert.ok(first.includes("<step> token    none"));
  assert.ok(first.includes("infilling       yes"));
  assert.ok(first.includes("chat            yes, Llama 2 [INST] format"));
  assert.ok(first.includes("tensors         21, 7.91 MiB: all present with the expected shapes"));
  assert.deepEqual(lines.slice(first.length + 1), ["type  count     bytes", "F32      21  7.91 MiB", ""]);
});

test("inspect --json on a Hugging Face folder (config.json + model.safetensors + tokenizer.json with <step>)", () => {
  const dir = join(DIR, "hf-70b-style");
  writeTinyHFDir(dir, { shape: { ...TINY, ropeTheta: 10000, ctx: 4096 }, pieces: llamaVocabPieces(["<step>"]), config: { _name_or_path: "tiny-instruct" } });
  const r = run("inspect", dir, "--json");
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j, {
    file: dir, format: "safetensors", formatVersion: null, fileType: null, fileSize: readFileSync(join(dir, "model.safetensors")).length,
    architecture: "llama", name: "tiny-instruct", parameters: PARAMS,
    dim: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, ffnDim: 96,
    contextLength: 4096, ropeTheta: 10000, ropeScale: 1, rmsEps: 1e-5, vocabSize: 32016, tiedEmbeddings: false,
    special: { bos: 1, eos: 2, unk: 0, prefix: null, suffix: null, middle: null, eot: null, step: 32000 },
    tokenizer: "hf-json",
    tensorTypes: [{ type: "F32", count: 21, bytes: PARAMS * 4 }],
    tensorCount: 21, tensorBytes: PARAMS * 4, tensorCheck: "ok",
    infill: false, chat: "step",
  });
  const human = run("inspect", dir);
  assert.match(human.stdout, /^infilling {7}no \(the tokenizer has no FIM pieces\)$/m);
  assert.match(human.stdout, /^chat {12}yes, 70B Source\/Destination <step> format$/m);
});

const userError = assertUserError;

test("a corrupt model gives exit code 1 and one line naming the file, byte offset and field", () => {
  const trunc = join(DIR, "truncated.gguf");
  writeFileSync(trunc, GGUF_BYTES.subarray(0, GGUF_BYTES.length - 1000));
  userError(run("inspect", trunc), new RegExp(`^codellama: ${trunc}: at byte \\d+, tensor "output.weight" data: F32 \\[32, 32016\\] needs 4098048 bytes at byte \\d+, past the end of the file \\(size ${GGUF_BYTES.length - 1000}\\); the file is truncated\\n$`));

  const magic = join(DIR, "not-gguf.gguf");
  writeFileSync(magic, Buffer.concat([Buffer.from("GGML"), GGUF_BYTES.subarray(4)]));
  userError(run("inspect", magic, "--json"), new RegExp(`^codellama: ${magic}: at byte 0, magic: expected "GGUF" but found "GGML"; this is not a GGUF file\\n$`));

  const hf = join(DIR, "hf-bad-config");
  writeTinyHFDir(hf, { pieces: llamaVocabPieces() });
  const cfg = join(hf, "config.json");
  const text = readFileSync(cfg, "utf8").replace('"rope_theta": 1000000', '"rope_theta": "1e6"');
  writeFileSync(cfg, text);
  userError(run("inspect", hf), new RegExp(`^codellama: ${cfg}: at byte ${text.indexOf('"rope_theta"')}, rope_theta: expected a positive number, found "1e6"\\n$`));

  // Names read from a file cannot break the line: control characters are escaped.
  const evil = join(DIR, "evil-arch.gguf");
  const bytes = Buffer.from(GGUF_BYTES);
  const at = bytes.indexOf("llama\x0c\x00\x00\x00\x00\x00\x00\x00general.name"); // the value of general.architecture
  assert.ok(at > 0);
  bytes.write("ll\nma", at, "latin1");
  writeFileSync(evil, bytes);
  userError(run("inspect", evil), /^codellama: .*evil-arch.gguf: at byte 0, metadata "general.architecture": "ll\\nma" is not supported \(supported: llama; Code Llama and Llama 2 files use "llama"\)\n$/);
});

test("usage errors exit 2; --version prints the package version", () => {
  const none = run("inspect");
  assert.equal(none.code, 2);
  assert.match(none.stderr, /error: missing required argument 'file'/);
  const bad = run("inspect", GGUF, "--bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error: unknown option '--bogus'/);
  assert.equal(run("frobnicate").code, 2);
  const v = run("--version");
  assert.equal(v.code, 0);
  assert.equal(v.stdout, `${JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version}\n`);
  assert.equal(run("inspect", join(DIR, "missing.gguf")).stderr, `codellama: ${join(DIR, "missing.gguf")}: no such file or folder\n`);
});
