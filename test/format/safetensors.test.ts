import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsCheckpoint, SafetensorsFile } from "../../src/format/safetensors.js";
import { FormatError } from "../../src/util/errors.js";
import { SCRATCH } from "../helpers/paths.js";
import { encodeSafetensors, f32Bytes, u16Bytes } from "../helpers/tiny-models.js";

const A = { name: "a", dtype: "F32", shape: [2, 3], data: f32Bytes(6, 1) };
const B = { name: "b.weight", dtype: "F16", shape: [4], data: u16Bytes(4, 2) };
const C = { name: "c", dtype: "BF16", shape: [], data: u16Bytes(1, 3) };

/** A valid file with a raw JSON header (padded to 8 bytes) and `data` after it. */
function raw(header: string, data: Uint8Array = new Uint8Array(64)): Uint8Array {
  while ((8 + Buffer.byteLength(header)) % 8 !== 0) header += " ";
  const h = Buffer.from(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Assert `fn` throws a FormatError for file "t" at `offset` on `field` whose problem matches `problem`. */
function fails(fn: () => unknown, offset: number, field: string, problem: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.file, "t");
    assert.equal(e.field, field);
    assert.match(e.problem, problem);
    assert.equal(e.offset, offset);
    return true;
  });
}

test("parses dtypes, shapes, offsets and __metadata__, and reads exact bytes", () => {
  const bytes = encodeSafetensors([A, B, C], { format: "pt" });
  const f = SafetensorsFile.parse(bytes, { name: "t" });
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual(f.tensors.map((t) => [t.name, t.dtype, t.shape, t.nelements, t.nbytes]), [
    ["a", "F32", [2, 3], 6, 24], ["b.weight", "F16", [4], 4, 8], ["c", "BF16", [], 1, 2],
  ]);
  const dataStart = 8 + f.headerLength;
  assert.equal(dataStart % 8, 0);
  assert.deepEqual(f.tensors.map((t) => t.fileOffset - dataStart), [0, 24, 32]);
  assert.deepEqual(f.tensorBytes(f.tensor("a")!), A.data);
  assert.deepEqual(f.tensorBytes(f.tensor("b.weight")!), B.data);
  assert.deepEqual(f.tensorBytes(f.tensor("c")!), C.data);
  const part = new Uint8Array(8);
  f.readTensorInto(f.tensor("a")!, part, 4);
  assert.deepEqual(part, A.data.subarray(4, 12));
  assert.throws(() => f.readTensorInto(f.tensor("a")!, new Uint8Array(8), 20), RangeError);
});

test("open() reads through positional reads from a file", () => {
  mkdirSync(SCRATCH, { recursive: true });
  const p = join(SCRATCH, "st-open.safetensors");
  writeFileSync(p, encodeSafetensors([A, B]));
  const f = SafetensorsFile.open(p);
  try {
    assert.equal(f.name, p);
    assert.deepEqual(f.tensorBytes(f.tensor("b.weight")!), B.data);
  } finally {
    f.close();
  }
});

test("header length is checked against the file size before anything is allocated", () => {
  fails(() => SafetensorsFile.parse(new Uint8Array(5), { name: "t" }), 0, "header length", /has 5 bytes/);
  const huge = encodeSafetensors([A]);
  new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
  fails(() => SafetensorsFile.parse(huge, { name: "t" }), 0, "header length", /^18446744073709551615 bytes of JSON header do not fit in the file \(size \d+\)/);
  const zero = encodeSafetensors([A]);
  new DataView(zero.buffer).setBigUint64(0, 0n, true);
  fails(() => SafetensorsFile.parse(zero, { name: "t" }), 0, "header length", /0 is too small/);
});

test("the header must be a JSON object", () => {
  fails(() => SafetensorsFile.parse(raw("[1, 2]"), { name: "t" }), 8, "header", /must start with "\{" but starts with byte 0x5b/);
  fails(() => SafetensorsFile.parse(raw('{"a": }'), { name: "t" }), 8, "header", /is not valid JSON \(Unexpected token '\}'\)/);
  // V8 gives a position for this one: the end of the (space-padded) 8-byte header.
  fails(() => SafetensorsFile.parse(raw('{"a": 1'), { name: "t" }), 16, "header", /is not valid JSON/);
  const bad = raw('{"a":"\u00e9"}');
  bad[14] = 0xff; // break the UTF-8 of "é"
  fails(() => SafetensorsFile.parse(bad, { name: "t" }), 14, "header", /not valid UTF-8/);
});

test("every tensor entry is validated: dtype, shape, data_offsets", () => {
  const ent = (e: string) => raw(`{"__metadata__":{"k":"v"},"w":${e}}`);
  const at = 8 + '{"__metadata__":{"k":"v"},'.length; // offset of "w"
  const p = (e: string) => SafetensorsFile.parse(ent(e), { name: "t" });
  fails(() => p('{"dtype":"I8","shape":[4],"data_offsets":[0,4]}'), at, 'tensor "w" dtype', /^dtype I8 is not supported \(supported: F32, F16, BF16; quantised checkpoints must be dequantised first\)$/);
  fails(() => p('{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}'), at, 'tensor "w" dtype', /^unknown dtype "Q4" \(supported: F32, F16, BF16/);
  fails(() => p('{"dtype":7,"shape":[4],"data_offsets":[0,4]}'), at, 'tensor "w" dtype', /must be a string, found 7/);
  fails(() => p('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), at, 'tensor "w" shape[0]', /found -1/);
  fails(() => p('{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}'), at, 'tensor "w" shape[0]', /found 2.5/);
  fails(() => p('{"dtype":"F32","shape":"4","data_offsets":[0,4]}'), at, 'tensor "w" shape', /must be an array/);
  fails(() => p('{"dtype":"F32","shape":[1048576,1048576,1048576],"data_offsets":[0,4]}'), at, 'tensor "w" shape', /too many elements/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[0]}'), at, 'tensor "w" data_offsets', /must be \[begin, end\]/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[8,4]}'), at, 'tensor "w" data_offsets', /^end 4 is before begin 8$/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[0,12]}'), at, 'tensor "w" data_offsets', /^span 0..12 is 12 bytes but F32 \[4\] needs 16$/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[60,76]}'), at, 'tensor "w" data_offsets', /^end 76 is past the end of the data buffer \(64 bytes\)/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]}'), at, 'tensor "w" data_offsets end', /must be a non-negative integer/);
  fails(() => p('{"dtype":"F32","shape":[4],"data_offsets":[-4,0]}'), at, 'tensor "w" data_offsets begin', /must be a non-negative integer, found -4/);
  fails(() => p("3"), at, 'tensor "w"', /must be an object/);
  fails(() => SafetensorsFile.parse(raw('{"__metadata__":{"k":3}}'), { name: "t" }), 9, '__metadata__["k"]', /must be a string, found 3/);
});

test("overlapping tensors are refused; gaps and empty tensors are fine", () => {
  const hdr = '{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"y":{"dtype":"F16","shape":[4],"data_offsets":[8,16]}}';
  fails(() => SafetensorsFile.parse(raw(hdr), { name: "t" }), 8 + hdr.indexOf('"y"'), 'tensor "y" data_offsets', /^bytes 8..16 overlap tensor "x" \(0..16\)$/);
  const ok = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[8,8]},"y":{"dtype":"F16","shape":[4],"data_offsets":[24,32]}}';
  const f = SafetensorsFile.parse(raw(ok), { name: "t" });
  assert.deepEqual(f.tensors.map((t) => t.nbytes), [8, 0, 8]);
});

test("sharded checkpoints through model.safetensors.index.json", () => {
  const dir = join(SCRATCH, "st-sharded");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model-00001-of-00002.safetensors"), encodeSafetensors([A, C]));
  writeFileSync(join(dir, "model-00002-of-00002.safetensors"), encodeSafetensors([B]));
  const index = (map: Record<string, unknown>) => writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 34 }, weight_map: map }));
  index({ a: "model-00001-of-00002.safetensors", c: "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" });
  const ck = SafetensorsCheckpoint.open(dir);
  try {
    assert.deepEqual([...ck.tensors.keys()], ["a", "c", "b.weight"]);
    assert.equal(ck.files.length, 2);
    const b = ck.tensors.get("b.weight")!;
    assert.deepEqual(b.file.tensorBytes(b.info), B.data);
  } finally {
    ck.close();
  }
  const idx = join(dir, "model.safetensors.index.json");
  const failsAt = (map: Record<string, unknown>, key: string, field: string, problem: RegExp) => {
    index(map);
    const text = JSON.stringify({ metadata: { total_size: 34 }, weight_map: map });
    assert.throws(() => SafetensorsCheckpoint.open(dir), (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.equal(e.file, idx);
      assert.equal(e.offset, text.indexOf(JSON.stringify(key)));
      assert.equal(e.field, field);
      assert.match(e.problem, problem);
      return true;
    });
  };
  failsAt({ a: "model-00003-of-00002.safetensors" }, "a", 'weight_map["a"]', /^shard model-00003-of-00002.safetensors does not exist in /);
  failsAt({ zz: "model-00001-of-00002.safetensors" }, "zz", 'weight_map["zz"]', /^tensor is not in model-00001-of-00002.safetensors$/);
  failsAt({ a: "../x.safetensors" }, "a", 'weight_map["a"]', /must be a file name in the same folder/);
  failsAt({ a: 5 }, "a", 'weight_map["a"]', /found 5/);
});

test("a folder of several files without an index: a name in two files is an error", () => {
  const dir = join(SCRATCH, "st-multi");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "x1.safetensors"), encodeSafetensors([A]));
  writeFileSync(join(dir, "x2.safetensors"), encodeSafetensors([B]));
  const ck = SafetensorsCheckpoint.open(dir);
  assert.deepEqual([...ck.tensors.keys()].sort(), ["a", "b.weight"]);
  ck.close();
  writeFileSync(join(dir, "x3.safetensors"), encodeSafetensors([A]));
  assert.throws(() => SafetensorsCheckpoint.open(dir), (e: unknown) => e instanceof FormatError && e.field === 'tensor "a"' && e.file === join(dir, "x3.safetensors") && /is also in .*x1.safetensors/.test(e.problem));
});
