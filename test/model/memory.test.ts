// Loading never holds two copies of the weights: the process's peak RSS grows by about the planned
// memories (weights + KV cache + activations) and no more. Measured in a fresh child process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { REPO_ROOT, SCRATCH } from "../helpers/paths.js";

test("peak RSS stays near weights + KV cache + activations", () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "rss-f32.gguf");
  writeSynthLlama(path, { dim: 1024, layers: 4, heads: 8, kvHeads: 8, ffn: 2816, type: "f32", seed: 2 }); // ~205 MB
  const dist = import.meta.url.endsWith(".ts") ? "src" : "dist/src";
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const script = `
    const { openModel } = await import(${JSON.stringify(join(REPO_ROOT, dist, `format/model-file.${ext}`))});
    const { LlamaModel } = await import(${JSON.stringify(join(REPO_ROOT, dist, `model/llama.${ext}`))});
    const before = process.resourceUsage().maxRSS * 1024;
    const f = openModel(${JSON.stringify(path)});
    const m = await LlamaModel.load(f, { ctx: 512, threads: 2 });
    m.prefill([1, 2, 3, 4, 5, 6, 7, 8], 0);
    const after = process.resourceUsage().maxRSS * 1024;
    console.log(JSON.stringify({ grew: after - before, planned: m.plan.totalBytes, weights: m.plan.weightBytes }));
    await m.close();`;
  const file = join(SCRATCH, "rss-child.mjs"); // a file, not --eval: the pool's workers inherit execArgv
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [...(ext === "ts" ? ["--import", "tsx"] : []), file], { encoding: "utf8", cwd: REPO_ROOT });
  assert.equal(r.status, 0, r.stderr);
  const { grew, planned, weights } = JSON.parse(r.stdout);
  assert.ok(weights > 200e6, `weights ${weights}`);
  // one copy of everything planned, plus at most 64 MB for V8, workers and the kernels
  assert.ok(grew < planned + 64e6, `RSS grew by ${(grew / 1e6).toFixed(0)} MB for ${(planned / 1e6).toFixed(0)} MB planned`);
});
