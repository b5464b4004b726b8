/**
 * The synthetic key-retrieval task of the paper (§7.4, Tables 17 and 18): a long prompt of real
 * Python code hides, at a relative position, the function
 *
 *     def my_function() -> int:
 *         """Note that this function is used at the end"""
 *         return 42
 *
 * and ends with `assert my_function() == `; the model (greedy) must write the value.
 *
 * Decisions where §7.4 is UNCONFIRMED or open:
 * - Key formatting: our copy of the paper shows `return "Note that this function is used at the
 *   end"` as the first body line, most likely a docstring mangled by text extraction; we write a
 *   one-line docstring (above), as a Python programmer would.
 * - Decoding: greedy (temperature 0), at most GEN_TOKENS tokens, stopping at a newline.
 * - Correct: the answer, leading whitespace dropped, starts with the value's digits and no
 *   further digit follows ("42", "42\n", "42)" are right; "420" and "4" are wrong).
 * - VALUE: a two-digit number, 10..99, drawn per (length, sample) from Rng([seed, length,
 *   sample]); the same draw also shuffles the filler files, so the examples of one length share
 *   value and filler across key positions and differ only in where the key is.
 * - Filler: whole Python files in that shuffled order (CodeContests solutions in the paper;
 *   here a local tree, see code-corpus.ts), joined by two blank lines, as are the key function
 *   and the final assert. A file may be cut only where the code stays valid Python: before the
 *   key at a top-level statement, at the end anywhere a dedent to column 0 is legal. To land the
 *   key and the end on their token targets, the gap left by whole files is filled with the
 *   prefix of whichever of the next CANDIDATES files fits it best.
 * - Lengths are prompt tokens including BOS (4k = 4096); the prompt is at most `length` tokens
 *   and, with a vocabulary where "\n" is its own token, shorter by less than a line's worth.
 *   The model's context must also hold the GEN_TOKENS answer tokens.
 * - Position p: the key's first token is at index round(p * length) (p = 0: right after BOS), or
 *   just before it when a cut point forces it.
 */
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { lineTokens, type FillerCorpus, type FillerFile } from "./code-corpus.js";

/** Tokens generated per example. */
export const GEN_TOKENS = 4;
export const KEY_NAME = "my_function";
export const KEY_NOTE = "Note that this function is used at the end";
/** The prompt's last line (note the trailing space). */
export const QUERY = `assert ${KEY_NAME}() == `;
/** Blocks (files, the key, the query) are joined by two blank lines. */
const BLOCK_SEP = "\n\n\n";
const SEP_TOKENS = 3;
/** Files tried when filling the gap before the key or before the query. */
const CANDIDATES = 32;

export function keyFunctionLines(value: number): string[] {
  return [`def ${KEY_NAME}() -> int:`, `    """${KEY_NOTE}"""`, `    return ${value}`];
}

/** Whether a generated answer gives `value` (leading whitespace dropped; no digit may follow). */
export function isCorrectAnswer(answer: string, value: number): boolean {
  const m = /^\s*(\d+)/.exec(answer);
  return m !== null && m[1] === String(value);
}

export interface KeyPrompt {
  length: number;
  position: number;
  sample: number;
  value: number;
  text: string;
  /** Tokens of the prompt (BOS included), as the model sees it. */
  tokens: number;
  /** Token index of the key function's first token (BOS is index 0). */
  keyIndex: number;
  /** Character offset of the key function in `text`. */
  keyChar: number;
  /** The filler used, in order: "relative/path.py" or "relative/path.py:1-120" for a part. */
  files: string[];
}

/** Token count of a block of lines joined by "\n", after a newline (no leading space). */
function blockCost(tok: Tokenizer, lines: readonly string[]): number {
  return lines.reduce((s, l, k) => s + lineTokens(tok, l) + (k > 0 ? 1 : 0), 0);
}

/** The fewest tokens a prompt needs: BOS, the key function and the query. */
export function minPromptTokens(tok: Tokenizer): number {
  return 1 + tok.encode(keyFunctionLines(99).join("\n")).length + SEP_TOKENS + blockCost(tok, [QUERY]);
}

interface Block { lines: string[]; file?: FillerFile; k?: number; kind?: "keyCuts" | "endCuts" }

/** The prompt being put together, with its predicted token count. */
class Assembly {
  blocks: Block[] = [];
  used = 1; // BOS
  constructor(readonly tok: Tokenizer) {}

  /** Tokens added by the first k lines of `f` as the next block. */
  fileCost(f: FillerFile, k: number): number {
    return (this.blocks.length ? SEP_TOKENS : f.firstLineExtra) + f.cost[k];
  }

  addFile(f: FillerFile, k: number, kind: "keyCuts" | "endCuts"): void {
    this.used += this.fileCost(f, k);
    this.blocks.push({ lines: f.lines.slice(0, k), file: f, k, kind });
  }

  addLines(lines: string[]): void {
    this.used += this.blocks.length ? SEP_TOKENS + blockCost(this.tok, lines) : this.tok.encode(lines.join("\n")).length;
    this.blocks.push({ lines });
  }

  text(): string {
    return this.blocks.map((b) => b.lines.join("\n")).join(BLOCK_SEP);
  }
}

/** File indices in a seeded order, extended by a new shuffle when used up (a small folder repeats). */
class FileOrder {
  readonly order: number[] = [];
  readonly taken = new Set<number>();
  constructor(private readonly count: number, private readonly rng: Rng) {}

  at(q: number): number {
    while (q >= this.order.length) {
      const a = Array.from({ length: this.count }, (_, i) => i);
      for (let i = a.length - 1; i > 0; i--) { const j = this.rng.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; }
      this.order.push(...a);
    }
    return this.order[q];
  }
}

/** Largest k in the ascending `cuts` with fits(k), or 0. */
function largestCut(cuts: readonly number[], fits: (k: number) => boolean): number {
  let lo = 0, hi = cuts.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (fits(cuts[mid])) { best = cuts[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

/** Add filler until the predicted count reaches `budget` tokens (never past it). */
function fill(asm: Assembly, corpus: FillerCorpus, files: FileOrder, budget: number, kind: "keyCuts" | "endCuts"): void {
  // 1. Whole files, in order, while they fit.
  let p = 0;
  for (;; p++) {
    if (files.taken.has(p)) continue;
    const f = corpus.get(files.at(p));
    if (!f) { files.taken.add(p); continue; }
    if (asm.used + asm.fileCost(f, f.lines.length) > budget) break;
    asm.addFile(f, f.lines.length, kind);
    files.taken.add(p);
  }
  // 2. The gap: the longest fitting prefix (cut where valid) of one of the next files, again while it helps.
  for (let round = 0; round < 8; round++) {
    const rem = budget - asm.used;
    if (rem <= SEP_TOKENS) return;
    let best: { q: number; f: FillerFile; k: number; c: number } | undefined;
    for (let q = p, seen = 0; seen < CANDIDATES && q < p + 4 * CANDIDATES; q++) {
      if (files.taken.has(q)) continue;
      const f = corpus.get(files.at(q));
      if (!f) { files.taken.add(q); continue; }
      seen++;
      const k = largestCut(f[kind], (k) => asm.fileCost(f, k) <= rem);
      if (k === 0) continue;
      const c = asm.fileCost(f, k);
      if (!best || c > best.c) best = { q, f, k, c };
      if (rem - c <= 1) break;
    }
    if (!best) return;
    asm.addFile(best.f, best.k, kind);
    files.taken.add(best.q);
  }
}

export interface KeyPromptOptions {
  length: number;
  position: number;
  seed: number;
  sample: number;
}

/** The value and the filler order of one (length, sample). */
function draw(corpus: FillerCorpus, o: KeyPromptOptions): { value: number; files: FileOrder } {
  const rng = new Rng([o.seed >>> 0, o.length >>> 0, o.sample >>> 0]);
  const value = 10 + rng.int(90);
  return { value, files: new FileOrder(corpus.files.length, rng) };
}

/** One example: `length` tokens of filler with the key function at `position`, ending with the query. */
export function buildKeyPrompt(corpus: FillerCorpus, o: KeyPromptOptions): KeyPrompt {
  const tok = corpus.tokenizer;
  const { length: L, position } = o;
  if (!(position >= 0 && position < 1)) throw new UserError(`key position must be in [0, 1), got ${position}`);
  const min = minPromptTokens(tok);
  if (L < min) throw new UserError(`a prompt of ${L} tokens is too short: the key function and the query alone take ${min}`);
  if (!corpus.files.some((_, i) => corpus.get(i) !== null)) throw new UserError(`--source: no usable Python file under ${corpus.root} (all are empty, not UTF-8 or mention ${KEY_NAME})`);
  const { value, files } = draw(corpus, o);
  const key = keyFunctionLines(value);
  const keyCost = SEP_TOKENS + blockCost(tok, key), queryCost = SEP_TOKENS + blockCost(tok, [QUERY]);
  const asm = new Assembly(tok);

  // 1. Filler before the key, so that it starts near token round(p * L) (and key + query still fit).
  const target = Math.min(position === 0 ? 1 : Math.round(position * L), L - keyCost - queryCost + SEP_TOKENS);
  if (target > 1) fill(asm, corpus, files, target - SEP_TOKENS, "keyCuts");
  asm.addLines(key);
  // 2. Filler after it, up to the length less the query; 3. the query.
  fill(asm, corpus, files, L - queryCost, "endCuts");
  asm.addLines([QUERY]);

  // 4. Check the prediction against a real encode; for vocabularies where tokens can span a
  //    newline, shorten the last filler block (at its cut points) until the prompt fits.
  let text = asm.text();
  let tokens = tok.encode(text, { bos: true }).length;
  for (let guard = 0; tokens > L && guard < 10_000; guard++) {
    const i = lastFillerBlock(asm.blocks, asm.blocks.findIndex((b) => b.lines === key));
    if (i < 0) break;
    const b = asm.blocks[i];
    const cuts = b.file![b.kind!], k = largestCut(cuts, (k) => k < b.k!);
    if (k === 0) asm.blocks.splice(i, 1);
    else asm.blocks[i] = { ...b, lines: b.file!.lines.slice(0, k), k };
    text = asm.text();
    tokens = tok.encode(text, { bos: true }).length;
  }
  if (tokens > L) throw new Error(`key-retrieval prompt of ${tokens} tokens exceeds its length ${L}`);

  const keyChar = asm.blocks.slice(0, asm.blocks.findIndex((b) => b.lines === key)).reduce((s, b) => s + b.lines.join("\n").length + BLOCK_SEP.length, 0);
  const keyIndex = keyChar === 0 ? 1 : tok.encode(text.slice(0, keyChar), { bos: true }).length;
  const used = asm.blocks.filter((b) => b.file).map((b) => {
    const rel = corpus.relativePath(b.file!.path);
    return b.k === b.file!.lines.length ? rel : `${rel}:1-${b.k}`;
  });
  return { length: L, position, sample: o.sample, value, text, tokens, keyIndex, keyChar, files: used };
}

/** Index of the last filler block after the key (or, when none, before it); -1 when there is none. */
function lastFillerBlock(blocks: readonly Block[], keyBlock: number): number {
  for (let i = blocks.length - 1; i > keyBlock; i--) if (blocks[i].file) return i;
  for (let i = keyBlock - 1; i >= 0; i--) if (blocks[i].file) return i;
  return -1;
}

// ------------------------------------------------------------------ the evaluation

export interface KeyExample {
  length: number;
  position: number;
  sample: number;
  value: number;
  promptTokens: number;
  keyIndex: number;
  answer: string;
  correct: boolean;
  files: string[];
}

export interface KeyCell { length: number; position: number; n: number; correct: number; accuracy: number }

export interface KeyRetrievalReport {
  task: "key-retrieval";
  seed: number;
  n: number;
  lengths: number[];
  positions: number[];
  genTokens: number;
  filler: { source: string; files: number };
  cells: KeyCell[];
  examples: KeyExample[];
}

export interface KeyRetrievalOptions {
  corpus: FillerCorpus;
  lengths: readonly number[];
  positions: readonly number[];
  /** Examples per (length, position) (the paper: 64). */
  n: number;
  seed: number;
  /** The model's answer to a prompt (greedy, GEN_TOKENS tokens in the CLI). */
  answer: (prompt: KeyPrompt) => Promise<string>;
  onExample?: (ex: KeyExample, done: number, total: number) => void;
}

export async function runKeyRetrieval(o: KeyRetrievalOptions): Promise<KeyRetrievalReport> {
  const examples: KeyExample[] = [];
  const total = o.lengths.length * o.n * o.positions.length;
  for (const length of o.lengths) {
    for (let sample = 0; sample < o.n; sample++) {
      for (const position of o.positions) {
        const p = buildKeyPrompt(o.corpus, { length, position, seed: o.seed, sample });
        const answer = await o.answer(p);
        const ex: KeyExample = {
          length, position, sample, value: p.value, promptTokens: p.tokens, keyIndex: p.keyIndex,
          answer, correct: isCorrectAnswer(answer, p.value), files: p.files,
        };
        examples.push(ex);
        o.onExample?.(ex, examples.length, total);
      }
    }
  }
  const cells: KeyCell[] = [];
  for (const length of o.lengths) {
    for (const position of o.positions) {
      const xs = examples.filter((e) => e.length === length && e.position === position);
      const correct = xs.filter((e) => e.correct).length;
      cells.push({ length, position, n: xs.length, correct, accuracy: xs.length ? (100 * correct) / xs.length : 0 });
    }
  }
  return {
    task: "key-retrieval", seed: o.seed, n: o.n, lengths: [...o.lengths], positions: [...o.positions], genTokens: GEN_TOKENS,
    filler: { source: o.corpus.root, files: o.corpus.files.length }, cells, examples,
  };
}

/** Accuracy (%) with lengths as rows and key positions as columns, like the paper's Table 17. */
export function formatKeyRetrievalTable(r: KeyRetrievalReport): string {
  const head = ["length", ...r.positions.map((p) => `@${p}`)];
  const rows = r.lengths.map((L) => [String(L), ...r.positions.map((p) => r.cells.find((c) => c.length === L && c.position === p)!.accuracy.toFixed(1))]);
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
  const line = (cols: string[]) => cols.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join("  ");
  return [
    `key retrieval: accuracy (%) over ${r.n} example${r.n === 1 ? "" : "s"} per cell, seed ${r.seed}; filler: ${r.filler.source} (${r.filler.files} files)`,
    line(head),
    ...rows.map(line),
  ].join("\n") + "\n";
}
