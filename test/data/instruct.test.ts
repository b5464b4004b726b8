// Instruction data: [INST] training sequences exactly like the inference chat prompt
// (src/prompt/chat.ts; golden vector §3.7 (d)), loss masks on exactly the answer tokens and their
// EOS, JSONL parsing with line-numbered errors, and a whole instruct dataset read back.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInstructDataset, dialogTokens, parseDialogs } from "../../src/data/instruct.js";
import { PackedDataset } from "../../src/data/reader.js";
import { chatPromptTokens } from "../../src/prompt/chat.js";
import type { ChatMessage } from "../../src/prompt/messages.js";
import { codeLlamaTok, stepTok } from "../prompt/vocab.js";
import { scratchDir } from "./fixture.js";

const dir = scratchDir("instruct");
after(() => rmSync(dir, { recursive: true, force: true }));

test("§3.7 (d): the answered turn is the golden vector; the mask is exactly '▁Hello ! ▁ </s>'; the unanswered last turn is dropped", () => {
  const msgs: ChatMessage[] = [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }, { role: "user", content: "Bye" }];
  const r = dialogTokens(codeLlamaTok(), msgs)!;
  assert.deepEqual(r.tokens, [1, 518, 25580, 29962, 6324, 518, 29914, 25580, 29962, 15043, 29991, 29871, 2]);
  assert.deepEqual([...r.mask], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(r.droppedLastUser, true);
});

test("every turn's prompt is the inference prompt (chatPromptTokens); the mask covers exactly the answers and their EOS", () => {
  const tok = codeLlamaTok();
  const msgs: ChatMessage[] = [
    { role: "system", content: "Provide answers in JavaScript" },
    { role: "user", content: "  Write a function that adds two numbers.\n" },
    { role: "assistant", content: "```js\nfunction add(a, b) {\n  return a + b;\n}\n```" },
    { role: "user", content: "Now subtract." },
    { role: "assistant", content: " const sub = (a, b) => a - b; " },
  ];
  const r = dialogTokens(tok, msgs)!;
  assert.equal(r.droppedLastUser, false);
  let at = 0;
  for (const k of [1, 3]) {
    // the prompt up to user turn k, as `codellama chat` builds it
    const prompt = chatPromptTokens(tok, msgs.slice(0, k + 1)).tokens;
    assert.deepEqual(r.tokens.slice(0, prompt.length), prompt, `turn ${k}`);
    assert.ok([...r.mask.subarray(at, prompt.length)].every((m) => m === 0), `prompt of turn ${k} is not a target`);
    // the answer: "▁" + answer.strip() + " " then EOS, all targets
    const end = r.tokens.indexOf(2, prompt.length) + 1;
    const answer = tok.decode(r.tokens.slice(prompt.length, end - 1));
    assert.equal(answer, msgs[k + 1].content.trim() + " ");
    assert.ok([...r.mask.subarray(prompt.length, end)].every((m) => m === 1), `answer of turn ${k}`);
    at = end;
  }
  assert.equal(at, r.tokens.length);
  // exactly two BOS and two EOS: one pair each
  assert.deepEqual([r.tokens.filter((t) => t === 1).length, r.tokens.filter((t) => t === 2).length], [2, 2]);
});

test("dialogs without an answer give nothing; the 70B <step> vocabulary is refused", () => {
  const tok = codeLlamaTok();
  assert.equal(dialogTokens(tok, [{ role: "user", content: "Hi" }]), undefined);
  assert.equal(dialogTokens(tok, [{ role: "system", content: "S" }, { role: "user", content: "Hi" }]), undefined);
  assert.throws(() => dialogTokens(stepTok(), [{ role: "user", content: "Hi" }, { role: "assistant", content: "Yo" }]), /<step> piece.*\[INST\] format/);
});

test("JSONL: {dialog} and {messages}, blank lines skipped; bad lines name file, line and field", () => {
  const ok = parseDialogs('{"dialog":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n\n{"messages":[{"role":"user","content":"c"}]}\n', "d.jsonl");
  assert.deepEqual(ok.map((d) => d.line), [1, 3]);
  assert.equal(ok[1].messages[0].content, "c");
  assert.throws(() => parseDialogs('{"dialog":[]}\n{"dialog": [', "d.jsonl"), /^UserError: d\.jsonl:2: not valid JSON/);
  assert.throws(() => parseDialogs('{"dialog":[{"role":"bot","content":"x"}]}', "d.jsonl"), /d\.jsonl:1: dialog\.0\.role: Invalid option/);
  assert.throws(() => parseDialogs('{"messages":[{"role":"user","content":1}]}', "d.jsonl"), /d\.jsonl:1: messages\.0\.content: Invalid input: expected string/);
  assert.throws(() => parseDialogs('{"text":"hello"}', "d.jsonl"), /d\.jsonl:1: expected \{"dialog": \[\{"role", "content"\}, \.\.\.\]\} or \{"messages": \[\.\.\.\]\}/);
  assert.throws(() => parseDialogs('{"dialog":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}', "d.jsonl"), /d\.jsonl:1: message 2 \(user\): expected a assistant message here/);
});

test("an instruct dataset: counts, DOC_INSTRUCT, and the stored masks equal dialogTokens' masks", () => {
  const tok = codeLlamaTok();
  const lines: string[] = [];
  const dialogs: ChatMessage[][] = [];
  for (let i = 0; i < 40; i++) {
    const d: ChatMessage[] = [{ role: "user", content: `Question ${i}: what is ${i} + ${i}?` }, { role: "assistant", content: `It is ${2 * i}.` }];
    if (i % 3 === 0) d.push({ role: "user", content: "And times two?" }, { role: "assistant", content: `${4 * i}` });
    if (i % 5 === 0) d.push({ role: "user", content: "Thanks" });
    dialogs.push(d);
    lines.push(JSON.stringify(i % 2 ? { dialog: d } : { messages: d }));
  }
  lines.push(JSON.stringify({ dialog: [{ role: "user", content: "no answer" }] }));
  lines.push(JSON.stringify({ dialog: [{ role: "user", content: "What is [INST]?" }, { role: "assistant", content: "a tag" }] }));
  lines.push(JSON.stringify({ dialog: [{ role: "user", content: "long " + "word ".repeat(300) }, { role: "assistant", content: "ok" }] }));
  const input = join(dir, "dialogs.jsonl");
  writeFileSync(input, lines.join("\n") + "\n");
  const out = join(dir, "ds");
  const { manifest } = buildInstructDataset({ input, out, tokenizer: tok, tokenizerFile: "v", ctx: 128, val: 0.1, seed: 3 });
  assert.deepEqual(manifest.dialogs, { read: 43, used: 40, noAnswer: 1, specialTags: 1, tooLong: 1, lastUserDropped: 8 });
  assert.equal(manifest.kind, "instruct");
  assert.deepEqual([manifest.splits.train.documents, manifest.splits.val.documents], [36, 4]);
  const want = new Map(dialogs.map((d) => { const r = dialogTokens(tok, d)!; return [r.tokens.join(","), [...r.mask].join("")]; }));
  let targets = 0;
  for (const split of ["train", "val"] as const) {
    const ds = PackedDataset.open(out, split);
    for (let d = 0; d < ds.numDocuments; d++) {
      assert.equal(ds.documentInfo(d).instruct, true);
      const { tokens, mask } = ds.document(d);
      const key = [...tokens].join(",");
      assert.equal(want.get(key), [...mask].join(""), `document ${d}`);
      want.delete(key);
      targets += mask.reduce((s, m) => s + m, 0);
    }
    ds.close();
  }
  assert.equal(want.size, 0, "every dialog is in the dataset once");
  assert.equal(targets, manifest.splits.train.targetTokens + manifest.splits.val.targetTokens);
});
