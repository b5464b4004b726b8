/**
 * `codellama eval line-infill [--files PATH... | --humaneval [--data DIR]] [--n N] [--seed S] [--spm]
 * [--json] [--out FILE]`: single-line infilling exact match (src/eval/line-infill.ts), greedy, on
 * random lines of local files (e.g. files held out of training) or on the HumanEval single-line
 * infilling set. Uses the embedded default model when no --model is given.
 */
import type { Command } from "commander";
import { Engine } from "../../engine/engine.js";
import { loadTasks } from "../../eval/datasets.js";
import { resolveBenchmarkData } from "../../eval/download.js";
import { runLineInfill, sourceFiles, tasksFromBenchmark, tasksFromFiles, type LineTask } from "../../eval/line-infill.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, loadOptions, modelPath, num, type ModelCliOptions } from "../options.js";
import { checkOutputPath, evalGroup, writeOutput } from "./key-retrieval.js";

interface LineInfillCliOptions extends ModelCliOptions {
  files?: string[]; humaneval?: boolean; data?: string; ext: string; n?: number; seed: number; spm?: boolean; json?: boolean; out?: string;
}

export function register(program: Command): void {
  const cmd = evalGroup(program)
    .command("line-infill")
    .description("single-line infilling exact match (greedy): random lines of local files, or the HumanEval single-line infilling set");
  addModelOptions(cmd, { defaultModel: true });
  cmd
    .option("--files <paths...>", "source files or folders to take lines from (e.g. files held out of training)")
    .option("--ext <list>", "with --files: file extensions to use", ".py")
    .option("--humaneval", "use HumanEval single-line infilling (1033 tasks; downloaded on first use unless --data)")
    .option("--data <dir>", "with --humaneval: a local copy (the data root or its humaneval-infilling folder)")
    .option("--n <count>", "examples (default: 200 lines with --files, every task with --humaneval)", num("--n", { int: true, min: 1 }))
    .option("--seed <s>", "seed of the line choice", num("--seed", { int: true, min: 0, max: 2 ** 32 - 1 }), 0)
    .option("--spm", "suffix-prefix-middle prompts instead of prefix-suffix-middle")
    .option("--json", "print the summary as one JSON object")
    .option("--out <file>", "also write every example (prefix, suffix, middle, generated, match) as JSONL")
    .action(async (o: LineInfillCliOptions) => {
      if ((o.files === undefined) === (o.humaneval === undefined)) throw new UserError("give one source of lines: --files PATH... or --humaneval");
      if (o.data !== undefined && !o.humaneval) throw new UserError("--data goes with --humaneval");
      if (o.out) checkOutputPath("--out", o.out);
      let tasks: LineTask[];
      if (o.files) {
        const exts = o.ext.split(",").map((e) => (e.startsWith(".") ? e : `.${e}`));
        const files = sourceFiles(o.files, exts);
        if (files.length === 0) throw new UserError(`--files: no ${exts.join("/")} files in ${o.files.join(", ")}`);
        tasks = tasksFromFiles(files, o.n ?? 200, o.seed);
      } else {
        const { dataDir } = await resolveBenchmarkData("humaneval-infill-single", { data: o.data, onNote: (m) => process.stderr.write(`codellama: ${m}\n`) });
        tasks = tasksFromBenchmark(loadTasks("humaneval-infill-single", dataDir)).slice(0, o.n);
      }
      o.model = modelPath(o);
      const engine = await Engine.load(o.model, loadOptions(o));
      try {
        const tty = process.stderr.isTTY && !o.json;
        const { results, summary } = await runLineInfill(engine, tasks, {
          spm: o.spm,
          onResult: tty ? (_r, done) => process.stderr.write(`\r\x1b[K[${done}/${tasks.length}]${done === tasks.length ? "\n" : ""}`) : undefined,
        });
        if (o.out) writeOutput("--out", o.out, results.map((r) => JSON.stringify(r)).join("\n") + "\n");
        const source = o.files ? `${o.files.join(", ")} (seed ${o.seed})` : "HumanEval single-line infilling";
        if (o.json) process.stdout.write(JSON.stringify({ source, mode: o.spm ? "spm" : "psm", ...summary }) + "\n");
        else process.stdout.write(`single-line infilling, ${source}, ${o.spm ? "SPM" : "PSM"}: exact match ${summary.matches}/${summary.n} = ${(100 * summary.exactMatch).toFixed(1)}%\n`);
      } finally {
        await engine.close();
      }
    });
}
