/**
 * `codellama perplexity --model FILE --files PATH... [--ctx 4k,8k,16k] [--max-windows N] [--json]
 * [--plot FILE.svg]`: perplexity against context length (Code Llama paper §3.3, Figure 4a; see
 * src/eval/perplexity.ts for how windows are cut and scored).
 *
 * Here --ctx is the list of context lengths to measure; the KV cache is sized for the longest.
 * The other model options are the usual ones (src/cli/options.ts). Folders given to --files are
 * expanded to their source files. The paper used 4M tokens of large (>= 50 kB) source files.
 */
import { basename } from "node:path";
import { Command, Option } from "commander";
import { Engine } from "../../engine/engine.js";
import { expandSourcePaths } from "../../eval/code-corpus.js";
import { documentsFromFiles, formatPerplexityTable, perplexityByContext, perplexityPlot } from "../../eval/perplexity.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, loadOptions, num, type ModelCliOptions } from "../options.js";
import { checkOutputPath, parseTokenList, writeOutput } from "./key-retrieval.js";

interface PerplexityCliOptions extends Omit<ModelCliOptions, "ctx"> {
  files: string[];
  ctx: number[];
  maxWindows?: number;
  json?: boolean;
  plot?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("perplexity")
    .description("perplexity against context length (Code Llama paper Figure 4a): the second half of every window is scored");
  // The shared model options, except --ctx, which is a list of lengths here.
  for (const opt of addModelOptions(new Command()).options) if (opt.long !== "--ctx") cmd.addOption(opt);
  cmd
    .requiredOption("--files <path...>", "text files (or folders of source files) to score")
    .addOption(new Option("-c, --ctx <lengths>", "context lengths in tokens (4k = 4096), comma-separated; the KV cache holds the longest").argParser(parseTokenList("--ctx")).default([4096, 8192, 16384], "4k,8k,16k"))
    .option("--max-windows <n>", "score at most this many windows per length (default: all)", num("--max-windows", { int: true, min: 1 }))
    .option("--json", "print JSON instead of the table")
    .option("--plot <file.svg>", "write an SVG line plot of perplexity against context length")
    .action(async (o: PerplexityCliOptions) => {
      // 1. Check the inputs before loading the model.
      const files = expandSourcePaths(o.files);
      if (o.plot) checkOutputPath("--plot", o.plot);
      // 2. The model, sized for the longest window; the files' tokens.
      const engine = await Engine.load(o.model, { ...loadOptions({ ...o, ctx: Math.max(...o.ctx) }) });
      try {
        const bos = engine.tokenizer.special.bos;
        if (bos < 0) throw new UserError(`${o.model}: the tokenizer has no BOS token to start the windows with`);
        const docs = documentsFromFiles(engine.tokenizer, files);
        const tty = process.stderr.isTTY;
        const points = perplexityByContext(engine.model, bos, docs, o.ctx, {
          maxWindows: o.maxWindows,
          onWindow: tty ? (L, done, total) => process.stderr.write(`\r\x1b[K--ctx ${L}: window ${done}/${total}${done === total ? "\n" : ""}`) : undefined,
        });
        // 3. Output.
        if (o.plot) writeOutput("--plot", o.plot, perplexityPlot(points, basename(o.model)));
        const tokens = docs.reduce((s, d) => s + d.tokens.length, 0);
        if (o.json) process.stdout.write(JSON.stringify({ task: "perplexity", model: o.model, files: files.length, tokens, points }) + "\n");
        else process.stdout.write(`perplexity of ${basename(o.model)} on ${files.length} file${files.length === 1 ? "" : "s"} (${tokens} tokens); second half of each window scored\n` + formatPerplexityTable(points));
      } finally {
        await engine.close();
      }
    });
}
