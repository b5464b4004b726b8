/**
 * `codellama quantize IN OUT --type q8_0|q4_0|q4_k|q5_k|q6_k|q4_k_m|f16|bf16|f32`: re-encode a
 * Llama GGUF (e.g. a training checkpoint) as llama-quantize would (norms stay F32, output.weight
 * Q6_K for the 4/5-bit types, llama.cpp's fallbacks for rows that do not divide into blocks); see
 * src/train/quantize-model.ts.
 */
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { QUANT_TARGETS, quantizeModel, type QuantTarget } from "../../train/quantize-model.js";
import { UserError } from "../../util/errors.js";

export function register(program: Command): void {
  program
    .command("quantize")
    .description("re-encode a Llama GGUF with another weight type (norms stay F32, as llama.cpp does)")
    .argument("<in.gguf>", "the model to read")
    .argument("<out.gguf>", "the model to write")
    .requiredOption("-t, --type <type>", `weight type: ${Object.keys(QUANT_TARGETS).join(", ")}`)
    .option("--json", "print the tensor types as JSON")
    .action((input: string, output: string, o: { type: string; json?: boolean }) => {
      const type = o.type.toLowerCase();
      if (!Object.hasOwn(QUANT_TARGETS, type)) throw new UserError(`--type ${o.type}: not supported (supported: ${Object.keys(QUANT_TARGETS).join(", ")})`);
      if (!existsSync(input)) throw new UserError(`${input}: no such file`);
      if (existsSync(output) && statSync(output).isDirectory()) throw new UserError(`${output}: is a folder; give the GGUF file to write`);
      const r = quantizeModel(input, output, type as QuantTarget);
      if (o.json) { process.stdout.write(JSON.stringify({ output, bytes: statSync(output).size, tensors: r.tensors }, null, 2) + "\n"); return; }
      const counts = new Map<string, number>();
      for (const t of r.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
      process.stdout.write(`${output}: ${(statSync(output).size / 2 ** 20).toFixed(1)} MiB; tensors ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}\n`);
    });
}
