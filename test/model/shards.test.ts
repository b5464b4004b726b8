// A model split across several WebAssembly memories (layer shards) computes exactly what one
// memory does: the same logits to the bit, for prefill and decode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { SCRATCH } from "../helpers/paths.js";

test("layer shards across memories give bit-identical logits", async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "shards-q4_0.gguf");
  writeSynthLlama(path, { dim: 256, layers: 6, heads: 4, kvHeads: 2, ffn: 512, type: "q4_0", seed: 4 });
  const f = openModel(path);
  try {
    const run = async (maxShardBytes?: number) => {
      const m = await LlamaModel.load(f, { ctx: 64, threads: 2, batch: 8, maxShardBytes });
      try {
        const prompt = [1, 5, 9, 200, 31, 77, 12, 3, 99, 150, 6];
        const a = m.prefill(prompt, 0, "all");
        const b = m.forward([42], prompt.length, "last");
        return { shards: m.plan.shards.map((s) => s.layers), logits: [...a, ...b] };
      } finally { await m.close(); }
    };
    const one = await run();
    const many = await run(1024 * 1024); // 1 MB per memory: two layers each
    assert.equal(one.shards.length, 1);
    assert.ok(many.shards.length >= 3, `expected several shards, got ${JSON.stringify(many.shards)}`);
    assert.deepEqual(many.shards.flat(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(many.logits, one.logits);
  } finally { f.close(); }
});
