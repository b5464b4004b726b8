// `codellama tokenize` through the real binary (the command must be registered in main.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF } from "../helpers/paths.js";

test("codellama tokenize --json prints ids and pieces, BOS first; --no-bos and --infill", () => {
  const r = runCli(["tokenize", "--model", LLAMA_VOCAB_GGUF, "--json", "def fib(n):"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ids: [1, 822, 18755, 29898, 29876, 1125], pieces: ["<s>", "▁def", "▁fib", "(", "n", "):"] });
  const nb = JSON.parse(runCli(["tokenize", "--model", LLAMA_VOCAB_GGUF, "--json", "--no-bos", "x"]).stdout);
  assert.deepEqual(nb.ids, [921]); // ▁x
  const inf = JSON.parse(runCli(["tokenize", "--model", LLAMA_VOCAB_GGUF, "--json", "--no-bos", "--infill", "x"]).stdout);
  assert.deepEqual(inf.ids, [29916]); // x, no dummy-prefix space (the ☺ trick)
});

test("codellama tokenize on a missing model is one line, exit 1", () => {
  assertUserError(runCli(["tokenize", "--model", "/nonexistent/model.gguf", "x"]), /\/nonexistent\/model\.gguf/);
});
