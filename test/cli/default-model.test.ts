// The embedded default model (models/default.gguf, `codellama train --recipe default`): the CLI
// uses it when no --model is given, and its greedy Python function bodies start with valid Python
// far more often than those of a random model of the same shape (the issue's "plausible, syntactically valid
// Python far more often than chance").
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { defaultModelPath } from "../../src/cli/options.js";
import { Engine } from "../../src/engine/engine.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { runCli } from "../helpers/cli.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

/** Function headers (with docstrings where a name alone says little) for greedy bodies. */
const HEADERS = [
  "def add(a, b):\n",
  "def fibonacci(n):\n",
  "def is_even(n):\n",
  "def read_file(path):\n",
  "def factorial(n):\n",
  "def reverse_string(s):\n",
  "def maximum(values):\n",
  "def count_words(text):\n",
  "class Stack:\n    def __init__(self):\n",
  "def mean(numbers):\n    \"\"\"Return the arithmetic mean of numbers.\"\"\"\n",
  "def clamp(x, lo, hi):\n",
  "def flatten(lists):\n",
  "import os\n\ndef list_python_files(folder):\n",
  "def parse_args(argv):\n",
  "def to_upper(words):\n",
  "def gcd(a, b):\n",
];

/** The generated body: every line up to the first non-empty line back at column 0. */
export function functionBody(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (const l of lines) {
    if (l.length > 0 && !/^\s/.test(l)) break;
    out.push(l);
  }
  return out.join("\n");
}

/**
 * For each program (header + generated body lines), how many leading body lines form valid Python
 * with the header: the largest k >= 0 such that header + the first k body lines compiles (python3's
 * compile(), nothing is run). A body cut mid-statement by the token limit still counts its whole
 * statements before the cut.
 */
function validPrefixLines(programs: { header: string; body: string[] }[]): number[] {
  const py = "import json,sys\nout=[]\nfor p in json.load(sys.stdin):\n  k=len(p['body'])\n  while k>0:\n    try:\n      compile(p['header']+'\\n'.join(p['body'][:k])+'\\n','<gen>','exec'); break\n    except Exception:\n      k-=1\n  out.append(k)\nprint(json.dumps(out))";
  const r = spawnSync("python3", ["-c", py], { input: JSON.stringify(programs), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as number[];
}

/** Greedy bodies of HEADERS: how many start with at least one valid line, and the programs. */
async function validBodies(model: string): Promise<{ valid: number; programs: string[] }> {
  const engine = await Engine.load(model, { threads: 2, ctx: 512 });
  try {
    const programs: { header: string; body: string[] }[] = [];
    for (const h of HEADERS) {
      const r = await engine.complete(h, { temperature: 0, maxTokens: 64 }).result;
      programs.push({ header: h, body: functionBody(r.text).split("\n").filter((l) => l.trim() !== "") });
    }
    const k = validPrefixLines(programs);
    return { valid: k.filter((n) => n > 0).length, programs: programs.map((p, i) => `${p.header}${p.body.join("\n")}\n(valid lines: ${k[i]})`) };
  } finally {
    await engine.close();
  }
}

test("the embedded default model is in the package, under 30 MB of Q8_0 with Code Llama's vocabulary", () => {
  const path = defaultModelPath();
  assert.ok(existsSync(path), `${path} is missing (codellama train --recipe default rebuilds it)`);
  const r = runCli(["inspect", path, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout) as Record<string, unknown>;
  const text = JSON.stringify(info);
  assert.match(text, /32016/);
  assert.match(text, /Q8_0/);
});

test("complete (argument prompt), infill and chat run the default model when no --model is given", () => {
  const c = runCli(["complete", "def fibonacci(n):", "-n", "16", "--temperature", "0", "--json", "--threads", "2"]);
  assert.equal(c.code, 0, c.stderr);
  const out = JSON.parse(c.stdout) as { promptTokens: number[]; tokens: number[]; text: string };
  assert.deepEqual(out.promptTokens.slice(0, 1), [1]);
  assert.equal(out.tokens.length, 16);
  const i = runCli(["infill", "--prefix", "def add(a, b):\n    ", "--suffix", "\n    return c\n", "-n", "16", "--temperature", "0", "--json", "--threads", "2"]);
  assert.equal(i.code, 0, i.stderr);
  assert.ok("generation" in (JSON.parse(i.stdout) as object));
  const h = runCli(["chat", "--message", "Write a Python function that adds two numbers.", "-n", "16", "--temperature", "0", "--json", "--threads", "2"]);
  assert.equal(h.code, 0, h.stderr);
});

test("greedy function bodies of the default model start with valid Python far more often than a random model's", async (t) => {
  mkdirSync(SCRATCH, { recursive: true });
  const random = join(SCRATCH, `default-shape-random-${process.pid}.gguf`);
  // the default model's shape (src/train/recipe.ts) with random weights
  writeSynthLlama(random, { dim: 256, layers: 6, heads: 4, kvHeads: 4, ffn: 768, type: "q8_0", vocab: LLAMA_VOCAB_GGUF, fim: true, seed: 3, ctx: 2048 });
  const ours = await validBodies(defaultModelPath());
  const chance = await validBodies(random);
  t.diagnostic(`default model ${ours.valid}/${HEADERS.length}, random model ${chance.valid}/${HEADERS.length}`);
  // Measured when the model was made: see the README ("The default model").
  assert.ok(ours.valid >= MIN_VALID, `default model: ${ours.valid}/${HEADERS.length} bodies start with valid lines\n${ours.programs.join("\n---\n")}`);
  assert.ok(chance.valid <= 2, `random model: ${chance.valid}/${HEADERS.length} bodies start with valid lines`);
});

const MIN_VALID = 8; // measured 11/16 (random weights: 0/16)
