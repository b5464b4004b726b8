// Fixtures of the trainer tests: a deterministic synthetic Python-like corpus, tokenizer GGUFs
// (the built-in byte vocabulary, or Code Llama's 32016 pieces), token sequences and tiny configs.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import type { GGUFMetaValue } from "../../src/format/gguf-types.js";
import { meta, writeGGUF } from "../../src/format/gguf-writer.js";
import { buildVocab } from "../../src/format/synth-llama.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { DEFAULTS, resolveConfig, type ConfigLayer, type TrainConfig } from "../../src/train/config.js";
import { ArraySource } from "../../src/train/data.js";
import { Rng } from "../../src/util/rng.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

const NAMES = ["total", "count", "value", "items", "index", "result", "left", "right", "size", "name", "data", "key"];
const OPS = ["+", "-", "*"];

/** `n` small Python functions drawn from a fixed grammar (learnable: the same shapes recur). */
export function corpusText(seed: number, n: number): string {
  const rng = new Rng([seed, 0xc0de]);
  const pick = <T>(a: readonly T[]) => a[rng.int(a.length)];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = pick(NAMES), b = pick(NAMES.filter((x) => x !== a)), op = pick(OPS), k = rng.int(10);
    const fn = `${pick(["get", "make", "compute", "update"])}_${a}`;
    const body = rng.int(2) === 0
      ? `    ${a}_new = ${a} ${op} ${b}\n    return ${a}_new ${op} ${k}\n`
      : `    if ${a} > ${k}:\n        return ${a} ${op} ${b}\n    return ${b}\n`;
    out.push(`def ${fn}(${a}, ${b}):\n${body}\n`);
  }
  return out.join("");
}

/** Write a tokenizer-only GGUF; "bytes" = the built-in byte vocabulary + FIM pieces, "codellama" = llama SPM + FIM (32016). */
export function writeVocab(kind: "bytes" | "codellama"): string {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, `train-vocab-${kind}.gguf`);
  const v = buildVocab(kind === "bytes" ? "bytes" : LLAMA_VOCAB_GGUF, true);
  writeGGUF(path, { metadata: [["general.architecture", meta.str("llama")], ["general.name", meta.str(`vocab-${kind}`)], ...v.metadata], tensors: [] });
  return path;
}

export function loadVocab(path: string): { tokenizer: Tokenizer; metadata: [string, GGUFMetaValue][]; size: number } {
  const g = GGUFFile.open(path);
  try {
    const tokenizer = Tokenizer.fromGGUF(g);
    const metadata = [...g.metadata].filter(([k]) => k.startsWith("tokenizer."));
    return { tokenizer, metadata, size: tokenizer.vocabSize };
  } finally {
    g.close();
  }
}

/** The text's tokens (BOS first) cut into sequences of ctx: an ArraySource. */
export function sequencesOf(name: string, tok: Tokenizer, text: string, ctx: number): ArraySource {
  const ids = tok.encode(text, { bos: true });
  const n = Math.floor(ids.length / ctx);
  return new ArraySource(name, ctx, Int32Array.from(ids.slice(0, n * ctx)));
}

/** A tiny model's config (GQA, two layers) over the defaults; `out` in the test scratch folder. */
export function tinyConfig(out: string, layer: ConfigLayer = {}): TrainConfig {
  return resolveConfig([DEFAULTS, {
    model: { dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64, normEps: 1e-5, ropeTheta: 1e4 },
    data: "memory", out: join(SCRATCH, out), seqLen: 32, batchSize: 4, steps: 20, lr: 3e-3, warmup: 5,
    evalEvery: 10, evalSequences: 8, ckptEvery: 5, threads: 2, seed: 3,
  }, layer]);
}

export function writeCorpusDir(dir: string, files: number, perFile: number): string {
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < files; f++) writeFileSync(join(dir, `mod_${f}.py`), corpusText(1000 + f, perFile));
  return dir;
}
