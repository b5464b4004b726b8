// The two generators on a tiny random model: the local one gives exactly what Engine.complete /
// Engine.infill give (cut at the stops), draws sample i with seed + i whatever the batch, and
// records a prompt the context cannot hold; the endpoint one, against the loopback server around
// the same Engine, gives the same greedy completions, asks again when a server returns fewer
// choices, retries a 503, and turns HTTP and connection failures into one-line UserErrors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { loadTasks } from "../../src/eval/datasets.js";
import { endpointBase, EndpointGenerator, infillPromptText, LocalGenerator, type SampleParams } from "../../src/eval/generator.js";
import { cutAtStops, HUMANEVAL_STOPS, taskRequest } from "../../src/eval/prompts.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { UserError } from "../../src/util/errors.js";
import { startOpenAIServer } from "../helpers/openai-server.js";
import { LLAMA_VOCAB_GGUF, SCRATCH, SHARED_DATA } from "../helpers/paths.js";

// One folder per test process: concurrent runs of the suite must not delete each other's files.
const DIR = join(SCRATCH, `eval-generator-${process.pid}`);
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 7, ctx: 1024, outputStd: 0.3, name: "CodeLlama-7b-tiny" });

const local = await LocalGenerator.load(MODEL, { ctx: 1024, threads: 1, seqs: 4 });
const engine = await Engine.load(MODEL, { ctx: 1024, threads: 1 });
const server = await startOpenAIServer(engine, { modelName: "tiny" });
after(async () => { await server.close(); await local.close(); await engine.close(); });

const he = loadTasks("humaneval", join(SHARED_DATA, "humaneval")).slice(0, 3);
const infill = loadTasks("humaneval-infill-single", join(SHARED_DATA, "humaneval-infilling")).slice(0, 2);
const GREEDY: SampleParams = { temperature: 0, topP: 1, maxTokens: 24, seed: 0 };
const SAMPLED: SampleParams = { temperature: 0.8, topP: 0.95, maxTokens: 12, seed: 1234 };

test("local: names for --compare, greedy completions equal Engine.complete cut at the stops", async () => {
  assert.deepEqual(local.names, ["tiny.gguf", "CodeLlama-7b-tiny"]);
  for (const t of he) {
    const req = taskRequest(t);
    const [s] = await local.generate(req, 0, 1, GREEDY);
    const r = await engine.complete(t.prompt, { temperature: 0, maxTokens: 24, stopAtEos: true }).result;
    assert.equal(s.completion, cutAtStops(r.text, HUMANEVAL_STOPS), t.taskId);
  }
});

test("local: sample i uses seed + i, whether drawn alone or in a batch", async () => {
  const req = taskRequest(he[0]);
  const four = await local.generate(req, 0, 4, SAMPLED);
  assert.equal(four.length, 4);
  const lastTwo = await local.generate(req, 2, 2, SAMPLED);
  assert.deepEqual(lastTwo, four.slice(2));
  const alone = await local.generate(req, 1, 1, SAMPLED);
  assert.deepEqual(alone, [four[1]]);
  assert.ok(new Set(four.map((s) => s.completion)).size > 1, "different seeds give different samples");
});

test("local: infill samples equal Engine.infill; several decode as one batch", async () => {
  for (const t of infill) {
    for (const spm of [false, true]) {
      const req = taskRequest(t, { mode: spm ? "spm" : "psm" });
      const [s] = await local.generate(req, 0, 1, GREEDY);
      const r = await engine.infill(t.prompt, t.suffix!, { temperature: 0, maxTokens: 24, spm }).result;
      assert.equal(s.completion, r.text);
      const three = await local.generate(req, 0, 3, GREEDY);
      assert.deepEqual(three.map((x) => x.completion), [r.text, r.text, r.text]);
    }
  }
});

test("local: a prompt the context cannot hold gives empty samples marked prompt-too-long", async () => {
  const long = "x = 1\n".repeat(2000);
  const out = await local.generate({ kind: "complete", prompt: long, stop: [] }, 0, 2, GREEDY);
  assert.deepEqual(out, [{ completion: "", finish: "prompt-too-long" }, { completion: "", finish: "prompt-too-long" }]);
  // A server says so with HTTP 400; that task gets empty samples and the run goes on.
  const viaServer = await new EndpointGenerator(server.url, "tiny").generate({ kind: "complete", prompt: long, stop: [] }, 0, 2, GREEDY);
  assert.deepEqual(viaServer, out);
});

test("endpoint: same greedy completions as the local model; infill through Meta's text form", async () => {
  const g = new EndpointGenerator(server.url, "tiny");
  await g.probe();
  for (const t of he) {
    const req = taskRequest(t);
    assert.deepEqual((await g.generate(req, 0, 1, GREEDY)).map((s) => s.completion), (await local.generate(req, 0, 1, GREEDY)).map((s) => s.completion), t.taskId);
  }
  const body = server.requests[server.requests.length - 1];
  assert.deepEqual(body.stop, ["\nclass", "\ndef", "\n#", "\nif"]); // at most 4 sent; "\nprint" is cut here
  assert.equal(body.max_tokens, 24);
  assert.equal(body.temperature, 0);
  const req = taskRequest(infill[0]);
  assert.deepEqual(await g.generate(req, 0, 1, GREEDY), await local.generate(req, 0, 1, GREEDY).then((x) => x.map((s) => ({ ...s, finish: s.finish === "max-tokens" ? "length" : "stop" }))));
  assert.equal(server.requests[server.requests.length - 1].prompt, infillPromptText(infill[0].prompt, infill[0].suffix!, false));
});

test("endpoint: a server that returns fewer choices is asked for the rest, with the next seeds", async () => {
  const few = await startOpenAIServer(engine, { modelName: "tiny", maxChoices: 2 });
  try {
    const g = new EndpointGenerator(few.url, "tiny");
    const out = await g.generate(taskRequest(he[1]), 5, 5, SAMPLED);
    assert.equal(out.length, 5);
    assert.deepEqual(few.requests.map((r) => [r.n, r.seed]), [[5, 1239], [3, 1241], [1, 1243]]);
  } finally {
    await few.close();
  }
});

test("endpoint: 503 is retried; HTTP errors, bad answers and closed ports are one-line UserErrors", async () => {
  const flaky = await startOpenAIServer(engine, { modelName: "tiny", failFirst: 1 });
  try {
    const out = await new EndpointGenerator(flaky.url, "tiny").generate(taskRequest(he[0]), 0, 1, GREEDY);
    assert.equal(out.length, 1);
    assert.equal(flaky.requests.length, 2);
  } finally {
    await flaky.close();
  }
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes("\n");
  await assert.rejects(new EndpointGenerator(server.url, "other").generate(taskRequest(he[0]), 0, 1, GREEDY), oneLine(/HTTP 404: .*the model 'other' does not exist/));
  // Something that answers, but not as an OpenAI server.
  const odd = createServer((_q, s) => { s.writeHead(200, { "content-type": "application/json" }); s.end('{"result": "hello"}'); });
  await new Promise<void>((r) => odd.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
    await assert.rejects(new EndpointGenerator(url, "m").generate(taskRequest(he[0]), 0, 1, GREEDY), oneLine(/not an OpenAI completion \(choices: /));
  } finally {
    odd.close();
  }
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(new EndpointGenerator(`http://127.0.0.1:${port}`, "m").probe(), oneLine(new RegExp(`^--endpoint http://127\\.0\\.0\\.1:${port}/v1: cannot connect \\(ECONNREFUSED\\)$`)));
  await assert.rejects(new EndpointGenerator(`http://127.0.0.1:${port}`, "m").generate(taskRequest(he[0]), 0, 1, GREEDY), oneLine(/cannot connect \(ECONNREFUSED\)/));
});

test("endpoint: the API key goes in the Authorization header", async () => {
  const locked = await startOpenAIServer(engine, { modelName: "tiny", apiKey: "sk-test" });
  try {
    const out = await new EndpointGenerator(locked.url, "tiny", { apiKey: "sk-test" }).generate(taskRequest(he[0]), 0, 1, GREEDY);
    assert.equal(out.length, 1);
    await assert.rejects(new EndpointGenerator(locked.url, "tiny").generate(taskRequest(he[0]), 0, 1, GREEDY), (e: unknown) => e instanceof UserError && /HTTP 401: .*invalid api key/.test(e.message));
  } finally {
    await locked.close();
  }
});

test("endpointBase: with or without /v1 and trailing slashes; bad URLs refused", () => {
  assert.equal(endpointBase("http://localhost:8000"), "http://localhost:8000/v1");
  assert.equal(endpointBase("http://localhost:8000/"), "http://localhost:8000/v1");
  assert.equal(endpointBase("http://localhost:8000/v1/"), "http://localhost:8000/v1");
  assert.equal(endpointBase("https://host/proxy/v1"), "https://host/proxy/v1");
  assert.throws(() => endpointBase("localhost:8000"), UserError);
  assert.throws(() => endpointBase("not a url"), (e: unknown) => e instanceof UserError && /is not a URL/.test(e.message));
});
