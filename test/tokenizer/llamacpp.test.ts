/**
 * Agreement with llama.cpp (the node-llama-cpp devDependency, CPU only) on the Code Llama
 * vocabulary (32016 pieces, written as a vocab-only GGUF by the test): the text set of
 * texts.ts, plus Python standard-library files when python3 is there. llama.cpp tokenizes
 * with add_special = false and parse_special = false, i.e. our `encode(text)`.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { disposePeer, peerModel, peerTokenize } from "../helpers/peer.js";
import { codeLlamaTokenizer, codeLlamaVocabPath } from "./fixtures.js";
import { readSources, sourcePaths, spread } from "./spm-tools.js";
import { TEXTS } from "./texts.js";

after(disposePeer);

test("llama.cpp loads the Code Llama vocab GGUF and sees 32016 tokens", async () => {
  const model = await peerModel(codeLlamaVocabPath(), { vocabOnly: true });
  assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens.length, 32016);
  assert.equal(model.tokens.bos, 1);
  assert.equal(model.tokens.eos, 2);
});

test(`llama.cpp and our tokenizer agree on ${TEXTS.length} varied texts`, async (t) => {
  const tok = codeLlamaTokenizer();
  const path = codeLlamaVocabPath();
  const bad: { text: string; want: string; got: string }[] = [];
  let tokens = 0;
  for (const text of TEXTS) {
    const want = await peerTokenize(path, text);
    const got = tok.encode(text);
    tokens += want.length;
    if (JSON.stringify(want) !== JSON.stringify(got)) bad.push({ text: text.slice(0, 200), want: want.join(" ").slice(0, 300), got: got.join(" ").slice(0, 300) });
  }
  assert.deepEqual(bad, []);
  t.diagnostic(`llama.cpp agreement: ${TEXTS.length} texts, ${tokens} tokens identical`);
});

test("llama.cpp and our tokenizer agree on 300 files of real code (Python standard library)", async (t) => {
  const tok = codeLlamaTokenizer();
  const path = codeLlamaVocabPath();
  const files = readSources(spread(sourcePaths(300), 300, 3));
  assert.ok(files.length >= 250, `${files.length} files`);
  const bad: string[] = [];
  let tokens = 0;
  for (const f of files) {
    const want = await peerTokenize(path, f.text);
    tokens += want.length;
    if (JSON.stringify(want) !== JSON.stringify(tok.encode(f.text))) bad.push(f.path);
  }
  assert.deepEqual(bad, []);
  t.diagnostic(`llama.cpp agreement: ${files.length} files, ${tokens} tokens identical`);
});

test("the one known difference: llama.cpp merges into CONTROL pieces, SentencePiece does not", async () => {
  const tok = codeLlamaTokenizer();
  const path = codeLlamaVocabPath();
  // llama.cpp's SPM tokenizer accepts any vocabulary entry as a merge result, so " <PRE>" text
  // becomes the FIM sentinel; SentencePiece (and we) never produce CONTROL pieces from text.
  assert.deepEqual(await peerTokenize(path, "<PRE>"), [32007]);
  assert.deepEqual(tok.encode("<PRE>"), [32002, 29958]);
});
