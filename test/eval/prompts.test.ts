// Prompts on the real data: HumanEval zero-shot (the prompt as it stands), the MBPP 3-shot
// [BEGIN]/[DONE] prompt character for character (shots 2, 3, 4 with their \r\n code), MBPP+
// (description out of the docstring), infill requests in PSM/SPM; cutting at stop sequences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadTasks, mbppShotTasks } from "../../src/eval/datasets.js";
import { completionFrom, cutAtStops, HUMANEVAL_STOPS, mbppPrompt, mbppText, taskRequest } from "../../src/eval/prompts.js";
import { SHARED_DATA } from "../helpers/paths.js";

const he = loadTasks("humaneval", join(SHARED_DATA, "humaneval"));
const mbpp = loadTasks("mbpp", join(SHARED_DATA, "mbpp"));
const shots = mbppShotTasks(join(SHARED_DATA, "mbpp"));

/** MBPP records straight from the file (not through the loader). */
const rawMbpp = new Map(readFileSync(join(SHARED_DATA, "mbpp", "mbpp.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => {
  const r = JSON.parse(l) as { task_id: number; text: string; code: string; test_list: string[] };
  return [r.task_id, r] as const;
}));

test("HumanEval: the task's prompt, unchanged, with the HumanEval paper's stop sequences", () => {
  const req = taskRequest(he[0]);
  assert.equal(req.kind, "complete");
  assert.equal(req.kind === "complete" && req.prompt, he[0].prompt);
  assert.ok(he[0].prompt.startsWith("from typing import List\n\n\ndef has_close_elements("));
  assert.deepEqual(req.kind === "complete" && req.stop, ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]);
});

test("MBPP: Austin et al.'s 3-shot prompt, exactly", () => {
  const q = (id: number) => {
    const r = rawMbpp.get(id)!;
    return `You are an expert Python programmer, and here is your task: ${r.text} Your code should pass these tests:\n\n${r.test_list[0]}\n${r.test_list[1]}\n${r.test_list[2]}\n[BEGIN]\n`;
  };
  const want = [2, 3, 4].map((id) => `${q(id)}${rawMbpp.get(id)!.code}\n[DONE]`).join("\n\n") + `\n\n${q(11)}`;
  const t11 = mbpp.find((t) => t.taskId === "11")!;
  const req = taskRequest(t11, { shots });
  assert.equal(req.kind === "complete" && req.prompt, want);
  assert.deepEqual(req.kind === "complete" && req.stop, ["[DONE]"]);
  // Literal pieces, independent of the reconstruction above.
  const p = mbppPrompt(t11, shots);
  assert.ok(p.startsWith("You are an expert Python programmer, and here is your task: Write a function to find the similar elements from the given two tuple lists. Your code should pass these tests:\n\nassert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"));
  assert.ok(p.includes("[BEGIN]\ndef similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) \n[DONE]\n\nYou are an expert Python programmer, and here is your task: Write a python function to identify non-prime numbers."));
  assert.ok(p.endsWith("Your code should pass these tests:\n\nassert remove_Occ(\"hello\",\"l\") == \"heo\"\nassert remove_Occ(\"abcda\",\"a\") == \"bcd\"\nassert remove_Occ(\"PHP\",\"P\") == \"H\"\n[BEGIN]\n"));
  assert.equal(p.split("[BEGIN]").length - 1, 4);
  assert.equal(p.split("[DONE]").length - 1, 3);
});

test("MBPP+: the description comes out of EvalPlus's docstring; three base asserts are shown", () => {
  const plus = loadTasks("mbpp-plus", join(SHARED_DATA, "mbpp-plus"));
  const t = plus.find((x) => x.taskId === "Mbpp/3")!;
  assert.equal(mbppText(t), "Write a python function to identify non-prime numbers.");
  const req = taskRequest(t, { shots });
  const p = req.kind === "complete" ? req.prompt : "";
  assert.ok(p.endsWith("here is your task: Write a python function to identify non-prime numbers. Your code should pass these tests:\n\nassert is_not_prime(1) == True\nassert is_not_prime(2) == False\nassert is_not_prime(10) == True\n[BEGIN]\n"), p.slice(-300));
});

test("Infilling: prefix and suffix of the task, PSM by default, SPM on request", () => {
  const inf = loadTasks("humaneval-infill-single", join(SHARED_DATA, "humaneval-infilling"));
  const t = inf[0];
  assert.deepEqual(taskRequest(t), { kind: "infill", prefix: t.prompt, suffix: t.suffix, spm: false });
  assert.deepEqual(taskRequest(t, { mode: "spm" }), { kind: "infill", prefix: t.prompt, suffix: t.suffix, spm: true });
  // Infills are never cut, even at what would be a stop sequence elsewhere.
  assert.equal(completionFrom(taskRequest(t), "x = 1\nif y:\n# c"), "x = 1\nif y:\n# c");
});

test("cutAtStops: the text before the earliest stop", () => {
  assert.equal(cutAtStops("    return x\n\ndef g():\n    pass", HUMANEVAL_STOPS), "    return x\n");
  assert.equal(cutAtStops("    if a:\n        return 1\n    return 2\nprint(f(1))", HUMANEVAL_STOPS), "    if a:\n        return 1\n    return 2");
  assert.equal(cutAtStops("    return 1\n# test\nclass A: pass", HUMANEVAL_STOPS), "    return 1");
  assert.equal(cutAtStops("no stop here", HUMANEVAL_STOPS), "no stop here");
  assert.equal(cutAtStops("def f():\r\n  return 1\n[DONE]\n\nYou are", ["[DONE]"]), "def f():\r\n  return 1\n");
});
