/**
 * Recipes: a whole model from scratch in one command (`codellama train --recipe default`).
 *
 * The default recipe reproduces the embedded model models/default.gguf, a small Code Llama-style
 * model with Code Llama's 32016-piece vocabulary (llama SentencePiece + the 16 FIM pieces):
 *   1. the vocabulary   WORK/vocab.gguf from a llama vocabulary GGUF (--vocab-from; default: the
 *                       team copy of llama.cpp's ggml-vocab-llama-spm.gguf when present);
 *   2. the data         the Python standard library (python3's, without site-packages and the
 *                       test suites) and the JS/TS of the permissively licensed packages in this
 *                       package's node_modules (package.json "license": MIT, ISC, BSD, Apache-2.0,
 *                       0BSD, ...), filtered, deduplicated and FIM-transformed (rate 0.9, half SPM)
 *                       by src/data, packed twice: ctx 512 (pretraining) and ctx 2048 (LCFT);
 *   3. pretraining      dim 256, 6 layers, 4 heads, FFN 768 (Llama's formula: 2/3 * 4 * dim rounded
 *                       up to 256), RoPE base 1e4, 640 steps of 8 x 512 tokens (2.6M tokens, about a
 *                       third of the ~8.3M-token dataset), peak LR 1e-3 (a small model takes a larger
 *                       LR than 7B's 3e-4), cosine to 10%, warm-up 40, AdamW (0.9, 0.95), weight
 *                       decay 0.1, clip 1.0;
 *   4. LCFT             RoPE base 1e4 -> 1e6, sequences of 2048, 40 steps of 2 x 2048 tokens,
 *                       LR 1e-4 (stage "lcft");
 *   5. export           Q8_0 (norms F32): ~23 MB, written to models/default.gguf.
 * Sized for one session on the 2-core project machine. Measured 2026-12-01 (the run that made the
 * committed model, with other work sharing the cores part of the time): data builds 1 minute,
 * pretraining 54 minutes (550-1050 tok/s; final validation loss 3.2455), LCFT 5 minutes (val
 * 3.2453 on 2048-token sequences), export seconds: about 61 minutes in all, ~45 on a quiet
 * machine. More steps (a full epoch is ~2000) give a better model for proportionally more time.
 *
 * Every step is resumable: built datasets are reused, a stage with a model.gguf is done, a stage
 * with checkpoints resumes; run the same command again after an interruption.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "../util/package-root.js";
import { buildDataset } from "../data/build.js";
import { packageJsonLicense } from "../data/licenses.js";
import { ensureCodeLlamaVocab, loadDataTokenizer } from "../data/vocab.js";
import { UserError } from "../util/errors.js";
import { DEFAULTS, resolveConfig, type ConfigLayer, type TrainConfig } from "./config.js";
import { PRESETS } from "./presets.js";
import { quantizeModel, type QuantTarget } from "./quantize-model.js";

export interface RecipeDataset { name: string; ctx: number; /** Validation fraction (default 0.01). */ val?: number }
export interface RecipeStage { name: string; dataset: string; layer: ConfigLayer }
export interface Recipe {
  description: string;
  datasets: RecipeDataset[];
  stages: RecipeStage[];
  exportType: QuantTarget;
  /** Relative to the package root. */
  exportPath: string;
}

const MODEL = { dim: 256, layers: 6, heads: 4, kvHeads: 4, ffn: 768, normEps: 1e-5 };

export const RECIPES: Record<string, Recipe> = {
  default: {
    description: "the embedded default model: Python stdlib + permissive JS/TS, FIM pretraining then LCFT",
    datasets: [{ name: "code-512", ctx: 512 }, { name: "code-2048", ctx: 2048 }],
    stages: [
      {
        name: "pretrain", dataset: "code-512",
        layer: { ...PRESETS.pretrain, model: { ...MODEL, ropeTheta: 1e4 }, seqLen: 512, batchSize: 8, steps: 640, lr: 1e-3, warmup: 40, evalEvery: 160, evalSequences: 64, ckptEvery: 40 },
      },
      {
        name: "lcft", dataset: "code-2048",
        layer: { ...PRESETS.lcft, model: { ropeTheta: 1e6 }, seqLen: 2048, batchSize: 2, steps: 40, lr: 1e-4, warmup: 4, evalEvery: 20, evalSequences: 16, ckptEvery: 10 },
      },
    ],
    exportType: "q8_0",
    exportPath: "models/default.gguf",
  },
};

/** Licences (package.json "license", SPDX) taken as permissive. */
const PERMISSIVE = /^(MIT|MIT-0|ISC|0BSD|BSD-2-Clause|BSD-3-Clause|Apache-2\.0|Unlicense|CC0-1\.0|BlueOak-1\.0\.0|Python-2\.0|Zlib|WTFPL)$/i;

/** Is an SPDX expression permissive (every alternative of an OR may do; every part of an AND must)? */
export function permissive(license: string | undefined): boolean {
  if (!license) return false;
  const s = license.replace(/[()]/g, " ").trim();
  if (/\bOR\b/i.test(s)) return s.split(/\bOR\b/i).some((p) => permissive(p));
  if (/\bAND\b/i.test(s)) return s.split(/\bAND\b/i).every((p) => permissive(p));
  return PERMISSIVE.test(s.trim());
}

/** The package folders of node_modules (scoped ones included) whose package.json licence is permissive. */
export function permissivePackages(nodeModules: string): string[] {
  const out: string[] = [];
  if (!existsSync(nodeModules)) return out;
  const visit = (dir: string) => {
    const pj = join(dir, "package.json");
    if (!existsSync(pj)) return;
    try {
      const p = JSON.parse(readFileSync(pj, "utf8")) as Record<string, unknown>;
      if (permissive(packageJsonLicense(p).license)) out.push(dir);
    } catch { /* unreadable package.json: skipped */ }
  };
  for (const e of readdirSync(nodeModules).sort()) {
    if (e.startsWith(".")) continue;
    const d = join(nodeModules, e);
    if (!statSync(d).isDirectory()) continue;
    if (e.startsWith("@")) for (const s of readdirSync(d).sort()) visit(join(d, s));
    else visit(d);
  }
  return out;
}

/** The Python standard library's source folders and files, without site-packages, tests and IDLE. */
export function stdlibSources(stdlib: string): string[] {
  const skip = new Set(["site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3", "__pycache__", "turtledemo", "ensurepip", "config-3.11-x86_64-linux-gnu"]);
  return readdirSync(stdlib).sort().filter((e) => !skip.has(e) && !e.startsWith("config-") && !e.startsWith(".")).map((e) => join(stdlib, e));
}

/** The llama vocabulary to build Code Llama's from: --vocab-from, else the team copy beside the repo. */
function llamaVocab(given: string | undefined): string {
  if (given) return given;
  const team = join(packageRoot(), "..", "shared", "data", "llama-spm-vocab", "ggml-vocab-llama-spm.gguf");
  if (existsSync(team)) return team;
  throw new UserError("the recipe needs a llama vocabulary GGUF to build Code Llama's 32016-piece vocabulary from: give --vocab-from FILE (e.g. llama.cpp's models/ggml-vocab-llama-spm.gguf)");
}

export interface RecipeRun {
  work: string;
  vocabFrom?: string;
  threads?: number;
  dryRun?: boolean;
  pythonStdlib: () => string;
  /** The JS/TS source folders (default: the permissively licensed packages of node_modules). */
  jsSources?: () => string[];
  /** Where the exported model goes (default: the recipe's exportPath in the package root). */
  exportTo?: string;
  log: (line: string) => void;
  trainStage: (cfg: TrainConfig, resume: string | undefined) => Promise<void>;
}

export async function runRecipe(r: Recipe, o: RecipeRun): Promise<void> {
  const root = packageRoot();
  const vocab = join(o.work, "vocab.gguf");
  const stdlib = stdlibSources(o.pythonStdlib());
  const packages = o.jsSources ? o.jsSources() : permissivePackages(join(root, "node_modules"));
  const stageConfigs = r.stages.map((s, i) => resolveConfig([DEFAULTS, s.layer, {
    data: join(o.work, `data-${s.dataset}`), out: join(o.work, s.name), tokenizer: vocab,
    init: i > 0 ? join(o.work, r.stages[i - 1].name, "model.gguf") : null, ...(o.threads ? { threads: o.threads } : {}),
  }]));
  o.log(`recipe: ${r.description}`);
  o.log(`  sources: ${stdlib.length} Python stdlib entries, ${packages.length} permissively licensed npm packages`);
  for (const [i, c] of stageConfigs.entries()) {
    o.log(`  stage ${r.stages[i].name}: ${c.steps} steps x ${c.batchSize * c.gradAccum} x ${c.seqLen} tokens, lr ${c.lr}, rope base ${c.model.ropeTheta}, data ${c.data[0].path}`);
  }
  const dst = o.exportTo ?? join(root, r.exportPath);
  o.log(`  export: ${r.exportType} -> ${dst}`);
  if (o.dryRun) return;

  // 1. vocabulary, 2. datasets (reused when built)
  mkdirSync(o.work, { recursive: true });
  ensureCodeLlamaVocab(llamaVocab(o.vocabFrom), vocab);
  const { tokenizer } = loadDataTokenizer(vocab);
  for (const d of r.datasets) {
    const out = join(o.work, `data-${d.name}`);
    if (existsSync(join(out, "manifest.json"))) { o.log(`data ${out}: built already`); continue; }
    o.log(`data ${out}: building (ctx ${d.ctx})`);
    const res = buildDataset({ src: [...stdlib, ...packages], out, tokenizer, tokenizerFile: vocab, languages: ["py", "js", "ts"], ctx: d.ctx, val: d.val ?? 0.01, seed: 1 });
    const s = res.manifest.splits;
    o.log(`data ${out}: ${s.train.sequences} training and ${s.val.sequences} validation sequences, ${s.train.tokens} tokens`);
  }
  // 3. stages, each resumed or skipped when done
  for (const [i, cfg] of stageConfigs.entries()) {
    const name = r.stages[i].name;
    if (existsSync(join(cfg.out, "model.gguf"))) { o.log(`stage ${name}: done already (${join(cfg.out, "model.gguf")})`); continue; }
    const resume = existsSync(join(cfg.out, "latest.json")) ? cfg.out : undefined;
    o.log(`stage ${name}: ${resume ? "resuming" : "starting"}`);
    await o.trainStage(cfg, resume);
    if (!existsSync(join(cfg.out, "model.gguf"))) throw new UserError(`stage ${name} stopped before the end; run the recipe again to continue`);
  }
  // 4. export
  const final = join(stageConfigs[stageConfigs.length - 1].out, "model.gguf");
  mkdirSync(dirname(dst), { recursive: true });
  const q = quantizeModel(final, dst, r.exportType);
  o.log(`exported ${dst} (${r.exportType}, ${(q.bytes / 2 ** 20).toFixed(1)} MiB of weights)`);
}
