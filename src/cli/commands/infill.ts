/**
 * `codellama infill --model FILE (--prefix P --suffix S | --file F) [--spm] [--json] [--write]`:
 * fill in the middle with Meta's prompt (src/prompt/infill.ts). `--file` takes a file with one
 * `<FILL>` marker (as example_infilling.py's prompts); `--write` then replaces the file by the
 * filled text (temporary file + rename). Generation stops at <EOT> only; greedy by default
 * (temperature 0, as example_infilling.py).
 *
 * Output: the middle, streamed (with a final newline); with --json one object
 * {"promptTokens", "tokens", "generation", "fullText"} (tokens without the <EOT>); with --write
 * and no --json nothing on stdout.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { Engine } from "../../engine/engine.js";
import { splitFillMarker } from "../../prompt/infill.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, addSamplingOptions, loadOptions, samplingOptions, type ModelCliOptions, type SamplingCliOptions, modelPath } from "../options.js";

interface InfillCliOptions extends ModelCliOptions, SamplingCliOptions {
  prefix?: string;
  suffix?: string;
  file?: string;
  spm?: boolean;
  json?: boolean;
  write?: boolean;
}

/** Change a shared option's default (value and help text) for this command. */
export function setDefault(cmd: Command, long: string, value: unknown): void {
  const opt = cmd.options.find((o) => o.long === long);
  if (!opt) throw new Error(`no option ${long}`);
  opt.default(value);
  cmd.setOptionValueWithSource(opt.attributeName(), value, "default");
}

/** The prefix and suffix from the flags, checking that they are used in one of the two ways. */
function readInput(o: InfillCliOptions): { prefix: string; suffix: string } {
  if (o.file !== undefined) {
    // 1. A file with one <FILL> marker.
    if (o.prefix !== undefined || o.suffix !== undefined) throw new UserError("give either --file or --prefix/--suffix, not both");
    let text: string;
    try {
      text = readFileSync(o.file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`${o.file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder, not a file" : `cannot be read (${code ?? (e as Error).message})`}`);
    }
    return splitFillMarker(text, o.file);
  }
  // 2. --prefix and/or --suffix (a missing one is empty).
  if (o.write) throw new UserError("--write needs --file (the file to fill in)");
  if (o.prefix === undefined && o.suffix === undefined) throw new UserError("give the code around the gap: --prefix TEXT --suffix TEXT, or --file FILE with a <FILL> marker");
  return { prefix: o.prefix ?? "", suffix: o.suffix ?? "" };
}

export function register(program: Command): void {
  const cmd = program.command("infill").description("fill in the middle between a prefix and a suffix (Code Llama FIM)");
  addModelOptions(cmd, { defaultModel: true });
  addSamplingOptions(cmd);
  // Greedy by default, as Meta's example_infilling.py.
  setDefault(cmd, "--temperature", 0);
  cmd
    .option("--prefix <text>", "the code before the gap")
    .option("--suffix <text>", "the code after the gap")
    .option("-f, --file <file>", "a file with one <FILL> marker where the code should go")
    .option("--spm", "suffix-prefix-middle prompt (Meta's suffix_first) instead of prefix-suffix-middle")
    .option("--write", "write the filled text back into --file (atomically)")
    .option("--json", 'print one JSON object: {"promptTokens", "tokens", "generation", "fullText"}')
    .action(async (o: InfillCliOptions) => {
      // 1. Input first, so bad flags fail before the model is loaded.
      const { prefix, suffix } = readInput(o);
      o.model = modelPath(o);
      const engine = await Engine.load(o.model, loadOptions(o));
      // 2. Ctrl-C ends the generation early; what was generated is still used.
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      try {
        const gen = engine.infill(prefix, suffix, { ...samplingOptions(o), spm: o.spm === true, signal: abort.signal });
        // 3. Stream the middle unless the output is JSON or the file.
        const stream = !o.json && !o.write;
        for await (const step of gen) if (stream) process.stdout.write(step.text);
        const r = await gen.result;
        // 4. The file, then the report.
        if (o.write) writeFileAtomic(o.file!, r.fullText);
        if (o.json) process.stdout.write(JSON.stringify({ promptTokens: r.promptTokens, tokens: r.tokens, generation: r.generation, fullText: r.fullText }) + "\n");
        else if (stream) process.stdout.write("\n");
      } finally {
        process.off("SIGINT", onSigint);
        await engine.close();
      }
    });
}
