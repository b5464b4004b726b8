/**
 * Code Llama specifics on the 32016-piece vocabulary: FIM sentinels found by name, the golden
 * token vectors of reference §3.7, the ☺ infilling trick of §3.4, and the rule that CONTROL
 * pieces never come out of text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF, meta } from "../../src/format/gguf-writer.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { LLAMA_VOCAB_GGUF } from "../helpers/paths.js";
import { codeLlamaTokenizer, llamaTokenizer } from "./fixtures.js";

const PREFIX = 'def remove_non_ascii(s: str) -> str:\n    """ ';
const SUFFIX = "\n    return result\n";

test("FIM sentinels are found by piece name", () => {
  const tok = codeLlamaTokenizer();
  assert.equal(tok.vocabSize, 32016);
  assert.deepEqual(tok.special, { bos: 1, eos: 2, unk: 0, prefix: 32007, suffix: 32008, middle: 32009, eot: 32010, step: undefined });
  assert.equal(tok.piece(32007), "▁<PRE>");
  assert.equal(tok.piece(32015), "▁<EOT><EOT><EOT><EOT><EOT><EOT>");
});

test("§3.7 (a) PSM golden vector", () => {
  const tok = codeLlamaTokenizer();
  const { bos, prefix, suffix, middle } = tok.special;
  const ids = [bos, prefix!, ...tok.encode(PREFIX), suffix!, ...tok.encodeInfilling(SUFFIX), middle!];
  assert.deepEqual(ids, [1, 32007, 822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871, 32008, 13, 1678, 736, 1121, 13, 32009]);
});

test("§3.7 (b) SPM golden vector", () => {
  const tok = codeLlamaTokenizer();
  const { bos, prefix, suffix, middle } = tok.special;
  const ids = [bos, prefix!, suffix!, ...tok.encodeInfilling(SUFFIX), middle!, ...tok.encode(PREFIX)];
  assert.deepEqual(ids, [1, 32007, 32008, 13, 1678, 736, 1121, 13, 32009, 822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871]);
});

test("§3.7 (c) instruct, one turn", () => {
  const tok = codeLlamaTokenizer();
  assert.deepEqual(tok.encode("[INST] Hi [/INST]", { bos: true }), [1, 518, 25580, 29962, 6324, 518, 29914, 25580, 29962]);
  assert.deepEqual(tok.encode("[INST] Hi [/INST]", { bos: true }).map((i) => tok.piece(i)), ["<s>", "▁[", "INST", "]", "▁Hi", "▁[", "/", "INST", "]"]);
});

test("§3.7 (d) instruct, three turns", () => {
  const tok = codeLlamaTokenizer();
  const ids = [
    ...tok.encode("[INST] Hi [/INST] Hello! ", { bos: true, eos: true }),
    ...tok.encode("[INST] Bye [/INST]", { bos: true }),
  ];
  assert.deepEqual(ids, [1, 518, 25580, 29962, 6324, 518, 29914, 25580, 29962, 15043, 29991, 29871, 2, 1, 518, 25580, 29962, 2648, 29872, 518, 29914, 25580, 29962]);
});

test("§3.4 encode_infilling / decode_infilling examples", () => {
  const tok = codeLlamaTokenizer();
  assert.deepEqual(tok.encode("☺x").slice(0, 2), [29871, 31171]);
  assert.deepEqual(tok.encodeInfilling("x"), [29916]);
  assert.deepEqual(tok.encode("x"), [921]);
  assert.deepEqual(tok.encodeInfilling(" x"), [921]);
  const body = "\n    return result";
  assert.deepEqual(tok.encodeInfilling(body).slice(0, 2), [13, 1678]);
  assert.deepEqual(tok.encode(body).slice(0, 3), [29871, 13, 1678]);
  assert.equal(tok.decode([31171, 921]), "☺ x");
  assert.equal(tok.decodeInfilling([921]), " x");
  assert.equal(tok.decode([921]), "x");
  assert.equal(tok.decodeInfilling(tok.encodeInfilling(SUFFIX)), SUFFIX);
  assert.equal(tok.decodeInfilling(tok.encodeInfilling(" leading space")), " leading space");
  assert.deepEqual(tok.encodeInfilling(""), []);
});

test("without a ☺ piece, encodeInfilling gives the same tokens (encode without dummy prefix)", () => {
  // The Llama vocabulary with the ☺ piece renamed, so ids stay the same and ☺ is gone.
  const g = GGUFFile.parse(readFileSync(LLAMA_VOCAB_GGUF));
  const md = new Map(g.metadata);
  const tokens = [...(g.get("tokenizer.ggml.tokens") as string[])];
  tokens[31171] = "<no-smiley>";
  md.set("tokenizer.ggml.tokens", meta.strs(tokens));
  const noSmiley = Tokenizer.fromGGUF(GGUFFile.parse(encodeGGUF({ metadata: md, tensors: [] })));
  assert.equal(noSmiley.id("☺"), undefined);
  const withSmiley = llamaTokenizer();
  const texts = ["x", " x", "  x", SUFFIX, PREFIX, "\tindented", "", " ", "   ", "\n", "日本語", "😀 emoji", "a\u200db", "foo(bar)", "<s>", "▁already", "x".repeat(100)];
  for (const t of texts) assert.deepEqual(noSmiley.encodeInfilling(t), withSmiley.encodeInfilling(t), JSON.stringify(t));
});

test("CONTROL pieces (<s>, </s>, FIM sentinels) never come out of text", () => {
  const tok = codeLlamaTokenizer();
  // llama.cpp would produce 32007 here (it merges into any piece); SentencePiece does not.
  assert.deepEqual(tok.encode("<PRE>"), [32002, 29958]);
  assert.deepEqual(tok.encode(" <SUF> <MID> <EOT>"), [29871, 32001, 29958, 32004, 29958, 32006, 29958]);
  const control = new Set([1, 2, 32007, 32008, 32009, 32010]);
  for (const t of ["<s></s>", " <PRE> <SUF> <MID> <EOT><EOT>", "<PRE><SUF><MID><EOT>"]) {
    const ids = tok.encode(t);
    assert.equal(ids.some((i) => control.has(i)), false, `${JSON.stringify(t)} → ${ids.join(" ")}`);
    assert.equal(tok.decode(ids), t);
  }
});
