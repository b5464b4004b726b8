/**
 * Random Llama GGUFs (synth-llama.ts) and the seeded RNG they draw from.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dequantizeTensor, scaleMinK4 } from "../../src/format/dequant.js";
import { GGMLType, rowBytes } from "../../src/format/ggml-types.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF } from "../../src/format/gguf-writer.js";
import { quantizeRow } from "../../src/format/quantize.js";
import {
  CODELLAMA_FIM_PIECES, PRESETS, SYNTH_TYPES, TOKEN_TYPE, byteVocab, fastTensor, packScaleMinK4, planSynthLlama, q4KMType, writeSynthLlama,
} from "../../src/format/synth-llama.js";
import { UserError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";

mkdirSync(SCRATCH, { recursive: true });
const fr = Math.fround;

/** Every tensor of a GGUF file, dequantised, by name. */
function readAll(path: string): { g: GGUFFile; w: Map<string, Float32Array> } {
  const g = GGUFFile.open(path);
  const w = new Map<string, Float32Array>();
  for (const t of g.tensors) w.set(t.name, dequantizeTensor(t.type, g.tensorBytes(t), t.nelements));
  g.close();
  return { g, w };
}

// ------------------------------------------------------------------ RNG

test("Rng: xoshiro128** reference vector for state {1, 2, 3, 4}", () => {
  const r = Rng.fromState(1, 2, 3, 4);
  const got = Array.from({ length: 10 }, () => r.nextU32());
  // Published test vector (e.g. rand_xoshiro's Xoshiro128StarStar test).
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
});

test("Rng: deterministic per seed list, order-sensitive, sane uniform/normal/int", () => {
  const seq = (s: number | number[]) => { const r = new Rng(s); return Array.from({ length: 8 }, () => r.nextU32()); };
  assert.deepEqual(seq([5, 9]), seq([5, 9]));
  assert.notDeepEqual(seq([5, 9]), seq([9, 5]));
  assert.notDeepEqual(seq(0), seq(1));
  assert.notDeepEqual(seq([1]), seq([1, 0]));
  assert.throws(() => new Rng(-1), RangeError);
  assert.throws(() => new Rng([1, 2 ** 32]), RangeError);
  assert.throws(() => Rng.fromState(0, 0, 0, 0), RangeError);
  const r = new Rng(42);
  let sum = 0, sum2 = 0, usum = 0, umin = 1, umax = 0;
  const N = 200000;
  for (let i = 0; i < N; i++) {
    const z = r.normal();
    sum += z;
    sum2 += z * z;
    const u = r.next();
    usum += u;
    umin = Math.min(umin, u);
    umax = Math.max(umax, u);
  }
  // Standard errors: mean 1/sqrt(N) = 0.0022, variance sqrt(2/N) = 0.0032; allow about 5 sigma.
  assert.ok(Math.abs(sum / N) < 0.012, `normal mean ${sum / N}`);
  assert.ok(Math.abs(sum2 / N - 1) < 0.016, `normal variance ${sum2 / N}`);
  assert.ok(Math.abs(usum / N - 0.5) < 0.004 && umin >= 0 && umax < 1, `uniform ${usum / N} ${umin} ${umax}`);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `int(7) counts ${counts}`);
  assert.throws(() => r.int(0), RangeError);
});

// ------------------------------------------------------------------ shapes and metadata

test("tiny q8_0 model: GQA shapes, llama.* metadata, tensor order", () => {
  const plan = planSynthLlama({ preset: "tiny", type: "q8_0" });
  const bytes = encodeGGUF(plan.gguf);
  const g = GGUFFile.parse(bytes);
  const V = byteVocab().tokens.length;
  assert.equal(plan.nVocab, V);
  assert.equal(g.getString("general.architecture"), "llama");
  assert.equal(g.getNumber("general.file_type"), 7);
  assert.equal(g.getNumber("general.quantization_version"), 2);
  assert.equal(g.has("general.alignment"), false);
  const want: Record<string, number> = {
    "llama.vocab_size": V, "llama.context_length": 16384, "llama.embedding_length": 64, "llama.block_count": 2,
    "llama.feed_forward_length": 192, "llama.rope.dimension_count": 16, "llama.attention.head_count": 4,
    "llama.attention.head_count_kv": 2, "llama.attention.layer_norm_rms_epsilon": fr(1e-5), "llama.rope.freq_base": 1e6,
  };
  for (const [k, v] of Object.entries(want)) assert.equal(g.getNumber(k), v, k);
  const dims = Object.fromEntries(g.tensors.map((t) => [t.name, [t.dims, t.type]]));
  assert.equal(g.tensors.length, 1 + 2 * 9 + 2);
  assert.deepEqual(g.tensors[0].name, "token_embd.weight");
  assert.deepEqual(g.tensors.at(-1)!.name, "output.weight");
  assert.deepEqual(dims["token_embd.weight"], [[64, V], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.1.attn_q.weight"], [[64, 64], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.1.attn_k.weight"], [[64, 32], GGMLType.Q8_0]); // 2 kv heads x 16
  assert.deepEqual(dims["blk.1.attn_v.weight"], [[64, 32], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.1.attn_output.weight"], [[64, 64], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.0.ffn_gate.weight"], [[64, 192], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.0.ffn_up.weight"], [[64, 192], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.0.ffn_down.weight"], [[192, 64], GGMLType.Q8_0]);
  assert.deepEqual(dims["blk.0.attn_norm.weight"], [[64], GGMLType.F32]);
  assert.deepEqual(dims["output_norm.weight"], [[64], GGMLType.F32]);
  assert.deepEqual(dims["output.weight"], [[64, V], GGMLType.Q8_0]);
});

test("34B and 7B presets plan lazily with the reference shapes (no weights generated)", () => {
  const p34 = planSynthLlama({ preset: "34b", type: "q4_0", tied: true });
  const p7 = planSynthLlama({ preset: "7b", type: "q4_k" });
  // lazy: every tensor's bytes are a function, called only while the file is written
  for (const t of [...p34.gguf.tensors, ...p7.gguf.tensors]) assert.equal(typeof t.data, "function", t.name);
  const d34 = new Map(p34.gguf.tensors.map((t) => [t.name, t.dims]));
  assert.equal(p34.headDim, 128);
  assert.deepEqual(d34.get("blk.47.attn_k.weight"), [8192, 1024]); // 8 kv heads x 128
  assert.deepEqual(d34.get("blk.47.attn_q.weight"), [8192, 8192]);
  assert.deepEqual(d34.get("blk.0.ffn_down.weight"), [22016, 8192]);
  assert.equal(d34.has("output.weight"), false);
  assert.equal(p34.gguf.tensors.length, 1 + 48 * 9 + 1);
  const d7 = new Map(p7.gguf.tensors.map((t) => [t.name, t.dims]));
  assert.deepEqual(d7.get("blk.31.attn_v.weight"), [4096, 4096]);
  assert.deepEqual(d7.get("blk.0.ffn_up.weight"), [4096, 11008]);
  assert.deepEqual(PRESETS["13b"], { dim: 5120, layers: 40, heads: 40, kvHeads: 40, ffn: 13824 });
});

// ------------------------------------------------------------------ weights

test("same seed: f32, f16 and q8_0 files hold the same weights up to their rounding", () => {
  const opts = { preset: "tiny", seed: 1234, normNoise: 0.1 } as const;
  const p32 = join(SCRATCH, "synth-tiny-f32.gguf"), p8 = join(SCRATCH, "synth-tiny-q8_0.gguf"), p16 = join(SCRATCH, "synth-tiny-f16.gguf");
  writeSynthLlama(p32, { ...opts, type: "f32" });
  writeSynthLlama(p8, { ...opts, type: "q8_0" });
  writeSynthLlama(p16, { ...opts, type: "f16" });
  const a = readAll(p32).w, b = readAll(p8).w, c = readAll(p16).w;
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!, z = c.get(name)!;
    if (name.includes("norm")) {
      // Norms are F32 in every file and identical; jittered around 1.
      assert.deepEqual(y, x, name);
      assert.deepEqual(z, x, name);
      const mean = x.reduce((s, v) => s + v, 0) / x.length;
      assert.ok(Math.abs(mean - 1) < 0.05 && x.some((v) => v !== 1), `${name} mean ${mean}`);
      continue;
    }
    for (let blk = 0; blk < x.length / 32; blk++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * blk + j]));
      // Q8_0: half a step of amax/127, plus the f16 rounding of d times up to 127.
      const bound = (amax / 127) * (0.5 + 127 * 2 ** -11);
      for (let j = 0; j < 32; j++) {
        const i = 32 * blk + j;
        if (!(Math.abs(y[i] - x[i]) <= bound)) assert.fail(`${name}[${i}]: q8_0 ${y[i]} vs f32 ${x[i]} (bound ${bound})`);
        // F16: half an ulp of an 11-bit significand (or of the smallest subnormal).
        if (!(Math.abs(z[i] - x[i]) <= Math.max(Math.abs(x[i]) * 2 ** -11, 2 ** -25))) assert.fail(`${name}[${i}]: f16 ${z[i]} vs f32 ${x[i]}`);
      }
    }
    // The weights really are N(0, 0.02^2).
    const std = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    assert.ok(Math.abs(std - 0.02) < 0.002, `${name} std ${std}`);
  }
  // Stronger: each q8_0 tensor is exactly the Q8_0 encoding of the f32 file's values.
  const g8 = GGUFFile.open(p8);
  try {
    for (const t of g8.tensors) {
      if (t.type === GGMLType.Q8_0) assert.deepEqual(g8.tensorBytes(t), quantizeRow(GGMLType.Q8_0, a.get(t.name)!), t.name);
    }
  } finally {
    g8.close();
  }
  // Every tensor has its own stream: same-shaped tensors differ.
  assert.notDeepEqual(a.get("blk.0.attn_q.weight"), a.get("blk.1.attn_q.weight"));
  assert.notDeepEqual(a.get("blk.0.attn_q.weight"), a.get("blk.0.attn_output.weight"));
  assert.notDeepEqual(a.get("token_embd.weight"), a.get("output.weight"));
  // Different seeds give different weights; the same seed gives the same file.
  writeSynthLlama(join(SCRATCH, "synth-tiny-f32-again.gguf"), { ...opts, type: "f32" });
  assert.deepEqual(readFileSync(join(SCRATCH, "synth-tiny-f32-again.gguf")), readFileSync(p32));
  const other = planSynthLlama({ ...opts, type: "f32", seed: 1235 });
  const first = other.gguf.tensors[1].data as () => Uint8Array;
  assert.notDeepEqual(first(), (planSynthLlama({ ...opts, type: "f32" }).gguf.tensors[1].data as () => Uint8Array)());
});

test("K-type model (q4_k, q6_k output) stays close to the f32 weights of the same seed", () => {
  const shape = { dim: 256, layers: 1, heads: 4, kvHeads: 2, ffn: 512, seed: 3 };
  const k = planSynthLlama({ ...shape, type: "q4_k", outputType: "q6_k", embdType: "q5_k" });
  const f = planSynthLlama({ ...shape, type: "f32" });
  const types = new Map(k.gguf.tensors.map((t) => [t.name, t.type]));
  assert.equal(types.get("blk.0.ffn_down.weight"), GGMLType.Q4_K);
  assert.equal(types.get("output.weight"), GGMLType.Q6_K);
  assert.equal(types.get("token_embd.weight"), GGMLType.Q5_K);
  assert.equal(types.get("blk.0.ffn_norm.weight"), GGMLType.F32);
  const gk = GGUFFile.parse(encodeGGUF(k.gguf)), gf = GGUFFile.parse(encodeGGUF(f.gguf));
  assert.equal(gk.getNumber("general.file_type"), 14);
  // Relative RMS error: ~0.3 step / 3 sigma-ish range; loose but far below a wrong decoding (~1.4).
  const limits: Record<number, number> = { [GGMLType.Q4_K]: 0.12, [GGMLType.Q5_K]: 0.06, [GGMLType.Q6_K]: 0.03 };
  for (const t of gk.tensors) {
    if (t.type === GGMLType.F32) continue;
    const y = dequantizeTensor(t.type, gk.tensorBytes(t), t.nelements);
    const tf = gf.tensor(t.name)!;
    const x = dequantizeTensor(tf.type, gf.tensorBytes(tf), tf.nelements);
    let se = 0, sx = 0;
    for (let i = 0; i < x.length; i++) { se += (y[i] - x[i]) ** 2; sx += x[i] ** 2; }
    const rel = Math.sqrt(se / sx);
    assert.ok(rel < limits[t.type] && rel > limits[t.type] / 20, `${t.name}: relative RMS error ${rel}`);
  }
});

// ------------------------------------------------------------------ vocabularies

test("FIM vocabulary from the llama SPM GGUF: 32016 pieces, sentinels at 32007..32010", () => {
  const plan = planSynthLlama({ preset: "tiny", vocab: LLAMA_VOCAB_GGUF, fim: true, tied: true });
  assert.equal(plan.nVocab, 32016);
  const g = GGUFFile.parse(encodeGGUF({ ...plan.gguf, tensors: [] }));
  const src = GGUFFile.open(LLAMA_VOCAB_GGUF);
  try {
    const tokens = g.get("tokenizer.ggml.tokens") as string[];
    const types = g.get("tokenizer.ggml.token_type") as Int32Array;
    const scores = g.get("tokenizer.ggml.scores") as Float32Array;
    assert.equal(tokens.length, 32016);
    assert.deepEqual(tokens.slice(32007, 32011), ["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"]);
    assert.deepEqual(tokens.slice(32000), [...CODELLAMA_FIM_PIECES]);
    assert.equal(tokens[32015], "▁<EOT><EOT><EOT><EOT><EOT><EOT>");
    assert.deepEqual([...types.subarray(32000)], [1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1]);
    assert.deepEqual([...scores.subarray(32000)], new Array(16).fill(0));
    // The first 32000 pieces and every other tokenizer key are copied unchanged.
    assert.deepEqual(tokens.slice(0, 32000), src.get("tokenizer.ggml.tokens"));
    assert.deepEqual(scores.subarray(0, 32000), src.get("tokenizer.ggml.scores"));
    const keys = [...src.metadata.keys()].filter((k) => k.startsWith("tokenizer."));
    assert.deepEqual([...g.metadata.keys()].filter((k) => k.startsWith("tokenizer.")), keys);
    for (const k of ["tokenizer.ggml.model", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token"]) {
      assert.deepEqual(g.metadata.get(k), src.metadata.get(k), k);
    }
    assert.equal(g.getNumber("llama.vocab_size"), 32016);
    assert.deepEqual(plan.gguf.tensors[0].dims, [64, 32016]);
  } finally {
    src.close();
  }
  // Asking for the pieces twice is refused; padding with unused pieces works.
  const padded = planSynthLlama({ preset: "tiny", vocab: LLAMA_VOCAB_GGUF, vocabSize: 32064, tied: true });
  assert.equal(padded.nVocab, 32064);
  assert.throws(() => planSynthLlama({ preset: "tiny", vocab: LLAMA_VOCAB_GGUF, fim: true, vocabSize: 32000 }), UserError);
});

test("built-in byte vocabulary: specials, 256 byte pieces, a few hundred merge-reachable pieces", () => {
  const { tokens, scores, types } = byteVocab();
  assert.deepEqual(tokens.slice(0, 3), ["<unk>", "<s>", "</s>"]);
  assert.deepEqual([...types.subarray(0, 3)], [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL]);
  for (let b = 0; b < 256; b++) {
    assert.equal(tokens[3 + b], "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">");
    assert.equal(types[3 + b], TOKEN_TYPE.BYTE);
    assert.equal(scores[3 + b], 0);
  }
  assert.equal(new Set(tokens).size, tokens.length, "pieces are unique");
  const normal = tokens.slice(259);
  assert.ok(normal.length >= 300 && normal.length <= 1000, `${normal.length} normal pieces`);
  assert.ok(types.subarray(259).every((t) => t === TOKEN_TYPE.NORMAL));
  normal.forEach((p, k) => assert.equal(scores[259 + k], -k, p));
  // Every printable ASCII character and "▁" is a piece; every longer piece can be built by
  // merging a shorter piece with one character, and that shorter piece scores higher.
  const id = new Map(tokens.map((t, i) => [t, i]));
  for (let c = 0x21; c <= 0x7e; c++) assert.ok(id.has(String.fromCharCode(c)));
  for (const p of ["▁", "▁return", "▁def", "▁▁▁▁", "()", "▁self"]) assert.ok(id.has(p), p);
  for (const p of normal) {
    const chars = [...p];
    if (chars.length < 3) continue;
    const prefix = chars.slice(0, -1).join("");
    assert.ok(id.has(prefix) && scores[id.get(prefix)!] > scores[id.get(p)!], `prefix of ${p}`);
  }
});

// ------------------------------------------------------------------ options and errors

test("options: tied, type overrides, alignment, name, ctx and rope", () => {
  const plan = planSynthLlama({
    preset: "tiny", layers: 1, type: "q4_0", embdType: "f16", outputType: "bf16", alignment: 64,
    name: "x", ctx: 4096, ropeTheta: 10000, rmsEps: 1e-6,
  });
  const g = GGUFFile.parse(encodeGGUF(plan.gguf));
  assert.equal(g.alignment, 64);
  assert.equal(g.getNumber("general.alignment"), 64);
  assert.equal(g.getString("general.name"), "x");
  assert.equal(g.getNumber("general.file_type"), 2);
  assert.equal(g.getNumber("llama.context_length"), 4096);
  assert.equal(g.getNumber("llama.rope.freq_base"), 10000);
  assert.equal(g.getNumber("llama.attention.layer_norm_rms_epsilon"), fr(1e-6));
  assert.equal(g.tensor("token_embd.weight")!.type, GGMLType.F16);
  assert.equal(g.tensor("output.weight")!.type, GGMLType.BF16);
  assert.equal(g.tensor("blk.0.attn_q.weight")!.type, GGMLType.Q4_0);
  for (const t of g.tensors) assert.equal(t.fileOffset % 64, 0, t.name);
  const tied = planSynthLlama({ preset: "tiny", tied: true, type: "f16" });
  assert.equal(tied.gguf.tensors.some((t) => t.name === "output.weight"), false);
  const mgf = GGUFFile.parse(encodeGGUF({ ...tied.gguf, tensors: [] }));
  assert.equal(mgf.has("general.quantization_version"), false);
});

test("impossible shapes and options fail with clear UserErrors", () => {
  const fails = (o: Parameters<typeof planSynthLlama>[0], re: RegExp) =>
    assert.throws(() => planSynthLlama(o), (e: Error) => e instanceof UserError && re.test(e.message), re.source);
  fails({ preset: "tiny", type: "q4_k" }, /q4_k stores rows in blocks of 256 values, but dim \(.*\) = 64/);
  fails({ dim: 256, layers: 1, heads: 4, ffn: 1376, type: "q6_k" }, /ffn \(the row length of ffn_down\) = 1376 is not a multiple of 256 \(choose 1280 or 1536/);
  fails({ preset: "tiny", outputType: "q5_k" }, /dim \(the row length of output\) = 64/);
  fails({ dim: 80, layers: 1, heads: 4, ffn: 64, type: "q8_0" }, /dim \(.*\) = 80 is not a multiple of 32/);
  fails({ dim: 64, layers: 1, heads: 5, ffn: 64 }, /dim 64 is not divisible by heads 5/);
  fails({ dim: 64, layers: 1, heads: 4, kvHeads: 3, ffn: 64 }, /heads 4 is not divisible by kvHeads 3/);
  fails({ dim: 64, layers: 1, heads: 64, ffn: 64 }, /head dimension 1/);
  fails({ dim: 64, heads: 4, ffn: 64 }, /layers must be an integer/);
  fails({ preset: "tiny", type: "q3_k" as never }, /unknown type "q3_k"/);
  fails({ preset: "huge" as never }, /unknown preset "huge"/);
  fails({ preset: "tiny", seed: 2 ** 32 }, /seed/);
  fails({ preset: "tiny", alignment: 48 }, /power of two/);
  fails({ preset: "tiny", vocabSize: 10 }, /smaller than the tokenizer/);
  fails({ preset: "tiny", vocab: "/nonexistent/vocab.gguf" }, /vocabulary file \/nonexistent\/vocab.gguf does not exist/);
});

// ------------------------------------------------------------------ q4_k_m and fast fill

test("q4_k_m: llama.cpp's Q4_K_M recipe (Q6_K attn_v/ffn_down on use_more_bits layers, Q6_K output), file_type 15", () => {
  const plan = planSynthLlama({ preset: "7b", type: "q4_k_m", fill: "fast" });
  const types = new Map(plan.gguf.tensors.map((t) => [t.name, t.type]));
  // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2
  const more = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
  for (let i = 0; i < 32; i++) {
    const want = more.includes(i) ? GGMLType.Q6_K : GGMLType.Q4_K;
    assert.equal(types.get(`blk.${i}.attn_v.weight`), want, `layer ${i} attn_v`);
    assert.equal(types.get(`blk.${i}.ffn_down.weight`), want, `layer ${i} ffn_down`);
    for (const k of ["attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"]) assert.equal(types.get(`blk.${i}.${k}.weight`), GGMLType.Q4_K, `layer ${i} ${k}`);
    assert.equal(types.get(`blk.${i}.attn_norm.weight`), GGMLType.F32);
  }
  assert.equal(types.get("token_embd.weight"), GGMLType.Q4_K);
  assert.equal(types.get("output.weight"), GGMLType.Q6_K);
  const g = GGUFFile.parse(encodeGGUF({ ...plan.gguf, tensors: [] }));
  assert.equal(g.getNumber("general.file_type"), 15);
  assert.equal(g.getNumber("general.quantization_version"), 2);
  // The helper on other depths: 8 layers -> 0, 3, 6, 7.
  assert.deepEqual([...Array(8).keys()].filter((i) => q4KMType("ffn_down", i, 8) === "q6_k"), [0, 3, 6, 7]);
  assert.equal(q4KMType("attn_q", 0, 8), "q4_k");
  // Overrides still apply on top of the mix; a shape whose rows do not fit 256-blocks is refused.
  const o = planSynthLlama({ dim: 256, layers: 2, heads: 2, ffn: 512, type: "q4_k_m", outputType: "q8_0", embdType: "f16" });
  const ot = new Map(o.gguf.tensors.map((t) => [t.name, t.type]));
  assert.deepEqual([ot.get("output.weight"), ot.get("token_embd.weight")], [GGMLType.Q8_0, GGMLType.F16]);
  assert.throws(() => planSynthLlama({ preset: "small", type: "q4_k_m" }), (e: Error) => e instanceof UserError && /ffn .* = 1376 is not a multiple of 256/.test(e.message));
  assert.throws(() => planSynthLlama({ preset: "tiny", type: "q9_k_m" as never }), (e: Error) => e instanceof UserError && /supported: .*q4_k_m/.test(e.message));
  assert.throws(() => planSynthLlama({ preset: "tiny", fill: "slow" as never }), (e: Error) => e instanceof UserError && /unknown fill "slow"/.test(e.message));
});

test("packScaleMinK4 is the inverse of the Q4_K/Q5_K scale unpacking", () => {
  const r = new Rng(9);
  const sm = new Int32Array(2);
  for (let k = 0; k < 200; k++) {
    const sc = Array.from({ length: 8 }, () => r.int(64)), m = Array.from({ length: 8 }, () => r.int(64));
    const s = packScaleMinK4(sc, m);
    for (let j = 0; j < 8; j++) {
      scaleMinK4(s, 0, j, sm);
      assert.deepEqual([sm[0], sm[1]], [sc[j], m[j]]);
    }
  }
});

test("fast fill: every type dequantises finite, zero-mean, with about the requested std; deterministic", () => {
  const n = 256 * 512;
  for (const [name, type] of Object.entries(SYNTH_TYPES)) {
    for (const std of [0.02, 0.5]) {
      const bytes = fastTensor(type, n, std, new Rng([7, 1]));
      assert.equal(bytes.length, rowBytes(type, n), name);
      assert.deepEqual(fastTensor(type, n, std, new Rng([7, 1])), bytes, `${name} deterministic`);
      assert.notDeepEqual(fastTensor(type, n, std, new Rng([7, 2])), bytes, `${name} seeded`);
      const w = dequantizeTensor(type, bytes, n);
      let s = 0, s2 = 0, amax = 0;
      for (const v of w) {
        if (!Number.isFinite(v)) assert.fail(`${name}: non-finite ${v}`);
        s += v; s2 += v * v; amax = Math.max(amax, Math.abs(v));
      }
      const mean = s / n, rms = Math.sqrt(s2 / n);
      assert.ok(Math.abs(rms / std - 1) < 0.05, `${name} std ${std}: rms ${rms}`);
      assert.ok(Math.abs(mean) < 0.02 * std, `${name} std ${std}: mean ${mean}`);
      assert.ok(amax < 4 * std, `${name} std ${std}: max |w| ${amax}`); // uniform quants: bounded
    }
  }
  // Q8_0 never holds the int8 -128 (llama.cpp's quantiser never writes it).
  const q8 = fastTensor(GGMLType.Q8_0, 32 * 4096, 0.02, new Rng(3));
  for (let b = 0; b < 4096; b++) for (let j = 2; j < 34; j++) if (q8[34 * b + j] === 0x80) assert.fail(`block ${b} byte ${j} is -128`);
  // Q4_0 / Q6_K scales carry a random sign per block; Q4_K / Q5_K keep d = dmin > 0.
  const q4 = fastTensor(GGMLType.Q4_0, 32 * 1000, 0.02, new Rng(3));
  const neg = Array.from({ length: 1000 }, (_, b) => q4[18 * b + 1] >> 7).reduce((a, v) => a + v, 0);
  assert.ok(neg > 400 && neg < 600, `${neg} negative scales of 1000`);
  assert.throws(() => fastTensor(GGMLType.Q4_0, 32, 1e-12, new Rng(1)), (e: Error) => e instanceof UserError && /f16 cannot hold/.test(e.message));
});

test("fill fast: a q4_0/q8_0/q4_k_m file reads back with the planned layout and ~std weights", () => {
  for (const type of ["q4_0", "q8_0", "q4_k_m"] as const) {
    const shape = { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 512, seed: 5 };
    const p = join(SCRATCH, `synth-fast-${type}.gguf`);
    writeSynthLlama(p, { ...shape, type, fill: "fast", std: 0.03, normNoise: 0.1 });
    const { g, w } = readAll(p);
    assert.equal(g.getNumber("general.file_type"), { q4_0: 2, q8_0: 7, q4_k_m: 15 }[type]);
    const normal = readAll(writeSynthPath(type, shape)).w;
    for (const t of g.tensors) {
      const x = w.get(t.name)!;
      if (t.name.includes("norm")) {
        // Norms are drawn as in the normal fill.
        assert.deepEqual(x, normal.get(t.name), t.name);
        continue;
      }
      const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
      assert.ok(Math.abs(rms / 0.03 - 1) < 0.1, `${type} ${t.name}: rms ${rms}`);
      assert.notDeepEqual(x.subarray(0, 64), normal.get(t.name)!.subarray(0, 64), `${t.name} differs from the normal fill`);
    }
    // Same seed, same file.
    const p2 = join(SCRATCH, `synth-fast-${type}-again.gguf`);
    writeSynthLlama(p2, { ...shape, type, fill: "fast", std: 0.03, normNoise: 0.1 });
    assert.deepEqual(readFileSync(p2), readFileSync(p));
  }
  function writeSynthPath(type: "q4_0" | "q8_0" | "q4_k_m", shape: object): string {
    const p = join(SCRATCH, `synth-normal-${type}.gguf`);
    writeSynthLlama(p, { ...shape, type, std: 0.03, normNoise: 0.1 });
    return p;
  }
});
