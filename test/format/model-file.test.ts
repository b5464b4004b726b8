import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "../../src/format/ggml-types.js";
import { hfToGGUFName, openModel, validateLlamaTensors, type ModelTensor } from "../../src/format/model-file.js";
import { SafetensorsFile } from "../../src/format/safetensors.js";
import { readSentencePiecePieces } from "../../src/format/tokenizer-pieces.js";
import { FormatError, UserError } from "../../src/util/errors.js";
import { SCRATCH } from "../helpers/paths.js";
import { TINY, encodeSafetensors, encodeSentencePieceModel, f32Bytes, tinyCodeLlamaGGUF, writeTinyHFDir, type TinyShape } from "../helpers/tiny-models.js";

const dirFor = (name: string) => {
  const d = join(SCRATCH, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
};
const readAll = (t: ModelTensor) => { const b = new Uint8Array(t.nbytes); t.read(b); return b; };

// 64 pieces: three specials, the four FIM sentinels at 40..43, `<step>` at 50, filler elsewhere.
const SMALL: TinyShape = { ...TINY, vocab: 64 };
const PIECES = Array.from({ length: 64 }, (_, i) => (i === 0 ? "<unk>" : i === 1 ? "<s>" : i === 2 ? "</s>" : `p${i}`));
PIECES.splice(40, 4, "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>");
PIECES[50] = "<step>";

test("HF → GGUF name table", () => {
  assert.equal(hfToGGUFName("model.embed_tokens.weight"), "token_embd.weight");
  assert.equal(hfToGGUFName("model.norm.weight"), "output_norm.weight");
  assert.equal(hfToGGUFName("lm_head.weight"), "output.weight");
  const layer: [string, string][] = [
    ["self_attn.q_proj", "attn_q"], ["self_attn.k_proj", "attn_k"], ["self_attn.v_proj", "attn_v"], ["self_attn.o_proj", "attn_output"],
    ["mlp.gate_proj", "ffn_gate"], ["mlp.up_proj", "ffn_up"], ["mlp.down_proj", "ffn_down"],
    ["input_layernorm", "attn_norm"], ["post_attention_layernorm", "ffn_norm"],
  ];
  for (const [hf, gg] of layer) assert.equal(hfToGGUFName(`model.layers.17.${hf}.weight`), `blk.17.${gg}.weight`);
  assert.equal(hfToGGUFName("model.layers.0.self_attn.rotary_emb.inv_freq"), undefined);
  assert.equal(hfToGGUFName("model.layers.0.self_attn.q_proj.bias"), undefined);
});

test("openModel on a GGUF: config, tensors in GGUF order, exact bytes, validation passes", () => {
  const p = join(dirFor("mf-gguf"), "tiny.gguf");
  const bytes = tinyCodeLlamaGGUF(TINY);
  writeFileSync(p, bytes);
  const m = openModel(p);
  try {
    assert.equal(m.format, "gguf");
    assert.equal(m.fileSize, bytes.length);
    assert.equal(m.tokenizerSource.kind, "gguf");
    assert.deepEqual([m.config.dim, m.config.nLayers, m.config.nHeads, m.config.nKVHeads, m.config.ffnDim, m.config.vocabSize], [32, 2, 4, 2, 96, 32016]);
    assert.deepEqual(m.config.special, { bos: 1, eos: 2, unk: 0, prefix: 32007, suffix: 32008, middle: 32009, eot: 32010 });
    assert.equal(m.tensors.size, 2 + 2 * 9 + 1);
    const q = m.tensors.get("blk.1.attn_k.weight")!;
    assert.deepEqual([q.dims, q.type, q.nbytes], [[32, 16], GGMLType.F32, 32 * 16 * 4]);
    // Tensor k of tinyLlamaTensors is filled with f32Bytes(n, k); blk.1.attn_k is the 13th (k = 12).
    assert.deepEqual(readAll(q), f32Bytes(32 * 16, 12));
    assert.throws(() => q.read(new Uint8Array(8)), RangeError);
    validateLlamaTensors(m.config, m.tensors);
  } finally {
    m.close();
  }
});

test("validateLlamaTensors lists every missing or misshapen tensor in one message", () => {
  const p = join(dirFor("mf-validate"), "tiny.gguf");
  writeFileSync(p, tinyCodeLlamaGGUF());
  const m = openModel(p);
  try {
    const t = new Map(m.tensors);
    t.delete("blk.1.ffn_up.weight");
    t.delete("output.weight");
    t.set("blk.0.attn_k.weight", { ...t.get("blk.0.attn_k.weight")!, dims: [32, 32] });
    assert.throws(() => validateLlamaTensors(m.config, t), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, "tiny-codellama: the tensors do not match a Llama of dim 32, 2 layers, 4/2 heads, ffn 96, vocab 32016: " +
        "2 missing: output.weight, blk.1.ffn_up.weight; 1 with the wrong shape: blk.0.attn_k.weight is F32 [32, 32], expected [32, 16]");
      return true;
    });
  } finally {
    m.close();
  }
});

test("openModel on a HF folder: GGUF names and dims, Q/K un-permuted on read, FIM ids from tokenizer.json", () => {
  const dir = dirFor("mf-hf");
  const inv = { name: "model.layers.0.self_attn.rotary_emb.inv_freq", dtype: "F32", shape: [4], data: f32Bytes(4, 99) };
  const gguf = writeTinyHFDir(dir, { shape: SMALL, pieces: PIECES, extraTensors: [inv] });
  const m = openModel(dir);
  try {
    assert.equal(m.format, "safetensors");
    assert.deepEqual(m.tokenizerSource, { kind: "hf-json", path: join(dir, "tokenizer.json") });
    assert.deepEqual(m.unmapped, ["model.layers.0.self_attn.rotary_emb.inv_freq"]);
    assert.equal(m.config.name, "mf-hf");
    assert.deepEqual(m.config.special, { bos: 1, eos: 2, unk: 0, prefix: 40, suffix: 41, middle: 42, eot: 43, step: 50 });
    validateLlamaTensors(m.config, m.tensors);
    // Every tensor reads back exactly as the GGUF-layout original (Q/K included).
    assert.equal(m.tensors.size, gguf.length);
    for (const t of gguf) {
      const mt = m.tensors.get(t.name)!;
      assert.deepEqual(mt.dims, t.dims, t.name);
      assert.equal(mt.type, GGMLType.F32);
      assert.deepEqual(readAll(mt), t.data, t.name);
    }
    // And the file really holds HF order: q_proj row 1 (head 0, head_dim 8) is Meta row 2; k_proj row 12 (head 1) is Meta row 9.
    const st = SafetensorsFile.open(join(dir, "model.safetensors"));
    try {
      const rowBytes = 32 * 4;
      const hfQ = st.tensorBytes(st.tensor("model.layers.0.self_attn.q_proj.weight")!);
      const hfK = st.tensorBytes(st.tensor("model.layers.0.self_attn.k_proj.weight")!);
      const q = readAll(m.tensors.get("blk.0.attn_q.weight")!), k = readAll(m.tensors.get("blk.0.attn_k.weight")!);
      const row = (b: Uint8Array, r: number) => b.subarray(r * rowBytes, (r + 1) * rowBytes);
      assert.deepEqual(row(hfQ, 1), row(q, 2));
      assert.deepEqual(row(hfQ, 4), row(q, 1));
      assert.deepEqual(row(hfK, 12), row(k, 9)); // head 1: HF row 8 + 4 is j = 1, i = 0 -> Meta row 8 + 2*0 + 1
      assert.notDeepEqual(hfQ, q);
    } finally {
      st.close();
    }
  } finally {
    m.close();
  }
});

test("openModel on a sharded HF folder, and with a SentencePiece tokenizer.model", () => {
  const dir = dirFor("mf-hf-sharded");
  const gguf = writeTinyHFDir(dir, { shape: SMALL, pieces: PIECES });
  // Re-split model.safetensors into two shards + index, and swap tokenizer.json for tokenizer.model.
  const one = SafetensorsFile.open(join(dir, "model.safetensors"));
  const all = one.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: one.tensorBytes(t) }));
  one.close();
  rmSync(join(dir, "model.safetensors"));
  rmSync(join(dir, "tokenizer.json"));
  const half = Math.floor(all.length / 2);
  writeFileSync(join(dir, "model-00001-of-00002.safetensors"), encodeSafetensors(all.slice(0, half)));
  writeFileSync(join(dir, "model-00002-of-00002.safetensors"), encodeSafetensors(all.slice(half)));
  const map = Object.fromEntries(all.map((t, i) => [t.name, i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"]));
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: map }));
  writeFileSync(join(dir, "tokenizer.model"), encodeSentencePieceModel(PIECES));
  assert.deepEqual(readSentencePiecePieces(join(dir, "tokenizer.model")), PIECES);
  const m = openModel(dir);
  try {
    assert.equal(m.tokenizerSource.kind, "spm");
    assert.equal(m.config.special.prefix, 40);
    for (const t of gguf) assert.deepEqual(readAll(m.tensors.get(t.name)!), t.data, t.name);
  } finally {
    m.close();
  }
});

test("openModel refuses Meta .pth checkpoints, non-model folders and mismatched tokenizers, clearly", () => {
  const meta = dirFor("mf-meta");
  writeFileSync(join(meta, "params.json"), JSON.stringify({ dim: 4096, n_layers: 32, n_heads: 32, multiple_of: 256, norm_eps: 1e-5, vocab_size: 32016 }));
  writeFileSync(join(meta, "consolidated.00.pth"), "PK");
  assert.throws(() => openModel(meta), (e: unknown) => e instanceof UserError && !(e instanceof FormatError) &&
    e.message.startsWith(`${meta}: Meta checkpoint (params.json: dim 4096, 32 layers, 32 heads, ffn 11008, vocab 32016) with weights in consolidated.00.pth: PyTorch .pth pickles are not supported. Convert once to Hugging Face safetensors`));
  assert.throws(() => openModel(join(meta, "consolidated.00.pth")), /PyTorch .pth pickles are not supported/);

  const empty = dirFor("mf-empty");
  assert.throws(() => openModel(empty), (e: unknown) => e instanceof UserError && e.message === `${empty}: not a model folder: expected config.json with *.safetensors (Hugging Face) or params.json (Meta); a .gguf file can be opened directly`);
  assert.throws(() => openModel(join(empty, "nope.gguf")), (e: unknown) => e instanceof UserError && e.message === `${join(empty, "nope.gguf")}: no such file or folder`);

  const noTok = dirFor("mf-notok");
  writeTinyHFDir(noTok, { shape: SMALL, pieces: PIECES });
  rmSync(join(noTok, "tokenizer.json"));
  assert.throws(() => openModel(noTok), (e: unknown) => e instanceof UserError && e.message === `${noTok}: no tokenizer.model or tokenizer.json beside config.json`);

  const big = dirFor("mf-bigtok");
  writeTinyHFDir(big, { shape: SMALL, pieces: [...PIECES, "extra"] });
  assert.throws(() => openModel(big), /the tokenizer has 65 pieces but config.json vocab_size is 64/);
});

test("config.json that does not match the weights: validation names the tensors, reads refuse to un-permute", () => {
  const dir = dirFor("mf-mismatch");
  writeTinyHFDir(dir, { shape: SMALL, pieces: PIECES, config: { num_key_value_heads: 4 } });
  const m = openModel(dir);
  try {
    assert.throws(() => validateLlamaTensors(m.config, m.tensors), (e: unknown) => e instanceof UserError && e.message.endsWith(
      ": 4 with the wrong shape: blk.0.attn_k.weight is F32 [32, 16], expected [32, 32], blk.0.attn_v.weight is F32 [32, 16], expected [32, 32], " +
      "blk.1.attn_k.weight is F32 [32, 16], expected [32, 32], blk.1.attn_v.weight is F32 [32, 16], expected [32, 32]"));
    const k = m.tensors.get("blk.0.attn_k.weight")!;
    assert.throws(() => k.read(new Uint8Array(k.nbytes)), (e: unknown) => e instanceof UserError && /k_proj.weight" of shape \[16, 32\] cannot be split into 4 heads of 8 rows for the RoPE un-permutation/.test(e.message));
  } finally {
    m.close();
  }
});
