/**
 * Random-weight Llama GGUF files for tests and benchmarks (our TypeScript equivalent of the
 * team's tools/make_gguf.py, same layout and metadata, but its own RNG, so the weights differ).
 *
 * - Every 2-D weight ~ N(0, std^2); every norm weight = 1 (+ N(0, normNoise^2) jitter).
 * - Each tensor draws from its own RNG stream seeded with [seed, crc32(name)] (see `Rng`), in
 *   row-major order, so files of different types with the same seed hold the same underlying
 *   f32 weights and differ only by quantisation error.
 * - Tensors are produced lazily, one at a time while the file is written, so generating a
 *   7B-shaped file needs memory for one tensor, not for the model.
 * - GGUF dims are innermost first: a matrix with `rows` rows of `cols` values is [cols, rows].
 * - `fill: "fast"` skips the normal draws and the quantiser: the tensor bytes are drawn directly
 *   (uniform quants, a constant per-type scale giving roughly `std`; see `fastTensor`). The
 *   weights are then NOT the same across types; it is for speed tests (a 7B Q4_0 file in seconds).
 * - `type: "q4_k_m"` is llama.cpp's Q4_K_M mix (see `q4KMType`), general.file_type 15.
 * - The tokenizer comes from a GGUF file (its `tokenizer.*` keys are copied, e.g. the llama SPM
 *   vocab; `fim` appends Code Llama's 16 pieces) or is the built-in byte-fallback vocabulary
 *   (`vocab: "bytes"`), so a model can be made without any external file.
 */
import { existsSync } from "node:fs";
import { crc32 } from "node:zlib";
import { Rng } from "../util/rng.js";
import { UserError } from "../util/errors.js";
import { floatToBf16, floatToHalf } from "./f16.js";
import { GGMLType, TYPE_INFO, rowBytes } from "./ggml-types.js";
import { GGUFFile } from "./gguf-reader.js";
import { GGUFValueType, type GGUFMetaValue } from "./gguf-types.js";
import { meta, writeGGUF, type GGUFTensorToWrite, type GGUFToWrite } from "./gguf-writer.js";
import { quantizeRow } from "./quantize.js";

/** Tensor types a synthetic model can be written in (norms are always F32). */
export const SYNTH_TYPES = {
  f32: GGMLType.F32, f16: GGMLType.F16, bf16: GGMLType.BF16, q8_0: GGMLType.Q8_0, q4_0: GGMLType.Q4_0,
  q4_k: GGMLType.Q4_K, q5_k: GGMLType.Q5_K, q6_k: GGMLType.Q6_K,
} as const;
export type SynthType = keyof typeof SYNTH_TYPES;

/** Mixed-type recipes a synthetic model can be written in (`type` only), as llama-quantize's. */
export const SYNTH_MIXES = ["q4_k_m"] as const;
export type SynthMix = (typeof SYNTH_MIXES)[number];

/** How the weights are drawn: normal floats then quantised (default), or quantised bytes drawn directly. */
export const SYNTH_FILLS = ["normal", "fast"] as const;
export type SynthFill = (typeof SYNTH_FILLS)[number];

/**
 * `general.file_type` (llama_ftype) for a file whose 2-D weights are all of one type. The
 * K-types use the "_S" variants (14, 16), which are the uniform ones; "_M" mixes in Q6_K.
 */
const FILE_TYPE: Record<SynthType | SynthMix, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k: 14, q5_k: 16, q6_k: 18, bf16: 32, q4_k_m: 15 };

export interface ModelShape {
  /** Embedding width (n_embd). */
  dim: number;
  layers: number;
  heads: number;
  /** Key/value heads (GQA when fewer than `heads`). */
  kvHeads: number;
  /** Feed-forward hidden size. */
  ffn: number;
}

/** Shapes: Code Llama 7B/13B/34B (docs/codellama-reference.md §2.2) and two small test shapes. */
export const PRESETS = {
  tiny: { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 192 },
  small: { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1376 },
  "7b": { dim: 4096, layers: 32, heads: 32, kvHeads: 32, ffn: 11008 },
  "13b": { dim: 5120, layers: 40, heads: 40, kvHeads: 40, ffn: 13824 },
  "34b": { dim: 8192, layers: 48, heads: 64, kvHeads: 8, ffn: 22016 },
} as const satisfies Record<string, ModelShape>;
export type PresetName = keyof typeof PRESETS;

export interface SynthLlamaOptions extends Partial<ModelShape> {
  /** Shape to start from; explicit shape fields override it. Without a preset all five are required (kvHeads defaults to heads). */
  preset?: PresetName;
  /** llama.context_length (default 16384). */
  ctx?: number;
  /** llama.rope.freq_base (default 1e6, Code Llama's). */
  ropeTheta?: number;
  /** llama.attention.layer_norm_rms_epsilon (default 1e-5). */
  rmsEps?: number;
  /** Type of the 2-D weights (default f32), or a mix such as "q4_k_m" (see `q4KMType`). */
  type?: SynthType | SynthMix;
  /** Type of token_embd.weight (default `type`; q4_k for q4_k_m). */
  embdType?: SynthType;
  /** Type of output.weight (default `type`; q6_k for q4_k_m). */
  outputType?: SynthType;
  /** Omit output.weight (llama.cpp then reuses token_embd). */
  tied?: boolean;
  /** u32 seed (default 1). */
  seed?: number;
  /** "normal" (default): N(0, std^2) floats, quantised; "fast": quantised bytes drawn directly (speed tests). */
  fill?: SynthFill;
  /** Standard deviation of the 2-D weights (default 0.02). */
  std?: number;
  /** Standard deviation of output.weight (default `std`). */
  outputStd?: number;
  /** Standard deviation of the jitter added to the norm weights (default 0: all ones). */
  normNoise?: number;
  /** A GGUF path to copy `tokenizer.*` from, or "bytes" for the built-in byte vocabulary (default). */
  vocab?: string;
  /** Append Code Llama's 16 FIM pieces (32000 -> 32016 with the llama vocab). */
  fim?: boolean;
  /** Pad the vocabulary with UNUSED `<unusedN>` pieces up to this size. */
  vocabSize?: number;
  /** general.name (default "random-llama"). */
  name?: string;
  /** Tensor data alignment; written as general.alignment only when not 32. */
  alignment?: number;
}

/** Token types of `tokenizer.ggml.token_type`. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/**
 * Code Llama's 16 extra pieces, ids 32000..32015 after the llama vocab (PROVENANCE.md of
 * llama-spm-vocab; docs/codellama-reference.md §3.2). Index 7..10 are the sentinels
 * ▁<PRE> (32007), ▁<SUF> (32008), ▁<MID> (32009), ▁<EOT> (32010).
 */
export const CODELLAMA_FIM_PIECES = [
  "▁<SU", "▁<SUF", "▁<PRE", "▁<M", "▁<MID", "▁<E", "▁<EOT",
  "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>",
  "▁<EOT><EOT>", "▁<EOT><EOT><EOT>", "▁<EOT><EOT><EOT><EOT>",
  "▁<EOT><EOT><EOT><EOT><EOT>", "▁<EOT><EOT><EOT><EOT><EOT><EOT>",
] as const;

export interface SynthVocab {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  /** The `tokenizer.*` metadata entries, in file order. */
  metadata: [string, GGUFMetaValue][];
}

// ------------------------------------------------------------------ the built-in byte vocabulary

/** Words that become "▁word" pieces (with every prefix, so SPM merges can reach them). */
const BYTE_VOCAB_WORDS = [
  "the", "and", "of", "to", "in", "is", "it", "for", "if", "else", "elif", "return", "def", "class",
  "import", "from", "as", "with", "while", "not", "or", "True", "False", "None", "self", "print",
  "int", "str", "len", "range", "list", "dict", "function", "const", "let", "var", "new", "this",
  "public", "private", "static", "void", "include", "main", "string", "value", "data", "name",
  "result", "args", "test", "assert", "yield", "lambda", "try", "except", "raise", "pass", "break",
  "continue", "null", "true", "false", "type", "struct", "fn", "use", "pub", "x", "y", "i", "j",
  "n", "a", "b", "0", "1", "2", "=", "==", "+", "-", "*", "/", "(", ")", "{", "}", "[", "]", "#",
  "//", "<", ">", "->", "=>", ":",
];
/** Pieces without a leading "▁" (operators and bracket pairs that occur glued to words). */
const BYTE_VOCAB_BARE = ["()", "):", "(self", "),", ");", "==", "!=", "<=", ">=", "+=", "-=", "->", "++", "[]", "{}", "\"\"", "''", "__"];

/**
 * A small self-contained SPM vocabulary with byte fallback:
 *   0 `<unk>` (UNKNOWN), 1 `<s>`, 2 `</s>` (CONTROL), 3..258 `<0x00>`..`<0xFF>` (BYTE),
 *   then multi-character pieces, shortest first, then the single characters "▁" and '!'..'~'.
 * Normal pieces score -(id - 259) (llama's convention: earlier pieces merge first); the others 0.
 */
export function byteVocab(): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL] as number[];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  // Multi-character pieces: every prefix (of 2+ characters) of "▁" + word, the indents and
  // the bare pieces with their prefixes; a Set keeps the first occurrence.
  const multi = new Set<string>();
  const addWithPrefixes = (p: string) => {
    const chars = [...p];
    for (let k = 2; k <= chars.length; k++) multi.add(chars.slice(0, k).join(""));
  };
  for (const w of BYTE_VOCAB_WORDS) addWithPrefixes("▁" + w);
  addWithPrefixes("▁".repeat(8));
  for (const p of BYTE_VOCAB_BARE) addWithPrefixes(p);
  // Shortest first (stable sort keeps the list order within one length).
  const sorted = [...multi].sort((x, y) => [...x].length - [...y].length);
  const singles = ["▁"];
  for (let c = 0x21; c <= 0x7e; c++) singles.push(String.fromCharCode(c));
  for (const p of [...sorted, ...singles]) {
    tokens.push(p);
    types.push(TOKEN_TYPE.NORMAL);
  }
  const scores = new Float32Array(tokens.length);
  for (let id = 259; id < tokens.length; id++) scores[id] = -(id - 259);
  return { tokens, scores, types: Int32Array.from(types) };
}

// ------------------------------------------------------------------ tokenizer metadata

/** Build the tokenizer: from `source` ("bytes" or a GGUF path), plus FIM pieces and padding. */
export function buildVocab(source: string, fim: boolean, vocabSize?: number): SynthVocab {
  let tokens: string[], scores: Float32Array, types: Int32Array;
  let entries: [string, GGUFMetaValue][];
  if (source === "bytes") {
    ({ tokens, scores, types } = byteVocab());
    entries = [
      ["tokenizer.ggml.model", meta.str("llama")],
      ["tokenizer.ggml.pre", meta.str("default")],
      ["tokenizer.ggml.tokens", meta.strs(tokens)],
      ["tokenizer.ggml.scores", meta.f32s(scores)],
      ["tokenizer.ggml.token_type", meta.i32s(types)],
      ["tokenizer.ggml.bos_token_id", meta.u32(1)],
      ["tokenizer.ggml.eos_token_id", meta.u32(2)],
      ["tokenizer.ggml.unknown_token_id", meta.u32(0)],
      ["tokenizer.ggml.add_bos_token", meta.bool(true)],
      ["tokenizer.ggml.add_eos_token", meta.bool(false)],
    ];
  } else {
    // Copy every tokenizer.* entry of the source file, in its order.
    if (!existsSync(source)) throw new UserError(`vocabulary file ${source} does not exist (give a GGUF path, or "bytes" for the built-in vocabulary)`);
    const g = GGUFFile.open(source);
    try {
      entries = [...g.metadata].filter(([k]) => k.startsWith("tokenizer."));
      const t = g.getArray("tokenizer.ggml.tokens", [GGUFValueType.STRING]);
      if (!t) throw new UserError(`${source}: has no tokenizer.ggml.tokens, so it cannot be used as a vocabulary`);
      tokens = [...(t as string[])];
      const s = g.getArray("tokenizer.ggml.scores", [GGUFValueType.FLOAT32]);
      scores = s ? Float32Array.from(s as Float32Array) : new Float32Array(tokens.length);
      const ty = g.getArray("tokenizer.ggml.token_type", [GGUFValueType.INT32]);
      types = ty ? Int32Array.from(ty as Int32Array) : new Int32Array(tokens.length).fill(TOKEN_TYPE.NORMAL);
      if (scores.length !== tokens.length || types.length !== tokens.length) {
        throw new UserError(`${source}: tokenizer arrays disagree (${tokens.length} tokens, ${scores.length} scores, ${types.length} types)`);
      }
    } finally {
      g.close();
    }
  }
  const extra: { piece: string; type: number }[] = [];
  if (fim) {
    const have = new Set(tokens);
    const dup = CODELLAMA_FIM_PIECES.find((p) => have.has(p));
    if (dup) throw new UserError(`vocabulary ${source} already contains the Code Llama piece "${dup}"; do not ask for fim again`);
    CODELLAMA_FIM_PIECES.forEach((piece, i) => extra.push({ piece, type: i >= 7 && i <= 10 ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL }));
  }
  const total = tokens.length + extra.length;
  if (vocabSize !== undefined) {
    if (!Number.isInteger(vocabSize) || vocabSize < total) throw new UserError(`vocabSize ${vocabSize} is smaller than the tokenizer's ${total} pieces`);
    for (let id = total; id < vocabSize; id++) extra.push({ piece: `<unused${id}>`, type: TOKEN_TYPE.UNUSED });
  }
  if (extra.length) {
    // New pieces score 0.0 (the real Code Llama scores are not known).
    tokens = [...tokens, ...extra.map((e) => e.piece)];
    const s2 = new Float32Array(tokens.length);
    s2.set(scores);
    scores = s2;
    const t2 = new Int32Array(tokens.length);
    t2.set(types);
    extra.forEach((e, k) => { t2[types.length + k] = e.type; });
    types = t2;
  }
  // Put the (possibly extended) arrays back in place of the originals.
  const replaced = new Map<string, GGUFMetaValue>([
    ["tokenizer.ggml.tokens", meta.strs(tokens)],
    ["tokenizer.ggml.scores", meta.f32s(scores)],
    ["tokenizer.ggml.token_type", meta.i32s(types)],
  ]);
  const metadata: [string, GGUFMetaValue][] = entries.map(([k, v]) => [k, replaced.get(k) ?? v]);
  for (const [k, v] of replaced) if (!metadata.some(([key]) => key === k)) metadata.push([k, v]);
  return { tokens, scores, types, metadata };
}

// ------------------------------------------------------------------ the model

export interface SynthLlamaPlan {
  /** What `writeGGUF` / `encodeGGUF` take; tensor data are produced lazily. */
  gguf: GGUFToWrite;
  shape: ModelShape;
  nVocab: number;
  headDim: number;
}

function checkInt(name: string, v: number | undefined, min = 1): number {
  if (v === undefined || !Number.isSafeInteger(v) || v < min) throw new UserError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function typeOf(what: string, t: string | undefined, fallback: SynthType, mixes: readonly string[] = []): SynthType {
  const name = (t ?? fallback) as SynthType;
  if (!Object.hasOwn(SYNTH_TYPES, name)) throw new UserError(`${what}: unknown type "${t}" (supported: ${[...Object.keys(SYNTH_TYPES), ...mixes].join(", ")})`);
  return name;
}

/**
 * llama.cpp's Q4_K_M recipe for a Llama (`llama_tensor_get_type_impl` in src/llama-quant.cpp of
 * llama.cpp v0.5.0, the copy bundled with node-llama-cpp 3.22.1), as it applies to Code Llama:
 *   - attn_v and ffn_down of layer i are Q6_K when use_more_bits(i, n_layers): the first n/8
 *     layers, the last n/8, and every third layer in between ((i - n/8) % 3 == 2); else Q4_K.
 *     For 32 layers (7B) that is layers 0-3, 6, 9, ..., 27 and 28-31: 16 of 32.
 *   - output.weight Q6_K, token_embd.weight Q4_K (the mix's base type), the rest Q4_K.
 * Not reproduced: llama.cpp's fallback for rows that are not a multiple of 256 (Q4_K -> Q5_0,
 * Q6_K -> Q8_0; here that shape is refused) and its 70B / mixture-of-experts rules.
 */
export function q4KMType(kind: string, layer: number, layers: number): SynthType {
  if (kind !== "attn_v" && kind !== "ffn_down") return "q4_k";
  const e = Math.trunc(layers / 8);
  const more = layer < e || layer >= Math.trunc((7 * layers) / 8) || (layer - e) % 3 === 2;
  return more ? "q6_k" : "q4_k";
}

/** Check that rows of `len` values can be stored as `type`; names the dimension when not. */
function checkRow(type: SynthType, len: number, what: string): void {
  const info = TYPE_INFO.get(SYNTH_TYPES[type])!;
  if (len % info.blockSize !== 0) {
    const lo = Math.floor(len / info.blockSize) * info.blockSize, hi = lo + info.blockSize;
    throw new UserError(
      `type ${type} stores rows in blocks of ${info.blockSize} values, but ${what} = ${len} is not a multiple of ${info.blockSize}` +
      ` (choose ${lo > 0 ? `${lo} or ` : ""}${hi}, or another type such as q8_0 or f16)`,
    );
  }
}

/**
 * Plan a random Llama GGUF: metadata and lazily generated tensors. Throws `UserError` for
 * impossible shapes (dim not divisible by heads, rows not a multiple of the block size, ...).
 */
export function planSynthLlama(opts: SynthLlamaOptions): SynthLlamaPlan {
  // 1. Shape: preset, then explicit fields.
  if (opts.preset !== undefined && !Object.hasOwn(PRESETS, opts.preset)) throw new UserError(`unknown preset "${opts.preset}" (known: ${Object.keys(PRESETS).join(", ")})`);
  const base: Partial<ModelShape> = opts.preset ? { ...PRESETS[opts.preset] } : {};
  const dim = checkInt("dim", opts.dim ?? base.dim);
  const layers = checkInt("layers", opts.layers ?? base.layers);
  const heads = checkInt("heads", opts.heads ?? base.heads);
  const kvHeads = checkInt("kvHeads", opts.kvHeads ?? base.kvHeads ?? heads);
  const ffn = checkInt("ffn", opts.ffn ?? base.ffn);
  if (dim % heads !== 0) throw new UserError(`dim ${dim} is not divisible by heads ${heads}`);
  if (heads % kvHeads !== 0) throw new UserError(`heads ${heads} is not divisible by kvHeads ${kvHeads}`);
  const headDim = dim / heads;
  if (headDim % 2 !== 0) throw new UserError(`head dimension ${headDim} (dim / heads) must be even for RoPE`);
  const kvDim = kvHeads * headDim;

  // 2. Types (per tensor for a mix); every row length must fit the block size of its type.
  const mix = (SYNTH_MIXES as readonly string[]).includes(opts.type ?? "") ? (opts.type as SynthMix) : undefined;
  const type: SynthType = mix ? "q4_k" : typeOf("type", opts.type, "f32", SYNTH_MIXES);
  const embdType = typeOf("embdType", opts.embdType, type);
  const outputType = typeOf("outputType", opts.outputType, mix ? "q6_k" : type);
  /** Type of the layer matrix `kind` (attn_q, ..., ffn_down) of layer `l`. */
  const layerType = (kind: string, l: number): SynthType => (mix ? q4KMType(kind, l, layers) : type);
  const checked = new Set<string>();
  const check = (t: SynthType, len: number, what: string) => {
    if (!checked.has(`${t}/${len}`)) { checked.add(`${t}/${len}`); checkRow(t, len, what); }
  };
  for (let l = 0; l < layers; l++) {
    for (const k of ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"]) check(layerType(k, l), dim, "dim (the row length of attn_q/k/v/output, ffn_gate and ffn_up)");
  }
  for (let l = 0; l < layers; l++) check(layerType("ffn_down", l), ffn, "ffn (the row length of ffn_down)");
  checkRow(embdType, dim, "dim (the row length of token_embd)");
  if (!opts.tied) checkRow(outputType, dim, "dim (the row length of output)");
  const fill = opts.fill ?? "normal";
  if (!(SYNTH_FILLS as readonly string[]).includes(fill)) throw new UserError(`unknown fill "${fill}" (supported: ${SYNTH_FILLS.join(", ")})`);

  // 3. Other numbers.
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer 0..4294967295, got ${seed}`);
  const std = opts.std ?? 0.02, outputStd = opts.outputStd ?? std, normNoise = opts.normNoise ?? 0;
  const ctx = checkInt("ctx", opts.ctx ?? 16384);
  const alignment = opts.alignment ?? 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new UserError(`alignment must be a power of two, got ${alignment}`);

  // 4. Tokenizer.
  const vocab = buildVocab(opts.vocab ?? "bytes", opts.fim ?? false, opts.vocabSize);
  const nVocab = vocab.tokens.length;

  // 5. Metadata, in the order llama.cpp's converters write it.
  const used = [type, embdType, ...(opts.tied ? [] : [outputType])];
  const quantized = used.some((t) => TYPE_INFO.get(SYNTH_TYPES[t])!.blockSize > 1);
  const md: [string, GGUFMetaValue][] = [
    ["general.architecture", meta.str("llama")],
    ["general.name", meta.str(opts.name ?? "random-llama")],
    ["general.file_type", meta.u32(FILE_TYPE[mix ?? type])],
    ...(quantized ? [["general.quantization_version", meta.u32(2)] as [string, GGUFMetaValue]] : []),
    ...(alignment !== 32 ? [["general.alignment", meta.u32(alignment)] as [string, GGUFMetaValue]] : []),
    ["llama.vocab_size", meta.u32(nVocab)],
    ["llama.context_length", meta.u32(ctx)],
    ["llama.embedding_length", meta.u32(dim)],
    ["llama.block_count", meta.u32(layers)],
    ["llama.feed_forward_length", meta.u32(ffn)],
    ["llama.rope.dimension_count", meta.u32(headDim)],
    ["llama.attention.head_count", meta.u32(heads)],
    ["llama.attention.head_count_kv", meta.u32(kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(opts.rmsEps ?? 1e-5)],
    ["llama.rope.freq_base", meta.f32(opts.ropeTheta ?? 1e6)],
    ...vocab.metadata,
  ];

  // 6. Tensors (lazy).
  /** A [rows x cols] matrix ~ N(0, sd^2), drawn row by row and encoded one row at a time (or fast-filled). */
  const mat = (name: string, rows: number, cols: number, t: SynthType, sd: number): GGUFTensorToWrite => ({
    name, dims: [cols, rows], type: SYNTH_TYPES[t],
    data: () => {
      const rng = new Rng([seed, crc32(name)]);
      if (fill === "fast") return fastTensor(SYNTH_TYPES[t], rows * cols, sd, rng);
      const rb = rowBytes(SYNTH_TYPES[t], cols);
      const out = new Uint8Array(rows * rb); // [rows][rb] encoded bytes
      const row = new Float32Array(cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) row[c] = sd * rng.normal();
        quantizeRow(SYNTH_TYPES[t], row, out.subarray(r * rb, (r + 1) * rb));
      }
      return out;
    },
  });
  /** A norm weight vector [n]: ones, plus jitter when normNoise > 0. Always F32. */
  const vec = (name: string, n: number): GGUFTensorToWrite => ({
    name, dims: [n], type: GGMLType.F32,
    data: () => {
      const rng = new Rng([seed, crc32(name)]);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = normNoise ? 1 + normNoise * rng.normal() : 1;
      return quantizeRow(GGMLType.F32, v);
    },
  });

  const tensors: GGUFTensorToWrite[] = [mat("token_embd.weight", nVocab, dim, embdType, std)];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      vec(p + "attn_norm.weight", dim),
      mat(p + "attn_q.weight", dim, dim, layerType("attn_q", i), std),
      mat(p + "attn_k.weight", kvDim, dim, layerType("attn_k", i), std),
      mat(p + "attn_v.weight", kvDim, dim, layerType("attn_v", i), std),
      mat(p + "attn_output.weight", dim, dim, layerType("attn_output", i), std),
      vec(p + "ffn_norm.weight", dim),
      mat(p + "ffn_gate.weight", ffn, dim, layerType("ffn_gate", i), std),
      mat(p + "ffn_up.weight", ffn, dim, layerType("ffn_up", i), std),
      mat(p + "ffn_down.weight", dim, ffn, layerType("ffn_down", i), std),
    );
  }
  tensors.push(vec("output_norm.weight", dim));
  if (!opts.tied) tensors.push(mat("output.weight", nVocab, dim, outputType, outputStd));

  return {
    gguf: { metadata: md, tensors, alignment },
    shape: { dim, layers, heads, kvHeads, ffn },
    nVocab,
    headDim,
  };
}

// ------------------------------------------------------------------ fast fill

/**
 * Fill `w` with xoshiro128** words whose state is drawn from `rng`. The generator is inlined on
 * local variables (about a nanosecond a word, against tens for a normal draw plus quantisation).
 */
function fillRandomWords(w: Uint32Array, rng: Rng): void {
  let a = rng.nextU32() | 0, b = rng.nextU32() | 0, c = rng.nextU32() | 0, d = rng.nextU32() | 0;
  if ((a | b | c | d) === 0) a = 1;
  for (let i = 0; i < w.length; i++) {
    const x = Math.imul(b, 5);
    w[i] = Math.imul((x << 7) | (x >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
  }
}

/**
 * The 12 packed bytes of Q4_K/Q5_K (scale, min) pairs for 8 sub-blocks (6 bits each), the
 * inverse of `scaleMinK4` in dequant.ts.
 */
export function packScaleMinK4(sc: ArrayLike<number>, m: ArrayLike<number>): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  return s;
}

/** The half bits of `d`, refusing a scale that a half cannot hold (std far too small or large). */
function halfScale(type: GGMLType, d: number, std: number): number {
  const h = floatToHalf(d);
  if ((h & 0x7fff) === 0 || (h & 0x7c00) === 0x7c00) throw new UserError(`fill "fast": std ${std} needs a ${TYPE_INFO.get(type)!.name} scale of ${d}, which an f16 cannot hold`);
  return h;
}

/**
 * A tensor of `n` values of `type` whose bytes are drawn directly (make_gguf.py's `--fill fast`):
 * every byte random, then the per-block scales written so the dequantised values have RMS ~`std`
 * and mean ~0 (w = scale * q, q uniform):
 *   Q4_0  d = ±std/sqrt(21.5) (random sign per block; RMS of nibble-8 is sqrt(21.5))
 *   Q8_0  d = ±std/73.5 (int8 uniform in -127..127; a drawn -128 becomes 0, as quantisers never
 *         write -128 and SIMD dot products may mishandle it)
 *   Q4_K  every sub-block sc = 8, min = 60, dmin = d: w = 8d(q - 7.5), zero mean; d = std/(8*sqrt(21.25))
 *   Q5_K  sc = 4, min = 62, dmin = d: w = 4d(q - 15.5); d = std/(4*sqrt(85.25))
 *   Q6_K  every scale 4, d = ±std/(4*sqrt(341.5)) (random sign per block; q - 32 has mean -0.5)
 *   F32/F16/BF16  uniform in [-std*sqrt(3), std*sqrt(3)] (65536 levels for the 16-bit types)
 * Deterministic for a given `rng` state.
 */
export function fastTensor(type: GGMLType, n: number, std: number, rng: Rng): Uint8Array {
  const info = TYPE_INFO.get(type)!;
  if (n % info.blockSize !== 0) throw new Error(`fastTensor: ${n} values is not a whole number of ${info.name} blocks`);
  const nb = n / info.blockSize, nbytes = nb * info.typeSize;
  const buf = new ArrayBuffer(Math.ceil(nbytes / 4) * 4);
  const words = new Uint32Array(buf), u8 = new Uint8Array(buf);
  fillRandomWords(words, rng);
  const a = std * Math.sqrt(3);
  /** Random sign bits, 32 blocks per word. */
  let signs = 0;
  const negative = (i: number) => {
    if ((i & 31) === 0) signs = rng.nextU32();
    return ((signs >>> (i & 31)) & 1) === 1;
  };
  switch (type) {
    case GGMLType.F32: {
      const iv = new Int32Array(buf), fv = new Float32Array(buf), k = a / 2 ** 31;
      for (let i = 0; i < n; i++) fv[i] = iv[i] * k;
      break;
    }
    case GGMLType.F16:
    case GGMLType.BF16: {
      const table = new Uint16Array(65536), conv = type === GGMLType.F16 ? floatToHalf : floatToBf16;
      for (let k = 0; k < 65536; k++) table[k] = conv(a * ((k + 0.5) / 32768 - 1));
      const hv = new Uint16Array(buf);
      for (let i = 0; i < words.length; i++) {
        const w = words[i];
        hv[2 * i] = table[w & 0xffff];
        hv[2 * i + 1] = table[w >>> 16];
      }
      break;
    }
    case GGMLType.Q4_0:
    case GGMLType.Q8_0: {
      const q8 = type === GGMLType.Q8_0, bs = info.typeSize;
      if (q8) {
        // int8 -128 (0x80) -> 0, found a word at a time (about one word in 64 has one).
        for (let i = 0; i < words.length; i++) {
          const x = words[i] ^ 0x80808080;
          if (((x - 0x01010101) & ~x & 0x80808080) !== 0) for (let j = 4 * i; j < 4 * i + 4; j++) if (u8[j] === 0x80) u8[j] = 0;
        }
      }
      const h = halfScale(type, std / (q8 ? Math.sqrt(5397.5) : Math.sqrt(21.5)), std);
      for (let i = 0; i < nb; i++) {
        const hi = negative(i) ? h | 0x8000 : h;
        u8[bs * i] = hi & 0xff;
        u8[bs * i + 1] = hi >>> 8;
      }
      break;
    }
    case GGMLType.Q4_K:
    case GGMLType.Q5_K: {
      const q5 = type === GGMLType.Q5_K, bs = info.typeSize;
      const sc = q5 ? 4 : 8, m = q5 ? 62 : 60;
      const h = halfScale(type, std / (sc * Math.sqrt(q5 ? 85.25 : 21.25)), std);
      const head = new Uint8Array(16);
      head.set([h & 0xff, h >>> 8, h & 0xff, h >>> 8]); // d, dmin = d
      head.set(packScaleMinK4(new Array(8).fill(sc), new Array(8).fill(m)), 4);
      for (let i = 0; i < nb; i++) u8.set(head, bs * i);
      break;
    }
    case GGMLType.Q6_K: {
      const h = halfScale(type, std / (4 * Math.sqrt(341.5)), std);
      for (let i = 0; i < nb; i++) {
        const o = 210 * i;
        u8.fill(4, o + 192, o + 208);
        const hi = negative(i) ? h | 0x8000 : h;
        u8[o + 208] = hi & 0xff;
        u8[o + 209] = hi >>> 8;
      }
      break;
    }
    default:
      throw new Error(`fastTensor: no fast fill for ${info.name}`);
  }
  return new Uint8Array(buf, 0, nbytes);
}

/** Write a random Llama GGUF to `path` (atomically). Returns the plan that was written. */
export function writeSynthLlama(path: string, opts: SynthLlamaOptions): SynthLlamaPlan {
  const plan = planSynthLlama(opts);
  writeGGUF(path, plan.gguf);
  return plan;
}
