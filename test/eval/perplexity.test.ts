// Perplexity against context length (§7.3): the windows, the second-half perplexity equal to
// exp(-mean log p) from engine.score on the same windows, the SVG writer (well-formed XML, one
// marker per point), and `codellama perplexity` end to end with its one-line errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { expandSourcePaths } from "../../src/eval/code-corpus.js";
import { contextWindows, documentsFromFiles, firstScored, perplexityByContext, perplexityPlot, type PerplexityPoint } from "../../src/eval/perplexity.js";
import { escapeXml, formatNumber, lineChart, niceTicks } from "../../src/eval/svg-plot.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { assertUserError, runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

const DIR = join(SCRATCH, "eval-perplexity");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(join(DIR, "code"), { recursive: true });
const MODEL = join(DIR, "tiny.gguf");
writeSynthLlama(MODEL, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, type: "f32", vocab: LLAMA_VOCAB_GGUF, seed: 8, ctx: 256, outputStd: 0.3 });
const pyFile = (i: number, fns: number) => Array.from({ length: fns }, (_, j) => `def f_${i}_${j}(x):\n    """Return x times ${j}."""\n    return x * ${j} + ${i}\n`).join("\n");
const LONG = join(DIR, "code", "long.py"), SHORT1 = join(DIR, "code", "short1.py"), SHORT2 = join(DIR, "code", "short2.py");
writeFileSync(LONG, pyFile(1, 12));
writeFileSync(SHORT1, pyFile(2, 2));
writeFileSync(SHORT2, pyFile(3, 3));
writeFileSync(join(DIR, "code", "data.bin"), Buffer.from([0, 1, 2])); // not a source file: skipped in folders
const FILES = [LONG, SHORT1, SHORT2];

const engines: Engine[] = [];
after(async () => { for (const e of engines) await e.close(); });

/** A minimal XML well-formedness check: one root, balanced tags, quoted attributes, only known entities. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (let m; (m = re.exec(body)) !== null;) {
    const [, close, name, attrs, selfClose, text, stray] = m;
    assert.equal(stray, undefined, `stray "<" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    for (const s of [text ?? "", attrs ?? ""]) {
      for (const amp of s.matchAll(/&[^;\s]*;?/g)) assert.match(amp[0], /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/, `bad entity ${amp[0]}`);
    }
    if (text !== undefined) { assert.ok(stack.length > 0 || text.trim() === "", "text outside the root"); continue; }
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) { if (stack.length === 0) roots++; stack.push(name); }
    else if (stack.length === 0) roots++;
    if (attrs) {
      const names = [...attrs.matchAll(/([\w:.-]+)=/g)].map((a) => a[1]);
      assert.equal(new Set(names).size, names.length, `repeated attribute in <${name}>`);
    }
  }
  assert.deepEqual(stack, []);
  assert.equal(roots, 1);
}

test("contextWindows: long files on their own, short ones concatenated, tails dropped, BOS first", () => {
  const docs = [
    { name: "a", tokens: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
    { name: "b", tokens: [20, 21, 22] },
    { name: "c", tokens: [30, 31, 32] },
  ];
  assert.deepEqual(contextWindows(docs, 5, 1), [[1, 10, 11, 12, 13], [1, 14, 15, 16, 17], [1, 20, 21, 22, 30]]); // tails 18 19 and 31 32 dropped
  assert.deepEqual(contextWindows(docs, 11, 1), [[1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]);
  assert.deepEqual(contextWindows(docs, 12, 1), [[1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]]); // all short: one stream
  assert.equal(contextWindows(docs, 40, 1).length, 0);
  assert.equal(firstScored(4096), 2048);
  assert.equal(firstScored(5), 3);
});

test("perplexity = exp(-mean log p) of engine.score over the second half of the same windows", async () => {
  const e = await Engine.load(MODEL, { ctx: 256, threads: 1, kvType: "f32" });
  engines.push(e);
  const docs = documentsFromFiles(e.tokenizer, FILES);
  const lengths = [32, 100, 256];
  const points = perplexityByContext(e.model, e.tokenizer.special.bos, docs, lengths);
  assert.deepEqual(points.map((p) => p.ctx), lengths);
  for (const p of points) {
    const windows = contextWindows(docs, p.ctx, 1);
    const h = firstScored(p.ctx);
    let sum = 0, count = 0;
    for (const w of windows) {
      const s = e.score(w);
      assert.deepEqual(s.tokens, w);
      for (let i = h; i < w.length; i++) { sum += s.logProbs[i]; count++; }
    }
    assert.equal(p.windows, windows.length);
    assert.equal(p.scoredTokens, count);
    assert.equal(count, windows.length * Math.floor(p.ctx / 2));
    const direct = Math.exp(-sum / count);
    assert.ok(Math.abs(p.perplexity - direct) <= 1e-9 * direct, `ctx ${p.ctx}: ${p.perplexity} vs ${direct}`);
    assert.ok(Math.abs(p.nll - -sum / count) <= 1e-9 * Math.abs(p.nll));
  }
  // --max-windows takes the first windows
  const one = perplexityByContext(e.model, 1, docs, [32], { maxWindows: 1 });
  assert.equal(one[0].windows, 1);
  assert.equal(one[0].scoredTokens, 16);
  assert.throws(() => perplexityByContext(e.model, 1, docs.slice(1), [256]), /--ctx 256: the files hold no window of 256 tokens/);
});

test("svg-plot: a well-formed document with one marker per point, axes, labels and a legend", () => {
  const svg = lineChart({
    title: "loss <&> \"curves\"",
    x: { label: "step", ticks: [0, 50, 100] },
    y: { label: "loss", scale: "log" },
    series: [
      { name: "train & eval", points: [[0, 3], [50, 1.5], [100, 0.9]] },
      { name: "b<2>", points: [[0, 2.5], [100, 1]], dashed: true },
    ],
  });
  assertWellFormedXml(svg);
  assert.equal(svg.match(/<circle /g)?.length, 5);
  const polylines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1].split(" ").length);
  assert.deepEqual(polylines, [3, 2]);
  assert.match(svg, /class="title"[^>]*>loss &lt;&amp;&gt; &quot;curves&quot;<\/text>/);
  assert.match(svg, /class="label"[^>]*>step<\/text>/);
  assert.match(svg, /class="label"[^>]*>loss<\/text>/);
  assert.match(svg, /<g class="legend">[\s\S]*train &amp; eval[\s\S]*b&lt;2&gt;[\s\S]*<\/g>/);
  assert.equal([...svg.matchAll(/<g class="x-axis">[\s\S]*?<\/g>/g)][0][0].match(/class="tick"/g)?.length, 3);
  assert.throws(() => lineChart({ series: [{ name: "x", points: [[0, NaN]] }] }), /not finite/);
  assert.throws(() => lineChart({ y: { scale: "log" }, series: [{ name: "x", points: [[0, 0]] }] }), /logarithmic/);
  assert.deepEqual(niceTicks(1.31, 1.54, 5), [1.3, 1.35, 1.4, 1.45, 1.5, 1.55]);
  assert.deepEqual([4096, 16384, 102400, 1048576, 0.5, 2e-5].map(formatNumber), ["4k", "16k", "100k", "1M", "0.5", "2e-5"]);
  assert.equal(escapeXml("a\u0001b"), "a\ufffdb");
  const pts: PerplexityPoint[] = [4096, 8192, 16384].map((ctx, i) => ({ ctx, windows: 1, scoredTokens: ctx / 2, nll: 0.4 - i * 0.05, perplexity: Math.exp(0.4 - i * 0.05) }));
  const p = perplexityPlot(pts, "model.gguf");
  assertWellFormedXml(p);
  assert.equal(p.match(/<circle /g)?.length, 3);
  assert.match(p, />4k<\/text>[\s\S]*>8k<\/text>[\s\S]*>16k<\/text>/);
});

test("codellama perplexity end to end: JSON equal to the in-process run, an SVG with a point per length", async () => {
  const plot = join(DIR, "ppl.svg");
  const r = runCli(["perplexity", "-m", MODEL, "-t", "1", "--kv", "f32", "--files", join(DIR, "code"), "--ctx", "32,100", "--json", "--plot", plot]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { files: number; tokens: number; points: PerplexityPoint[] };
  assert.equal(j.files, 3); // the folder's .py files (sorted), not data.bin
  const e = await Engine.load(MODEL, { ctx: 100, threads: 1, kvType: "f32" });
  engines.push(e);
  const docs = documentsFromFiles(e.tokenizer, expandSourcePaths([join(DIR, "code")]));
  assert.equal(j.tokens, docs.reduce((s, d) => s + d.tokens.length, 0));
  const want = perplexityByContext(e.model, 1, docs, [32, 100]);
  assert.deepEqual(j.points.map((p) => [p.ctx, p.windows, p.scoredTokens]), want.map((p) => [p.ctx, p.windows, p.scoredTokens]));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(j.points[i].perplexity - want[i].perplexity) <= 1e-9 * want[i].perplexity);
  const svg = readFileSync(plot, "utf8");
  assertWellFormedXml(svg);
  assert.equal(svg.match(/<circle /g)?.length, 2);
  // the table
  const t = runCli(["perplexity", "-m", MODEL, "-t", "1", "--files", ...FILES, "--ctx", "32", "--max-windows", "2"]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^perplexity of tiny\.gguf on 3 files \(\d+ tokens\); second half of each window scored\n\s*context\s+windows\s+scored tokens\s+nll\/token\s+perplexity\n\s+32\s+2\s+32\s+\d+\.\d{4}\s+\d+\.\d{4}\n$/);
});

test("codellama perplexity: bad input is one line, exit 1", () => {
  const base = ["perplexity", "-m", MODEL];
  assertUserError(runCli([...base, "--files", join(DIR, "nope.py")]), /--files: no such file or folder: .*nope\.py/);
  assertUserError(runCli([...base, "--files", LONG, "--ctx", "4k,x"]), /--ctx: "x" is not a token count/);
  assertUserError(runCli([...base, "--files", LONG, "--ctx", "1"]), /--ctx: "1" is not a token count >= 2/);
  assertUserError(runCli([...base, "--files", SHORT1, "--ctx", "200"]), /--ctx 200: the files hold no window of 200 tokens/);
  assertUserError(runCli([...base, "--files", join(DIR, "code", "data.bin"), "--ctx", "32"]), /--files: .*data\.bin is not a UTF-8 text file/);
  assertUserError(runCli([...base, "--files", LONG, "--ctx", "32", "--plot", join(DIR, "nope", "p.svg")]), /--plot: no such folder/);
  assertUserError(runCli([...base, "--files", LONG, "--max-windows", "0"]), /--max-windows must be a whole number >= 1/);
});
