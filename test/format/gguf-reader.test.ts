import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { SHARED } from "../helpers/paths.js";

test("reads the llama SPM vocab GGUF header", () => {
  const g = GGUFFile.open(join(SHARED, "data/llama-spm-vocab/ggml-vocab-llama-spm.gguf"));
  try {
    assert.equal(g.version, 3);
    assert.equal(g.metadata.size, 22);
    assert.equal(g.tensors.length, 0);
    assert.equal(g.getString("tokenizer.ggml.model"), "llama");
    assert.equal((g.get("tokenizer.ggml.tokens") as string[]).length, 32000);
    assert.equal((g.get("tokenizer.ggml.tokens") as string[])[29871], "\u2581");
    assert.equal(g.getNumber("tokenizer.ggml.bos_token_id"), 1);
    assert.equal(g.getBool("tokenizer.ggml.add_bos_token"), true);
  } finally {
    g.close();
  }
});

test("a GGUF read and written again is identical to the byte", async () => {
  const { readFileSync } = await import("node:fs");
  const { encodeGGUF } = await import("../../src/format/gguf-writer.js");
  const path = join(SHARED, "data/llama-spm-vocab/ggml-vocab-llama-spm.gguf");
  const bytes = readFileSync(path);
  const g = GGUFFile.parse(bytes);
  const again = encodeGGUF({ metadata: g.metadata, tensors: [] });
  assert.equal(Buffer.compare(Buffer.from(again), bytes), 0);
});
