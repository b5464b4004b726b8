// `codellama complete` end to end, and every bad input the engine issue lists: each one gives exit
// code 1 and one clear line (no stack trace), naming what is wrong and what is supported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "../../src/format/ggml-types.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF, meta, type GGUFTensorToWrite } from "../../src/format/gguf-writer.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { quantizeRow } from "../../src/format/quantize.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

const DIR = join(SCRATCH, "cli-complete");
mkdirSync(DIR, { recursive: true });
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "q8_0", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 3, outputStd: 0.3 });
const BYTES = readFileSync(MODEL);

/** Rewrite the tiny model with edited metadata / tensors. */
function variant(name: string, edit: (m: Map<string, any>, t: GGUFTensorToWrite[]) => void): string {
  const g = GGUFFile.parse(BYTES);
  const m = new Map(g.metadata);
  const t: GGUFTensorToWrite[] = g.tensors.map((x) => ({ name: x.name, dims: [...x.dims], type: x.type, data: g.tensorBytes(x) }));
  edit(m, t);
  const path = join(DIR, name);
  writeFileSync(path, encodeGGUF({ metadata: m, tensors: t }));
  return path;
}

test("complete --json: BOS + prompt tokens, a fixed-length greedy run, the text of the tokens", () => {
  const r = runCli(["complete", "-m", MODEL, "-p", "def add(a, b):", "--temperature", "0", "-n", "12", "--json", "-t", "2"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const tok = Tokenizer.fromGGUF(GGUFFile.parse(BYTES));
  assert.deepEqual(j.promptTokens, tok.encode("def add(a, b):", { bos: true }));
  assert.equal(j.promptTokens[0], 1);
  assert.equal(j.tokens.length, 12);
  assert.equal(j.text, tok.decode(j.tokens));
  assert.ok(j.timings.genTokens === 12 && j.timings.promptTokens === j.promptTokens.length);
  // streaming output is the same text plus a newline; the prompt can come on stdin
  const s = runCli(["complete", "-m", MODEL, "--temperature", "0", "-n", "12"], { input: "def add(a, b):" });
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, j.text + "\n");
});

test("an unknown architecture names what is supported", () => {
  const p = variant("gpt2.gguf", (m) => m.set("general.architecture", meta.str("gpt2")));
  assertUserError(runCli(["complete", "-m", p, "-p", "x"]), /gpt2.*supported.*llama/);
});

test("an unknown tensor type is named with the supported list", () => {
  // our writer refuses unknown types, so patch the type field of a tensor info in the bytes
  const bytes = Buffer.from(BYTES);
  const name = Buffer.from("blk.0.attn_q.weight");
  const at = bytes.indexOf(name) + name.length; // then u32 n_dims, n_dims x u64, u32 type
  bytes.writeUInt32LE(99, at + 4 + 8 * bytes.readUInt32LE(at));
  const p = join(DIR, "type99.gguf");
  writeFileSync(p, bytes);
  assertUserError(runCli(["complete", "-m", p, "-p", "x"]), /unknown ggml tensor type 99 \(supported: F32, F16, .*Q6_K/);
});

test("a tensor type the engine has no kernel for is refused before loading", () => {
  const p = variant("q5_0.gguf", (_m, t) => {
    const w = t.find((x) => x.name === "blk.0.ffn_up.weight")!;
    const rows = w.dims[1], cols = w.dims[0];
    const out = new Uint8Array(rows * (cols / 32) * 22);
    for (let r = 0; r < rows; r++) out.set(quantizeRow(GGMLType.Q5_0, new Float32Array(cols).fill(0.01)), r * (cols / 32) * 22);
    w.type = GGMLType.Q5_0;
    w.data = out;
  });
  assertUserError(runCli(["complete", "-m", p, "-p", "x"]), /blk\.0\.ffn_up\.weight has type Q5_0; the engine runs F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K/);
});

test("a block scale that is inf or NaN is refused at load, naming tensor, row and block", () => {
  const p = variant("nan-scale.gguf", (_m, t) => {
    const w = t.find((x) => x.name === "blk.1.attn_k.weight")!;
    const data = new Uint8Array(w.data as Uint8Array); // Q8_0: 34-byte blocks, the f16 scale first
    const rb = (w.dims[0] / 32) * 34;
    data[2 * rb + 34] = 0x00; data[2 * rb + 35] = 0x7e; // row 2, block 1: f16 NaN
    w.data = data;
  });
  assertUserError(runCli(["complete", "-m", p, "-p", "x"]), /blk\.1\.attn_k\.weight, row 2, block 1 \(byte \d+ of the tensor's data\): the block scale is inf or NaN/);
});

test("a missing tensor and a wrong shape are named", () => {
  const missing = variant("missing.gguf", (_m, t) => { t.splice(t.findIndex((x) => x.name === "blk.1.attn_v.weight"), 1); });
  assertUserError(runCli(["complete", "-m", missing, "-p", "x"]), /blk\.1\.attn_v\.weight/);
  const shape = variant("shape.gguf", (m) => m.set("llama.feed_forward_length", meta.u32(96)));
  assertUserError(runCli(["complete", "-m", shape, "-p", "x"]), /ffn_(gate|up|down)\.weight/);
});

test("a prompt longer than the context, and a context too large for memory", () => {
  assertUserError(runCli(["complete", "-m", MODEL, "--ctx", "16", "-p", "word ".repeat(40)]), /the prompt has \d+ tokens but the context holds 16/);
  assertUserError(runCli(["complete", "-m", MODEL, "--ctx", "100000000", "-p", "x"]), /needs .* (GB|MB).*(--ctx|available)/);
});

test("bad flag values say what is accepted", () => {
  assertUserError(runCli(["complete", "-m", MODEL, "-p", "x", "--threads", "0"]), /--threads must be a whole number >= 1 and <= 256, got "0"/);
  assertUserError(runCli(["complete", "-m", MODEL, "-p", "x", "--top-p", "2"]), /--top-p must be a number >= 0 and <= 1, got "2"/);
  assertUserError(runCli(["complete", "-m", join(DIR, "nope.gguf"), "-p", "x"]), /nope\.gguf/);
});
