/**
 * `codellama make-model --out FILE [--preset tiny] [--type f32] ...`: write a random-weight Llama
 * GGUF (src/format/synth-llama.ts) for trying the tools and for tests, with no download.
 * The built-in byte-fallback vocabulary is used unless --vocab names a GGUF to copy it from;
 * --fim appends Code Llama's 16 pieces, so the file supports infilling. --type q4_k_m writes
 * llama.cpp's Q4_K_M mix; --fill fast draws the quantised bytes directly (for benchmarks).
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import {
  PRESETS, SYNTH_FILLS, SYNTH_MIXES, SYNTH_TYPES, writeSynthLlama, type PresetName, type SynthFill, type SynthMix, type SynthType,
} from "../../format/synth-llama.js";
import { UserError } from "../../util/errors.js";

function int(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

interface MakeModelOptions {
  out: string; preset: PresetName; type: SynthType | SynthMix; fill: SynthFill; dim?: number; layers?: number; heads?: number; kvHeads?: number; ffn?: number;
  ctx?: number; ropeTheta?: number; seed: number; vocab: string; fim?: boolean; vocabSize?: number; tied?: boolean; name?: string;
}

/** File system errors while writing are the user's to fix (a missing folder, no space, no permission). */
const FS_ERRORS = new Set(["ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT"]);

export function register(program: Command): void {
  program
    .command("make-model")
    .description("write a random-weight Llama GGUF (a preset shape, any supported tensor type)")
    .requiredOption("-o, --out <file>", "the GGUF file to write")
    .addOption(new Option("--preset <name>", "shape to start from").choices(Object.keys(PRESETS)).default("tiny"))
    .addOption(new Option("--type <type>", "type of the 2-D weights (norms stay F32); q4_k_m is llama.cpp's Q4_K_M mix").choices([...Object.keys(SYNTH_TYPES), ...SYNTH_MIXES]).default("f32"))
    .addOption(new Option("--fill <mode>", "normal: N(0, 0.02^2) weights, quantised; fast: quantised bytes drawn directly (speed tests, a 7B file in seconds)").choices(SYNTH_FILLS).default("normal"))
    .option("--dim <n>", "override the embedding width", int)
    .option("--layers <n>", "override the number of layers", int)
    .option("--heads <n>", "override the number of attention heads", int)
    .option("--kv-heads <n>", "override the number of key/value heads", int)
    .option("--ffn <n>", "override the feed-forward width", int)
    .option("--ctx <n>", "context length (default 16384)", int)
    .option("--rope-theta <x>", "RoPE base (default 1e6, Code Llama's)", positive)
    .option("--seed <n>", "random seed", int, 1)
    .option("--vocab <source>", '"bytes" (built-in byte-fallback vocabulary) or a GGUF file to copy the tokenizer from', "bytes")
    .option("--fim", "append Code Llama's 16 FIM pieces (infilling support)")
    .option("--vocab-size <n>", "pad the vocabulary with unused pieces up to this size", int)
    .option("--tied", "omit output.weight (the embedding is reused)")
    .option("--name <name>", "general.name")
    .action((o: MakeModelOptions) => {
      let plan;
      try {
        plan = writeSynthLlama(o.out, {
          preset: o.preset, type: o.type, fill: o.fill, dim: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.kvHeads, ffn: o.ffn,
          ctx: o.ctx, ropeTheta: o.ropeTheta, seed: o.seed, vocab: o.vocab, fim: o.fim, vocabSize: o.vocabSize, tied: o.tied, name: o.name,
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code && FS_ERRORS.has(code)) throw new UserError(`${o.out}: cannot write: ${(e as Error).message}`);
        throw e;
      }
      const s = plan.shape;
      process.stdout.write(`wrote ${o.out}: ${o.type}, dim ${s.dim}, ${s.layers} layers, ${s.heads} heads (${s.kvHeads} kv), ffn ${s.ffn}, vocab ${plan.nVocab}\n`);
    });
}
