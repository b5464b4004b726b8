// Sessions reuse the longest common prefix of their KV cache and still give exactly the cold result;
// LRU eviction when sessions outnumber sequences; n samples decoded as one batch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { Engine } from "../../src/engine/engine.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

let engine: Engine;
const FILE = "import os\nimport sys\n\ndef main(argv):\n    path = argv[1]\n    with open(path) as f:\n        data = f.read()\n    return len(data)\n";
const EDITED = FILE.replace("return len(data)", "return data.count('\\n')");

before(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "sessions-q8_0.gguf");
  writeSynthLlama(path, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, type: "q8_0", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 12, outputStd: 0.3 });
  engine = await Engine.load(path, { ctx: 256, threads: 2, nSeq: 2, batch: 32 });
});
after(async () => { await engine.close(); });

const greedy = { temperature: 0, maxTokens: 16 };
const ids = (text: string) => engine.tokenizer.encode(text, { bos: true });

test("a session's cached continuation equals a cold one, token for token, and reuses the shared prefix", async () => {
  const coldA = (await engine.complete(FILE, greedy).result).tokens;
  const coldB = (await engine.complete(EDITED, greedy).result).tokens;
  const s = engine.session();
  const a = await s.generate(ids(FILE), greedy).result;
  assert.deepEqual(a.tokens, coldA);
  // the edit is on the last line: everything before it is reused
  const shared = ids(FILE).findIndex((t, i) => t !== ids(EDITED)[i]);
  assert.equal(s.reusable(ids(EDITED)), shared);
  assert.ok(shared > ids(FILE).length * 0.8, `only ${shared} of ${ids(FILE).length} tokens shared`);
  const b = await s.generate(ids(EDITED), greedy).result;
  assert.deepEqual(b.tokens, coldB);
  assert.equal(b.timings.promptTokens, ids(EDITED).length - shared);
  // the very same request again re-evaluates only its last token
  assert.deepEqual((await s.generate(ids(EDITED), greedy).result).tokens, coldB);
  assert.equal(s.reusable(ids(EDITED)), ids(EDITED).length - 1);
  s.close();
});

test("more sessions than sequences: the least recently used one loses its cache, results stay exact", async () => {
  const [s1, s2, s3] = [engine.session(), engine.session(), engine.session()];
  const want = (await engine.complete(FILE, greedy).result).tokens;
  await s1.generate(ids(FILE), greedy).result;
  await s2.generate(ids(FILE), greedy).result;
  assert.ok(s1.reusable(ids(FILE)) > 0 && s2.reusable(ids(FILE)) > 0);
  await s3.generate(ids(FILE), greedy).result; // takes s1's sequence (LRU)
  assert.equal(s1.reusable(ids(FILE)), 0);
  assert.ok(s2.reusable(ids(FILE)) > 0);
  assert.deepEqual((await s1.generate(ids(FILE), greedy).result).tokens, want); // cold again, still exact
  // work outside sessions on sequence 0 takes it from its owner, which then starts cold (and exact)
  await engine.complete("unrelated text", greedy).result;
  assert.deepEqual((await s2.generate(ids(FILE), greedy).result).tokens, want);
  assert.deepEqual((await s3.generate(ids(FILE), greedy).result).tokens, want);
  for (const s of [s1, s2, s3]) s.close();
});

test("n samples: greedy gives n copies of the greedy output; a seed reproduces; more samples than sequences run in waves", async () => {
  const prompt = "def fibonacci(n):";
  const single = (await engine.complete(prompt, greedy).result).tokens;
  const g = await engine.completeMany(prompt, 5, greedy);
  assert.equal(g.samples.length, 5);
  for (const s of g.samples) assert.deepEqual(s.tokens, single);
  const opts = { temperature: 1, topP: 0.95, maxTokens: 12, seed: 77 };
  const a = await engine.completeMany(prompt, 3, opts);
  const b = await engine.completeMany(prompt, 3, opts);
  assert.deepEqual(a.samples.map((s) => s.tokens), b.samples.map((s) => s.tokens));
  assert.notDeepEqual(a.samples[0].tokens, a.samples[1].tokens);
  // sample i is the same as a lone sampled run with seed + i
  for (let i = 0; i < 3; i++) {
    const lone = await engine.complete(prompt, { ...opts, seed: 77 + i }).result;
    assert.deepEqual(a.samples[i].tokens, lone.tokens.slice(0, a.samples[i].tokens.length));
  }
});

test("score gives per-token log-probabilities consistent with greedy decoding", async () => {
  const r = await engine.complete("x = ", { temperature: 0, maxTokens: 4 }).result;
  const sc = engine.score([...r.promptTokens, ...r.tokens]);
  assert.equal(sc.logProbs.length, r.promptTokens.length + 4);
  for (const lp of sc.logProbs) assert.ok(lp <= 0 && Number.isFinite(lp));
  assert.ok(Math.abs(sc.total - sc.logProbs.reduce((a, b) => a + b, 0)) < 1e-9);
});
