/**
 * Tokenizer benchmark: our SentencePiece BPE against llama-tokenizer-js (the devDependency),
 * both on the Llama vocabulary, encoding the same real code in the same run.
 *
 * Corpus: Python standard-library files (found with python3; the repository's own .ts files if
 * there is no python3), taken in path order until `megabytes` of text. Two ways of cutting it:
 *  - per file: each file is one encode call (no BOS, implicit leading space), as a prompt would
 *    be; llama-tokenizer-js slows down on long inputs, so this shows its worst side;
 *  - per line: each line is one encode call, which mostly measures per-call cost.
 * Both tokenizers must produce the same ids (checked). Reported: MB/s of UTF-8 input and
 * tokens/s for each, best and median of the timed rounds after a warm-up, and the speed ratio.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";
import { GGUFFile } from "../src/format/gguf-reader.js";
import { Tokenizer } from "../src/tokenizer/index.js";

export interface BenchTokenizerOptions {
  /** Size of the corpus (default 3 MB). */
  megabytes?: number;
  /** Timed rounds for ours (default 5) and for llama-tokenizer-js (default 2, it is slow). */
  rounds?: number;
  peerRounds?: number;
  log?: (line: string) => void;
}

/** Real code: Python stdlib files (or our own sources), in path order, up to `bytes`. */
function loadCorpus(bytes: number): { files: string[]; from: string } {
  const r = spawnSync("python3", ["-c", 'import sysconfig;print(sysconfig.get_paths()["stdlib"])'], { encoding: "utf8" });
  let root = r.status === 0 ? r.stdout.trim() : "";
  let ext = ".py";
  if (!root || !existsSync(root)) { root = join(packageRoot(), "src"); ext = ".ts"; }
  const paths = (readdirSync(root, { recursive: true }) as string[])
    .filter((p) => p.endsWith(ext) && !/(site|dist)-packages\//.test(p)).sort();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const files: string[] = [];
  let total = 0;
  for (const p of paths) {
    if (total >= bytes) break;
    try {
      if (!statSync(join(root, p)).isFile()) continue;
      const b = readFileSync(join(root, p));
      files.push(decoder.decode(b));
      total += b.length;
    } catch { /* not UTF-8 or unreadable */ }
  }
  return { files, from: root };
}

/** Best and median of the per-round times (ms). */
function stats(ms: number[]): { best: number; median: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor(s.length / 2)] };
}

export async function benchTokenizer(opts: BenchTokenizerOptions = {}): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const megabytes = opts.megabytes ?? 3, rounds = opts.rounds ?? 5, peerRounds = opts.peerRounds ?? 2;

  // 1. Tokenizers and corpus.
  const shared = process.env.CODELLAMA_SHARED ?? join(packageRoot(), "..", "shared");
  const vocabPath = join(shared, "data", "llama-spm-vocab", "ggml-vocab-llama-spm.gguf");
  const t0 = performance.now();
  const g = GGUFFile.open(vocabPath);
  const ours = Tokenizer.fromGGUF(g);
  g.close();
  const loadMs = performance.now() - t0;
  const { default: peer } = await import("llama-tokenizer-js");
  const { files, from } = loadCorpus(megabytes * 1e6);
  const utf8Bytes = files.reduce((a, f) => a + Buffer.byteLength(f), 0);
  log(`tokenizer bench: ${files.length} files from ${from}, ${(utf8Bytes / 1e6).toFixed(2)} MB UTF-8; one encode call per file, no BOS`);
  log(`  our tokenizer: Llama vocab loaded in ${loadMs.toFixed(0)} ms`);

  for (const [mode, units] of [["per file", files], ["per line", files.flatMap((f) => f.split("\n"))]] as const) {
    log(`  ${mode}: ${units.length} encode calls`);
    // 2. Same ids from both (llama-tokenizer-js: add_bos_token = false, add_preceding_space = true).
    let tokens = 0, differ = 0;
    for (const u of units) {
      const a = ours.encode(u);
      const b = peer.encode(u, false, true);
      tokens += a.length;
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) differ++;
    }
    log(`    ids identical for ${units.length - differ}/${units.length} inputs (${tokens} tokens)`);

    // 3. Timed rounds (the agreement pass above was the warm-up).
    const time = (fn: (s: string) => unknown, n: number): number[] => {
      const out: number[] = [];
      for (let r = 0; r < n; r++) {
        const s = performance.now();
        for (const u of units) fn(u);
        out.push(performance.now() - s);
      }
      return out;
    };
    const a = stats(time((s) => ours.encode(s), rounds));
    const b = stats(time((s) => peer.encode(s, false, true), peerRounds));
    const line = (name: string, t: { best: number; median: number }) =>
      `    ${name.padEnd(20)} ${(utf8Bytes / 1e3 / t.best).toFixed(2).padStart(7)} MB/s ${(tokens / t.best / 1e3).toFixed(3).padStart(7)} M tokens/s  (best; median ${(utf8Bytes / 1e3 / t.median).toFixed(2)} MB/s)`;
    log(line("ours", a));
    log(line("llama-tokenizer-js", b));
    log(`    ratio: ours is ${(b.best / a.best).toFixed(1)}x faster (median ${(b.median / a.median).toFixed(1)}x)`);
  }
}
