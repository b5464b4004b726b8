// Our forward pass against a plain float64 reference (numpy, test/reference/llama_f64.py) on an
// F32 model: every position's logits within 1e-4. CI installs python3-numpy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { LLAMA_VOCAB_GGUF, REPO_ROOT, SCRATCH } from "../helpers/paths.js";

test("F32 model: logits at every position within 1e-4 of a float64 reference", async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "ref64-f32.gguf");
  writeSynthLlama(path, { dim: 192, layers: 3, heads: 6, kvHeads: 2, ffn: 512, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 21, normNoise: 0.2, outputStd: 0.1 });
  const ids = [1, 822, 18755, 29898, 29876, 1125, 13, 1678, 565, 302, 529, 29871, 29906, 29901, 13, 4706, 736, 302, 32007, 32010];
  const out = join(SCRATCH, "ref64-f32.logits");
  try {
    execFileSync("python3", [join(REPO_ROOT, "test/reference/llama_f64.py"), path, ids.join(","), out], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    throw new Error(`the numpy reference failed (CI installs python3-numpy): ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
  }
  const ref = new Float64Array(readFileSync(out).buffer.slice(0));
  const f = openModel(path);
  const m = await LlamaModel.load(f, { kvType: "f32", threads: 2, batch: 7, ctx: 64 });
  try {
    const ours = m.prefill(ids, 0, "all");
    assert.equal(ours.length, ref.length);
    let worst = 0, spread = 0;
    for (let i = 0; i < ref.length; i++) { worst = Math.max(worst, Math.abs(ours[i] - ref[i])); spread = Math.max(spread, Math.abs(ref[i])); }
    assert.ok(spread > 1, `the logits should not be tiny (max |logit| ${spread})`);
    assert.ok(worst < 1e-4, `max |ours - float64| = ${worst}`);
  } finally {
    await m.close();
    f.close();
  }
});
