// Chat prompts token by token: the Llama-2 [INST] format of 7B–34B Instruct (reference §3.7 (c)/(d),
// §5.1) and the 70B Source/Destination/<step> format (§3.7 (e), §5.2), plus the order rules, the
// special-tags rule and Python's strip(). Literal vectors were also checked with llama-tokenizer-js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chatFormat, chatPromptTokens, findSpecialTags, pyStrip, UNSAFE_ERROR, assistantMessage } from "../../src/prompt/chat.js";
import { parseMessages, formatMessages, checkMessageOrder, type ChatMessage } from "../../src/prompt/messages.js";
import { UserError } from "../../src/util/errors.js";
import { codeLlamaTok, stepTok, STEP_ID } from "./vocab.js";

const u = (content: string): ChatMessage => ({ role: "user", content });
const a = (content: string): ChatMessage => ({ role: "assistant", content });
const s = (content: string): ChatMessage => ({ role: "system", content });
const inst = (m: ChatMessage[]) => chatPromptTokens(codeLlamaTok(), m).tokens;
const step = (m: ChatMessage[]) => chatPromptTokens(stepTok(), m).tokens;

// ------------------------------------------------------------------ [INST] (7B–34B)

test("§3.7 (c): one user turn", () => {
  const p = chatPromptTokens(codeLlamaTok(), [u("Hi")]);
  assert.deepEqual(p.tokens, [1, 518, 25580, 29962, 6324, 518, 29914, 25580, 29962]);
  assert.deepEqual({ format: p.format, stopTokens: p.stopTokens, stopAtEos: p.stopAtEos }, { format: "inst", stopTokens: [], stopAtEos: true });
});

test("§3.7 (d): three turns, each completed pair is <s>…</s> with a trailing space (29871) before </s>", () => {
  assert.deepEqual(inst([u("Hi"), a("Hello!"), u("Bye")]),
    [1, 518, 25580, 29962, 6324, 518, 29914, 25580, 29962, 15043, 29991, 29871, 2, 1, 518, 25580, 29962, 2648, 29872, 518, 29914, 25580, 29962]);
});

test("a system message goes inside the first [INST] between <<SYS>> and <</SYS>>", () => {
  const SYS_HI = [518, 25580, 29962, 3532, 14816, 29903, 6778, 13, 3629, 11473, 29889, 13, 29966, 829, 14816, 29903, 6778, 13, 13, 18567, 518, 29914, 25580, 29962];
  assert.deepEqual(inst([s("Be brief."), u("Hi")]), [1, ...SYS_HI]);
  // multi-turn with the system prompt: only the first pair carries it
  assert.deepEqual(inst([s("Be brief."), u("Hi"), a("Hello!"), u("Bye")]),
    [1, ...SYS_HI, 15043, 29991, 29871, 2, 1, 518, 25580, 29962, 2648, 29872, 518, 29914, 25580, 29962]);
});

test("multi-turn without a system prompt: per-turn encoding (not one encode of the whole string)", () => {
  const tok = codeLlamaTok();
  const m = [u("Write fib"), a("def fib(n): ..."), u(" Now in JS "), a("\nfunction fib(n) {}\n"), u("Thanks")];
  assert.deepEqual(inst(m), [
    ...tok.encode("[INST] Write fib [/INST] def fib(n): ... ", { bos: true, eos: true }),
    ...tok.encode("[INST] Now in JS [/INST] function fib(n) {} ", { bos: true, eos: true }),
    ...tok.encode("[INST] Thanks [/INST]", { bos: true }),
  ]);
  assert.deepEqual(tok.encode("[INST] Write fib [/INST] def fib(n): ... ", { bos: true, eos: true }),
    [1, 518, 25580, 29962, 14350, 18755, 518, 29914, 25580, 29962, 822, 18755, 29898, 29876, 1125, 2023, 29871, 2]);
  assert.equal(inst(m).filter((t) => t === 1).length, 3);
  assert.equal(inst(m).filter((t) => t === 2).length, 2);
});

test("strip() is Python's: the merged first message is stripped at its outer ends, the system text is not", () => {
  const tok = codeLlamaTok();
  assert.deepEqual(inst([u("  Hi \n")]), inst([u("Hi")]));
  assert.deepEqual(inst([u("\x1c\x85Hi\u3000")]), inst([u("Hi")])); // Python strips these; JS trim() would not strip \x1c, \x85
  assert.deepEqual(inst([u("\ufeffHi")]), [1, 518, 25580, 29962, 29871, 30143, 18567, 518, 29914, 25580, 29962]); // Python keeps \ufeff; JS trim() would drop it
  assert.deepEqual(inst([s(" Be brief. "), u(" Hi ")]), tok.encode("[INST] <<SYS>>\n Be brief. \n<</SYS>>\n\n Hi [/INST]", { bos: true }));
  assert.deepEqual(inst([s("\n  sys\n"), u("Hi")]), tok.encode("[INST] <<SYS>>\n\n  sys\n\n<</SYS>>\n\nHi [/INST]", { bos: true }));
  assert.equal(pyStrip(" \t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000x y\u3000 "), "x y");
  assert.equal(pyStrip("\ufeffx\u200b"), "\ufeffx\u200b");
  assert.equal(pyStrip(""), "");
  assert.equal(pyStrip("   "), "");
});

// ------------------------------------------------------------------ 70B (<step>)

const SYS_HDR = [29871, 7562, 29901, 1788];           // " Source: system"
const USER_HDR = [29871, 7562, 29901, 1404];          // " Source: user"
const ASSIST_HDR = [29871, 7562, 29901, 20255];       // " Source: assistant"
const REPLY_HDR = [29871, 7562, 29901, 20255, 13, 14994, 3381, 29901, 1404]; // " Source: assistant\nDestination: user"
const BLANK = [29871, 13, 13, 29871];                 // "\n\n "

test("§3.7 (e): 70B dialog, user \"hi\", an empty system message inserted, STEP = 32015 (our choice)", () => {
  const STEP = STEP_ID;
  const p = chatPromptTokens(stepTok(), [u("hi")]);
  assert.deepEqual(p.tokens, [1, 29871, 7562, 29901, 1788, STEP, 29871, 7562, 29901, 1404, 29871, 13, 13, 7251, STEP, 29871, 7562, 29901, 20255, 13, 14994, 3381, 29901, 1404, 29871, 13, 13, 29871]);
  assert.deepEqual({ format: p.format, stopTokens: p.stopTokens, stopAtEos: p.stopAtEos }, { format: "step", stopTokens: [32015], stopAtEos: false });
  assert.equal(chatFormat(stepTok()), "step");
  assert.equal(chatFormat(codeLlamaTok()), "inst");
  // an explicit empty system message gives the same tokens
  assert.deepEqual(step([s(""), u("hi")]), p.tokens);
});

test("70B multi-turn with a system prompt; answers fed back with destination \"user\" get the Destination header", () => {
  const STEP = STEP_ID;
  const m = [s("You are terse."), u("hi"), assistantMessage("step", "Hello!"), u("Bye")];
  assert.deepEqual(m[2], { role: "assistant", destination: "user", content: "Hello!" });
  assert.deepEqual(step(m), [
    1,
    ...SYS_HDR, 29871, 13, 13, 887, 526, 1935, 344, 29889, STEP,
    ...USER_HDR, 29871, 13, 13, 7251, STEP,
    ...REPLY_HDR, 29871, 13, 13, 15043, 29991, STEP,
    ...USER_HDR, 29871, 13, 13, 2648, 29872, STEP,
    ...REPLY_HDR, ...BLANK,
  ]);
  // without a destination the assistant header is just " Source: assistant"
  assert.deepEqual(step([u("hi"), a("Hello!"), u("Bye")]).slice(15, 19), ASSIST_HDR);
  assert.deepEqual(step([u("hi"), a("Hello!"), u("Bye")]).slice(19, 24), [29871, 13, 13, 15043, 29991]);
});

test("70B: content is stripped; empty content has no body, whitespace-only content has an empty one", () => {
  const STEP = STEP_ID;
  assert.deepEqual(step([u("  hi\n")]), step([u("hi")]));
  assert.deepEqual(step([u("")]), [1, ...SYS_HDR, STEP, ...USER_HDR, STEP, ...REPLY_HDR, ...BLANK]);
  // the reference tests the raw content: "  " is truthy, so the body "\n\n " is there
  assert.deepEqual(step([u("  ")]), [1, ...SYS_HDR, STEP, ...USER_HDR, ...BLANK, STEP, ...REPLY_HDR, ...BLANK]);
  // the [INST] format on the same vocabulary would be different
  assert.notDeepEqual(step([u("hi")]), inst([u("hi")]));
});

// ------------------------------------------------------------------ order and special tags

function userError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    if (typeof message === "string") assert.equal(e.message, message); else assert.match(e.message, message);
    return true;
  });
}

test("roles must be [system], user, assistant, user, … and end with user (both formats)", () => {
  for (const tok of [codeLlamaTok(), stepTok()]) {
    userError(() => chatPromptTokens(tok, []), "the conversation has no messages; it needs at least one user message");
    userError(() => chatPromptTokens(tok, [s("x")]), "the conversation must end with a user message, but the last one is from the system");
    userError(() => chatPromptTokens(tok, [u("a"), a("b")]), "the conversation must end with a user message, but the last one is from the assistant");
    userError(() => chatPromptTokens(tok, [a("a"), u("b")]), "message 1 (assistant): expected a user message here; roles must be an optional system message, then user and assistant alternating, starting with user");
    userError(() => chatPromptTokens(tok, [u("a"), u("b")]), /^message 2 \(user\): expected a assistant message here/);
    userError(() => chatPromptTokens(tok, [s("a"), a("b"), u("c")]), /^message 2 \(assistant\): expected a user message/);
    userError(() => chatPromptTokens(tok, [u("a"), s("b"), u("c")]), /^message 2 \(system\): a system message may only come first/);
    userError(() => chatPromptTokens(tok, [{ role: "tool" as "user", content: "x" }]), /^message 1 \(tool\): the role must be "system", "user" or "assistant"/);
  }
});

test("special tags: refused with Meta's UNSAFE_ERROR text, naming message and tag; allowSpecialTags builds the prompt", () => {
  userError(() => chatPromptTokens(codeLlamaTok(), [u("what does [INST] mean?")]), `${UNSAFE_ERROR} (message 1 (user) contains "[INST]")`);
  userError(() => chatPromptTokens(codeLlamaTok(), [u("a"), a("x <step> y"), u("b")]), /message 2 \(assistant\) contains "<step>"/);
  userError(() => chatPromptTokens(stepTok(), [s("<<SYS>>"), u("b")]), /message 1 \(system\) contains "<<SYS>>"/);
  assert.deepEqual(findSpecialTags([u("[/INST] and <</SYS>>"), a("ok")]), [{ index: 0, tag: "[/INST]" }, { index: 0, tag: "<</SYS>>" }]);
  assert.deepEqual(findSpecialTags([u("[inst] <STEP> <sys>")]), []);
  // allowed: the tag is plain text (never a control token)
  const tok = codeLlamaTok();
  assert.deepEqual(chatPromptTokens(tok, [u("[INST]")], { allowSpecialTags: true }).tokens, tok.encode("[INST] [INST] [/INST]", { bos: true }));
  const st = chatPromptTokens(stepTok(), [u("<step>")], { allowSpecialTags: true }).tokens;
  assert.equal(st.filter((t) => t === STEP_ID).length, 2); // system's and user's; the text "<step>" is not the piece
});

// ------------------------------------------------------------------ saved conversations

test("parseMessages: arrays or {messages}, roles checked, histories may end with the answer", () => {
  const m = [s("sys"), u("q"), { role: "assistant", content: "a", destination: "user" }];
  assert.deepEqual(parseMessages(formatMessages(m as ChatMessage[]), "h.json"), m);
  assert.deepEqual(parseMessages(JSON.stringify({ messages: [u("q")] }), "h.json"), [u("q")]);
  assert.deepEqual(parseMessages("\ufeff[]", "h.json"), []);
  assert.deepEqual(parseMessages('[{"role":"user","content":"q","extra":1,"destination":null}]', "h.json"), [u("q")]);
  assert.equal(formatMessages([u("q")]), '[\n  {\n    "role": "user",\n    "content": "q"\n  }\n]\n');
  userError(() => parseMessages("[{]", "h.json"), /^h\.json: not valid JSON \(/);
  userError(() => parseMessages("", "h.json"), /^h\.json: not valid JSON/);
  userError(() => parseMessages('{"role":"user"}', "h.json"), 'h.json: expected a JSON array of {"role", "content"} messages');
  userError(() => parseMessages('["hi"]', "h.json"), 'h.json: message 1 is not an object with "role" and "content"');
  userError(() => parseMessages('[{"role":"bot","content":"x"}]', "h.json"), 'h.json: message 1: "role" must be "system", "user" or "assistant", got "bot"');
  userError(() => parseMessages('[{"content":"x"}]', "h.json"), 'h.json: message 1: "role" must be "system", "user" or "assistant", got nothing');
  userError(() => parseMessages('[{"role":"user","content":3}]', "h.json"), 'h.json: message 1: "content" must be a string');
  userError(() => parseMessages('[{"role":"user","content":"x","destination":3}]', "h.json"), 'h.json: message 1: "destination" must be a string');
  userError(() => parseMessages('[{"role":"user","content":"x"},{"role":"user","content":"y"}]', "h.json"), /^h\.json: message 2 \(user\): expected a assistant message/);
  checkMessageOrder([], { endWithUser: false });
  checkMessageOrder([s("x")], { endWithUser: false });
});
