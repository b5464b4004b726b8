/**
 * Loading from the three file kinds (GGUF metadata, SentencePiece tokenizer.model, HF
 * tokenizer.json) gives the same tokenizer; corrupt or unsupported files give a FormatError
 * that names the file, the byte offset and the field.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { encodeGGUF, meta } from "../../src/format/gguf-writer.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { FormatError, UserError } from "../../src/util/errors.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { codeLlamaMetadata, llamaTokenizer } from "./fixtures.js";
import { encodeModelProto, type ModelToWrite } from "./proto-writer.js";
import { TEXTS } from "./texts.js";

const g = GGUFFile.parse(readFileSync(LLAMA_VOCAB_GGUF));
const PIECES = g.get("tokenizer.ggml.tokens") as string[];
const SCORES = g.get("tokenizer.ggml.scores") as Float32Array;
const TYPES = g.get("tokenizer.ggml.token_type") as Int32Array;

/** The Llama vocabulary as a SentencePiece ModelProto (as Meta's tokenizer.model has it). */
function llamaModel(over: Partial<ModelToWrite> = {}): Uint8Array {
  return encodeModelProto({
    pieces: PIECES.map((piece, i) => ({ piece, score: SCORES[i], type: TYPES[i] })),
    byteFallback: true, normalizerName: "identity", addDummyPrefix: true, removeExtraWhitespaces: false, ...over,
  });
}

/** The Llama vocabulary as an HF tokenizer.json, merges made like HF's SentencePieceExtractor. */
function llamaTokenizerJson(style: "normalizer" | "metaspace"): object {
  const vocab: Record<string, number> = {};
  PIECES.forEach((p, i) => { vocab[p] = i; });
  const merges: { a: string; b: string; score: number }[] = [];
  PIECES.forEach((p, i) => {
    const local: { a: string; b: string; score: number }[] = [];
    const chars = [...p];
    for (let k = 1; k < chars.length; k++) {
      const a = chars.slice(0, k).join(""), b = chars.slice(k).join("");
      if (a in vocab && b in vocab) local.push({ a, b, score: SCORES[i] });
    }
    local.sort((x, y) => vocab[x.a] - vocab[y.a] || vocab[x.b] - vocab[y.b]);
    merges.push(...local);
  });
  merges.sort((x, y) => y.score - x.score); // stable, like Python's sorted(reverse=True)
  const special = (id: number) => ({ id, content: PIECES[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: "1.0",
    added_tokens: [special(0), special(1), special(2)],
    normalizer: style === "normalizer"
      ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] }
      : null,
    pre_tokenizer: style === "metaspace" ? { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false } : null,
    post_processor: { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }], pair: [], special_tokens: {} },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", fuse_unk: true, byte_fallback: true, vocab, merges: merges.map((m) => `${m.a} ${m.b}`) },
  };
}

function expectFormatError(fn: () => unknown, field: RegExp, problem: RegExp): FormatError {
  try { fn(); } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${(e as Error).stack}`);
    assert.match(e.field, field);
    assert.match(e.problem, problem);
    assert.match(e.message, /at byte \d+/);
    return e;
  }
  assert.fail("no error thrown");
}

test("a tokenizer.model with the Llama vocabulary encodes exactly like the GGUF", () => {
  const spm = Tokenizer.fromSentencePieceModel(llamaModel(), "llama.model");
  const ref = llamaTokenizer();
  assert.equal(spm.vocabSize, 32000);
  assert.deepEqual(spm.special, ref.special);
  for (const t of TEXTS) assert.deepEqual(spm.encode(t), ref.encode(t), JSON.stringify(t.slice(0, 80)));
});

for (const style of ["normalizer", "metaspace"] as const) {
  test(`an HF tokenizer.json (${style}) encodes exactly like the GGUF`, () => {
    const json = llamaTokenizerJson(style);
    const hf = Tokenizer.fromHFTokenizerJson(JSON.stringify(json), "tokenizer.json");
    const ref = llamaTokenizer();
    assert.equal(hf.vocabSize, 32000);
    assert.equal(hf.addBos, true);
    assert.deepEqual(hf.special, ref.special);
    for (const t of TEXTS) assert.deepEqual(hf.encode(t), ref.encode(t), JSON.stringify(t.slice(0, 80)));
    assert.deepEqual(Tokenizer.fromHFTokenizerJson(json).encode("Hello world"), [15043, 3186]);
  });
}

test("fromFile recognises .gguf, tokenizer.model, tokenizer.json and model folders", () => {
  const dir = join(SCRATCH, "loaders");
  mkdirSync(join(dir, "hf-model"), { recursive: true });
  mkdirSync(join(dir, "spm-model"), { recursive: true });
  writeFileSync(join(dir, "hf-model", "tokenizer.json"), JSON.stringify(llamaTokenizerJson("normalizer")));
  writeFileSync(join(dir, "spm-model", "tokenizer.model"), llamaModel());
  writeFileSync(join(dir, "code.gguf"), encodeGGUF({ metadata: codeLlamaMetadata(), tensors: [] }));
  const want = [1678, 736, 921];
  for (const p of [LLAMA_VOCAB_GGUF, join(dir, "code.gguf"), join(dir, "hf-model"), join(dir, "hf-model", "tokenizer.json"), join(dir, "spm-model"), join(dir, "spm-model", "tokenizer.model")]) {
    assert.deepEqual(Tokenizer.fromFile(p).encode("   return x"), want, p);
  }
  assert.equal(Tokenizer.fromFile(join(dir, "code.gguf")).special.eot, 32010);
  assert.throws(() => Tokenizer.fromFile(join(dir, "missing.gguf")), (e) => e instanceof UserError && /no such file/.test(e.message));
  assert.throws(() => Tokenizer.fromFile(dir), (e) => e instanceof UserError && /neither tokenizer.model nor tokenizer.json/.test(e.message));
});

test("GGUF: only SentencePiece ('llama') vocabularies, consistent arrays", () => {
  const with_ = (edit: (m: Map<string, any>) => void) => {
    const m = new Map(g.metadata);
    edit(m);
    return GGUFFile.parse(encodeGGUF({ metadata: m, tensors: [] }), { name: "x.gguf" });
  };
  const e = expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.set("tokenizer.ggml.model", meta.str("gpt2")))), /tokenizer\.ggml\.model/, /"gpt2".*only SentencePiece/);
  assert.equal(e.file, "x.gguf");
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.delete("tokenizer.ggml.model"))), /tokenizer\.ggml\.model/, /missing/);
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.delete("tokenizer.ggml.tokens"))), /tokenizer\.ggml\.tokens/, /missing/);
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.set("tokenizer.ggml.scores", meta.f32s(new Float32Array(5))))), /scores/, /5 entries for 32000/);
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.set("tokenizer.ggml.bos_token_id", meta.u32(40000)))), /bos_token_id/, /not a token id/);
  const types = Int32Array.from(TYPES);
  types[100] = 1; // one byte piece fewer
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.set("tokenizer.ggml.token_type", meta.i32s(types)))), /byte pieces/, /255 of the 256/);
  types[100] = 9;
  expectFormatError(() => Tokenizer.fromGGUF(with_((m) => m.set("tokenizer.ggml.token_type", meta.i32s(types)))), /token_type/, /unknown type 9/);
});

test("tokenizer.model: unsupported models are refused clearly", () => {
  expectFormatError(() => Tokenizer.fromSentencePieceModel(llamaModel({ modelType: 1 }), "uni.model"), /model_type/, /unigram.*only BPE/);
  expectFormatError(() => Tokenizer.fromSentencePieceModel(llamaModel({ modelType: 4 }), "char.model"), /model_type/, /char/);
  expectFormatError(() => Tokenizer.fromSentencePieceModel(llamaModel({ normalizerName: "nmt_nfkc", charsmap: new Uint8Array([1, 2, 3, 4, 5]) })), /precompiled_charsmap/, /"nmt_nfkc".*only "identity"/);
  expectFormatError(() => Tokenizer.fromSentencePieceModel(llamaModel({ byteFallback: false })), /type/, /byte piece <0x00> although trainer_spec\.byte_fallback is false/);
  const noUnk = encodeModelProto({ pieces: [{ piece: "a", score: 0 }, { piece: "b", score: 0 }] });
  expectFormatError(() => Tokenizer.fromSentencePieceModel(noUnk), /pieces/, /no UNKNOWN/);
  expectFormatError(() => Tokenizer.fromSentencePieceModel(new Uint8Array(0)), /pieces/, /not a SentencePiece model/);
});

test("tokenizer.model: truncated and corrupt files give FormatErrors with offsets, never crashes", () => {
  const good = llamaModel();
  // Truncation: cut inside the first piece's length-delimited field.
  const e = expectFormatError(() => Tokenizer.fromSentencePieceModel(good.subarray(0, 5), "cut.model"), /field|length|varint/, /exceeds|truncated|runs past/);
  assert.equal(e.file, "cut.model");
  // A length that points past the end of the file is checked before it is used.
  const bad = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
  const e2 = expectFormatError(() => Tokenizer.fromSentencePieceModel(bad, "len.model"), /length/, /exceeds the 1 bytes left/);
  assert.equal(e2.offset, 0);
  // Groups and unknown wire types.
  expectFormatError(() => Tokenizer.fromSentencePieceModel(Uint8Array.from([0x0b]), "g.model"), /field 1/, /wire type 3/);
  // Random damage anywhere (in a 1000-piece model, to keep it quick): a FormatError or a
  // working tokenizer, nothing else.
  const small = encodeModelProto({
    pieces: PIECES.slice(0, 1000).map((piece, i) => ({ piece, score: SCORES[i], type: TYPES[i] })),
    byteFallback: true, normalizerName: "identity", addDummyPrefix: true, removeExtraWhitespaces: false,
  });
  assert.deepEqual(Tokenizer.fromSentencePieceModel(small).encode("the"), [278]);
  let seed = 1;
  const rnd = (m: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % m; };
  for (let k = 0; k < 300; k++) {
    const b = Uint8Array.from(small);
    for (let j = 0; j < 1 + rnd(4); j++) b[rnd(k % 2 ? 64 : b.length)] = rnd(256);
    const cut = k % 3 === 0 ? b.subarray(0, rnd(b.length)) : b;
    try {
      Tokenizer.fromSentencePieceModel(cut, "fuzz.model").encode("def f(x): return x");
    } catch (err) {
      assert.ok(err instanceof FormatError, `damage ${k}: ${(err as Error).stack}`);
    }
  }
});

test("tokenizer.json: unsupported or broken files are refused clearly", () => {
  const good = llamaTokenizerJson("normalizer") as any;
  expectFormatError(() => Tokenizer.fromHFTokenizerJson("{\"model\": ", "t.json"), /JSON/, /not valid JSON/);
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, model: { ...good.model, type: "Unigram" } }), /model\.type/, /only BPE/);
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, model: { ...good.model, merges: undefined } }), /model\.merges/, /missing/);
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, normalizer: { type: "NFKC" } }), /normalizer/, /"NFKC" is not supported/);
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, pre_tokenizer: { type: "ByteLevel" } }), /pre_tokenizer/, /"ByteLevel" is not supported/);
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, model: { ...good.model, merges: ["▁ t", "no such merge"] } }), /merges\[1\]/, /is not "left right"|not in the vocabulary/);
  const gap = { ...good.model.vocab };
  delete gap["▁t"];
  expectFormatError(() => Tokenizer.fromHFTokenizerJson({ ...good, model: { ...good.model, vocab: gap, merges: [] } }), /model\.vocab/, /id 260 is missing/);
});
