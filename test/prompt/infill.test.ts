// Infilling prompts token by token (reference §3.7 (a)/(b), §4.1) on the Code Llama vocabulary
// (llama SPM + 16 pieces). Every expected vector below was also checked against the independent
// llama-tokenizer-js port of the Llama BPE (encode_infilling = encode("☺" + s)[2:]).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fimTokens, infillPromptTokens, splitFillMarker } from "../../src/prompt/infill.js";
import { UserError } from "../../src/util/errors.js";
import { codeLlamaTok, codeLlamaTokWith, llamaTok } from "./vocab.js";

const PREFIX = 'def remove_non_ascii(s: str) -> str:\n    """ ';
const SUFFIX = "\n    return result\n";
const [BOS, PRE, SUF, MID] = [1, 32007, 32008, 32009];
const ENC_PREFIX = [822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871];
const INF_SUFFIX = [13, 1678, 736, 1121, 13];

test("§3.7 (a): the confirmed PSM vector of example_infilling.py's first prompt", () => {
  assert.deepEqual(infillPromptTokens(codeLlamaTok(), PREFIX, SUFFIX),
    [1, 32007, 822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871, 32008, 13, 1678, 736, 1121, 13, 32009]);
});

test("§3.7 (b): SPM keeps <PRE> first: [BOS, PRE, SUF] + encInf(suffix) + [MID] + enc(prefix)", () => {
  const ids = infillPromptTokens(codeLlamaTok(), PREFIX, SUFFIX, { spm: true });
  assert.deepEqual(ids, [1, 32007, 32008, 13, 1678, 736, 1121, 13, 32009, 822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871]);
  // not llama.cpp's --spm-infill order ([BOS] <SUF> suffix <PRE> prefix <MID>)
  assert.notDeepEqual(ids, [BOS, SUF, ...INF_SUFFIX, PRE, ...ENC_PREFIX, MID]);
});

test("an empty prefix or suffix still gives the full FIM prompt (unlike HF's fallback)", () => {
  const tok = codeLlamaTok();
  assert.deepEqual(infillPromptTokens(tok, "", SUFFIX), [BOS, PRE, SUF, ...INF_SUFFIX, MID]);
  assert.deepEqual(infillPromptTokens(tok, "", SUFFIX, { spm: true }), [BOS, PRE, SUF, ...INF_SUFFIX, MID]);
  assert.deepEqual(infillPromptTokens(tok, PREFIX, ""), [BOS, PRE, ...ENC_PREFIX, SUF, MID]);
  assert.deepEqual(infillPromptTokens(tok, PREFIX, "", { spm: true }), [BOS, PRE, SUF, MID, ...ENC_PREFIX]);
  assert.deepEqual(infillPromptTokens(tok, "", ""), [1, 32007, 32008, 32009]);
  assert.deepEqual(infillPromptTokens(tok, "", "", { spm: true }), [1, 32007, 32008, 32009]);
});

test("a suffix starting with a letter has no implicit space (llama.cpp's old code gave ▁acci)", () => {
  const tok = codeLlamaTok();
  // prefix "def fibon" ends mid-token: ▁def ▁fib on; suffix "acci(n):\n": acci ( n ): \n
  assert.deepEqual(infillPromptTokens(tok, "def fibon", "acci(n):\n"), [1, 32007, 822, 18755, 265, 32008, 21566, 29898, 29876, 1125, 13, 32009]);
  assert.deepEqual(infillPromptTokens(tok, "def fibon", "acci(n):\n", { spm: true }), [1, 32007, 32008, 21566, 29898, 29876, 1125, 13, 32009, 822, 18755, 265]);
  assert.equal(tok.piece(21566), "acci");
  assert.deepEqual(infillPromptTokens(tok, "", "foo()"), [1, 32007, 32008, 5431, 580, 32009]);
});

test("a suffix starting with a space keeps exactly that one space (▁=), two spaces give ▁ ▁pass", () => {
  const tok = codeLlamaTok();
  // prefix "x" → ▁x (921); suffix " = 1\n" → ▁= ▁ 1 \n
  assert.deepEqual(infillPromptTokens(tok, "x", " = 1\n"), [1, 32007, 921, 32008, 353, 29871, 29896, 13, 32009]);
  assert.deepEqual(infillPromptTokens(tok, "x", "  pass"), [1, 32007, 921, 32008, 29871, 1209, 32009]);
});

test("a suffix starting with a newline or a tab starts with its byte token, no 29871", () => {
  const tok = codeLlamaTok();
  assert.deepEqual(infillPromptTokens(tok, "x", SUFFIX), [1, 32007, 921, 32008, ...INF_SUFFIX, 32009]);
  assert.deepEqual(infillPromptTokens(tok, "x", "\tx"), [1, 32007, 921, 32008, 12, 29916, 32009]);
});

test("a prefix ending in spaces ends with ▁ (29871), as in the confirmed vector", () => {
  assert.deepEqual(infillPromptTokens(codeLlamaTok(), "    return ", "\n"), [1, 32007, 268, 736, 29871, 32008, 13, 32009]);
});

test("a vocabulary without the FIM pieces (Python and 34B models: 32000 pieces) is refused, naming why", () => {
  assert.throws(() => infillPromptTokens(llamaTok(), "a", "b"), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, "this model cannot fill in the middle: its 32000-piece vocabulary has none of Code Llama's fill-in-the-middle pieces (▁<PRE>, ▁<MID>, ▁<SUF>, ▁<EOT>); only the FIM-trained models (7B/13B base and Instruct, 32016 pieces) can infill, not the Python or 34B models");
    return true;
  });
  assert.throws(() => fimTokens(llamaTok(), "py.gguf"), /^UserError: py\.gguf: this model cannot fill in the middle/);
  // one sentinel missing is named
  assert.throws(() => fimTokens(codeLlamaTokWith({ 32010: "<not-eot>" })), /lacks the fill-in-the-middle piece ▁<EOT>$/);
  assert.deepEqual(fimTokens(codeLlamaTok()), { bos: 1, prefix: 32007, suffix: 32008, middle: 32009, eot: 32010 });
});

test("splitFillMarker: exactly one <FILL>", () => {
  assert.deepEqual(splitFillMarker("def f(x):\n    <FILL>\n    return y\n"), { prefix: "def f(x):\n    ", suffix: "\n    return y\n" });
  assert.deepEqual(splitFillMarker("<FILL>"), { prefix: "", suffix: "" });
  assert.deepEqual(splitFillMarker("abc<FILL>"), { prefix: "abc", suffix: "" });
  assert.deepEqual(splitFillMarker("<fill> <FILL >x<FILL>"), { prefix: "<fill> <FILL >x", suffix: "" });
  assert.throws(() => splitFillMarker("no marker", "a.py"), (e: unknown) => e instanceof UserError && e.message === "a.py has no <FILL> marker; put one where the code should be filled in");
  assert.throws(() => splitFillMarker("a\n<FILL>\nb\nc<FILL>", "a.py"), (e: unknown) => e instanceof UserError && e.message === "a.py has 2 <FILL> markers (lines 2, 4); it must have exactly one");
  assert.throws(() => splitFillMarker("<FILL><FILL><FILL>"), /has 3 <FILL> markers \(lines 1, 1, 1\)/);
});
