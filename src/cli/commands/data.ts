/**
 * `codellama data`: training data (src/data).
 *
 *   codellama data build --src DIR... --out DATASET [--lang py,js,ts] [--ctx 2048] [--fim-rate 0.9]
 *       [--spm-rate 0.5] [--val 0.01] [--seed S] [--tokenizer FILE] [--max-bytes N] [--force] [--json]
 *     source trees -> filtered, deduplicated, FIM-transformed, packed token dataset
 *   codellama data instruct --in FILE.jsonl --out DATASET [--ctx 2048] [--val 0] [--seed S]
 *       [--tokenizer FILE] [--force] [--json]
 *     dialogs -> [INST] sequences with the loss on the answers
 *   codellama data vocab --from VOCAB.gguf --out FILE.gguf
 *     the Code Llama vocabulary (llama SPM + 16 FIM pieces = 32016) as a tokenizer-only GGUF
 *   codellama data info DATASET [--json]
 *     what a dataset holds (its manifest)
 *
 * The dataset format is described in src/data/format.ts. Progress bars (cli-progress) go to
 * stderr on a terminal only; warnings (unreadable files) go to stderr always.
 */
import { Command } from "commander";
import cliProgress from "cli-progress";
import { buildDataset, type ProgressStage } from "../../data/build.js";
import { buildInstructDataset } from "../../data/instruct.js";
import { readManifest } from "../../data/reader.js";
import { loadDataTokenizer, writeCodeLlamaVocab } from "../../data/vocab.js";
import { parseLanguages } from "../../data/walk.js";
import type { DatasetManifest } from "../../data/format.js";
import { num } from "../options.js";

interface BuildCli {
  src: string[]; out: string; lang?: string; ctx: number; fimRate: number; spmRate: number; val: number; seed: number;
  tokenizer?: string; maxBytes: number; force?: boolean; json?: boolean;
}
interface InstructCli { in: string; out: string; ctx: number; val: number; seed: number; tokenizer?: string; force?: boolean; json?: boolean }

/** A progress bar per stage on a terminal; nothing otherwise. */
function progress(): { update: (stage: string, done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  let current = "";
  const stop = () => { bar?.stop(); bar = undefined; };
  return {
    update(stage, done, total) {
      if (stage !== current) {
        stop();
        current = stage;
        bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${stage.padEnd(9)} [{bar}] {value}/{total} {eta_formatted}`, hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(total, 0);
      }
      // Redraw at most every 1/200th of the way (and at the end), not on every file.
      if (done === total || done % Math.max(1, Math.floor(total / 200)) === 0) bar!.update(done);
    },
    stop,
  };
}

/** Print warnings to stderr, at most `max` of them. */
function warnings(list: string[], max = 20): void {
  for (const w of list.slice(0, max)) process.stderr.write(`codellama: warning: ${w}\n`);
  if (list.length > max) process.stderr.write(`codellama: warning: ... and ${list.length - max} more\n`);
}

/** A short human summary of a manifest. */
export function summary(m: DatasetManifest, out: string): string {
  const lines = [`${out}: ${m.kind} dataset, ctx ${m.ctx}, ${m.tokenizer.vocabSize}-piece vocabulary, seed ${m.seed}`];
  if (m.filter && m.dedup) {
    const f = m.filter;
    lines.push(`files: ${f.candidates} found; removed ${f.tooLarge} too large, ${f.unreadable} unreadable, ${f.binary} binary, ${f.empty} empty, ${f.minified} minified, ${f.longLines} with very long lines, ${f.generated} generated`);
    lines.push(`dedup: ${m.dedup.exact} exact and ${m.dedup.near} near duplicates removed; ${m.dedup.kept} documents`);
  }
  if (m.dialogs) {
    const d = m.dialogs;
    lines.push(`dialogs: ${d.read} read, ${d.used} used; skipped ${d.noAnswer} without an answer, ${d.specialTags} with special tags, ${d.tooLong} longer than ctx; ${d.lastUserDropped} unanswered last user messages dropped`);
  }
  for (const name of ["train", "val"] as const) {
    const s = m.splits[name];
    const fim = m.kind === "pretrain" ? `; FIM ${s.fim.transformed} of ${s.fim.eligible} eligible (PSM ${s.fim.psm}, SPM ${s.fim.spm})` : "";
    lines.push(`${name}: ${s.documents} documents, ${s.tokens} tokens (+${s.padTokens} padding) in ${s.sequences} sequences, ${s.splitDocuments} documents longer than ctx split${fim}`);
  }
  const lic = (m.sources ?? []).flatMap((s) => s.licenses.flatMap((l) => [...l.files.map((f) => f.license), ...(l.packageJson ? [l.packageJson] : [])]));
  const ids = [...new Set(lic)].filter((l) => l !== "none" && l !== "unreadable").sort();
  if (m.sources) lines.push(`licenses found: ${ids.length ? ids.join(", ") : "none"}`);
  return lines.join("\n") + "\n";
}

export function register(program: Command): void {
  const data = program.command("data").description("training data: build packed token datasets from source trees or dialogs");

  data
    .command("build")
    .description("walk source trees, filter, deduplicate, FIM-transform and pack them into a token dataset")
    .requiredOption("--src <dir...>", "source folders (or files) to read")
    .requiredOption("-o, --out <dataset>", "the dataset folder to write")
    .option("--lang <list>", "languages, comma-separated (default: all known; e.g. py,js,ts)")
    .option("-c, --ctx <n>", "sequence length in tokens", num("--ctx", { int: true, min: 16, max: 1 << 20 }), 2048)
    .option("--fim-rate <p>", "probability of the FIM transformation per document that fits in ctx", num("--fim-rate", { min: 0, max: 1 }), 0.9)
    .option("--spm-rate <p>", "share of SPM among FIM documents (the rest PSM)", num("--spm-rate", { min: 0, max: 1 }), 0.5)
    .option("--val <fraction>", "fraction of documents for validation", num("--val", { min: 0, max: 0.99 }), 0.01)
    .option("--seed <n>", "random seed (split, order, FIM)", num("--seed", { int: true, min: 0, max: 0xffffffff }), 0)
    .option("--tokenizer <file>", "a .gguf, tokenizer.model or tokenizer.json (default: models/default.gguf)")
    .option("--max-bytes <n>", "skip files larger than this", num("--max-bytes", { int: true, min: 1 }), 1_000_000)
    .option("--force", "replace an existing dataset at --out")
    .option("--json", "print the manifest as JSON instead of the summary")
    .action((o: BuildCli) => {
      const languages = parseLanguages(o.lang);
      const { tokenizer, file } = loadDataTokenizer(o.tokenizer);
      const bar = progress();
      let result;
      try {
        result = buildDataset({
          src: o.src, out: o.out, tokenizer, tokenizerFile: file, languages, ctx: o.ctx, fimRate: o.fimRate, spmRate: o.spmRate,
          val: o.val, seed: o.seed, filter: { maxBytes: o.maxBytes }, force: o.force,
          onProgress: (stage: ProgressStage, done, total) => bar.update(stage === "read" ? "files" : "tokenize", done, total),
        });
      } finally {
        bar.stop();
      }
      warnings(result.warnings);
      process.stdout.write(o.json ? JSON.stringify(result.manifest, null, 2) + "\n" : summary(result.manifest, o.out));
    });

  data
    .command("instruct")
    .description("turn JSONL dialogs into [INST] training sequences with the loss on the answers")
    .requiredOption("--in <file.jsonl>", 'dialogs: one {"dialog":[...]} or {"messages":[...]} per line')
    .requiredOption("-o, --out <dataset>", "the dataset folder to write")
    .option("-c, --ctx <n>", "sequence length in tokens", num("--ctx", { int: true, min: 16, max: 1 << 20 }), 2048)
    .option("--val <fraction>", "fraction of dialogs for validation", num("--val", { min: 0, max: 0.99 }), 0)
    .option("--seed <n>", "random seed (split, order)", num("--seed", { int: true, min: 0, max: 0xffffffff }), 0)
    .option("--tokenizer <file>", "a .gguf, tokenizer.model or tokenizer.json (default: models/default.gguf)")
    .option("--force", "replace an existing dataset at --out")
    .option("--json", "print the manifest as JSON instead of the summary")
    .action((o: InstructCli) => {
      const { tokenizer, file } = loadDataTokenizer(o.tokenizer);
      const bar = progress();
      let result;
      try {
        result = buildInstructDataset({
          input: o.in, out: o.out, tokenizer, tokenizerFile: file, ctx: o.ctx, val: o.val, seed: o.seed, force: o.force,
          onProgress: (done, total) => bar.update("dialogs", done, total),
        });
      } finally {
        bar.stop();
      }
      process.stdout.write(o.json ? JSON.stringify(result.manifest, null, 2) + "\n" : summary(result.manifest, o.out));
    });

  data
    .command("vocab")
    .description("write Code Llama's 32016-piece vocabulary (a llama vocabulary + the 16 FIM pieces) as a tokenizer-only GGUF")
    .requiredOption("--from <vocab.gguf>", "a llama SentencePiece vocabulary GGUF (e.g. ggml-vocab-llama-spm.gguf)")
    .requiredOption("-o, --out <file.gguf>", "the GGUF to write")
    .action((o: { from: string; out: string }) => {
      const { vocabSize } = writeCodeLlamaVocab(o.from, o.out);
      process.stdout.write(`${o.out}: ${vocabSize} pieces\n`);
    });

  data
    .command("info")
    .description("print what a dataset holds (its manifest)")
    .argument("<dataset>", "a dataset folder")
    .option("--json", "print the manifest as JSON")
    .action((dir: string, o: { json?: boolean }) => {
      const m = readManifest(dir);
      process.stdout.write(o.json ? JSON.stringify(m, null, 2) + "\n" : summary(m, dir));
    });
}
