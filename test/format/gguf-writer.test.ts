/**
 * GGUF v3 writer: exact bytes against hand-assembled files, metadata of every value type,
 * tensor alignment, and write -> read -> re-encode identity for a random model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GGMLType, rowBytes } from "../../src/format/ggml-types.js";
import { GGUFFile } from "../../src/format/gguf-reader.js";
import { GGUFValueType as T, type GGUFArrayValue, type GGUFMetaValue } from "../../src/format/gguf-types.js";
import { encodeGGUF, meta, writeGGUF, type GGUFTensorToWrite } from "../../src/format/gguf-writer.js";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { SCRATCH } from "../helpers/paths.js";

mkdirSync(SCRATCH, { recursive: true });

/** Little-endian byte helpers for hand-assembled expectations. */
const u32le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64le = (v: number) => [...u32le(v), 0, 0, 0, 0];
const str = (s: string) => [...u64le(Buffer.byteLength(s)), ...Buffer.from(s)];
const MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

test("a metadata-only file is exactly magic, version 3, counts and one key (no padding)", () => {
  const got = encodeGGUF({ metadata: [["a", { type: T.UINT8, value: 7 }]], tensors: [] });
  assert.deepEqual([...got], [...MAGIC, ...u32le(3), ...u64le(0), ...u64le(1), ...str("a"), ...u32le(0), 7]);
});

test("a one-tensor file: tensor info, zero padding to 32, data, padding after the data", () => {
  const data = new Uint8Array(new Float32Array([1, -2]).buffer);
  const got = encodeGGUF({ metadata: [], tensors: [{ name: "t", dims: [2], type: GGMLType.F32, data }] });
  const header = [...MAGIC, ...u32le(3), ...u64le(1), ...u64le(0), ...str("t"), ...u32le(1), ...u64le(2), ...u32le(0), ...u64le(0)];
  assert.equal(header.length, 57);
  const want = [...header, ...new Array(64 - 57).fill(0), 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, ...new Array(24).fill(0)];
  assert.deepEqual([...got], want);
});

/** Metadata holding every value type, edge values, empty strings/arrays and nested arrays. */
function everyType(): Map<string, GGUFMetaValue> {
  const arr = (itemType: T, value: GGUFArrayValue["value"]): GGUFArrayValue => ({ type: T.ARRAY, itemType, value });
  return new Map<string, GGUFMetaValue>([
    ["u8", { type: T.UINT8, value: 255 }],
    ["i8", { type: T.INT8, value: -128 }],
    ["u16", { type: T.UINT16, value: 65535 }],
    ["i16", { type: T.INT16, value: -32768 }],
    ["u32", { type: T.UINT32, value: 0xffffffff }],
    ["i32", { type: T.INT32, value: -(2 ** 31) }],
    ["f32", { type: T.FLOAT32, value: Math.fround(0.1) }],
    ["f32.negzero", { type: T.FLOAT32, value: -0 }],
    ["f32.inf", { type: T.FLOAT32, value: -Infinity }],
    ["f32.nan", { type: T.FLOAT32, value: NaN }],
    ["f64", { type: T.FLOAT64, value: Math.PI }],
    ["f64.tiny", { type: T.FLOAT64, value: 5e-324 }],
    ["bool.t", { type: T.BOOL, value: true }],
    ["bool.f", { type: T.BOOL, value: false }],
    ["str", { type: T.STRING, value: "héllo ▁ \u{1F600}" }],
    ["str.empty", { type: T.STRING, value: "" }],
    ["str.bom", { type: T.STRING, value: "\uFEFFx" }],
    ["", { type: T.STRING, value: "empty key" }],
    ["u64.max", { type: T.UINT64, value: 2n ** 64n - 1n }],
    ["u64.zero", { type: T.UINT64, value: 0n }],
    ["i64.min", { type: T.INT64, value: -(2n ** 63n) }],
    ["i64.max", { type: T.INT64, value: 2n ** 63n - 1n }],
    ["a.u8", arr(T.UINT8, Uint8Array.of(0, 1, 255))],
    ["a.i8", arr(T.INT8, Int8Array.of(-128, 0, 127))],
    ["a.u16", arr(T.UINT16, Uint16Array.of(1, 65535))],
    ["a.i16", arr(T.INT16, Int16Array.of(-32768, 5))],
    ["a.u32", arr(T.UINT32, Uint32Array.of(0xffffffff, 3))],
    ["a.i32", arr(T.INT32, Int32Array.of(-1, 2 ** 31 - 1))],
    ["a.f32", arr(T.FLOAT32, Float32Array.of(1.5, -0, NaN))],
    ["a.f64", arr(T.FLOAT64, Float64Array.of(1e300, -0))],
    ["a.u64", arr(T.UINT64, BigUint64Array.of(2n ** 64n - 1n, 1n))],
    ["a.i64", arr(T.INT64, BigInt64Array.of(-(2n ** 63n), 7n))],
    ["a.bool", arr(T.BOOL, [true, false, false, true])],
    ["a.str", arr(T.STRING, ["", "a", "", "▁<EOT>"])],
    ["a.empty.i32", arr(T.INT32, new Int32Array(0))],
    ["a.empty.str", arr(T.STRING, [])],
    ["a.empty.bool", arr(T.BOOL, [])],
    ["a.nested", arr(T.ARRAY, [arr(T.INT32, Int32Array.of(1, 2)), arr(T.STRING, ["x", ""]), arr(T.BOOL, [true])])],
    ["a.nested.deep", arr(T.ARRAY, [arr(T.ARRAY, [arr(T.UINT64, BigUint64Array.of(9n)), arr(T.FLOAT32, new Float32Array(0))]), arr(T.ARRAY, [])])],
    ["a.nested.empty", arr(T.ARRAY, [])],
  ]);
}

test("metadata of every value type (nested arrays, u64/i64 extremes, bool arrays, empty strings) round-trips", () => {
  const md = everyType();
  const bytes = encodeGGUF({ metadata: md, tensors: [] });
  const g = GGUFFile.parse(bytes);
  assert.deepEqual([...g.metadata.keys()], [...md.keys()]);
  for (const [k, v] of md) assert.deepEqual(g.metadata.get(k), v, `key "${k}"`);
  assert.deepEqual(encodeGGUF({ metadata: g.metadata, tensors: [] }), bytes);
  // Spot-check the encoding of a bool array and a nested array against the format description.
  const find = (needle: number[]) => Buffer.from(bytes).indexOf(Buffer.from(needle));
  assert.ok(find([...str("a.bool"), ...u32le(9), ...u32le(7), ...u64le(4), 1, 0, 0, 1]) > 0);
  assert.ok(find([...str("a.nested"), ...u32le(9), ...u32le(9), ...u64le(3), ...u32le(5), ...u64le(2), ...u32le(1), ...u32le(2)]) > 0);
  assert.ok(find([...str("str.empty"), ...u32le(8), ...u64le(0)]) > 0);
});

/** Tensors whose sizes are not multiples of any alignment. */
function oddTensors(): GGUFTensorToWrite[] {
  const fill = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff | 1);
  return [
    { name: "f32", dims: [3], type: GGMLType.F32, data: fill(12, 1) },
    { name: "q8", dims: [32, 1], type: GGMLType.Q8_0, data: fill(34, 2) },
    { name: "f16", dims: [5], type: GGMLType.F16, data: fill(10, 3) },
    { name: "bf16", dims: [1, 1, 1], type: GGMLType.BF16, data: fill(2, 4) },
    { name: "q4k", dims: [256, 2], type: GGMLType.Q4_K, data: () => fill(rowBytes(GGMLType.Q4_K, 512), 5) },
  ];
}

test("tensor offsets and the data section are aligned; padding is zero (alignments 1 to 4096)", () => {
  for (const A of [1, 8, 32, 64, 4096]) {
    const tensors = oddTensors();
    const md: [string, GGUFMetaValue][] = A === 32 ? [] : [["general.alignment", meta.u32(A)]];
    const bytes = encodeGGUF({ metadata: md, tensors });
    const g = GGUFFile.parse(bytes);
    assert.equal(g.alignment, A);
    assert.equal(g.dataOffset % A, 0);
    let end = g.dataOffset;
    g.tensors.forEach((t, i) => {
      assert.equal(t.offset % A, 0, `alignment ${A}: ${t.name} at ${t.offset}`);
      // Only zeros between the end of the previous tensor and this one.
      assert.ok(bytes.subarray(end, t.fileOffset).every((b) => b === 0), `padding before ${t.name}`);
      assert.ok(t.fileOffset - end < A, `no more padding than needed before ${t.name}`);
      const want = tensors[i].data;
      assert.deepEqual(g.tensorBytes(t), typeof want === "function" ? want() : want);
      end = t.fileOffset + t.nbytes;
    });
    assert.equal(bytes.length, Math.ceil(end / A) * A);
    assert.ok(bytes.subarray(end).every((b) => b === 0));
  }
});

test("writeGGUF on disk equals encodeGGUF; a wrong data length leaves no file behind", () => {
  const path = join(SCRATCH, "writer-odd.gguf");
  writeGGUF(path, { metadata: [["general.alignment", meta.u32(64)]], tensors: oddTensors() });
  assert.deepEqual(new Uint8Array(readFileSync(path)), encodeGGUF({ metadata: [["general.alignment", meta.u32(64)]], tensors: oddTensors() }));
  const bad = join(SCRATCH, "writer-bad.gguf");
  assert.throws(
    () => writeGGUF(bad, { metadata: [], tensors: [{ name: "x", dims: [4], type: GGMLType.F32, data: new Uint8Array(15) }] }),
    /needs 16 bytes, got 15/,
  );
  assert.equal(existsSync(bad), false);
  assert.deepEqual(readdirSync(SCRATCH).filter((f) => f.startsWith(".writer-bad.gguf")), []);
});

test("a random model written, read back and re-encoded from the parsed metadata and tensor bytes is identical", () => {
  for (const [file, opts] of [
    ["writer-rt-q4_0.gguf", { preset: "tiny", type: "q4_0", embdType: "f16", normNoise: 0.01, seed: 77 }],
    ["writer-rt-k.gguf", { dim: 256, layers: 1, heads: 2, ffn: 256, type: "q6_k", embdType: "bf16", alignment: 128, tied: true }],
  ] as const) {
    const path = join(SCRATCH, file);
    writeSynthLlama(path, opts);
    const onDisk = new Uint8Array(readFileSync(path));
    const g = GGUFFile.open(path);
    try {
      const again = encodeGGUF({
        metadata: g.metadata,
        tensors: g.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: g.tensorBytes(t) })),
      });
      assert.equal(again.length, onDisk.length, file);
      assert.equal(Buffer.compare(again, onDisk), 0, file);
      for (const t of g.tensors) assert.equal(t.offset % g.alignment, 0, `${file}: ${t.name}`);
    } finally {
      g.close();
    }
  }
});
