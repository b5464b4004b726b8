/** `codellama tokenize`: options, output formats, and errors as UserErrors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { register, runTokenize } from "../../src/cli/commands/tokenize.js";
import { UserError } from "../../src/util/errors.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { codeLlamaVocabPath } from "./fixtures.js";

/** Run `codellama tokenize ...args` through commander and capture stdout. */
async function run(args: string[]): Promise<string> {
  const program = new Command("codellama").exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  let out = "";
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "codellama", "tokenize", ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test("plain output: id<TAB>piece per line, BOS first", async () => {
  const out = await run(["--model", LLAMA_VOCAB_GGUF, "Hello world"]);
  assert.equal(out, "1\t<s>\n15043\t▁Hello\n3186\t▁world\n");
});

test("--json, --no-bos, --infill", async () => {
  const path = codeLlamaVocabPath();
  assert.equal(await run(["--model", path, "--json", "x"]), '{"ids":[1,921],"pieces":["<s>","▁x"]}\n');
  assert.equal(await run(["--model", path, "--json", "--no-bos", "x"]), '{"ids":[921],"pieces":["▁x"]}\n');
  assert.equal(await run(["--model", path, "--json", "--no-bos", "--infill", "x"]), '{"ids":[29916],"pieces":["x"]}\n');
  assert.equal(await run(["-m", path, "--infill", "\n"]), "1\t<s>\n13\t<0x0A>\n");
});

test("text is never parsed for special tokens", () => {
  const j = JSON.parse(runTokenize("<s> <PRE>", { model: codeLlamaVocabPath(), json: true, bos: false }));
  assert.deepEqual(j.ids, [529, 29879, 29958, 32002, 29958]);
});

test("a missing or unreadable model is a UserError naming the file", () => {
  assert.throws(() => runTokenize("x", { model: "/nonexistent/model.gguf" }), (e) => e instanceof UserError && /\/nonexistent\/model\.gguf: no such file/.test(e.message));
  mkdirSync(SCRATCH, { recursive: true });
  const junk = join(SCRATCH, "junk.model");
  writeFileSync(junk, "not a tokenizer at all");
  assert.throws(() => runTokenize("x", { model: junk }), (e) => e instanceof UserError && e.message.startsWith(`${junk}: at byte `));
});

test("--model is required", async () => {
  await assert.rejects(run(["text"]), /required option '-m, --model <file>' not specified/);
});
