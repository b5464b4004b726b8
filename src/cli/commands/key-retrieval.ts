/**
 * `codellama eval key-retrieval --model FILE [--lengths 4k,8k,16k] [--positions 0,0.2,0.4] [--n 64]
 * [--seed S] [--source DIR] [--json] [--out FILE]`: the paper's synthetic key-retrieval task
 * (§7.4; src/eval/key-retrieval.ts), accuracy per (prompt length, key position).
 *
 * Filler is Python code from a local folder: --source DIR, or by default the standard library of
 * the `python3` on PATH (its tests and data tables left out). The paper used CodeContests; it is
 * not downloaded (no network use): to get closer to the paper, extract its Python solutions to
 * .py files and pass that folder as --source. Results depend on the filler, so compare runs made
 * with the same --source (the report names it).
 *
 * The KV cache is sized for the longest prompt plus the answer unless --ctx is given; a --ctx too
 * small for a length is refused before anything runs.
 */
import { dirname } from "node:path";
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { Engine } from "../../engine/engine.js";
import { FillerCorpus, pythonStdlibDir } from "../../eval/code-corpus.js";
import { formatKeyRetrievalTable, GEN_TOKENS, minPromptTokens, runKeyRetrieval } from "../../eval/key-retrieval.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, loadOptions, num, type ModelCliOptions } from "../options.js";

/** "4096", "4k" (= 4096), "16K", "0.5k" (= 512): a whole number of tokens >= `min`. */
export function parseTokenCount(flag: string, s: string, min = 2): number {
  const m = /^(\d+(?:\.\d+)?)([kK])?$/.exec(s.trim());
  const v = m ? Number(m[1]) * (m[2] ? 1024 : 1) : NaN;
  if (!Number.isSafeInteger(v) || v < min) throw new UserError(`${flag}: "${s}" is not a token count >= ${min} (e.g. 4096, 4k, 16k)`);
  return v;
}

/** A comma-separated list of token counts, without repeats, in the order given. */
export function parseTokenList(flag: string, min = 2) {
  return (v: string): number[] => {
    const items = v.split(",").map((s) => s.trim());
    if (items.some((s) => s === "")) throw new UserError(`${flag}: "${v}" is not a comma-separated list of token counts (e.g. 4k,8k,16k)`);
    const out = items.map((s) => parseTokenCount(flag, s, min));
    const dup = out.find((x, i) => out.indexOf(x) !== i);
    if (dup !== undefined) throw new UserError(`${flag}: ${dup} is given twice`);
    return out;
  };
}

/** A comma-separated list of relative positions in [0, 1). */
export function parsePositionList(v: string): number[] {
  const out = v.split(",").map((s) => {
    const t = s.trim(), x = Number(t);
    if (t === "" || !Number.isFinite(x) || x < 0 || x >= 1) throw new UserError(`--positions: "${s}" is not a relative position in [0, 1) (e.g. 0,0.2,0.4)`);
    return x;
  });
  const dup = out.find((x, i) => out.indexOf(x) !== i);
  if (dup !== undefined) throw new UserError(`--positions: ${dup} is given twice`);
  return out;
}

/** A file we will write at the end of a long run: its folder must exist now. */
export function checkOutputPath(flag: string, path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${flag}: no such folder: ${dir}`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`${flag}: ${path} is a folder`);
}

/** Write an output file; file system errors are the user's to fix. */
export function writeOutput(flag: string, path: string, text: string): void {
  try {
    writeFileAtomic(path, text);
  } catch (e) {
    throw new UserError(`${flag}: cannot write ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** The `eval` command group (created by whichever eval subcommand registers first). */
export function evalGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === "eval") ?? program.command("eval").description("evaluate a model (long-context tasks, benchmarks)");
}

interface KeyRetrievalCliOptions extends ModelCliOptions {
  lengths: number[];
  positions: number[];
  n: number;
  seed: number;
  source?: string;
  json?: boolean;
  out?: string;
}

export function register(program: Command): void {
  const cmd = evalGroup(program)
    .command("key-retrieval")
    .description("the synthetic key-retrieval task (Code Llama paper §3.3, Table 17): accuracy by prompt length and key position");
  addModelOptions(cmd);
  const ctxOption = cmd.options.find((x) => x.long === "--ctx");
  if (ctxOption) ctxOption.description = `KV cache positions (default: the longest length + ${GEN_TOKENS} answer tokens)`;
  cmd
    .option("--lengths <list>", "prompt lengths in tokens, BOS included (4k = 4096)", parseTokenList("--lengths"), [4096, 8192, 16384])
    .option("--positions <list>", "relative positions of the key function in the prompt, each in [0, 1)", parsePositionList, [0, 0.2, 0.4])
    .option("--n <count>", "examples per (length, position)", num("--n", { int: true, min: 1 }), 64)
    .option("--seed <s>", "seed of the values and the filler order", num("--seed", { int: true, min: 0, max: 2 ** 32 - 1 }), 0)
    .option("--source <dir>", "folder of Python files for the filler (default: python3's standard library; the paper's CodeContests is not downloaded)")
    .option("--json", "print the report as JSON (cells and every example) instead of the table")
    .option("--out <file>", "also write the JSON report to this file")
    .action(async (o: KeyRetrievalCliOptions) => {
      // 1. Everything that can be checked before loading the model.
      if (o.ctx !== undefined) {
        for (const L of o.lengths) {
          if (L + GEN_TOKENS > o.ctx) throw new UserError(`--lengths ${L}: a ${L}-token prompt and ${GEN_TOKENS} answer tokens need --ctx ${L + GEN_TOKENS} or more, but --ctx is ${o.ctx}`);
        }
      }
      if (o.source !== undefined && !(existsSync(o.source) && statSync(o.source).isDirectory())) throw new UserError(`--source: no such folder: ${o.source}`);
      if (o.out) checkOutputPath("--out", o.out);
      const source = o.source ?? pythonStdlibDir();
      const ctx = o.ctx ?? Math.max(...o.lengths) + GEN_TOKENS;
      // 2. The model and the filler.
      const engine = await Engine.load(o.model, { ...loadOptions(o), ctx });
      try {
        const corpus = FillerCorpus.fromFolder(source, engine.tokenizer, { stdlib: o.source === undefined });
        const min = minPromptTokens(engine.tokenizer);
        for (const L of o.lengths) if (L < min) throw new UserError(`--lengths ${L}: too short; the key function and the query alone take ${min} tokens`);
        // 3. The run: greedy, a few tokens, stop at the end of the line.
        const tty = process.stderr.isTTY;
        const report = await runKeyRetrieval({
          corpus, lengths: o.lengths, positions: o.positions, n: o.n, seed: o.seed,
          answer: async (p) => (await engine.complete(p.text, { temperature: 0, maxTokens: GEN_TOKENS, stopStrings: ["\n"], stopAtEos: true }).result).text,
          onExample: tty ? (ex, done, total) => process.stderr.write(`\r\x1b[K[${done}/${total}] length ${ex.length} @${ex.position}: ${ex.correct ? "right" : "wrong"}${done === total ? "\n" : ""}`) : undefined,
        });
        // 4. Output.
        const json = JSON.stringify(report, null, 2) + "\n";
        if (o.out) writeOutput("--out", o.out, json);
        process.stdout.write(o.json ? json : formatKeyRetrievalTable(report));
      } finally {
        await engine.close();
      }
    });
}
