/**
 * `buildDataset`: source trees to a packed pretraining dataset (what `codellama data build` runs).
 *
 *  1. Walk the --src roots for files of the requested languages (walk.ts), in a fixed order.
 *  2. Read and filter each file (filter.ts: size, unreadable, binary, empty, minified, very long
 *     lines, generated), then drop exact duplicates (sha256 of the normalised text) and near
 *     duplicates (MinHash/LSH, minhash.ts), keeping the first in walk order. Each is counted.
 *  3. Split by document into train/val and shuffle each split's order (split.ts, by --seed).
 *  4. Tokenize each document as BOS + text + EOS, or its FIM form (fim.ts, rate --fim-rate, SPM
 *     share --spm-rate, only for documents that fit in ctx; the validation split too, from its
 *     own random stream, so its loss measures the same mix), and pack into sequences of ctx
 *     tokens (packer.ts), written into a temporary folder that is renamed into place at the end
 *     (dataset-dir.ts) together with manifest.json.
 *
 * The same inputs, options and seed give the same bytes (no timestamps or absolute temp paths
 * are recorded; every random choice comes from a seeded stream). The kept texts are held in
 * memory between steps 2 and 4 (fine for corpora up to a few hundred MB).
 */
import { createHash } from "node:crypto";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { DatasetDir } from "./dataset-dir.js";
import { FimTransformer, type FimCounts } from "./fim.js";
import { readAndFilter, DEFAULT_FILTER, FILTER_REASONS, type FilterOptions } from "./filter.js";
import { FORMAT_NAME, FORMAT_VERSION, tokenBytesFor, type DatasetManifest, type SourceRecord, type SplitName, type SplitStats } from "./format.js";
import { DEFAULT_MINHASH, NearDedup, type MinHashOptions } from "./minhash.js";
import { DEFAULT_MAX_OPEN, Packer } from "./packer.js";
import { splitDocuments, STREAM } from "./split.js";
import { vocabFingerprint } from "./vocab.js";
import { LANGUAGES, walkSources } from "./walk.js";
import { SplitWriter } from "./writer.js";

/** The smallest context that holds a FIM layout with some text (BOS, 4 sentinels, EOS, content). */
export const MIN_CTX = 16;
export const MAX_CTX = 1 << 20;

export type ProgressStage = "read" | "tokenize";

export interface BuildOptions {
  src: readonly string[];
  out: string;
  tokenizer: Tokenizer;
  /** The tokenizer's file, as the user named it (recorded in the manifest). */
  tokenizerFile: string;
  /** Language names (walk.ts LANGUAGES); default all. */
  languages?: readonly string[];
  ctx?: number;
  fimRate?: number;
  spmRate?: number;
  val?: number;
  seed?: number;
  filter?: Partial<FilterOptions>;
  minhash?: Partial<MinHashOptions>;
  /** Replace an existing dataset at `out`. */
  force?: boolean;
  /** Open sequences of the packer (default 32). */
  maxOpen?: number;
  onProgress?: (stage: ProgressStage, done: number, total: number) => void;
  onWarning?: (message: string) => void;
}

export interface BuildResult {
  manifest: DatasetManifest;
  warnings: string[];
}

/** UserErrors for option values out of range. */
export function checkCommonOptions(o: { ctx: number; val: number; seed: number }): void {
  if (!Number.isInteger(o.ctx) || o.ctx < MIN_CTX || o.ctx > MAX_CTX) throw new UserError(`--ctx must be a whole number from ${MIN_CTX} to ${MAX_CTX} tokens, got ${o.ctx}`);
  if (!(o.val >= 0 && o.val < 1)) throw new UserError(`--val must be a fraction in [0, 1), got ${o.val}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new UserError(`--seed must be a whole number from 0 to 4294967295, got ${o.seed}`);
}

interface Doc { text: string; root: number; lang: string; bytes: number }

/** Build the dataset; see the file comment. */
export function buildDataset(opts: BuildOptions): BuildResult {
  const ctx = opts.ctx ?? 2048, fimRate = opts.fimRate ?? 0.9, spmRate = opts.spmRate ?? 0.5, val = opts.val ?? 0.01, seed = opts.seed ?? 0;
  checkCommonOptions({ ctx, val, seed });
  if (!(fimRate >= 0 && fimRate <= 1)) throw new UserError(`--fim-rate must be a probability in [0, 1], got ${fimRate}`);
  if (!(spmRate >= 0 && spmRate <= 1)) throw new UserError(`--spm-rate must be a probability in [0, 1], got ${spmRate}`);
  if (opts.src.length === 0) throw new UserError("--src: give at least one source folder");
  const languages = [...(opts.languages ?? Object.keys(LANGUAGES))];
  const filterOpts: FilterOptions = { ...DEFAULT_FILTER, ...opts.filter };
  const mh: MinHashOptions = { ...DEFAULT_MINHASH, ...opts.minhash };
  const tok = opts.tokenizer;
  const warnings: string[] = [];
  const warn = (m: string) => { warnings.push(m); opts.onWarning?.(m); };
  // FIM needs the sentinel pieces: fail before any work.
  const sp = tok.special;
  if (fimRate > 0 && [sp.prefix, sp.suffix, sp.middle, sp.eot].includes(undefined)) {
    throw new UserError(`--tokenizer ${opts.tokenizerFile}: its ${tok.vocabSize}-piece vocabulary lacks Code Llama's FIM pieces (\u2581<PRE>, \u2581<SUF>, \u2581<MID>, \u2581<EOT>), so --fim-rate must be 0 (it is ${fimRate}); codellama data vocab writes the 32016-piece Code Llama vocabulary`);
  }
  if (tok.special.bos < 0 || tok.special.eos < 0) throw new UserError(`${opts.tokenizerFile}: the tokenizer has no BOS or EOS token to frame documents with`);

  // 1. Walk.
  const walked = walkSources(opts.src, languages);
  walked.warnings.forEach(warn);
  if (walked.files.length === 0) {
    const exts = languages.flatMap((l) => LANGUAGES[l]);
    throw new UserError(`--src ${opts.src.join(", ")}: no files of the requested languages (${languages.join(", ")}: ${exts.slice(0, 12).join(" ")}${exts.length > 12 ? " ..." : ""})`);
  }

  // 2. Read, filter, dedup (exact, then near), in walk order.
  const filter: Record<string, number> = { candidates: walked.files.length };
  for (const r of FILTER_REASONS) filter[r] = 0;
  const seen = new Set<string>();
  const near = new NearDedup(mh);
  let exact = 0, nearCount = 0;
  const docs: Doc[] = [];
  const perRoot = opts.src.map(() => ({ files: 0, documents: 0, bytes: 0 }));
  walked.files.forEach((f, i) => {
    perRoot[f.root].files++;
    const r = readAndFilter(f.path, filterOpts);
    if (r.reason) {
      filter[r.reason]++;
      if (r.reason === "unreadable") warn(`${f.path}: cannot read (${r.error}); skipped`);
    } else {
      const text = r.text!;
      const h = createHash("sha256").update(text).digest("hex");
      if (seen.has(h)) exact++;
      else {
        seen.add(h);
        if (near.isDuplicate(text)) nearCount++;
        else docs.push({ text, root: f.root, lang: f.lang, bytes: r.bytes });
      }
    }
    opts.onProgress?.("read", i + 1, walked.files.length);
  });
  filter.kept = walked.files.length - FILTER_REASONS.reduce((s, r) => s + filter[r], 0);
  if (docs.length === 0) {
    const why = FILTER_REASONS.filter((r) => filter[r] > 0).map((r) => `${filter[r]} ${r}`).concat(exact ? [`${exact} exact duplicates`] : [], nearCount ? [`${nearCount} near duplicates`] : []);
    throw new UserError(`--src ${opts.src.join(", ")}: none of the ${walked.files.length} files is usable (${why.join(", ")})`);
  }
  for (const d of docs) { perRoot[d.root].documents++; perRoot[d.root].bytes += d.bytes; }

  // 3. Split and order.
  const split = splitDocuments(docs.length, val, seed);

  // 4. Tokenize, FIM, pack, write.
  const dir = new DatasetDir(opts.out, opts.force);
  try {
    const tokenBytes = tokenBytesFor(tok.vocabSize);
    const padId = tok.special.eos;
    const total = docs.length;
    let done = 0;
    const stats = {} as Record<SplitName, SplitStats>;
    for (const name of ["train", "val"] as const) {
      const writer = new SplitWriter(dir.tmp, name, ctx, tokenBytes, padId);
      try {
        const packer = new Packer(writer, opts.maxOpen ?? DEFAULT_MAX_OPEN);
        const fim = new FimTransformer(tok, { ctx, fimRate, spmRate }, new Rng([seed >>> 0, name === "train" ? STREAM.fimTrain : STREAM.fimVal]));
        for (const d of split[name]) {
          const t = fim.document(docs[d].text);
          packer.add(t.tokens, t.flags);
          opts.onProgress?.("tokenize", ++done, total);
        }
        packer.finish();
        writer.finish();
        stats[name] = splitStats(writer, packer.splitDocuments, fim.counts);
      } finally {
        writer.abort();
      }
    }
    const languagesKept: Record<string, number> = {};
    for (const l of languages) languagesKept[l] = 0;
    for (const d of docs) languagesKept[d.lang]++;
    const sources: SourceRecord[] = opts.src.map((path, r) => ({ path, ...perRoot[r], licenses: walked.licenses[r] }));
    const manifest: DatasetManifest = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      kind: "pretrain",
      ctx, tokenBytes, padId, seed,
      tokenizer: tokenizerRecord(tok, opts.tokenizerFile),
      options: { languages, fimRate, spmRate, val, maxBytes: filterOpts.maxBytes, maxLineLength: filterOpts.maxLineLength },
      sources,
      filter,
      dedup: { exact, near: nearCount, kept: docs.length, minhash: { ...mh } },
      languages: languagesKept,
      splits: stats,
    };
    dir.commit(manifest);
    return { manifest, warnings };
  } catch (e) {
    dir.abort();
    throw e;
  }
}

/** The statistics of a finished split. */
export function splitStats(w: SplitWriter, splitDocs: number, fim: FimCounts): SplitStats {
  return {
    documents: w.documents, sequences: w.sequences, segments: w.segments, tokens: w.tokens, padTokens: w.padTokens,
    targetTokens: w.targetTokens, splitDocuments: splitDocs, fim: { ...fim },
  };
}

/** The manifest's tokenizer block. */
export function tokenizerRecord(tok: Tokenizer, file: string): DatasetManifest["tokenizer"] {
  const s = tok.special;
  const rec: DatasetManifest["tokenizer"] = { file, sha256: vocabFingerprint(tok), vocabSize: tok.vocabSize, bos: s.bos, eos: s.eos };
  if (s.prefix !== undefined) Object.assign(rec, { prefix: s.prefix, suffix: s.suffix, middle: s.middle, eot: s.eot });
  return rec;
}
