/**
 * Where a benchmark's data comes from: `--data PATH` (a local copy laid out like
 * ../shared/data: PATH/<folder>/<files>, or PATH being that folder), or else the cache
 * ($CODELLAMA_CACHE/data, default ~/.cache/codellama-ts/data), filled on first use by
 * downloading each file from its official source (pinned commit or release tag) and checking its
 * sha256 before it is kept. Nothing is downloaded for --data or when the cache has the file.
 *
 * Sources and checksums are those of ../shared/data/<folder>/PROVENANCE.md.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import { datasetFolder, type BenchmarkName } from "./datasets.js";

export interface DataFile {
  folder: string;
  file: string;
  url: string;
  sha256: string;
}

const HE_COMMIT = "6d43fb980f9fee3c892a914eda09951f772ad10d";
const INFILL_COMMIT = "88062ff9859c875d04db115b698ed4b0f0395170";

const HUMANEVAL: DataFile = {
  folder: "humaneval", file: "HumanEval.jsonl.gz",
  url: `https://raw.githubusercontent.com/openai/human-eval/${HE_COMMIT}/data/HumanEval.jsonl.gz`,
  sha256: "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
};
// The google-research repository does not tag MBPP; its master copy is what the HF loader serves.
const MBPP: DataFile = {
  folder: "mbpp", file: "mbpp.jsonl",
  url: "https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl",
  sha256: "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f",
};
const HUMANEVAL_PLUS: DataFile = {
  folder: "humaneval-plus", file: "HumanEvalPlus.jsonl.gz",
  url: "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
  sha256: "272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101",
};
const MBPP_PLUS: DataFile = {
  folder: "mbpp-plus", file: "MbppPlus.jsonl.gz",
  url: "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
  sha256: "af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
};
function infill(file: string, sha256: string): DataFile {
  return { folder: "humaneval-infilling", file, url: `https://raw.githubusercontent.com/openai/human-eval-infilling/${INFILL_COMMIT}/data/${file}`, sha256 };
}

/** The files each benchmark reads (MBPP+ also needs MBPP for its three worked examples). */
export const DATA_FILES: Readonly<Record<BenchmarkName, readonly DataFile[]>> = {
  "humaneval": [HUMANEVAL],
  "mbpp": [MBPP],
  "humaneval-plus": [HUMANEVAL_PLUS],
  "mbpp-plus": [MBPP_PLUS, MBPP],
  "humaneval-infill-single": [infill("HumanEval-SingleLineInfilling.jsonl.gz", "1277073e7ddce163ef68598c2bca777f688a53df99422f097e37362090f88e1f")],
  "humaneval-infill-multi": [infill("HumanEval-MultiLineInfilling.jsonl.gz", "2f341612eee1d35da1357a4f365e0c0b3ba6e2b62eb491e88aaefa4855af0349")],
  "humaneval-infill-random": [infill("HumanEval-RandomSpanInfilling.jsonl.gz", "b4f330d8a8ff97bf85d9def497dffcae4d741e506449386a877236e422e33e8d")],
};

/** The cache folder for datasets. */
export function dataCacheRoot(): string {
  const base = process.env.CODELLAMA_CACHE ?? join(homedir(), ".cache", "codellama-ts");
  return join(base, "data");
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Download `url` to `dest` (temp file + rename) only when its sha256 is `sha256`. */
export async function fetchVerified(url: string, sha256: string, dest: string, signal?: AbortSignal): Promise<void> {
  let body: Buffer;
  try {
    const r = await fetch(url, { redirect: "follow", signal: signal ?? AbortSignal.timeout(300_000) });
    if (!r.ok) throw new UserError(`cannot download ${url}: HTTP ${r.status} ${r.statusText}`);
    body = Buffer.from(await r.arrayBuffer());
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = e as { message?: string; cause?: { code?: string; message?: string } };
    throw new UserError(`cannot download ${url}: ${err.cause?.code ?? err.cause?.message ?? err.message ?? String(e)} (or give a local copy with --data PATH)`);
  }
  const got = createHash("sha256").update(body).digest("hex");
  if (got !== sha256) throw new UserError(`downloaded ${url} but its sha256 is ${got}, not the expected ${sha256}; it was not kept`);
  mkdirSync(dirname(dest), { recursive: true });
  writeFileAtomic(dest, body);
}

export interface ResolveOptions {
  /** --data PATH. */
  data?: string;
  /** Called with a line to show (downloads, checksum warnings). */
  onNote?: (message: string) => void;
  /** The files and their sources (default DATA_FILES; tests point them at a loopback server). */
  files?: Readonly<Record<BenchmarkName, readonly DataFile[]>>;
}

/** The folder under a --data PATH that holds `files` of `folder`: PATH/folder, PATH itself, or PATH's sibling. */
function localFolder(data: string, folder: string, files: readonly DataFile[]): string | undefined {
  const has = (d: string) => files.every((f) => existsSync(join(d, f.file)));
  const candidates = [join(data, folder), data, join(dirname(data), folder)];
  return candidates.find((d) => existsSync(d) && statSync(d).isDirectory() && has(d));
}

/**
 * The folder (as loadTasks takes it) holding `folder`'s files for `benchmark`: from --data, or
 * from the cache, downloading what is missing.
 */
export async function resolveDataFolder(benchmark: BenchmarkName, folder: string, o: ResolveOptions = {}): Promise<string> {
  const files = (o.files ?? DATA_FILES)[benchmark].filter((f) => f.folder === folder);
  if (o.data !== undefined) {
    if (!existsSync(o.data)) throw new UserError(`--data: no such file or folder: ${o.data}`);
    const dir = localFolder(o.data, folder, files);
    if (!dir) throw new UserError(`--data ${o.data}: no ${files.map((f) => `${folder}/${f.file}`).join(", ")} there (lay it out like the official files: PATH/${folder}/${files[0]?.file ?? ""})`);
    for (const f of files) {
      const got = sha256File(join(dir, f.file));
      if (got !== f.sha256) o.onNote?.(`warning: ${join(dir, f.file)} is not the official file (sha256 ${got.slice(0, 12)}..., expected ${f.sha256.slice(0, 12)}...); results may differ from the reference`);
    }
    return dir;
  }
  const dir = join(dataCacheRoot(), folder);
  for (const f of files) {
    const dest = join(dir, f.file);
    if (existsSync(dest)) continue;
    o.onNote?.(`downloading ${f.file} from ${f.url}`);
    await fetchVerified(f.url, f.sha256, dest);
  }
  return dir;
}

/** The data folder of a benchmark (and, for MBPP prompts, of MBPP's worked examples). */
export async function resolveBenchmarkData(benchmark: BenchmarkName, o: ResolveOptions = {}): Promise<{ dataDir: string; shotsDir?: string }> {
  const folder = datasetFolder(benchmark);
  const dataDir = await resolveDataFolder(benchmark, folder, o);
  if (benchmark !== "mbpp" && benchmark !== "mbpp-plus") return { dataDir };
  const mbpp = datasetFolder("mbpp");
  const shotsDir = folder === mbpp ? dataDir : await resolveDataFolder(benchmark, mbpp, o.data !== undefined && basename(o.data) === folder ? { ...o, data: dirname(o.data) } : o);
  return { dataDir, shotsDir };
}
