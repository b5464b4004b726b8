/**
 * GGUF v3 writer, the mirror of `gguf-reader.ts`. Used by our own tools (quantize, training
 * checkpoints, random test models). Output goes to a temporary file that is renamed into place.
 *
 * Metadata values keep their GGUF types (see `gguf-types.ts`), so reading a file and writing it
 * again with the same metadata, tensor order and alignment reproduces it byte for byte.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { tempPathFor } from "../util/atomic-write.js";
import { TYPE_INFO, typeName } from "./ggml-types.js";
import {
  GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUFValueType, SCALAR_SIZE,
  type GGUFArrayValue, type GGUFMetaValue,
} from "./gguf-types.js";

export interface GGUFTensorToWrite {
  name: string;
  /** Innermost first, as in GGUF: a matrix of `rows` rows of `cols` is [cols, rows]. */
  dims: number[];
  type: number;
  /** The encoded tensor bytes, or a function producing them (called once, while writing). */
  data: Uint8Array | (() => Uint8Array);
}

export interface GGUFToWrite {
  metadata: Map<string, GGUFMetaValue> | Iterable<[string, GGUFMetaValue]>;
  tensors: GGUFTensorToWrite[];
  /** Defaults to `general.alignment` from the metadata, else 32. */
  alignment?: number;
}

const enc = new TextEncoder();

/** Grows as needed; used for the header, which is small next to the tensor data. */
class ByteBuilder {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  /** Reserve n bytes; call it before touching `this.dv`, which may be replaced. */
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number) { const at = this.room(1); this.dv.setUint8(at, v); }
  i8(v: number) { const at = this.room(1); this.dv.setInt8(at, v); }
  u16(v: number) { const at = this.room(2); this.dv.setUint16(at, v, true); }
  i16(v: number) { const at = this.room(2); this.dv.setInt16(at, v, true); }
  u32(v: number) { const at = this.room(4); this.dv.setUint32(at, v, true); }
  i32(v: number) { const at = this.room(4); this.dv.setInt32(at, v, true); }
  f32(v: number) { const at = this.room(4); this.dv.setFloat32(at, v, true); }
  f64(v: number) { const at = this.room(8); this.dv.setFloat64(at, v, true); }
  u64(v: bigint | number) { const at = this.room(8); this.dv.setBigUint64(at, BigInt(v), true); }
  i64(v: bigint) { const at = this.room(8); this.dv.setBigInt64(at, v, true); }
  bytes(b: Uint8Array) { const at = this.room(b.length); this.buf.set(b, at); }
  string(s: string) { const b = enc.encode(s); this.u64(b.length); this.bytes(b); }
  pad(alignment: number) { while (this.length % alignment !== 0) this.u8(0); }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(b: ByteBuilder, type: GGUFValueType, v: number | bigint | boolean): void {
  switch (type) {
    case GGUFValueType.UINT8: b.u8(v as number); break;
    case GGUFValueType.INT8: b.i8(v as number); break;
    case GGUFValueType.UINT16: b.u16(v as number); break;
    case GGUFValueType.INT16: b.i16(v as number); break;
    case GGUFValueType.UINT32: b.u32(v as number); break;
    case GGUFValueType.INT32: b.i32(v as number); break;
    case GGUFValueType.FLOAT32: b.f32(v as number); break;
    case GGUFValueType.FLOAT64: b.f64(v as number); break;
    case GGUFValueType.UINT64: b.u64(v as bigint); break;
    case GGUFValueType.INT64: b.i64(v as bigint); break;
    case GGUFValueType.BOOL: b.u8(v ? 1 : 0); break;
    default: throw new Error(`not a scalar GGUF type: ${type}`);
  }
}

function writeArrayBody(b: ByteBuilder, a: GGUFArrayValue): void {
  b.u32(a.itemType);
  const items = a.value;
  b.u64(items.length);
  if (a.itemType === GGUFValueType.STRING) for (const s of items as string[]) b.string(s);
  else if (a.itemType === GGUFValueType.ARRAY) for (const inner of items as GGUFArrayValue[]) writeArrayBody(b, inner);
  else if (SCALAR_SIZE[a.itemType] !== undefined) {
    for (let i = 0; i < items.length; i++) writeScalar(b, a.itemType, (items as ArrayLike<number | bigint | boolean>)[i]);
  } else throw new Error(`unknown GGUF array item type ${a.itemType}`);
}

/** Encode one metadata value (type tag included). */
function writeValue(b: ByteBuilder, v: GGUFMetaValue): void {
  b.u32(v.type);
  if (v.type === GGUFValueType.STRING) b.string(v.value);
  else if (v.type === GGUFValueType.ARRAY) writeArrayBody(b, v);
  else writeScalar(b, v.type, v.value);
}

/** The file's header (everything before the data section, padding included) and the tensor offsets. */
export function encodeGGUFHeader(g: GGUFToWrite): { header: Uint8Array; offsets: number[]; alignment: number } {
  const meta = g.metadata instanceof Map ? g.metadata : new Map(g.metadata);
  const al = meta.get("general.alignment");
  const alignment = g.alignment ?? (al && al.type === GGUFValueType.UINT32 ? al.value : GGUF_DEFAULT_ALIGNMENT);
  const b = new ByteBuilder();
  b.u32(GGUF_MAGIC);
  b.u32(3);
  b.u64(g.tensors.length);
  b.u64(meta.size);
  for (const [k, v] of meta) { b.string(k); writeValue(b, v); }
  const offsets: number[] = [];
  let off = 0;
  for (const t of g.tensors) {
    const info = TYPE_INFO.get(t.type);
    if (!info) throw new Error(`tensor "${t.name}": unknown ggml type ${t.type}`);
    const n = t.dims.reduce((a, d) => a * d, 1);
    if (t.dims[0] % info.blockSize !== 0) throw new Error(`tensor "${t.name}": row length ${t.dims[0]} is not a multiple of the ${info.name} block size`);
    b.string(t.name);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type);
    b.u64(off);
    offsets.push(off);
    off += Math.ceil(((n / info.blockSize) * info.typeSize) / alignment) * alignment;
  }
  // gguf-py pads to the data section only when there is one; a vocab-only file ends here.
  if (g.tensors.length > 0) b.pad(alignment);
  return { header: b.result(), offsets, alignment };
}

/** Write a GGUF v3 file atomically (temporary file, fsync, rename). */
export function writeGGUF(path: string, g: GGUFToWrite): void {
  const { header, alignment } = encodeGGUFHeader(g);
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "w");
  const put = (bytes: Uint8Array) => { let o = 0; while (o < bytes.length) o += writeSync(fd, bytes, o, bytes.length - o); };
  try {
    put(header);
    const zeros = new Uint8Array(alignment);
    for (const t of g.tensors) {
      const data = typeof t.data === "function" ? t.data() : t.data;
      const info = TYPE_INFO.get(t.type)!;
      const want = (t.dims.reduce((a, d) => a * d, 1) / info.blockSize) * info.typeSize;
      if (data.length !== want) throw new Error(`tensor "${t.name}": ${typeName(t.type)} [${t.dims.join(", ")}] needs ${want} bytes, got ${data.length}`);
      put(data);
      const pad = (alignment - (data.length % alignment)) % alignment;
      if (pad) put(zeros.subarray(0, pad));
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Encode a whole GGUF in memory (small files: fixtures and tests). */
export function encodeGGUF(g: GGUFToWrite): Uint8Array {
  const { header, offsets, alignment } = encodeGGUFHeader(g);
  let total = header.length;
  const datas = g.tensors.map((t) => (typeof t.data === "function" ? t.data() : t.data));
  if (datas.length) total = header.length + offsets[offsets.length - 1] + Math.ceil(datas[datas.length - 1].length / alignment) * alignment;
  const out = new Uint8Array(total);
  out.set(header, 0);
  datas.forEach((d, i) => out.set(d, header.length + offsets[i]));
  return out;
}

// ------------------------------------------------------------------ metadata helpers

export const meta = {
  u32: (value: number): GGUFMetaValue => ({ type: GGUFValueType.UINT32, value }),
  i32: (value: number): GGUFMetaValue => ({ type: GGUFValueType.INT32, value }),
  f32: (value: number): GGUFMetaValue => ({ type: GGUFValueType.FLOAT32, value }),
  bool: (value: boolean): GGUFMetaValue => ({ type: GGUFValueType.BOOL, value }),
  str: (value: string): GGUFMetaValue => ({ type: GGUFValueType.STRING, value }),
  strs: (value: string[]): GGUFMetaValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.STRING, value }),
  f32s: (value: Float32Array): GGUFMetaValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.FLOAT32, value }),
  i32s: (value: Int32Array): GGUFMetaValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT32, value }),
};
