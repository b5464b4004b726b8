/**
 * `codellama train`: train a Code Llama-style model on packed token datasets (src/train).
 *
 *   codellama train --config run.json                    settings from a JSON file (src/train/config.ts)
 *   codellama train --preset pretrain --data DS --out RUN stage presets: pretrain | lcft | python | instruct
 *   codellama train --config run.json --resume           continue RUN's last checkpoint exactly
 *   codellama train --recipe default                     the embedded default model, from scratch
 *
 * Flags override the config file, which overrides the preset. A progress bar (loss, tok/s, ETA)
 * goes to stderr on a terminal; otherwise one line per evaluation. Ctrl-C stops after the current
 * step with a checkpoint (a second Ctrl-C exits at once); --resume continues from it.
 */
import { statSync } from "node:fs";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { pythonStdlibDir } from "../../eval/code-corpus.js";
import { parseLayer, readConfigFile, resolveConfig, DEFAULTS, type ConfigLayer } from "../../train/config.js";
import { PRESETS, PRESET_NAMES } from "../../train/presets.js";
import { RECIPES, runRecipe } from "../../train/recipe.js";
import { train, type StepLog } from "../../train/trainer.js";
import { UserError } from "../../util/errors.js";
import { num } from "../options.js";

interface TrainCli {
  config?: string; preset?: string; recipe?: string; data?: string[]; valData?: string; out?: string; init?: string; tokenizer?: string;
  export?: string; steps?: number; threads?: number; seed?: number; resume?: string | boolean; set?: string[];
  work?: string; vocabFrom?: string; dryRun?: boolean; force?: boolean;
}

/** `--set key=value` (JSON values; model.dim style keys) into a config layer. */
function setLayer(items: string[]): ConfigLayer {
  const out: Record<string, unknown> = {};
  for (const it of items) {
    const eq = it.indexOf("=");
    if (eq <= 0) throw new UserError(`--set ${it}: expected key=value`);
    const key = it.slice(0, eq), raw = it.slice(eq + 1);
    let value: unknown;
    try { value = JSON.parse(raw); } catch { value = raw; }
    const parts = key.split(".");
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]] = value;
  }
  return parseLayer(out, "--set");
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

/** Progress: a bar on a terminal, else a line per evaluation (and the first and last step). */
function progressReporter(quiet: boolean) {
  const tty = process.stderr.isTTY && !quiet;
  let bar: cliProgress.SingleBar | undefined;
  let ema = 0;
  return {
    start(info: { startStep: number; total: number; params: number; memoryBytes: number; threads: number }) {
      process.stderr.write(`codellama train: ${(info.params / 1e6).toFixed(1)}M parameters, ${(info.memoryBytes / 2 ** 20).toFixed(0)} MiB, ${info.threads} thread${info.threads === 1 ? "" : "s"}${info.startStep ? `, resuming at step ${info.startStep}` : ""}\n`);
      if (tty) {
        bar = new cliProgress.SingleBar({
          stream: process.stderr, hideCursor: true, etaBuffer: 20,
          format: "step {value}/{total} [{bar}] loss {loss} | val {val} | {tps} tok/s | ETA {eta_formatted}",
        }, cliProgress.Presets.shades_classic);
        bar.start(info.total, info.startStep, { loss: "-", val: "-", tps: "-" });
      }
    },
    step(s: StepLog, total: number) {
      ema = ema ? 0.9 * ema + 0.1 * s.tokPerSec : s.tokPerSec;
      if (bar) bar.update(s.step, { loss: s.loss.toFixed(4), tps: ema.toFixed(0), ...(s.valLoss !== undefined ? { val: s.valLoss.toFixed(4) } : {}) });
      else if (!quiet && (s.valLoss !== undefined || s.step === total)) {
        const eta = ((total - s.step) * (s.tokens / Math.max(1, s.step))) / Math.max(1e-9, ema);
        process.stderr.write(`step ${s.step}/${total}: loss ${s.loss.toFixed(4)}${s.valLoss !== undefined ? `, val ${s.valLoss.toFixed(4)}` : ""}, lr ${s.lr.toExponential(2)}, ${ema.toFixed(0)} tok/s, ETA ${formatSeconds(eta)}\n`);
      }
    },
    stop() { bar?.stop(); bar = undefined; },
  };
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train a Code Llama-style model (pretraining with FIM, long-context fine-tuning, Python, instructions)")
    .option("-c, --config <file.json>", "settings (see src/train/config.ts); flags override it")
    .option("--preset <stage>", `stage defaults: ${PRESET_NAMES.join(", ")}`)
    .option("--recipe <name>", `run a whole recipe from scratch: ${Object.keys(RECIPES).join(", ")}`)
    .option("--data <dataset...>", "training dataset folders (codellama data build)")
    .option("--val-data <dataset>", "validation dataset (default: the val split of the first --data)")
    .option("-o, --out <dir>", "run folder: checkpoints, log.jsonl, loss.svg, model.gguf")
    .option("--init <model.gguf>", "start from these weights (a previous stage)")
    .option("--tokenizer <vocab.gguf>", "GGUF whose tokenizer goes into the checkpoints (default: the dataset's)")
    .option("--export <model.gguf>", "also write the final model here")
    .option("--steps <n>", "optimizer steps", num("--steps", { int: true, min: 1 }))
    .option("--threads <n>", "compute threads (default: all cores)", num("--threads", { int: true, min: 1 }))
    .option("--seed <n>", "random seed", num("--seed", { int: true, min: 0, max: 0xffffffff }))
    .option("--set <key=value...>", "override any setting, e.g. --set lr=1e-4 model.dim=320")
    .option("--resume [run]", "continue the run folder's (or this step-*.gguf's) last checkpoint")
    .option("--force", "start over in a run folder that already holds checkpoints")
    .option("--work <dir>", "recipe: folder for its datasets and stage runs (default runs/<recipe>)")
    .option("--vocab-from <vocab.gguf>", "recipe: the llama vocabulary GGUF to build Code Llama's from")
    .option("--dry-run", "recipe: print the plan and stop")
    .action(async (o: TrainCli) => {
      if (o.recipe) {
        if (o.config || o.preset || o.data || o.resume) throw new UserError("--recipe runs a whole recipe; it takes no --config, --preset, --data or --resume (run it again to continue: finished stages are kept)");
        const recipe = RECIPES[o.recipe];
        if (!recipe) throw new UserError(`unknown recipe "${o.recipe}" (known: ${Object.keys(RECIPES).join(", ")})`);
        await runRecipe(recipe, {
          work: o.work ?? `runs/${o.recipe}`, vocabFrom: o.vocabFrom, threads: o.threads, dryRun: o.dryRun,
          pythonStdlib: () => pythonStdlibDir(), log: (s) => process.stderr.write(s + "\n"),
          trainStage: (cfg, resume) => runTraining(cfg, resume, false, false),
        });
        return;
      }
      const layers: ConfigLayer[] = [DEFAULTS];
      if (o.preset) {
        if (!Object.hasOwn(PRESETS, o.preset)) throw new UserError(`unknown preset "${o.preset}" (known: ${PRESET_NAMES.join(", ")})`);
        layers.push(PRESETS[o.preset as keyof typeof PRESETS]);
      }
      if (o.config) {
        const file = readConfigFile(o.config);
        // a config naming its stage pulls in that preset under it (unless --preset chose one)
        if (!o.preset && file.stage) layers.push(PRESETS[file.stage]);
        layers.push(file);
      }
      const flags: ConfigLayer = {
        ...(o.data ? { data: o.data.length === 1 ? o.data[0] : o.data.map((path) => ({ path, weight: 1 })) } : {}),
        ...(o.valData ? { valData: o.valData } : {}), ...(o.out ? { out: o.out } : {}), ...(o.init ? { init: o.init } : {}),
        ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}), ...(o.export ? { export: o.export } : {}),
        ...(o.steps ? { steps: o.steps } : {}), ...(o.threads ? { threads: o.threads } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}),
      };
      layers.push(flags);
      if (o.set) layers.push(setLayer(o.set));
      const cfg = resolveConfig(layers);
      const resume = o.resume === true ? cfg.out : o.resume || undefined;
      if (resume && o.resume === true) {
        try { statSync(cfg.out); } catch { throw new UserError(`--resume: the run folder ${cfg.out} does not exist`); }
      }
      await runTraining(cfg, resume, false, o.force ?? false);
    });
}

/** Train one configuration with progress output and Ctrl-C handling; prints a summary line. */
async function runTraining(cfg: Parameters<typeof train>[0], resume: string | undefined, quiet: boolean, overwrite: boolean): Promise<void> {
  const rep = progressReporter(quiet);
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true;
    rep.stop();
    process.stderr.write("codellama train: stopping after this step (checkpoint); Ctrl-C again to quit at once\n");
  };
  process.on("SIGINT", onSigint);
  try {
    const r = await train(cfg, { resume, overwrite, onStart: (i) => rep.start(i), onStep: (s, t) => rep.step(s, t), shouldStop: () => stopping });
    rep.stop();
    const val = r.valLoss !== undefined ? `, validation loss ${r.valLoss.toFixed(4)}` : "";
    process.stdout.write(r.finished
      ? `trained ${r.step} steps: loss ${r.lastLoss.toFixed(4)}${val}; model ${r.model}${cfg.export ? ` and ${cfg.export}` : ""}\n`
      : `stopped at step ${r.step} of ${cfg.steps} (checkpoint ${r.model}); continue with --resume\n`);
  } finally {
    rep.stop();
    process.off("SIGINT", onSigint);
  }
}
