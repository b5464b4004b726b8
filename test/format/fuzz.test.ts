/**
 * Fuzzing the loaders: valid GGUF, safetensors and SentencePiece files (built here) are mutated
 * and truncated, and every case must either load, with every tensor then readable, or fail with
 * our FormatError naming the file, a byte offset and a field. Nothing else may escape, no case may
 * hang, and resident memory may not grow by more than RSS_BOUND.
 *
 * Cases run in a worker thread so a hanging case can be stopped: the main thread terminates the
 * worker when a case runs longer than CASE_TIMEOUT_MS. The seed is fixed; a failure prints the
 * case number, which FUZZ_CASE=<n> runs alone (FUZZ_SEED overrides the seed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { GGMLType, TYPE_INFO } from "../../src/format/ggml-types.js";
import { GGUFValueType, type GGUFMetaValue } from "../../src/format/gguf-types.js";
import { encodeGGUF, meta } from "../../src/format/gguf-writer.js";
import { openModel } from "../../src/format/model-file.js";
import { SafetensorsFile } from "../../src/format/safetensors.js";
import { readSentencePiecePieces } from "../../src/format/tokenizer-pieces.js";
import { FormatError } from "../../src/util/errors.js";
import { SCRATCH } from "../helpers/paths.js";
import { CODE_LLAMA_EXTRA_PIECES, encodeSafetensors, encodeSentencePieceModel, f32Bytes, u16Bytes } from "../helpers/tiny-models.js";

const SEED = Number(process.env.FUZZ_SEED ?? 0xc0de11a);
const CASE_TIMEOUT_MS = 10_000;
const RSS_BOUND = 500 * 1024 * 1024;
const MIN_CASES = 2000;

// ------------------------------------------------------------------ deterministic randomness

/** mulberry32, seeded per case from (SEED, case number) so any case reproduces alone. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const caseSeed = (i: number) => (Math.imul(SEED ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;

// ------------------------------------------------------------------ the valid inputs

/** A tiny Llama GGUF: metadata of every value type (nested arrays too) and tensors of six types. */
function validGGUF(): Uint8Array {
  const pieces = ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b", ...CODE_LLAMA_EXTRA_PIECES.slice(7, 11), "<0x0A>", "\u2581", "c", "d", "e", "f", "g"];
  const md: [string, GGUFMetaValue][] = [
    ["general.architecture", meta.str("llama")],
    ["general.name", meta.str("fuzz")],
    ["general.alignment", meta.u32(32)],
    ["llama.context_length", meta.u32(64)],
    ["llama.embedding_length", meta.u32(32)],
    ["llama.block_count", meta.u32(1)],
    ["llama.feed_forward_length", meta.u32(32)],
    ["llama.attention.head_count", meta.u32(2)],
    ["llama.attention.head_count_kv", meta.u32(1)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(1e-5)],
    ["llama.rope.freq_base", meta.f32(1e6)],
    ["llama.vocab_size", meta.u32(16)],
    ["t.u8", { type: GGUFValueType.UINT8, value: 200 }],
    ["t.i8", { type: GGUFValueType.INT8, value: -5 }],
    ["t.u16", { type: GGUFValueType.UINT16, value: 60000 }],
    ["t.i16", { type: GGUFValueType.INT16, value: -300 }],
    ["t.i32", meta.i32(-70000)],
    ["t.u64", { type: GGUFValueType.UINT64, value: 1n << 40n }],
    ["t.i64", { type: GGUFValueType.INT64, value: -(1n << 40n) }],
    ["t.f64", { type: GGUFValueType.FLOAT64, value: Math.PI }],
    ["t.bool", meta.bool(true)],
    ["t.arr_u8", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT8, value: Uint8Array.of(1, 2, 3) }],
    ["t.arr_i16", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT16, value: Int16Array.of(-1, 2) }],
    ["t.arr_u64", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT64, value: BigUint64Array.of(7n, 9n) }],
    ["t.arr_f64", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.FLOAT64, value: Float64Array.of(0.5) }],
    ["t.arr_bool", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.BOOL, value: [true, false] }],
    ["t.nested", { type: GGUFValueType.ARRAY, itemType: GGUFValueType.ARRAY, value: [
      { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT32, value: Uint32Array.of(1, 2) },
      { type: GGUFValueType.ARRAY, itemType: GGUFValueType.STRING, value: ["x", "yz"] },
    ] }],
    ["tokenizer.ggml.model", meta.str("llama")],
    ["tokenizer.ggml.tokens", meta.strs(pieces)],
    ["tokenizer.ggml.scores", meta.f32s(Float32Array.from(pieces, (_, i) => -i))],
    ["tokenizer.ggml.token_type", meta.i32s(Int32Array.from(pieces, (_, i) => (i < 3 ? 3 : 1)))],
    ["tokenizer.ggml.bos_token_id", meta.u32(1)],
    ["tokenizer.ggml.eos_token_id", meta.u32(2)],
  ];
  const t = (name: string, dims: number[], type: GGMLType, k: number) => {
    const info = TYPE_INFO.get(type)!;
    const n = dims.reduce((a, d) => a * d, 1);
    const nbytes = (n / info.blockSize) * info.typeSize;
    const data = type === GGMLType.F32 ? f32Bytes(n, k) : u16Bytes(Math.ceil(nbytes / 2), k).subarray(0, nbytes);
    return { name, dims, type, data };
  };
  return encodeGGUF({ metadata: md, tensors: [
    t("token_embd.weight", [32, 16], GGMLType.F32, 0),
    t("blk.0.attn_norm.weight", [32], GGMLType.F32, 1),
    t("blk.0.attn_q.weight", [32, 32], GGMLType.Q8_0, 2),
    t("blk.0.attn_k.weight", [32, 16], GGMLType.F16, 3),
    t("blk.0.attn_v.weight", [32, 16], GGMLType.BF16, 4),
    t("blk.0.attn_output.weight", [32, 32], GGMLType.Q4_0, 5),
    t("blk.0.ffn_norm.weight", [32], GGMLType.F32, 6),
    t("blk.0.ffn_gate.weight", [32, 32], GGMLType.F16, 7),
    t("blk.0.ffn_up.weight", [32, 32], GGMLType.Q8_0, 8),
    t("blk.0.ffn_down.weight", [32, 32], GGMLType.Q4_0, 9),
    t("output_norm.weight", [32], GGMLType.F32, 10),
    t("output.weight", [32, 16], GGMLType.F16, 11),
  ] });
}

/** A small HF-style safetensors file: F32/F16/BF16 tensors, a scalar, an empty tensor, __metadata__. */
function validSafetensors(): Uint8Array {
  return encodeSafetensors([
    { name: "model.embed_tokens.weight", dtype: "F32", shape: [16, 8], data: f32Bytes(128, 1) },
    { name: "model.layers.0.self_attn.q_proj.weight", dtype: "BF16", shape: [8, 8], data: u16Bytes(64, 2) },
    { name: "model.layers.0.self_attn.k_proj.weight", dtype: "F16", shape: [4, 8], data: u16Bytes(32, 3) },
    { name: "model.layers.0.input_layernorm.weight", dtype: "F32", shape: [8], data: f32Bytes(8, 4) },
    { name: "scalar", dtype: "F16", shape: [], data: u16Bytes(1, 5) },
    { name: "empty", dtype: "F32", shape: [0, 8], data: new Uint8Array(0) },
    { name: "lm_head.weight", dtype: "F16", shape: [16, 8], data: u16Bytes(128, 6) },
  ], { format: "pt", note: "fuzz" });
}

// ------------------------------------------------------------------ where the structure is

interface GGUFLayout { cuts: number[]; u64: number[]; u32: number[] }

/** Walk a valid GGUF and record every field start (cuts), u64 field and u32 field. */
function walkGGUF(b: Uint8Array): GGUFLayout {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const cuts = new Set<number>(), u64: number[] = [], u32: number[] = [];
  let p = 0;
  const r32 = () => { cuts.add(p); u32.push(p); const v = dv.getUint32(p, true); p += 4; return v; };
  const r64 = () => { cuts.add(p); u64.push(p); const v = Number(dv.getBigUint64(p, true)); p += 8; return v; };
  const str = () => { const n = r64(); cuts.add(p); p += n; };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): void => {
    if (type === GGUFValueType.STRING) str();
    else if (type === GGUFValueType.ARRAY) { const it = r32(); const n = r64(); for (let i = 0; i < n; i++) value(it); }
    else { cuts.add(p); p += SIZES[type]; }
  };
  r32(); r32();
  const nt = r64(), nkv = r64();
  for (let i = 0; i < nkv; i++) { str(); value(r32()); }
  const offsets: number[] = [];
  for (let i = 0; i < nt; i++) { str(); const nd = r32(); for (let d = 0; d < nd; d++) r64(); r32(); offsets.push(r64()); }
  const data = Math.ceil(p / 32) * 32;
  cuts.add(p); cuts.add(data);
  for (const o of offsets) cuts.add(data + o);
  cuts.add(b.length);
  return { cuts: [...cuts].sort((x, y) => x - y), u64, u32 };
}

/** Byte positions of JSON tokens (outside strings) and of numbers in a safetensors header. */
function walkSafetensorsHeader(b: Uint8Array): { n: number; json: string; cuts: number[]; numbers: { at: number; len: number }[]; strings: { at: number; len: number }[] } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const json = Buffer.from(b.subarray(8, 8 + n)).toString("latin1"); // ASCII header
  const cuts: number[] = [0, 4, 7, 8], numbers: { at: number; len: number }[] = [], strings: { at: number; len: number }[] = [];
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '"') { const end = json.indexOf('"', i + 1); strings.push({ at: i + 1, len: end - i - 1 }); cuts.push(8 + i, 8 + i + 1, 8 + end); i = end; continue; }
    if ("{}[]:,".includes(ch)) cuts.push(8 + i, 8 + i + 1);
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(json.slice(i));
    if (m && /[-\d]/.test(ch)) { numbers.push({ at: i, len: m[0].length }); cuts.push(8 + i, 8 + i + m[0].length - 1); i += m[0].length - 1; }
  }
  const f = SafetensorsFile.parse(b);
  for (const t of f.tensors) cuts.push(t.fileOffset, t.fileOffset + 1, t.fileOffset + t.nbytes - 1, t.fileOffset + t.nbytes);
  cuts.push(b.length - 1);
  return { n, json, cuts: [...new Set(cuts)].filter((c) => c >= 0 && c < b.length).sort((x, y) => x - y), numbers, strings };
}

/** A safetensors file with the JSON header replaced (length field updated, data kept). */
function withHeader(b: Uint8Array, n: number, json: string): Uint8Array {
  const h = Buffer.from(json, "latin1");
  const out = new Uint8Array(8 + h.length + (b.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(b.subarray(8 + n), 8 + h.length);
  return out;
}

// ------------------------------------------------------------------ the cases

type Kind = "gguf" | "safetensors" | "spm";
interface Case { kind: Kind; what: string; make: () => Uint8Array }

const HUGE_U64 = [0xffffffffffffffffn, 1n << 63n, (1n << 63n) - 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 40n, 1n << 32n, 0xffffffffn, 0x7fffffffn, 1n << 20n, 0n];
const ODD_U32 = [0xffffffff, 0x80000000, 0, 1, 5, 9, 13, 31, 64];
const JSON_NUMBERS = ["18446744073709551615", "9007199254740993", "1e308", "-1", "0", "1.5", "4294967296", "1099511627777", "7"];
const DTYPES = ["I8", "F64", "BOOL", "", "F32", "F16", "BF16", "f32", "U8x"];

function buildCases(): Case[] {
  const cases: Case[] = [];
  const put = (kind: Kind, what: string, make: () => Uint8Array) => cases.push({ kind, what, make });
  const set64 = (b: Uint8Array, at: number, v: bigint) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(at, v, true); return c; };
  const set32 = (b: Uint8Array, at: number, v: number) => { const c = b.slice(); new DataView(c.buffer).setUint32(at, v, true); return c; };
  const flips = (b: Uint8Array, headerEnd: number) => (r: () => number) => {
    const c = b.slice();
    const k = 1 + Math.floor(r() * 8);
    for (let j = 0; j < k; j++) {
      const at = r() < 0.85 ? Math.floor(r() * headerEnd) : Math.floor(r() * c.length);
      c[at] = r() < 0.5 ? c[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
    }
    return c;
  };

  // 1. GGUF: truncation at and around every field, huge u64s, odd u32s, random flips.
  const g = validGGUF(), gl = walkGGUF(g);
  const gHeader = gl.cuts[gl.cuts.length - 1 - 12 - 1];
  for (const c of gl.cuts) for (const d of [-1, 0, 1]) if (c + d >= 0 && c + d < g.length) put("gguf", `truncate at ${c + d}`, () => g.slice(0, c + d));
  for (const at of gl.u64) for (const v of HUGE_U64) put("gguf", `u64 at ${at} = ${v}`, () => set64(g, at, v));
  for (const at of gl.u64) put("gguf", `u64 at ${at} = file size`, () => set64(g, at, BigInt(g.length)));
  for (const at of gl.u32) for (const v of ODD_U32) put("gguf", `u32 at ${at} = ${v}`, () => set32(g, at, v));
  for (let i = 0; i < 700; i++) put("gguf", `random flips #${i}`, () => flips(g, gHeader)(rng(caseSeed(cases.length))));

  // 2. safetensors: truncation at JSON tokens and tensor edges, header lengths, numbers, dtypes, flips.
  const s = validSafetensors(), sl = walkSafetensorsHeader(s);
  for (const c of sl.cuts) put("safetensors", `truncate at ${c}`, () => s.slice(0, c));
  for (const v of [...HUGE_U64, BigInt(sl.n - 1), BigInt(sl.n + 1), BigInt(sl.n + 8), BigInt(s.length - 8), BigInt(s.length - 7), 1n, 2n, 100_000_001n]) {
    put("safetensors", `header length = ${v}`, () => set64(s, 0, v));
  }
  for (const { at, len } of sl.numbers) for (const v of JSON_NUMBERS) {
    put("safetensors", `number at header+${at} = ${v}`, () => withHeader(s, sl.n, sl.json.slice(0, at) + v + sl.json.slice(at + len)));
  }
  for (const { at, len } of sl.strings) {
    const str = sl.json.slice(at, at + len);
    if (/^(F32|F16|BF16)$/.test(str)) for (const v of DTYPES) put("safetensors", `dtype at header+${at} = ${v}`, () => withHeader(s, sl.n, sl.json.slice(0, at) + v + sl.json.slice(at + len)));
    else put("safetensors", `string at header+${at} = "scalar"`, () => withHeader(s, sl.n, sl.json.slice(0, at) + "scalar" + sl.json.slice(at + len)));
  }
  for (let i = 0; i < 500; i++) put("safetensors", `random flips #${i}`, () => flips(s, 8 + sl.n)(rng(caseSeed(cases.length))));

  // 3. SentencePiece tokenizer.model: truncation at every byte and flips.
  const spm = encodeSentencePieceModel(["<unk>", "<s>", "</s>", "\u2581a", "\u2581<PRE>", "<step>", "\u00e9t\u00e9"]);
  for (let c = 0; c < spm.length; c++) put("spm", `truncate at ${c}`, () => spm.slice(0, c));
  for (let i = 0; i < 200; i++) put("spm", `random flips #${i}`, () => flips(spm, spm.length)(rng(caseSeed(cases.length))));
  return cases;
}

// ------------------------------------------------------------------ running one case

/** Load the case's file; read every tensor. Returns "ok" or "error"; throws a description of a violation. */
function runCase(c: Case, path: string): "ok" | "error" {
  const bytes = c.make();
  writeFileSync(path, bytes);
  try {
    if (c.kind === "gguf") {
      const m = openModel(path);
      try { for (const t of m.tensors.values()) t.read(new Uint8Array(t.nbytes)); } finally { m.close(); }
    } else if (c.kind === "safetensors") {
      const f = SafetensorsFile.open(path);
      try { for (const t of f.tensors) f.readTensorInto(t, new Uint8Array(t.nbytes)); } finally { f.close(); }
    } else {
      readSentencePiecePieces(path);
    }
    return "ok";
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`not a FormatError: ${e instanceof Error ? e.stack : String(e)}`);
    const bad = (why: string) => { throw new Error(`bad FormatError (${why}): ${e.message}`); };
    if (e.file !== path) bad("wrong file");
    if (!e.field || !e.problem) bad("no field or no problem");
    if (e.message !== `${path}: at byte ${e.offset}, ${e.field}: ${e.problem}`) bad("message format");
    if (!Number.isSafeInteger(e.offset) || e.offset < 0) bad(`offset ${e.offset}`);
    // GGUFFile reports a tensor whose data runs past the end at the byte where the data should be.
    const pastEnd = c.kind === "gguf" && e.field.endsWith(" data");
    if (e.offset > bytes.length && !pastEnd) bad(`offset ${e.offset} outside the file (${bytes.length} bytes)`);
    // names read from the file are quoted with control characters escaped, so a message is one line
    if (/[\u0000-\u001f]/.test(e.message)) bad("control characters in the message");
    return "error";
  }
}

interface Progress { type: "start" | "done"; i: number; rss: number; outcome?: string; failure?: string }

function workerMain(): void {
  const { dir, only } = workerData as { dir: string; only?: number };
  const cases = buildCases();
  const path = join(dir, "case.bin");
  const port = parentPort!;
  port.postMessage({ type: "count", n: cases.length });
  for (let i = 0; i < cases.length; i++) {
    if (only !== undefined && i !== only) continue;
    port.postMessage({ type: "start", i, rss: process.memoryUsage().rss } satisfies Progress);
    let outcome: string | undefined, failure: string | undefined;
    try { outcome = `${cases[i].kind}:${runCase(cases[i], path)}`; } catch (e) { failure = `${cases[i].kind} case ${i} (${cases[i].what}): ${(e as Error).message}`; }
    port.postMessage({ type: "done", i, rss: process.memoryUsage().rss, outcome, failure } satisfies Progress);
  }
  port.postMessage({ type: "end" });
}

// ------------------------------------------------------------------ the test (main thread)

if (!isMainThread) {
  workerMain();
} else {
  test(`fuzz: mutated/truncated GGUF, safetensors and tokenizer.model files load or fail with a FormatError (seed ${SEED})`, { timeout: 10 * 60_000 }, async () => {
    const dir = join(SCRATCH, "fuzz");
    mkdirSync(dir, { recursive: true });
    const only = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
    // Under tsx the worker must register tsx itself; from dist it is plain JS.
    const url = import.meta.url;
    const worker = url.endsWith(".ts")
      ? new Worker(`import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`, { eval: true, workerData: { dir, only } })
      : new Worker(new URL(url), { workerData: { dir, only } });

    const rss0 = process.memoryUsage().rss;
    let total = 0, current = -1, startedAt = Date.now(), maxRss = rss0;
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    await new Promise<void>((resolve, reject) => {
      const watchdog = setInterval(() => {
        if (current >= 0 && Date.now() - startedAt > CASE_TIMEOUT_MS) {
          clearInterval(watchdog);
          void worker.terminate();
          reject(new Error(`case ${current} ran longer than ${CASE_TIMEOUT_MS} ms (reproduce: FUZZ_SEED=${SEED} FUZZ_CASE=${current})`));
        }
      }, 250);
      worker.on("message", (m: Progress | { type: "count"; n: number } | { type: "end" }) => {
        if (m.type === "count") { total = m.n; return; }
        if (m.type === "end") { clearInterval(watchdog); void worker.terminate().then(() => resolve()); return; }
        maxRss = Math.max(maxRss, m.rss);
        if (m.type === "start") { current = m.i; startedAt = Date.now(); return; }
        current = -1;
        if (m.failure) failures.push(m.failure);
        if (m.outcome) outcomes.set(m.outcome, (outcomes.get(m.outcome) ?? 0) + 1);
      });
      worker.on("error", (e) => { clearInterval(watchdog); reject(e); });
    });

    const summary = [...outcomes].sort().map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(`fuzz seed ${SEED}: ${total} cases; ${summary}; rss +${((maxRss - rss0) / 2 ** 20).toFixed(1)} MiB`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} cases broke the contract (reproduce one with FUZZ_SEED=${SEED} FUZZ_CASE=<n>)`);
    assert.ok(maxRss - rss0 < RSS_BOUND, `resident memory grew by ${maxRss - rss0} bytes (bound ${RSS_BOUND})`);
    if (only === undefined) {
      assert.ok(total >= MIN_CASES, `only ${total} cases`);
      // Both outcomes must occur for every kind, or the fuzzer is not testing anything.
      for (const k of ["gguf", "safetensors", "spm"]) for (const o of ["ok", "error"]) assert.ok((outcomes.get(`${k}:${o}`) ?? 0) > 0, `no ${k} case ended ${o}`);
    }
  });
}
