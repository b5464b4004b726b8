// Recipes (src/train/recipe.ts): a miniature of the default recipe run end to end (Code Llama
// vocabulary, two packed FIM datasets, pretraining, then LCFT from its model with the RoPE base
// raised to 1e6 and longer sequences, a Q8_0 export), then run again (everything is reused); the
// licence filter of the npm sources; the default recipe's plan (--dry-run through the CLI).
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { PRESETS } from "../../src/train/presets.js";
import { permissive, permissivePackages, runRecipe, type Recipe } from "../../src/train/recipe.js";
import { train } from "../../src/train/trainer.js";
import { runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, REPO_ROOT, SCRATCH } from "../helpers/paths.js";
import { writeCorpusDir } from "./fixtures.js";

const MINI: Recipe = {
  description: "miniature of the default recipe",
  datasets: [{ name: "c32", ctx: 32, val: 0.1 }, { name: "c64", ctx: 64, val: 0.1 }],
  stages: [
    { name: "pretrain", dataset: "c32", layer: { ...PRESETS.pretrain, model: { dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64, normEps: 1e-5, ropeTheta: 1e4 }, seqLen: 32, batchSize: 4, steps: 40, lr: 5e-3, warmup: 5, evalEvery: 20, evalSequences: 8, ckptEvery: 20, threads: 2 } },
    { name: "lcft", dataset: "c64", layer: { ...PRESETS.lcft, model: { ropeTheta: 1e6 }, seqLen: 64, batchSize: 2, steps: 10, lr: 1e-3, warmup: 2, evalEvery: 5, evalSequences: 4, ckptEvery: 5, threads: 2 } },
  ],
  exportType: "q8_0",
  exportPath: "unused",
};

describe("recipes", () => {
  it("a miniature default recipe: vocab, datasets, pretraining, LCFT (RoPE base 1e6, longer sequences), Q8_0 export; a rerun reuses everything", async () => {
    const work = join(SCRATCH, "train-recipe");
    rmSync(work, { recursive: true, force: true });
    const corpus = writeCorpusDir(join(work, "src-py"), 30, 20);
    const exportTo = join(work, "export", "mini.gguf");
    const lines: string[] = [];
    const run = () => runRecipe(MINI, {
      work, vocabFrom: LLAMA_VOCAB_GGUF, pythonStdlib: () => corpus, jsSources: () => [], exportTo,
      log: (l) => lines.push(l), trainStage: async (cfg, resume) => { await train(cfg, { resume }); },
    });
    await run();
    const g = GGUFFile.open(join(work, "lcft", "model.gguf"));
    try {
      assert.equal(g.getNumber("llama.rope.freq_base"), 1e6);
      assert.equal(g.getNumber("llama.context_length"), 64);
      assert.equal((g.get("tokenizer.ggml.tokens") as string[]).length, 32016);
    } finally {
      g.close();
    }
    const p = GGUFFile.open(join(work, "pretrain", "model.gguf"));
    try { assert.equal(p.getNumber("llama.rope.freq_base"), 1e4); } finally { p.close(); }
    // LCFT started from the pretrained weights, not from scratch (ln 32016 = 10.4)
    const lcftLog = readFileSync(join(work, "lcft", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { loss: number });
    const preLog = readFileSync(join(work, "pretrain", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { loss: number });
    assert.ok(preLog[0].loss > 9.5 && lcftLog[0].loss < preLog[0].loss - 2, `pretrain starts at ${preLog[0].loss}, LCFT at ${lcftLog[0].loss}`);
    // the export: Q8_0 matrices, F32 norms, and our engine runs it
    const e = GGUFFile.open(exportTo);
    try {
      assert.equal(e.tensor("blk.0.attn_q.weight")!.type, GGMLType.Q8_0);
      assert.equal(e.tensor("blk.0.attn_norm.weight")!.type, GGMLType.F32);
    } finally {
      e.close();
    }
    const f = openModel(exportTo);
    const m = await LlamaModel.load(f, { threads: 1, ctx: 64 });
    try { assert.equal(m.forward([1, 822, 29871], 0, "last").length, 32016); } finally { await m.close(); f.close(); }
    // a second run reuses the datasets and the finished stages
    lines.length = 0;
    await run();
    assert.ok(lines.some((l) => /data .*data-c32: built already/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /stage pretrain: done already/.test(l)) && lines.some((l) => /stage lcft: done already/.test(l)), lines.join("\n"));
  });

  it("npm sources: only packages whose package.json licence is permissive", () => {
    for (const l of ["MIT", "ISC", "Apache-2.0", "(MIT OR GPL-3.0)", "BSD-3-Clause AND MIT", "0BSD"]) assert.equal(permissive(l), true, l);
    for (const l of ["GPL-3.0", "AGPL-3.0-only", "UNLICENSED", "SEE LICENSE IN LICENSE", "MIT AND GPL-2.0", undefined]) assert.equal(permissive(l), false, String(l));
    const pkgs = permissivePackages(join(REPO_ROOT, "node_modules"));
    assert.ok(pkgs.some((p) => p.endsWith(`${join("node_modules", "commander")}`)), "commander (MIT) is in");
    for (const p of pkgs) {
      const lic = (JSON.parse(readFileSync(join(p, "package.json"), "utf8")) as { license?: unknown }).license;
      assert.ok(typeof lic === "string" ? permissive(lic) : true, `${p}: ${JSON.stringify(lic)}`);
    }
  });

  it("codellama train --recipe default --dry-run prints the plan", () => {
    const r = runCli(["train", "--recipe", "default", "--dry-run", "--work", join(SCRATCH, "train-recipe-dry")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stage pretrain: \d+ steps x 8 x 512 tokens, lr 0\.001, rope base 10000/);
    assert.match(r.stderr, /stage lcft: \d+ steps x 2 x 2048 tokens, lr 0\.0001, rope base 1000000/);
    assert.match(r.stderr, /export: q8_0 -> .*models[/\\]default\.gguf/);
    assert.ok(!existsSync(join(SCRATCH, "train-recipe-dry", "vocab.gguf")), "a dry run writes nothing");
  });
});
