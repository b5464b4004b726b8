// The public API, imported through the package's own name ("exports" in package.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

test("loadModel: complete, infill, chat, tokenize, score, session, completeMany", async (t) => {
  if (import.meta.url.endsWith(".ts")) return t.skip("the package entry is the built dist/");
  const api = await import("codellama-ts" as string) as typeof import("../../src/index.js");
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "api-q8_0.gguf");
  const { writeSynthLlama } = await import("../../src/format/synth-llama.js");
  writeSynthLlama(path, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "q8_0", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 5 });
  const model = await api.loadModel(path, { ctx: 128, threads: 2, nSeq: 2 });
  try {
    const ids = model.tokenize("def f(x):");
    assert.equal(ids[0], 1);
    assert.equal(model.detokenize(ids.slice(1)), "def f(x):");
    let streamed = "";
    const gen = model.complete("def f(x):", { temperature: 0, maxTokens: 8 });
    for await (const s of gen) streamed += s.text;
    const r = await gen.result;
    assert.equal(r.tokens.length, 8);
    assert.equal(streamed, r.text);
    const inf = await model.infill("def f(x):\n    ", "\n    return y\n", { maxTokens: 6 }).result;
    assert.equal(inf.fullText, "def f(x):\n    " + inf.generation + "\n    return y\n");
    const chat = await model.chat([{ role: "user", content: "hi" }], { temperature: 0, maxTokens: 4 }).result;
    assert.equal(chat.message.role, "assistant");
    const sc = model.score("x = 1");
    assert.equal(sc.logProbs.length, sc.tokens.length);
    const many = await model.completeMany("x", 3, { temperature: 0, maxTokens: 4 });
    assert.equal(many.samples.length, 3);
    const s = model.session();
    assert.deepEqual((await s.generate(ids, { temperature: 0, maxTokens: 8 }).result).tokens, r.tokens);
    s.close();
    assert.ok(api.UserError && api.GGUFFile && api.Tokenizer && api.writeGGUF);
  } finally {
    await model.close();
  }
});
