// Tiny random models for the infill/chat engine and CLI tests (all F32, GQA, llama SPM vocab):
//  - fim: Code Llama's 32016-piece vocabulary;
//  - step: the same with <step> in slot 32015 (70B chat format; see vocab.ts);
//  - plain: the 32000-piece llama vocabulary (a Python / 34B model: cannot infill).
// `forceFirst` rewrites a model so that, for one given prompt, the first greedy token is a chosen
// one: its output row becomes 1.5 × the row of the token that would have won (whose logit is
// positive), so only that token's logit changes and it now wins the first step.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGMLType } from "../../src/format/ggml-types.js";
import { encodeGGUF, type GGUFTensorToWrite } from "../../src/format/gguf-writer.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { openModel } from "../../src/format/model-file.js";
import { LlamaModel } from "../../src/model/llama.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { stepVocabPath } from "./vocab.js";

export const DIR = join(SCRATCH, "prompt");
const SHAPE = { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", outputStd: 0.3, ctx: 4096 } as const;

const made = new Map<string, string>();
export function tinyModel(kind: "fim" | "step" | "plain", seed = 5): string {
  const key = `${kind}-${seed}`;
  let path = made.get(key);
  if (!path) {
    mkdirSync(DIR, { recursive: true });
    path = join(DIR, `tiny-${key}.gguf`);
    const vocab = kind === "step" ? { vocab: stepVocabPath() } : { vocab: LLAMA_VOCAB_GGUF, fim: kind === "fim" };
    // Test files run in parallel and share these models: write a temporary file, then rename,
    // so another process never reads a half-written model (the bytes are the same every time).
    const tmp = `${path}.${process.pid}.tmp`;
    writeSynthLlama(tmp, { ...SHAPE, ...vocab, seed, name: `codellama-prompt-${kind}` });
    renameSync(tmp, path);
    made.set(key, path);
  }
  return path;
}

/** Our greedy first token for `prompt` and its logit. */
export async function firstGreedy(path: string, prompt: number[]): Promise<{ token: number; logit: number }> {
  const f = openModel(path);
  const m = await LlamaModel.load(f, { kvType: "f32", threads: 1, ctx: 512 });
  try {
    const logits = m.prefill(prompt, 0, "last");
    let b = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[b]) b = i;
    return { token: b, logit: logits[b] };
  } finally {
    await m.close();
    f.close();
  }
}

/** A copy of `path` whose first greedy token after `prompt` is `forced` (see the file comment). */
export async function forceFirst(path: string, prompt: number[], forced: number, name: string): Promise<string> {
  const { token, logit } = await firstGreedy(path, prompt);
  if (!(logit > 0)) throw new Error(`the winning logit ${logit} is not positive; pick another seed`);
  if (token === forced) throw new Error(`token ${forced} already wins; pick another seed`);
  const g = GGUFFile.parse(readFileSync(path));
  const tensors: GGUFTensorToWrite[] = g.tensors.map((t) => ({ name: t.name, dims: [...t.dims], type: t.type, data: Uint8Array.from(g.tensorBytes(t)) }));
  const out = tensors.find((t) => t.name === "output.weight")!;
  if (out.type !== GGMLType.F32) throw new Error("forceFirst needs an F32 output.weight");
  const dim = out.dims[0];
  const w = new Float32Array((out.data as Uint8Array).buffer);
  for (let i = 0; i < dim; i++) w[forced * dim + i] = 1.5 * w[token * dim + i];
  const p = join(DIR, name);
  writeFileSync(p, encodeGGUF({ metadata: new Map(g.metadata), tensors }));
  return p;
}
