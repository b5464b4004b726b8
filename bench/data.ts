/**
 * Data pipeline benchmark: `codellama data build` (library call, same code path) over a slice of
 * the Python standard library (a fixed list of packages), single run, with the Code Llama
 * vocabulary (the llama SPM vocab of ../shared + the 16 FIM pieces), ctx 2048, FIM 0.9.
 *
 * Printed: documents/s and tokens/s of the whole build (walk, filters, exact and MinHash dedup,
 * FIM, tokenization, packing, writing), the time of the read+dedup stage, and as the reference
 * from the same run the bare tokenizer (`encode` of every kept document once, no FIM): the
 * ceiling a build could reach, and the ratio build / bare tokenizer.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";
import { buildDataset } from "../src/data/build.js";
import { readAndFilter } from "../src/data/filter.js";
import { PackedDataset } from "../src/data/reader.js";
import { ensureCodeLlamaVocab, loadDataTokenizer } from "../src/data/vocab.js";
import { walkSources } from "../src/data/walk.js";
import { pythonStdlibDir } from "../src/eval/code-corpus.js";

/** Standard-library packages of the slice (those that exist are used). */
const PACKAGES = ["asyncio", "email", "json", "importlib", "concurrent", "multiprocessing", "xml", "http", "urllib", "logging", "unittest", "sqlite3", "collections", "tomllib", "zoneinfo", "wsgiref", "xmlrpc", "html", "dbm"];

export async function benchData(log: (line: string) => void = console.log): Promise<void> {
  log("\n== data build (codellama data build over a Python stdlib slice) ==");
  let std: string;
  try {
    std = pythonStdlibDir();
  } catch (e) {
    log(`  skipped: ${(e as Error).message}`);
    return;
  }
  const root = packageRoot();
  const shared = process.env.CODELLAMA_SHARED ?? join(root, "..", "shared");
  const llamaVocab = join(shared, "data", "llama-spm-vocab", "ggml-vocab-llama-spm.gguf");
  if (!existsSync(llamaVocab)) { log(`  skipped: ${llamaVocab} not found`); return; }
  const work = join(root, ".cache", "bench-data");
  mkdirSync(work, { recursive: true });
  const vocabFile = ensureCodeLlamaVocab(llamaVocab, join(work, "codellama-vocab.gguf"));
  const { tokenizer } = loadDataTokenizer(vocabFile);
  const src = PACKAGES.map((p) => join(std, p)).filter((p) => existsSync(p));
  const out = join(work, "dataset");

  // 1. The build, timed as a whole, with the read/dedup stage timed from the progress callback.
  let readDone = 0;
  const t0 = performance.now();
  const { manifest } = buildDataset({
    src, out, tokenizer, tokenizerFile: vocabFile, languages: ["py"], ctx: 2048, fimRate: 0.9, spmRate: 0.5, val: 0.01, seed: 0, force: true,
    onProgress: (stage) => { if (stage === "tokenize" && !readDone) readDone = performance.now(); },
  });
  const buildS = (performance.now() - t0) / 1000;
  const readS = (readDone - t0) / 1000;
  const docs = manifest.dedup!.kept;
  const tokens = manifest.splits.train.tokens + manifest.splits.val.tokens;
  const bytes = manifest.sources!.reduce((s, x) => s + x.bytes, 0);

  // 2. Reference from the same run: the bare tokenizer over the same kept texts (read again, not timed).
  const texts: string[] = [];
  for (const f of walkSources(src, ["py"]).files) { const r = readAndFilter(f.path); if (r.text) texts.push(r.text); }
  const t1 = performance.now();
  let refTokens = 0;
  for (const t of texts) refTokens += tokenizer.encode(t).length + 2;
  const refS = (performance.now() - t1) / 1000;

  // 3. Read the dataset back once (sequential positional reads).
  const t2 = performance.now();
  const ds = PackedDataset.open(out, "train");
  const buf = new Int32Array(ds.ctx);
  for (let s = 0; s < ds.numSequences; s++) ds.tokens(s, buf);
  const readBackS = (performance.now() - t2) / 1000;
  const seqs = ds.numSequences;
  ds.close();

  log(`  slice: ${src.length} packages, ${manifest.filter!.candidates} files, ${docs} documents after filters/dedup (${(bytes / 1e6).toFixed(1)} MB), ${tokens} tokens`);
  log(`  dedup: ${manifest.dedup!.exact} exact, ${manifest.dedup!.near} near; FIM ${manifest.splits.train.fim.transformed} of ${manifest.splits.train.fim.eligible} eligible`);
  log(`  build (ours):       ${buildS.toFixed(2)} s  ${(docs / buildS).toFixed(0)} documents/s  ${(tokens / buildS / 1e6).toFixed(2)} M tokens/s  (read+filter+dedup ${readS.toFixed(2)} s)`);
  log(`  bare tokenizer:     ${refS.toFixed(2)} s  ${(texts.length / refS).toFixed(0)} documents/s  ${(refTokens / refS / 1e6).toFixed(2)} M tokens/s  (${texts.length} texts incl. duplicates)`);
  log(`  ratio build / bare tokenizer (tokens/s): ${((tokens / buildS) / (refTokens / refS)).toFixed(2)}`);
  log(`  read back: ${seqs} sequences of 2048 in ${readBackS.toFixed(2)} s (${(seqs * 2048 / readBackS / 1e6).toFixed(1)} M tokens/s)`);
  rmSync(out, { recursive: true, force: true });
}
