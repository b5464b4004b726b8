/**
 * `codellama complete --model FILE --prompt TEXT`: plain completion, streamed to stdout.
 * BOS is prepended and the prompt is never parsed for special tokens (as llama.cpp's
 * tokenize(text, false) plus BOS). With --temperature 0 generation runs the full --max-tokens
 * unless --stop-at-eos is given, so parity runs have a fixed length.
 */
import type { Command } from "commander";
import { Engine } from "../../engine/engine.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, addSamplingOptions, loadOptions, samplingOptions, type ModelCliOptions, type SamplingCliOptions, modelPath } from "../options.js";

interface CompleteCliOptions extends ModelCliOptions, SamplingCliOptions {
  prompt?: string;
  json?: boolean;
  stopAtEos?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command("complete").description("complete a prompt (streams the text)")
    .argument("[prompt]", "the prompt (same as --prompt)");
  addModelOptions(cmd, { defaultModel: true });
  addSamplingOptions(cmd);
  cmd
    .option("-p, --prompt <text>", "the prompt (or give it on standard input)")
    .option("--stop-at-eos", "stop at end-of-sequence even when greedy")
    .option("--json", "print one JSON object: promptTokens, tokens, text, timings")
    .action(async (positional: string | undefined, o: CompleteCliOptions) => {
      if (positional !== undefined && o.prompt !== undefined) throw new UserError("give the prompt once: as an argument or with --prompt, not both");
      const prompt = positional ?? o.prompt ?? (process.stdin.isTTY ? undefined : await readStdin());
      if (prompt === undefined) throw new UserError("give a prompt: codellama complete \"TEXT\", --prompt TEXT, or on standard input");
      o.model = modelPath(o);
      const engine = await Engine.load(o.model, loadOptions(o));
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      try {
        const gen = engine.complete(prompt, {
          ...samplingOptions(o),
          stopAtEos: o.stopAtEos ? true : o.temperature > 0,
          signal: abort.signal,
        });
        if (!o.json) for await (const step of gen) process.stdout.write(step.text);
        const r = await gen.result;
        if (o.json) process.stdout.write(JSON.stringify({ promptTokens: r.promptTokens, tokens: r.tokens, text: r.text, stopReason: r.stopReason, timings: r.timings }) + "\n");
        else process.stdout.write("\n");
      } finally {
        process.off("SIGINT", onSigint);
        await engine.close();
      }
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
