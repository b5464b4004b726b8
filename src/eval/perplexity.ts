/**
 * Perplexity against context length (§7.3, the paper's Figure 4a): for each context length L,
 * the files are cut into non-overlapping windows of L tokens and each window is scored by the
 * model; only the second half of every window counts, so each scored token sees at least L/2
 * tokens of context, and a longer L means more context per scored token.
 *
 * Windows (our decision; the paper only says 4M tokens of large source files, >= 50 kB):
 * - Each file is tokenized on its own (no BOS). A file of at least L-1 tokens gives
 *   floor(n / (L-1)) windows of its own, from its start; its tail is dropped. Files shorter than
 *   L-1 tokens are concatenated, in the order given, into one stream that is cut the same way
 *   (so a window never mixes a long file with another file). Windows come in file order, the
 *   stream's last.
 * - Every window is BOS + L-1 text tokens (a window that starts mid-file still gets BOS, the
 *   position the model always saw it at).
 * - Scored: the tokens at indices ceil(L/2) .. L-1 of the window, floor(L/2) per window, each
 *   predicted from all the tokens before it in the window.
 * - Perplexity(L) = exp(-(sum of their log-probabilities) / (their number)) over all windows,
 *   log-softmax in float64 as Engine.score, so it equals exp(-mean logProbs[ceil(L/2)..]) of
 *   engine.score(window) (test/eval/perplexity.test.ts).
 * The model is run directly in batch-sized chunks: the first half without logits, the second
 * with, so a long window never holds L x vocabulary logits at once (Engine.score would). Like
 * Engine.score it overwrites KV sequence 0, but an Engine's sessions are not told: use an engine
 * that holds no sessions (as the CLI does).
 */
import type { LlamaModel } from "../model/llama.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { readSourceText } from "./code-corpus.js";
import { formatNumber, lineChart } from "./svg-plot.js";

export interface Doc { name: string; tokens: number[] }

/** Each file's text tokens (no BOS). A file that is not UTF-8 text is a UserError. */
export function documentsFromFiles(tok: Tokenizer, paths: readonly string[]): Doc[] {
  return paths.map((p) => {
    const text = readSourceText(p);
    if (text === undefined) throw new UserError(`--files: ${p} is not a UTF-8 text file`);
    return { name: p, tokens: tok.encode(text) };
  });
}

/** The windows of L tokens (BOS + L-1 text tokens) of the documents, as described above. */
export function contextWindows(docs: readonly Doc[], L: number, bos: number): number[][] {
  if (!(Number.isInteger(L) && L >= 2)) throw new RangeError(`context length must be an integer >= 2, got ${L}`);
  const n = L - 1;
  const out: number[][] = [];
  const cut = (tokens: readonly number[]) => {
    for (let s = 0; s + n <= tokens.length; s += n) out.push([bos, ...tokens.slice(s, s + n)]);
  };
  const stream: number[] = [];
  for (const d of docs) {
    if (d.tokens.length >= n) cut(d.tokens);
    else for (const t of d.tokens) stream.push(t);
  }
  cut(stream);
  return out;
}

/** First scored index of a window of L tokens: every scored token has at least L/2 tokens before it. */
export function firstScored(L: number): number {
  return Math.ceil(L / 2);
}

/** log p(token | row) in float64 (the same arithmetic as Engine.score). */
export function logProbOf(row: Float32Array, token: number): number {
  let mx = -Infinity;
  for (let j = 0; j < row.length; j++) if (row[j] > mx) mx = row[j];
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += Math.exp(row[j] - mx);
  return row[token] - mx - Math.log(sum);
}

/** Sum and count of the log-probabilities of the window's second half (KV sequence 0, from position 0). */
export function scoreSecondHalf(model: LlamaModel, window: readonly number[]): { sum: number; count: number } {
  const L = window.length, h = firstScored(L);
  if (L > model.ctx) throw new UserError(`a window of ${L} tokens does not fit the context of ${model.ctx} (set --ctx)`);
  const V = model.config.vocabSize;
  // 1. Positions 0..h-2: only the KV cache is needed.
  if (h > 1) model.prefill(window.slice(0, h - 1), 0, "none");
  // 2. Positions h-1..L-2, with logits: position t predicts token t+1.
  let sum = 0, count = 0;
  for (let s = h - 1; s < L - 1; s += model.batch) {
    const e = Math.min(L - 1, s + model.batch);
    const logits = model.forward(window.slice(s, e), s, "all");
    for (let t = s; t < e; t++) {
      sum += logProbOf(logits.subarray((t - s) * V, (t - s + 1) * V), window[t + 1]);
      count++;
    }
  }
  return { sum, count };
}

export interface PerplexityPoint {
  ctx: number;
  windows: number;
  scoredTokens: number;
  /** Mean negative log-likelihood per scored token (nats). */
  nll: number;
  perplexity: number;
}

export interface PerplexityOptions {
  /** Score at most this many windows per length (the first ones); default all. */
  maxWindows?: number;
  onWindow?: (ctx: number, done: number, total: number) => void;
}

/** Perplexity at each context length; a length for which the files hold no window is a UserError. */
export function perplexityByContext(model: LlamaModel, bos: number, docs: readonly Doc[], lengths: readonly number[], o: PerplexityOptions = {}): PerplexityPoint[] {
  const plans = lengths.map((L) => {
    const all = contextWindows(docs, L, bos);
    if (all.length === 0) {
      const longest = Math.max(0, ...docs.map((d) => d.tokens.length));
      const short = docs.filter((d) => d.tokens.length < L - 1).reduce((s, d) => s + d.tokens.length, 0);
      throw new UserError(`--ctx ${L}: the files hold no window of ${L} tokens (longest file ${longest} tokens, shorter files ${short} tokens together); give more text or a shorter length`);
    }
    return { L, windows: all.slice(0, o.maxWindows ?? all.length) };
  });
  return plans.map(({ L, windows }) => {
    let sum = 0, count = 0;
    windows.forEach((w, i) => {
      const r = scoreSecondHalf(model, w);
      sum += r.sum;
      count += r.count;
      o.onWindow?.(L, i + 1, windows.length);
    });
    const nll = -sum / count;
    return { ctx: L, windows: windows.length, scoredTokens: count, nll, perplexity: Math.exp(nll) };
  });
}

/** The table printed by `codellama perplexity`. */
export function formatPerplexityTable(points: readonly PerplexityPoint[]): string {
  const head = ["context", "windows", "scored tokens", "nll/token", "perplexity"];
  const rows = points.map((p) => [String(p.ctx), String(p.windows), String(p.scoredTokens), p.nll.toFixed(4), p.perplexity.toFixed(4)]);
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cols: string[]) => cols.map((c, j) => c.padStart(w[j])).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

/** Perplexity (y) against context length (x, log scale, a tick at every length), one series. */
export function perplexityPlot(points: readonly PerplexityPoint[], name: string, title = "Perplexity vs context length"): string {
  const xs = points.map((p) => p.ctx);
  return lineChart({
    title,
    x: { label: "context length (tokens)", scale: "log", ticks: xs, format: formatNumber },
    y: { label: "perplexity (second half of each window)" },
    series: [{ name, points: points.map((p) => [p.ctx, p.perplexity] as const) }],
    legend: true,
  });
}
