/**
 * llama.cpp's own test vectors for the Llama SPM vocabulary (both versions of the pair in
 * shared/data/llama-spm-vocab; add_special = false, parse_special = false). Every case must
 * give exactly the expected ids, and decoding them must give the input back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHARED_DATA } from "../helpers/paths.js";
import { llamaTokenizer, readVocabTests } from "./fixtures.js";

const DIR = join(SHARED_DATA, "llama-spm-vocab");

for (const base of ["ggml-vocab-llama-spm.gguf", "llamacpp-v0.5.0.ggml-vocab-llama-spm.gguf"]) {
  test(`llama.cpp test vectors ${base}: 46/46 exact`, () => {
    const tok = llamaTokenizer();
    const cases = readVocabTests(join(DIR, `${base}.inp`), join(DIR, `${base}.out`));
    assert.equal(cases.length, 46);
    const failures = cases.filter((c) => JSON.stringify(tok.encode(c.input)) !== JSON.stringify(c.want));
    assert.deepEqual(failures.map((c) => ({ input: c.input, want: c.want, got: tok.encode(c.input) })), []);
    // Decoding gives the text back (SentencePiece drops the dummy-prefix space).
    for (const c of cases) assert.equal(tok.decode(c.want), c.input, JSON.stringify(c.input));
  });
}

test("the case that differs between the two vector files", () => {
  const tok = llamaTokenizer();
  assert.deepEqual(tok.encode("Äpfel"), [11585, 7810, 295]);
  assert.deepEqual(tok.encode("Führer"), [383, 4000, 261]);
});

test("Llama vocabulary basics (reference §3.1)", () => {
  const tok = llamaTokenizer();
  assert.equal(tok.vocabSize, 32000);
  assert.deepEqual(tok.special, { bos: 1, eos: 2, unk: 0, prefix: undefined, suffix: undefined, middle: undefined, eot: undefined, step: undefined });
  assert.equal(tok.addBos, true);
  assert.equal(tok.id("▁"), 29871);
  assert.equal(tok.id("▁▁"), 259);
  assert.equal(tok.id("☺"), 31171);
  assert.equal(tok.id("<0x0A>"), 13);
  assert.equal(tok.piece(13), "<0x0A>");
  assert.equal(tok.id("no such piece"), undefined);
  assert.throws(() => tok.piece(32000), /out of range/);
  assert.deepEqual(tok.encode("Hello"), [15043]);
  assert.deepEqual(tok.encode("Hello", { bos: true, eos: true }), [1, 15043, 2]);
  assert.deepEqual(tok.encode(""), []);
  assert.deepEqual(tok.encode("", { bos: true }), [1]);
  // Text is never parsed for special tokens.
  assert.deepEqual(tok.encode("<s>"), [529, 29879, 29958]);
  assert.equal(tok.decode([529, 29879, 29958]), "<s>");
  // Control pieces decode to nothing, <unk> to " ⁇ ".
  assert.equal(tok.decode([1, 15043, 2]), "Hello");
  assert.equal(tok.decode([0]), " \u2047 ");
});
