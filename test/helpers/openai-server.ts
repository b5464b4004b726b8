/**
 * A minimal OpenAI-compatible server for tests, on loopback, built on node:http around our
 * Engine: `GET /v1/models` and `POST /v1/completions` (prompt, max_tokens, temperature, top_p,
 * n, stop, seed). Requests are served one at a time (one KV cache). Like a FIM-aware server, a
 * prompt in Meta's text form `<PRE> {prefix} <SUF>{suffix} <MID>` (or the SPM form) is run as an
 * infill. Options let a test make it return fewer choices than asked (as llama.cpp does for n)
 * or fail the first requests, and every request body is kept for the test to inspect.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Engine } from "../../src/engine/engine.js";

export interface OpenAIServerOptions {
  /** The model name the server answers to (default "tiny"). */
  modelName?: string;
  /** Most choices returned per request, whatever n is asked (default: all). */
  maxChoices?: number;
  /** Answer the first `failFirst` completion requests with HTTP 503. */
  failFirst?: number;
  /** Require `Authorization: Bearer KEY` (HTTP 401 otherwise). */
  apiKey?: string;
}

export interface OpenAIServer {
  /** e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  /** Completion request bodies, in order. */
  requests: Record<string, unknown>[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const PSM = /^<PRE> ([\s\S]*) <SUF>([\s\S]*) <MID>$/;
const SPM = /^<PRE> <SUF>([\s\S]*) <MID> ([\s\S]*)$/;

export async function startOpenAIServer(engine: Engine, o: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const name = o.modelName ?? "tiny";
  const requests: Record<string, unknown>[] = [];
  let failures = o.failFirst ?? 0;
  let queue: Promise<unknown> = Promise.resolve();

  async function complete(body: Record<string, unknown>): Promise<{ text: string; finish: string }[]> {
    const prompt = String(body.prompt ?? "");
    const n = Math.min(Number(body.n ?? 1), o.maxChoices ?? Infinity);
    const stop = Array.isArray(body.stop) ? (body.stop as string[]) : typeof body.stop === "string" ? [body.stop] : [];
    const out: { text: string; finish: string }[] = [];
    for (let i = 0; i < n; i++) {
      const opts = {
        maxTokens: Number(body.max_tokens ?? 16), temperature: Number(body.temperature ?? 1), topP: Number(body.top_p ?? 1),
        seed: (Number(body.seed ?? 0) + i) >>> 0,
      };
      const psm = PSM.exec(prompt), spm = psm ? null : SPM.exec(prompt);
      const r = psm || spm
        ? await engine.infill(psm ? psm[1] : spm![2], psm ? psm[2] : spm![1], { ...opts, spm: spm !== null }).result
        : await engine.complete(prompt, { ...opts, stopStrings: stop, stopAtEos: true }).result;
      out.push({ text: r.text, finish: r.stopReason === "max-tokens" ? "length" : "stop" });
    }
    return out;
  }

  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) return send(res, 401, { error: { message: "invalid api key" } });
        if (req.method === "GET" && req.url === "/v1/models") return send(res, 200, { object: "list", data: [{ id: name, object: "model" }] });
        if (req.method !== "POST" || req.url !== "/v1/completions") return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
        const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
        requests.push(body);
        if (failures > 0) { failures--; return send(res, 503, { error: { message: "busy, try again" } }); }
        if (body.model !== name) return send(res, 404, { error: { message: `the model '${String(body.model)}' does not exist` } });
        const run = queue.then(() => complete(body));
        queue = run.catch(() => undefined);
        const choices = await run;
        send(res, 200, {
          id: `cmpl-${requests.length}`, object: "text_completion", created: 0, model: name,
          choices: choices.map((c, index) => ({ text: c.text, index, logprobs: null, finish_reason: c.finish })),
        });
      } catch (e) {
        const msg = (e as Error).message;
        // As vLLM words it: a prompt that does not fit is the client's fault.
        if (/context holds/.test(msg)) return send(res, 400, { error: { message: `This model's maximum context length is ${engine.model.ctx} tokens. ${msg}` } });
        send(res, 500, { error: { message: msg } });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
