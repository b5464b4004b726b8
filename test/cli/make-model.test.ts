import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { planSynthLlama } from "../../src/format/synth-llama.js";
import { SCRATCH } from "../helpers/paths.js";
import { runCli } from "../helpers/cli.js";

const run = (...args: string[]) => runCli(args);

const DIR = join(SCRATCH, "cli-make-model");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });

test("make-model writes a GGUF that inspect reads back (tiny, Q8_0, FIM)", () => {
  const out = join(DIR, "tiny-q8.gguf");
  const nVocab = planSynthLlama({ preset: "tiny", fim: true }).nVocab; // the built-in vocabulary + 16 Code Llama pieces
  const made = run("make-model", "--preset", "tiny", "--type", "q8_0", "--fim", "--seed", "7", "--name", "t", "--out", out);
  assert.equal(made.stderr, "");
  assert.equal(made.code, 0);
  assert.equal(made.stdout, `wrote ${out}: q8_0, dim 64, 2 layers, 4 heads (2 kv), ffn 192, vocab ${nVocab}\n`);

  const r = run("inspect", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // Q8_0: 34 bytes per 32 values. Matrices: embedding + output (vocab x 64), per layer q, o (64x64), k, v (32x64), gate, up, down (192x64).
  const q8 = ((2 * nVocab * 64 + 2 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 192 * 64)) / 32) * 34;
  const f32 = (2 * 2 + 1) * 64 * 4;
  assert.deepEqual(
    [j.format, j.fileType, j.name, j.dim, j.layers, j.heads, j.kvHeads, j.headDim, j.ffnDim, j.contextLength, j.ropeTheta, j.vocabSize],
    ["gguf", "MOSTLY_Q8_0", "t", 64, 2, 4, 2, 16, 192, 16384, 1e6, nVocab],
  );
  assert.deepEqual(j.special, { bos: 1, eos: 2, unk: 0, prefix: nVocab - 9, suffix: nVocab - 8, middle: nVocab - 7, eot: nVocab - 6, step: null });
  assert.deepEqual(j.tensorTypes, [{ type: "Q8_0", count: 16, bytes: q8 }, { type: "F32", count: 5, bytes: f32 }]);
  assert.deepEqual([j.tensorCheck, j.infill, j.chat, j.fileSize], ["ok", true, "inst", statSync(out).size]);
});

test("make-model errors: usage (exit 2) and impossible requests (exit 1, one line)", () => {
  assert.equal(run("make-model").code, 2);
  assert.equal(run("make-model", "--out", join(DIR, "x.gguf"), "--preset", "huge").code, 2);
  assert.equal(run("make-model", "--out", join(DIR, "x.gguf"), "--dim", "-3").code, 2);
  const q4 = run("make-model", "--out", join(DIR, "x.gguf"), "--type", "q4_0", "--dim", "48", "--heads", "4");
  assert.equal(q4.code, 1);
  assert.match(q4.stderr, /^codellama: type q4_0 stores rows in blocks of 32 values, but dim .* = 48 is not a multiple of 32 .*\n$/);
  const nodir = run("make-model", "--out", join(DIR, "no-such-folder", "x.gguf"));
  assert.equal(nodir.code, 1);
  assert.match(nodir.stderr, new RegExp(`^codellama: ${join(DIR, "no-such-folder", "x.gguf")}: cannot write: ENOENT[^\\n]*\\n$`));
});

test("make-model --type q4_k_m --fill fast: Q4_K_M file type, Q4_K and Q6_K tensors", () => {
  const out = join(DIR, "q4km.gguf");
  const made = run("make-model", "--dim", "256", "--layers", "8", "--heads", "4", "--ffn", "512", "--type", "q4_k_m", "--fill", "fast", "--out", out);
  assert.equal(made.code, 0, made.stderr);
  const j = JSON.parse(run("inspect", out, "--json").stdout);
  assert.equal(j.fileType, "MOSTLY_Q4_K_M");
  // 8 layers: attn_v and ffn_down of layers 0, 3, 6, 7 plus output are Q6_K; the other 2-D tensors Q4_K.
  assert.deepEqual(j.tensorTypes.map((t: { type: string; count: number }) => [t.type, t.count]), [["Q4_K", 49], ["Q6_K", 9], ["F32", 17]]);
  assert.equal(run("make-model", "--out", out, "--fill", "quick").code, 2);
});
