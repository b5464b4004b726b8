#!/usr/bin/env node
/**
 * `codellama`: the command-line entry point.
 *
 * Each subcommand lives in `commands/<name>.ts` and exports `register(program)`. Exit codes:
 *   0  success (and --help / --version)
 *   1  a UserError/FormatError: something the user can fix; printed as one line, no stack
 *   2  a usage error (unknown option, missing argument): commander prints it
 *   70 anything else: a bug in codellama-ts; printed with its stack (EX_SOFTWARE)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { UserError } from "../util/errors.js";
import { packageRoot } from "../util/package-root.js";
import { register as registerInspect } from "./commands/inspect.js";
import { register as registerMakeModel } from "./commands/make-model.js";
import { register as registerComplete } from "./commands/complete.js";
import { register as registerInfill } from "./commands/infill.js";
import { register as registerChat } from "./commands/chat.js";
import { register as registerBench } from "./commands/bench.js";
import { register as registerKeyRetrieval } from "./commands/key-retrieval.js";
import { register as registerPerplexity } from "./commands/perplexity.js";
import { register as registerTokenize } from "./commands/tokenize.js";
import { register as registerEvalBench } from "./commands/eval-bench.js";
import { register as registerData } from "./commands/data.js";
import { register as registerTrain } from "./commands/train.js";
import { register as registerQuantize } from "./commands/quantize.js";
import { register as registerLineInfill } from "./commands/line-infill.js";

/** The version in this package's package.json (0.0.0 if there is none). */
function packageVersion(): string {
  const p = join(packageRoot(), "package.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version : "0.0.0";
}

export function buildProgram(): Command {
  const program = new Command("codellama")
    .description("Meta's Code Llama in TypeScript: inspect, tokenize and run GGUF and Hugging Face models")
    .version(packageVersion(), "-V, --version")
    // Throw instead of exiting, so main() decides the exit code; subcommands inherit this.
    .exitOverride()
    .showHelpAfterError("(run codellama --help for usage)");
  registerInspect(program);
  registerMakeModel(program);
  registerComplete(program);
  registerInfill(program);
  registerChat(program);
  registerBench(program);
  registerKeyRetrieval(program);
  registerPerplexity(program);
  registerTokenize(program);
  registerEvalBench(program);
  registerData(program);
  registerTrain(program);
  registerQuantize(program);
  registerLineInfill(program);
  return program;
}

/** Messages quote names read from files; escape control characters so the message stays one inert line. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    // 1. Commander already printed help/usage; --help and --version are not errors.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    // 2. The user's to fix: one line, no stack.
    if (e instanceof UserError) {
      process.stderr.write(`codellama: ${oneLine(e.message)}\n`);
      return 1;
    }
    // 3. A bug: everything we know.
    process.stderr.write(`codellama: internal error (please report it)\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

process.exitCode = await main();
