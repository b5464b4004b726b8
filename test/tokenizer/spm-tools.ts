/**
 * Helpers for comparing with Debian's SentencePiece command-line tools (package
 * `sentencepiece`: spm_train, spm_encode, spm_decode) on real code: Python standard-library
 * files found on this machine (see `sourcePaths`).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProtoReader, type Field } from "../../src/tokenizer/protobuf.js";
import { REPO_ROOT, SCRATCH } from "../helpers/paths.js";
import { lenField, tag, varint } from "./proto-writer.js";

/** Fail (not skip) when the SentencePiece tools are missing: CI installs them. */
export function requireSpmTools(): void {
  for (const tool of ["spm_train", "spm_encode", "spm_decode"]) {
    const r = spawnSync(tool, ["--help"], { stdio: "ignore" });
    if (r.error) throw new Error(`${tool} is not installed; run: apt-get install -y sentencepiece (needed for the SentencePiece agreement test)`);
  }
}

/** A Python source file: path and text. */
export interface SourceFile { path: string; text: string }

/** Every file under `root` whose name passes `keep`, as sorted absolute paths ([] if unreadable). */
function listFiles(root: string, keep: (rel: string) => boolean): string[] {
  try {
    return (readdirSync(root, { recursive: true }) as string[]).filter(keep).sort().map((rel) => join(root, rel));
  } catch {
    return [];
  }
}

/**
 * Real code to test on: `.py` files of the Python standard library on this machine (found with
 * `python3 -c 'import sysconfig; ...'`), then its site-packages and the other Python folders
 * under /usr/lib and /usr/local/lib; and, only if that is fewer than `want` files (Debian's
 * python3 alone has about 500 small ones), the .js/.ts files of this repository's node_modules.
 * Only files of 1..`maxBytes` bytes; sorted, deduplicated, deterministic; the search stops
 * at 4 x `want` files.
 */
export function sourcePaths(want: number, maxBytes = 16 * 1024): string[] {
  const roots: string[] = [];
  const r = spawnSync("python3", ["-c", 'import sysconfig;p=sysconfig.get_paths();print(p["stdlib"]);print(p["purelib"])'], { encoding: "utf8" });
  if (!r.error && r.status === 0) roots.push(...r.stdout.trim().split("\n"));
  for (const base of ["/usr/lib", "/usr/local/lib"]) {
    try { for (const d of readdirSync(base).sort()) if (/^python3/.test(d)) roots.push(join(base, d)); } catch { /* absent */ }
  }
  const isSite = (p: string) => /(^|\/)(site|dist)-packages\//.test(p);
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (path: string) => {
    if (out.length >= 4 * want) return;
    try {
      const real = realpathSync(path);
      const st = statSync(real);
      if (seen.has(real) || !st.isFile() || st.size === 0 || st.size > maxBytes) return;
      seen.add(real);
      out.push(path);
    } catch {
      // dangling link or unreadable: not part of the sample
    }
  };
  // 1. Python: each root's own files first, then its site/dist-packages.
  for (const root of roots) {
    const py = listFiles(root, (p) => p.endsWith(".py"));
    for (const p of py) if (!isSite(p.slice(root.length))) add(p);
    for (const p of py) if (isSite(p.slice(root.length))) add(p);
  }
  // 2. Not enough: JavaScript/TypeScript from node_modules.
  if (out.length < want) for (const p of listFiles(join(REPO_ROOT, "node_modules"), (p) => /\.(m?js|ts)$/.test(p))) add(p);
  return out;
}

/** Read files as UTF-8; files that are not valid UTF-8 are left out. */
export function readSources(paths: string[]): SourceFile[] {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const out: SourceFile[] = [];
  for (const path of paths) {
    try { out.push({ path, text: decoder.decode(readFileSync(path)) }); } catch { /* not UTF-8 */ }
  }
  return out;
}

/** Every k-th element, k chosen so that about `n` are taken (deterministic sample). */
export function spread<T>(xs: T[], n: number, offset = 0): T[] {
  if (xs.length <= n) return xs.slice();
  const step = xs.length / n;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor(offset + i * step) % xs.length]);
  return out;
}

/**
 * Train a SentencePiece model on `corpus` with `flags`; cached in SCRATCH by a hash of both.
 * Returns the path of the .model file.
 */
export function trainSpm(name: string, corpus: string, flags: string[]): string {
  const dir = join(SCRATCH, "spm");
  mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256").update(flags.join("\n")).update("\0").update(corpus).digest("hex").slice(0, 16);
  const prefix = join(dir, `${name}-${hash}`);
  if (existsSync(`${prefix}.model`)) return `${prefix}.model`;
  writeFileSync(`${prefix}.txt`, corpus);
  const r = spawnSync("spm_train", [`--input=${prefix}.txt`, `--model_prefix=${prefix}`, "--minloglevel=2", ...flags], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`spm_train failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return `${prefix}.model`;
}

/**
 * spm_encode `lines` (one sentence per line, as spm_encode reads them) and return the ids per
 * line. The lines must not contain '\n'. spm_encode runs in the background (files in and out,
 * so it does not need this process's event loop): the caller can encode meanwhile.
 */
export function spmEncodeLines(model: string, lines: string[]): Promise<number[][]> {
  const dir = join(SCRATCH, "spm");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `encode-${process.pid}-${++encodeRuns}`);
  writeFileSync(`${base}.in`, lines.join("\n") + "\n");
  const child = spawn("spm_encode", [`--model=${model}`, "--output_format=id", `--output=${base}.out`, `${base}.in`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        if (code !== 0) throw new Error(`spm_encode failed (${code}): ${stderr.slice(-2000)}`);
        const out = readFileSync(`${base}.out`, "utf8").split("\n");
        if (out.at(-1) === "") out.pop();
        if (out.length !== lines.length) throw new Error(`spm_encode returned ${out.length} lines for ${lines.length}`);
        resolve(out.map((l) => (l === "" ? [] : l.split(" ").map(Number))));
      } catch (e) {
        reject(e);
      } finally {
        rmSync(`${base}.in`, { force: true });
        rmSync(`${base}.out`, { force: true });
      }
    });
  });
}
let encodeRuns = 0;

/** spm_decode id sequences (none may decode to a newline). */
export function spmDecode(model: string, seqs: number[][]): string[] {
  const out = execFileSync("spm_decode", [`--model=${model}`, "--input_format=id"], { input: seqs.map((s) => s.join(" ")).join("\n") + "\n", maxBuffer: 1 << 30 }).toString("utf8").split("\n");
  if (out.at(-1) === "") out.pop();
  if (out.length !== seqs.length) throw new Error(`spm_decode returned ${out.length} lines for ${seqs.length}`);
  return out;
}

// ------------------------------------------------------------------ editing a ModelProto

export interface ModelEdits {
  /** New types for some piece ids (SentencePiece enum: 1 normal .. 6 byte). */
  pieceTypes?: Map<number, number>;
  /** Replace NormalizerSpec booleans (field 3 add_dummy_prefix, 4 remove_extra_whitespaces). */
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
}

/** Re-serialize a SentencePiece model with some fields changed (everything else copied). */
export function editSpmModel(bytes: Uint8Array, edits: ModelEdits): Uint8Array {
  const r = new ProtoReader(bytes, "model");
  const out: number[] = [];
  const raw = (f: Field) => bytes.subarray(f.at, f.end);
  let pieceIndex = 0;
  for (const f of r.readFields(0, bytes.length, "ModelProto")) {
    if (f.no === 1) {
      const newType = edits.pieceTypes?.get(pieceIndex++);
      if (newType === undefined) { out.push(...raw(f)); continue; }
      const body: number[] = [];
      for (const g of r.readFields(f.start, f.end, "piece")) if (g.no !== 3) body.push(...raw(g));
      body.push(...tag(3, 0), ...varint(newType));
      out.push(...lenField(1, body));
    } else if (f.no === 3 && (edits.addDummyPrefix !== undefined || edits.removeExtraWhitespaces !== undefined)) {
      const body: number[] = [];
      for (const g of r.readFields(f.start, f.end, "normalizer_spec")) {
        if ((g.no === 3 && edits.addDummyPrefix !== undefined) || (g.no === 4 && edits.removeExtraWhitespaces !== undefined)) continue;
        body.push(...raw(g));
      }
      if (edits.addDummyPrefix !== undefined) body.push(...tag(3, 0), edits.addDummyPrefix ? 1 : 0);
      if (edits.removeExtraWhitespaces !== undefined) body.push(...tag(4, 0), edits.removeExtraWhitespaces ? 1 : 0);
      out.push(...lenField(3, body));
    } else out.push(...raw(f));
  }
  return Uint8Array.from(out);
}
