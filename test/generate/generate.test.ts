// The generation loop on a small random model: fixed-length greedy runs, streaming, stop strings,
// stop tokens, abort, reproducible sampling, and the errors a user can cause.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { Engine } from "../../src/engine/engine.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

let engine: Engine;
const PROMPT = "def fibonacci(n):";

before(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "generate-q8_0.gguf");
  writeSynthLlama(path, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, type: "q8_0", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 11, outputStd: 0.3 });
  engine = await Engine.load(path, { ctx: 128, threads: 2 });
});
after(async () => { await engine.close(); });

async function collect(gen: ReturnType<Engine["complete"]>) {
  let streamed = "";
  const steps: number[] = [];
  for await (const s of gen) { streamed += s.text; if (s.token >= 0) steps.push(s.token); }
  return { streamed, steps, r: await gen.result };
}

test("greedy without --stop-at-eos runs exactly maxTokens, and the stream adds up to the text", async () => {
  const { streamed, steps, r } = await collect(engine.complete(PROMPT, { temperature: 0, maxTokens: 24 }));
  assert.equal(r.tokens.length, 24);
  assert.equal(r.stopReason, "max-tokens");
  assert.deepEqual(steps, r.tokens);
  assert.equal(streamed, r.text);
  assert.equal(r.text, engine.tokenizer.decode(r.tokens));
  assert.deepEqual(r.promptTokens, engine.tokenizer.encode(PROMPT, { bos: true }));
  // the same run again gives the same tokens (the KV cache is simply overwritten)
  assert.deepEqual((await engine.complete(PROMPT, { temperature: 0, maxTokens: 24 }).result).tokens, r.tokens);
});

test("a stop string cuts the text before it, and nothing after it is streamed", async () => {
  const full = (await engine.complete(PROMPT, { temperature: 0, maxTokens: 24 }).result).text;
  const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
  const cut = full.indexOf(stop);
  const { streamed, r } = await collect(engine.complete(PROMPT, { temperature: 0, maxTokens: 24, stopStrings: [stop] }));
  assert.equal(r.stopReason, "stop-string");
  assert.equal(r.text, full.slice(0, cut));
  assert.equal(streamed, r.text);
});

test("a stop token ends generation and is not part of the output", async () => {
  const full = (await engine.complete(PROMPT, { temperature: 0, maxTokens: 24 }).result).tokens;
  const r = await engine.complete(PROMPT, { temperature: 0, maxTokens: 24, stopTokens: [full[5]] }).result;
  assert.equal(r.stopReason, "stop-token");
  assert.deepEqual(r.tokens, full.slice(0, full.indexOf(full[5])));
});

test("an AbortSignal stops between tokens", async () => {
  const ac = new AbortController();
  const gen = engine.complete(PROMPT, { temperature: 0, maxTokens: 50, signal: ac.signal });
  let n = 0;
  for await (const s of gen) { if (s.token >= 0 && ++n === 3) ac.abort(); }
  const r = await gen.result;
  assert.equal(r.stopReason, "aborted");
  assert.equal(r.tokens.length, 3);
});

test("sampling with a seed reproduces; the result promise works without iterating", async () => {
  const a = await engine.complete(PROMPT, { temperature: 1, topP: 0.95, seed: 5, maxTokens: 16 }).result;
  const b = await engine.complete(PROMPT, { temperature: 1, topP: 0.95, seed: 5, maxTokens: 16 }).result;
  assert.deepEqual(a.tokens, b.tokens);
  assert.ok(a.timings.genTokens === a.tokens.length);
});

test("a prompt longer than the context is a clear error", () => {
  assert.throws(() => engine.complete("x ".repeat(300)), /the prompt has \d+ tokens but the context holds 128/);
});
