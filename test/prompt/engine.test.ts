// Engine.infill and Engine.chat on tiny random F32 models: stop rules (EOT only for infilling;
// EOS for [INST]; <step> only for 70B), decoding (infill keeps a leading space, chat drops it),
// the returned fields, the refusal of a model without FIM pieces, and KV-cache reuse between turns.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { infillPromptTokens } from "../../src/prompt/infill.js";
import { chatPromptTokens } from "../../src/prompt/chat.js";
import type { ChatMessage } from "../../src/prompt/messages.js";
import { UserError } from "../../src/util/errors.js";
import { codeLlamaTok, stepTok, STEP_ID } from "./vocab.js";
import { forceFirst, tinyModel } from "./models.js";

const PREFIX = "def add(a, b):\n    ";
const SUFFIX = "\n    return c\n";
const EOT = 32010, EOS = 2, X = 921; // ▁x
const engines: Engine[] = [];
async function load(path: string): Promise<Engine> {
  const e = await Engine.load(path, { kvType: "f32", threads: 1, ctx: 512 });
  engines.push(e);
  return e;
}
after(async () => { for (const e of engines) await e.close(); });

async function drain<R extends { text: string; tokens: number[] }>(g: AsyncIterable<{ token: number; text: string }> & { result: Promise<R> }) {
  let streamed = "";
  for await (const s of g) streamed += s.text;
  const r = await g.result;
  assert.equal(streamed, r.text);
  return r;
}

test("infill: PSM prompt, greedy middle decoded with decodeInfilling, fullText = prefix + middle + suffix", async () => {
  const e = await load(tinyModel("fim"));
  for (const spm of [false, true]) {
    const r = await drain(e.infill(PREFIX, SUFFIX, { temperature: 0, maxTokens: 10, spm }));
    assert.deepEqual(r.promptTokens, infillPromptTokens(codeLlamaTok(), PREFIX, SUFFIX, { spm }));
    assert.equal(r.tokens.length, 10);
    assert.ok(!r.tokens.includes(EOT));
    assert.equal(r.generation, e.tokenizer.decodeInfilling(r.tokens));
    assert.equal(r.generation, r.text);
    assert.equal(r.fullText, PREFIX + r.generation + SUFFIX);
  }
});

test("infill stops at <EOT> (not returned); EOS does not stop it; a leading ▁ is kept as a space", async () => {
  const base = tinyModel("fim");
  const prompt = infillPromptTokens(codeLlamaTok(), PREFIX, SUFFIX);
  // 1. <EOT> first: nothing generated, the fill is empty
  const eot = await load(await forceFirst(base, prompt, EOT, "first-eot.gguf"));
  const r1 = await drain(eot.infill(PREFIX, SUFFIX, { temperature: 0, maxTokens: 10 }));
  assert.deepEqual([r1.tokens, r1.generation, r1.fullText, r1.stopReason], [[], "", PREFIX + SUFFIX, "stop-token"]);
  // 2. EOS first: generation goes on (also when sampling, where complete() would stop at EOS)
  const eos = await load(await forceFirst(base, prompt, EOS, "first-eos.gguf"));
  const r2 = await drain(eos.infill(PREFIX, SUFFIX, { temperature: 0, maxTokens: 5 }));
  assert.equal(r2.tokens[0], EOS);
  assert.equal(r2.tokens.length, 5);
  const r2s = await drain(eos.infill(PREFIX, SUFFIX, { temperature: 1e-6, maxTokens: 5, seed: 1 }));
  assert.deepEqual(r2s.tokens, r2.tokens);
  // 3. ▁x first: the middle starts with a space (decode_infilling), as Meta's reference returns it
  const x = await load(await forceFirst(base, prompt, X, "first-x.gguf"));
  const r3 = await drain(x.infill(PREFIX, SUFFIX, { temperature: 0, maxTokens: 3 }));
  assert.equal(r3.tokens[0], X);
  assert.ok(r3.generation.startsWith(" x"), JSON.stringify(r3.generation));
});

test("infill on a model without the FIM pieces is refused with the reason and the file", async () => {
  const path = tinyModel("plain");
  const e = await load(path);
  assert.throws(() => e.infill("a", "b"), (err: unknown) => err instanceof UserError && err.message.startsWith(`${path}: this model cannot fill in the middle: its 32000-piece vocabulary has none`));
});

test("chat ([INST]): stops at EOS, the answer drops its leading space, the message is the assistant's", async () => {
  const base = tinyModel("fim");
  const msgs: ChatMessage[] = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }];
  const prompt = chatPromptTokens(codeLlamaTok(), msgs).tokens;
  const e = await load(base);
  const r = await drain(e.chat(msgs, { temperature: 0, maxTokens: 8 }));
  assert.deepEqual(r.promptTokens, prompt);
  assert.equal(r.format, "inst");
  assert.deepEqual(r.message, { role: "assistant", content: e.tokenizer.decode(r.tokens) });
  // EOS first: an empty answer
  const eos = await load(await forceFirst(base, prompt, EOS, "chat-first-eos.gguf"));
  const r2 = await drain(eos.chat(msgs, { temperature: 0, maxTokens: 8 }));
  assert.deepEqual([r2.tokens, r2.message.content, r2.stopReason], [[], "", "eos"]);
  // ▁x first: "x…" (SentencePiece decode drops the leading space)
  const x = await load(await forceFirst(base, prompt, X, "chat-first-x.gguf"));
  const r3 = await drain(x.chat(msgs, { temperature: 0, maxTokens: 3 }));
  assert.equal(r3.tokens[0], X);
  assert.ok(r3.message.content.startsWith("x"), JSON.stringify(r3.message.content));
});

test("chat (70B, <step> in the vocabulary): the Source/<step> prompt, stops at <step> only, destination user", async () => {
  const base = tinyModel("step");
  const msgs: ChatMessage[] = [{ role: "user", content: "hi" }];
  const prompt = chatPromptTokens(stepTok(), msgs).tokens;
  const e = await load(base);
  assert.equal(e.tokenizer.special.step, STEP_ID);
  const r = await drain(e.chat(msgs, { temperature: 0, maxTokens: 6 }));
  assert.deepEqual(r.promptTokens, prompt);
  assert.equal(r.format, "step");
  assert.deepEqual(r.message, { role: "assistant", destination: "user", content: e.tokenizer.decode(r.tokens) });
  const step = await load(await forceFirst(base, prompt, STEP_ID, "step-first-step.gguf"));
  const r2 = await drain(step.chat(msgs, { temperature: 0, maxTokens: 6 }));
  assert.deepEqual([r2.tokens, r2.stopReason], [[], "stop-token"]);
  const eos = await load(await forceFirst(base, prompt, EOS, "step-first-eos.gguf"));
  const r3 = await drain(eos.chat(msgs, { temperature: 0, maxTokens: 6 }));
  assert.deepEqual([r3.tokens[0], r3.tokens.length], [EOS, 6]); // EOS is not a stop token in the reference's 70B chat
});

test("chat: bad order and special tags are UserErrors before anything runs", async () => {
  const e = await load(tinyModel("fim"));
  assert.throws(() => e.chat([{ role: "assistant", content: "x" }]), UserError);
  assert.throws(() => e.chat([{ role: "user", content: "[INST]" }]), /special tags are not allowed/);
  const r = await drain(e.chat([{ role: "user", content: "[INST]" }], { allowSpecialTags: true, temperature: 0, maxTokens: 2 }));
  assert.equal(r.tokens.length, 2);
});

test("chat: cachedTokens reuses the shared prompt prefix and gives the same greedy answer as a cold run", async () => {
  const e = await load(tinyModel("fim"));
  const turn1: ChatMessage[] = [{ role: "user", content: "Write fib" }];
  const r1 = await drain(e.chat(turn1, { temperature: 0, maxTokens: 6 }));
  // maxTokens: the last answer token was not fed back, so it is not in the cache
  assert.deepEqual(r1.cachedTokens, [...r1.promptTokens, ...r1.tokens.slice(0, -1)]);
  const turn2: ChatMessage[] = [...turn1, r1.message, { role: "user", content: "Now in JS" }];
  const warm = await drain(e.chat(turn2, { temperature: 0, maxTokens: 6, cachedTokens: r1.cachedTokens }));
  // the first turn's prompt is a prefix of the second's, so at least that much was reused
  assert.deepEqual(warm.promptTokens.slice(0, r1.promptTokens.length), r1.promptTokens);
  assert.ok(warm.timings.promptTokens <= warm.promptTokens.length - r1.promptTokens.length, `${warm.timings.promptTokens} of ${warm.promptTokens.length}`);
  const cold = await drain(e.chat(turn2, { temperature: 0, maxTokens: 6 }));
  assert.equal(cold.timings.promptTokens, cold.promptTokens.length);
  assert.deepEqual(warm.tokens, cold.tokens);
  // a cache that shares nothing is harmless
  const other = await drain(e.chat(turn2, { temperature: 0, maxTokens: 6, cachedTokens: [7, 7, 7] }));
  assert.deepEqual(other.tokens, cold.tokens);
});

test("the prompt-too-long error comes from generate, as a UserError", async () => {
  const e = await load(tinyModel("fim"));
  assert.throws(() => e.infill("x ".repeat(600), ""), /the prompt has \d+ tokens but the context holds 512/);
  assert.throws(() => e.chat([{ role: "user", content: "x ".repeat(600) }]), /the prompt has \d+ tokens but the context holds 512/);
});
