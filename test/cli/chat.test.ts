// `codellama chat` end to end on tiny random models: --message/--json for scripts (with --history,
// --system and --save), the 70B format when the vocabulary has <step>, the interactive chat driven
// through stdin (/reset, a question, /save, /load, Ctrl-C), and one-line errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chatPromptTokens } from "../../src/prompt/chat.js";
import type { ChatMessage } from "../../src/prompt/messages.js";
import { assertUserError, CLI, runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { codeLlamaTok, stepTok } from "../prompt/vocab.js";
import { DIR, tinyModel } from "../prompt/models.js";

const MODEL = tinyModel("fim");
const WORK = join(DIR, "cli-chat");
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const GREEDY = ["-t", "1", "-n", "8", "--temperature", "0"];

interface ChatJson { message: ChatMessage; messages: ChatMessage[]; promptTokens: number[]; tokens: number[]; stopReason: string }
function ask(args: string[], model = MODEL): ChatJson {
  const r = runCli(["chat", "-m", model, ...GREEDY, "--json", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ChatJson;
}

test("--message --json: the [INST] prompt, the answer as a message, the whole conversation", () => {
  const tok = codeLlamaTok();
  const j = ask(["--system", "Be brief.", "--message", "Write fib"]);
  assert.deepEqual(Object.keys(j), ["message", "messages", "promptTokens", "tokens", "stopReason"]);
  const asked: ChatMessage[] = [{ role: "system", content: "Be brief." }, { role: "user", content: "Write fib" }];
  assert.deepEqual(j.promptTokens, chatPromptTokens(tok, asked).tokens);
  assert.equal(j.tokens.length, 8);
  assert.equal(j.stopReason, "max-tokens");
  assert.deepEqual(j.message, { role: "assistant", content: tok.decode(j.tokens) });
  assert.deepEqual(j.messages, [...asked, j.message]);
  // streamed: the answer and a newline
  const s = runCli(["chat", "-m", MODEL, ...GREEDY, "--system", "Be brief.", "--message", "Write fib"]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, j.message.content + "\n");
});

test("--history continues a saved conversation, --system replaces its system prompt, --save writes it with the answer", () => {
  const tok = codeLlamaTok();
  const hist: ChatMessage[] = [{ role: "system", content: "old" }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }];
  const h = join(WORK, "history.json"), out = join(WORK, "out.json");
  writeFileSync(h, JSON.stringify(hist));
  const j = ask(["--history", h, "--message", "Bye", "--save", out]);
  assert.deepEqual(j.promptTokens, chatPromptTokens(tok, [...hist, { role: "user", content: "Bye" }]).tokens);
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), j.messages);
  assert.equal(j.messages.length, 5);
  const k = ask(["--history", h, "--system", "new", "--message", "Bye"]);
  assert.deepEqual(k.messages.slice(0, 4), [{ role: "system", content: "new" }, ...hist.slice(1), { role: "user", content: "Bye" }]);
});

test("a vocabulary with <step> uses the 70B format; its answers carry destination \"user\"", () => {
  const j = ask(["--message", "hi"], tinyModel("step"));
  assert.deepEqual(j.promptTokens, chatPromptTokens(stepTok(), [{ role: "user", content: "hi" }]).tokens);
  assert.deepEqual(j.message, { role: "assistant", destination: "user", content: stepTok().decode(j.tokens) });
});

test("bad input: one line, exit 1", () => {
  const bad = join(WORK, "bad.json"), order = join(WORK, "order.json");
  writeFileSync(bad, '[{"role": "user", "content": "hi"');
  writeFileSync(order, JSON.stringify([{ role: "assistant", content: "x" }]));
  assertUserError(runCli(["chat", "-m", MODEL, "--history", bad, "--message", "x"]), /^codellama: .*bad\.json: not valid JSON \(.*\)$/m);
  assertUserError(runCli(["chat", "-m", MODEL, "--history", order, "--message", "x"]), /order\.json: message 1 \(assistant\): expected a user message here/);
  assertUserError(runCli(["chat", "-m", MODEL, "--history", join(WORK, "nope.json"), "--message", "x"]), /nope\.json: no such file/);
  assertUserError(runCli(["chat", "-m", MODEL, "--message", "x ".repeat(40), "--ctx", "16"]), /the prompt has \d+ tokens but the context holds 16/);
  assertUserError(runCli(["chat", "-m", MODEL, "--message", "what is [INST]?"]), /Error: special tags are not allowed as part of the prompt\. \(message 1 \(user\) contains "\[INST\]"\)/);
  assertUserError(runCli(["chat", "-m", MODEL, "--json"]), /--json needs --message/);
  // --allow-special-tags lets it through
  assert.equal(runCli(["chat", "-m", MODEL, ...GREEDY, "--message", "what is [INST]?", "--allow-special-tags"]).code, 0);
});

test("interactive: /reset, a question, /save (stdin driven); the answer equals --message's", () => {
  const saved = join(WORK, "conv.json");
  const r = runCli(["chat", "-m", MODEL, ...GREEDY], { input: `Hello there\n/reset\nWrite fib\n/save ${saved}\n` });
  assert.equal(r.code, 0, r.stderr);
  const once = ask(["--message", "Write fib"]);
  assert.deepEqual(JSON.parse(readFileSync(saved, "utf8")), once.messages);
  assert.ok(r.stdout.endsWith("\n" + once.message.content + "\n"), JSON.stringify(r.stdout));
  assert.equal(r.stdout.split("\n").length, 3); // two answers (one line each here), no prompts without a terminal
  assert.match(r.stderr, /^\(conversation cleared\)\n\(saved 2 messages to .*conv\.json\)\n$/);
  // with a system prompt, /reset keeps it
  const r2 = runCli(["chat", "-m", MODEL, ...GREEDY, "--system", "Be brief."], { input: `Hello there\n/reset\nWrite fib\n/save ${saved}\n/exit\nnot asked\n` });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(JSON.parse(readFileSync(saved, "utf8")), ask(["--system", "Be brief.", "--message", "Write fib"]).messages);
});

test("interactive: /load continues a conversation; a bad file, an unknown command or a long prompt is one error line, and the chat goes on", () => {
  const hist = join(WORK, "hist.json"), bad = join(WORK, "bad-load.json"), saved = join(WORK, "after-load.json");
  writeFileSync(hist, JSON.stringify([{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }]));
  writeFileSync(bad, "{not json");
  const input = `/load ${bad}\n/load\n/frobnicate\n${"x ".repeat(80)}\n/load ${hist}\nBye\n/save ${saved}\n`;
  const r = runCli(["chat", "-m", MODEL, ...GREEDY, "--ctx", "64"], { input });
  assert.equal(r.code, 0, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 4, r.stderr);
  assert.match(errors[0], /^error: .*bad-load\.json: not valid JSON/);
  assert.equal(errors[1], "error: /load needs a file name: /load FILE");
  assert.equal(errors[2], "error: unknown command /frobnicate (try /help)");
  assert.match(errors[3], /^error: the prompt has \d+ tokens but the context holds 64/);
  assert.match(r.stderr, /\(loaded 2 messages from .*hist\.json\)/);
  const conv = JSON.parse(readFileSync(saved, "utf8")) as ChatMessage[];
  assert.deepEqual(conv.slice(0, 3), [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }, { role: "user", content: "Bye" }]);
  assert.deepEqual(conv, ask(["--history", hist, "--message", "Bye", "--ctx", "64"]).messages);
});

test("interactive: Ctrl-C (SIGINT) stops the current answer without leaving the chat", async () => {
  const saved = join(WORK, "interrupted.json");
  const child = spawn(process.execPath, [...CLI, "chat", "-m", MODEL, "-t", "1", "--temperature", "0", "-n", "4000"], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  child.stdout.setEncoding("utf8");
  // 1. Ask; at the first streamed text, press Ctrl-C.
  child.stdin.write("Write fib\n");
  await new Promise<void>((res) => child.stdout.once("data", (d) => { stdout += d; res(); }));
  child.kill("SIGINT");
  child.stdout.on("data", (d) => { stdout += d; });
  // 2. The answer ends with "(stopped)"; then the chat still takes commands.
  while (!stderr.includes("(stopped)")) {
    assert.equal(child.exitCode, null, stderr);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.stdin.end(`/save ${saved}\n`);
  assert.equal(await exited, 0, stderr);
  const conv = JSON.parse(readFileSync(saved, "utf8")) as ChatMessage[];
  assert.deepEqual(conv.map((m) => m.role), ["user", "assistant"]);
  assert.equal(conv[1].content + "\n", stdout);
  // far fewer than the 4000 tokens asked for (the uninterrupted answer fills the context)
  assert.ok(codeLlamaTok().encode(conv[1].content).length < 3000, `${conv[1].content.length} characters`);
});
