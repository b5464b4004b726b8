/**
 * GGUF v2/v3 reader.
 *
 * Layout (all little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count;
 * metadata entries (string key, u32 value type, value); tensor infos (string name, u32 n_dims,
 * n_dims x u64 dims innermost first, u32 ggml type, u64 offset into the data section);
 * zero padding to `general.alignment` (default 32); tensor data.
 *
 * The header is parsed through a small buffered cursor over positional reads, so a multi-GB
 * file is never read into one JS buffer. Every length read from the file is checked against
 * the bytes that remain before anything is allocated for it. Tensor bytes are handed out as
 * views (in-memory files) or read straight into the caller's buffer (`readTensorInto`).
 */
import { FormatError } from "../util/errors.js";
import { bufferSource, fileSource, type ByteSource } from "./byte-source.js";
import { SUPPORTED_TYPE_NAMES, TYPE_INFO, typeName } from "./ggml-types.js";
import {
  GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUFValueType, SCALAR_SIZE, VALUE_TYPE_NAMES,
  plainValue,
  type GGUFArrayItems, type GGUFArrayValue, type GGUFMetaValue, type GGUFTensorInfo,
} from "./gguf-types.js";

const WINDOW = 1 << 20;
// ignoreBOM: a piece may be U+FEFF itself (the llama vocab has one), which must not be stripped.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** A forward-only cursor with bounds checks that name the field being read. */
class Cursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private dv = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(private readonly src: ByteSource, private readonly file: string) {}

  fail(field: string, problem: string, at = this.pos): never {
    throw new FormatError(this.file, at, field, problem);
  }

  get remaining(): number { return this.src.size - this.pos; }

  /** Make `n` bytes at the cursor available in the window; returns their offset in `buf`. */
  private need(n: number, field: string): number {
    if (n > this.remaining) this.fail(field, `needs ${n} bytes but the file ends after ${this.remaining} (file size ${this.src.size})`);
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.src.size - this.pos);
    if (this.buf.length < len) { this.buf = new Uint8Array(len); this.dv = new DataView(this.buf.buffer); }
    this.src.read(this.pos, this.buf.subarray(0, len));
    this.bufStart = this.pos;
    return 0;
  }

  u8(f: string): number { const o = this.need(1, f); this.pos += 1; return this.buf[o]; }
  i8(f: string): number { const o = this.need(1, f); this.pos += 1; return this.dv.getInt8(o); }
  u16(f: string): number { const o = this.need(2, f); this.pos += 2; return this.dv.getUint16(o, true); }
  i16(f: string): number { const o = this.need(2, f); this.pos += 2; return this.dv.getInt16(o, true); }
  u32(f: string): number { const o = this.need(4, f); this.pos += 4; return this.dv.getUint32(o, true); }
  i32(f: string): number { const o = this.need(4, f); this.pos += 4; return this.dv.getInt32(o, true); }
  f32(f: string): number { const o = this.need(4, f); this.pos += 4; return this.dv.getFloat32(o, true); }
  f64(f: string): number { const o = this.need(8, f); this.pos += 8; return this.dv.getFloat64(o, true); }
  u64(f: string): bigint { const o = this.need(8, f); this.pos += 8; return this.dv.getBigUint64(o, true); }
  i64(f: string): bigint { const o = this.need(8, f); this.pos += 8; return this.dv.getBigInt64(o, true); }

  /** A u64 that must fit a JS number and be at most `max`. */
  size(f: string, max: number): number {
    const at = this.pos;
    const v = this.u64(f);
    if (v > BigInt(max)) this.fail(f, `value ${v} is larger than possible here (at most ${max})`, at);
    return Number(v);
  }

  bytes(n: number, f: string): Uint8Array {
    const o = this.need(n, f);
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }

  string(f: string): string {
    const n = this.size(`${f} (string length)`, this.remaining - 8);
    return utf8.decode(this.bytes(n, f));
  }
}

export interface GGUFParseOptions {
  /** Name used in error messages (defaults to the path, or "<buffer>"). */
  name?: string;
}

export class GGUFFile {
  readonly tensorsByName: ReadonlyMap<string, GGUFTensorInfo>;

  private constructor(
    /** File name used in messages. */
    readonly name: string,
    readonly version: number,
    readonly metadata: Map<string, GGUFMetaValue>,
    readonly tensors: GGUFTensorInfo[],
    readonly alignment: number,
    /** Absolute offset of the data section. */
    readonly dataOffset: number,
    readonly fileSize: number,
    private readonly src: ByteSource,
  ) {
    this.tensorsByName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Open a GGUF file; only the header is read. Call `close()` when done. */
  static open(path: string, opts: GGUFParseOptions = {}): GGUFFile {
    const src = fileSource(path);
    try {
      return GGUFFile.parseSource(src, opts.name ?? path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Parse a GGUF held in memory; tensor data are zero-copy views into `bytes`. */
  static parse(bytes: Uint8Array, opts: GGUFParseOptions = {}): GGUFFile {
    return GGUFFile.parseSource(bufferSource(bytes), opts.name ?? "<buffer>");
  }

  private static parseSource(src: ByteSource, file: string): GGUFFile {
    const c: Cursor = new Cursor(src, file);
    const magic = c.u32("magic");
    if (magic !== GGUF_MAGIC) {
      c.fail("magic", `expected "GGUF" but found ${JSON.stringify(Buffer.from(new Uint32Array([magic]).buffer).toString("latin1"))}; this is not a GGUF file`, 0);
    }
    const version = c.u32("version");
    if (version === 1) c.fail("version", "GGUF v1 (2023) is not supported; convert the file again with a current llama.cpp (v2 and v3 are supported)", 4);
    if (version !== 2 && version !== 3) {
      const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
      if (swapped === 2 || swapped === 3) c.fail("version", "big-endian GGUF files are not supported (only little-endian v2/v3)", 4);
      c.fail("version", `unsupported GGUF version ${version} (supported: 2, 3)`, 4);
    }
    // Every tensor info takes at least 8+4+8+4+8 bytes and every metadata entry at least 8+4+1.
    const nTensors = c.size("tensor count", Math.floor(c.remaining / 32));
    const nKV = c.size("metadata count", Math.floor(c.remaining / 13));

    const metadata = new Map<string, GGUFMetaValue>();
    for (let i = 0; i < nKV; i++) {
      const keyAt = c.pos;
      const key = c.string(`metadata[${i}].key`);
      if (metadata.has(key)) c.fail(`metadata key ${quote(key)}`, "appears twice", keyAt);
      const typeAt = c.pos;
      const type = c.u32(`metadata ${quote(key)} type`);
      metadata.set(key, readValue(c, type, `metadata ${quote(key)}`, typeAt, 0));
    }

    let alignment = GGUF_DEFAULT_ALIGNMENT;
    const al = metadata.get("general.alignment");
    if (al !== undefined) {
      if (al.type !== GGUFValueType.UINT32 || al.value === 0 || (al.value & (al.value - 1)) !== 0) {
        c.fail("general.alignment", `must be a u32 power of two, got ${VALUE_TYPE_NAMES[al.type]} ${String(plainValue(al))}`, 0);
      }
      alignment = al.value;
    }

    const tensors: GGUFTensorInfo[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < nTensors; i++) {
      const at = c.pos;
      const name = c.string(`tensor[${i}].name`);
      if (seen.has(name)) c.fail(`tensor ${quote(name)}`, "appears twice", at);
      seen.add(name);
      const f = `tensor ${quote(name)}`;
      const nDims = c.u32(`${f} n_dims`);
      if (nDims < 1 || nDims > GGML_MAX_DIMS) c.fail(`${f} n_dims`, `${nDims} dimensions (supported: 1 to ${GGML_MAX_DIMS})`, c.pos - 4);
      const dims: number[] = [];
      let nelements = 1;
      for (let d = 0; d < nDims; d++) {
        const dim = c.size(`${f} dims[${d}]`, 2 ** 40);
        dims.push(dim);
        nelements *= dim;
      }
      if (nelements > 2 ** 48) c.fail(`${f} dims`, `${dims.join("x")} is too many elements`, at);
      const typeAt = c.pos;
      const type = c.u32(`${f} type`);
      const info = TYPE_INFO.get(type);
      if (!info) c.fail(`${f} type`, `unknown ggml tensor type ${type} (supported: ${SUPPORTED_TYPE_NAMES})`, typeAt);
      if (dims[0] % info.blockSize !== 0) {
        c.fail(`${f} dims[0]`, `row length ${dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`, at);
      }
      const offAt = c.pos;
      const offset = c.size(`${f} offset`, src.size);
      if (offset % alignment !== 0) c.fail(`${f} offset`, `${offset} is not a multiple of the alignment ${alignment}`, offAt);
      tensors.push({ name, dims, type, offset, fileOffset: 0, nelements, nbytes: (nelements / info.blockSize) * info.typeSize });
    }

    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    if (nTensors > 0 && dataOffset > src.size) c.fail("tensor data", `data section should start at byte ${dataOffset} but the file has only ${src.size} bytes`, c.pos);
    for (const t of tensors) {
      t.fileOffset = dataOffset + t.offset;
      if (t.fileOffset + t.nbytes > src.size) {
        c.fail(`tensor ${quote(t.name)} data`, `${typeName(t.type)} [${t.dims.join(", ")}] needs ${t.nbytes} bytes at byte ${t.fileOffset}, past the end of the file (size ${src.size}); the file is truncated`, Math.min(t.fileOffset, src.size));
      }
    }
    return new GGUFFile(file, version, metadata, tensors, alignment, dataOffset, src.size, src);
  }

  // ---------------------------------------------------------------- metadata access

  has(key: string): boolean { return this.metadata.has(key); }

  /** The plain JS value of `key`, or undefined. */
  get(key: string): unknown {
    const v = this.metadata.get(key);
    return v === undefined ? undefined : plainValue(v);
  }

  private bad(key: string, problem: string): never {
    throw new FormatError(this.name, 0, `metadata ${quote(key)}`, problem);
  }

  /** A numeric value (any integer or float type; u64/i64 must fit a JS number). */
  getNumber(key: string): number | undefined {
    const v = this.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type === GGUFValueType.UINT64 || v.type === GGUFValueType.INT64) {
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < -BigInt(Number.MAX_SAFE_INTEGER)) this.bad(key, `value ${v.value} is out of range`);
      return Number(v.value);
    }
    if (typeof v.value !== "number") this.bad(key, `expected a number, found ${VALUE_TYPE_NAMES[v.type]}`);
    return v.value;
  }

  requireNumber(key: string): number {
    const v = this.getNumber(key);
    if (v === undefined) this.bad(key, "is missing");
    return v;
  }

  getString(key: string): string | undefined {
    const v = this.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GGUFValueType.STRING) this.bad(key, `expected a string, found ${VALUE_TYPE_NAMES[v.type]}`);
    return v.value;
  }

  getBool(key: string): boolean | undefined {
    const v = this.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GGUFValueType.BOOL) this.bad(key, `expected a bool, found ${VALUE_TYPE_NAMES[v.type]}`);
    return v.value;
  }

  /** An array value, checked for its element type. */
  getArray(key: string, itemTypes: GGUFValueType[]): GGUFArrayItems | undefined {
    const v = this.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GGUFValueType.ARRAY) this.bad(key, `expected an array, found ${VALUE_TYPE_NAMES[v.type]}`);
    if (!itemTypes.includes(v.itemType)) {
      this.bad(key, `expected an array of ${itemTypes.map((t) => VALUE_TYPE_NAMES[t]).join(" or ")}, found an array of ${VALUE_TYPE_NAMES[v.itemType]}`);
    }
    return v.value;
  }

  // ---------------------------------------------------------------- tensor data

  tensor(name: string): GGUFTensorInfo | undefined { return this.tensorsByName.get(name); }

  /** The bytes of a tensor: a zero-copy view for in-memory files, else one positional read. */
  tensorBytes(t: GGUFTensorInfo): Uint8Array {
    if (this.src.view) return this.src.view(t.fileOffset, t.nbytes);
    const out = new Uint8Array(t.nbytes);
    this.src.read(t.fileOffset, out);
    return out;
  }

  /** Read a tensor's bytes (or a byte range of it) straight into `dst`, e.g. a WebAssembly memory. */
  readTensorInto(t: GGUFTensorInfo, dst: Uint8Array, byteStart = 0): void {
    if (byteStart < 0 || byteStart + dst.length > t.nbytes) throw new RangeError(`range ${byteStart}+${dst.length} is outside tensor "${t.name}" (${t.nbytes} bytes)`);
    this.src.read(t.fileOffset + byteStart, dst);
  }

  close(): void { this.src.close(); }
}

const MAX_NESTING = 8;

/** A name read from a file, quoted (control characters escaped) and cut to 80 characters for messages. */
export function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function readValue(c: Cursor, type: number, field: string, typeAt: number, depth: number): GGUFMetaValue {
  switch (type) {
    case GGUFValueType.UINT8: return { type, value: c.u8(field) };
    case GGUFValueType.INT8: return { type, value: c.i8(field) };
    case GGUFValueType.UINT16: return { type, value: c.u16(field) };
    case GGUFValueType.INT16: return { type, value: c.i16(field) };
    case GGUFValueType.UINT32: return { type, value: c.u32(field) };
    case GGUFValueType.INT32: return { type, value: c.i32(field) };
    case GGUFValueType.FLOAT32: return { type, value: c.f32(field) };
    case GGUFValueType.FLOAT64: return { type, value: c.f64(field) };
    case GGUFValueType.UINT64: return { type, value: c.u64(field) };
    case GGUFValueType.INT64: return { type, value: c.i64(field) };
    case GGUFValueType.BOOL: {
      const at = c.pos;
      const b = c.u8(field);
      if (b > 1) c.fail(field, `bool must be 0 or 1, found ${b}`, at);
      return { type, value: b === 1 };
    }
    case GGUFValueType.STRING: return { type, value: c.string(field) };
    case GGUFValueType.ARRAY: return readArray(c, field, depth);
    default:
      return c.fail(`${field} type`, `unknown metadata value type ${type} (supported: 0-12: ${VALUE_TYPE_NAMES.join(", ")})`, typeAt);
  }
}

function readArray(c: Cursor, field: string, depth: number): GGUFArrayValue {
  if (depth >= MAX_NESTING) c.fail(field, `arrays nested deeper than ${MAX_NESTING} levels`);
  const itemAt = c.pos;
  const itemType = c.u32(`${field} array item type`);
  const scalar = SCALAR_SIZE[itemType as GGUFValueType];
  // Minimum bytes per element, so a corrupt count can never drive a large allocation.
  const minSize = scalar ?? (itemType === GGUFValueType.STRING ? 8 : itemType === GGUFValueType.ARRAY ? 12 : 0);
  if (minSize === 0) c.fail(`${field} array item type`, `unknown metadata value type ${itemType}`, itemAt);
  const n = c.size(`${field} array length`, Math.floor((c.remaining - 8) / minSize));
  const t = itemType as GGUFValueType;
  if (scalar !== undefined && t !== GGUFValueType.BOOL) {
    const raw = c.bytes(n * scalar, field);
    const copy = raw.slice(); // aligned, owned copy
    const b = copy.buffer;
    let value: GGUFArrayItems;
    switch (t) {
      case GGUFValueType.UINT8: value = copy; break;
      case GGUFValueType.INT8: value = new Int8Array(b); break;
      case GGUFValueType.UINT16: value = new Uint16Array(b); break;
      case GGUFValueType.INT16: value = new Int16Array(b); break;
      case GGUFValueType.UINT32: value = new Uint32Array(b); break;
      case GGUFValueType.INT32: value = new Int32Array(b); break;
      case GGUFValueType.FLOAT32: value = new Float32Array(b); break;
      case GGUFValueType.FLOAT64: value = new Float64Array(b); break;
      case GGUFValueType.UINT64: value = new BigUint64Array(b); break;
      default: value = new BigInt64Array(b); break;
    }
    return { type: GGUFValueType.ARRAY, itemType: t, value };
  }
  if (t === GGUFValueType.BOOL) {
    const out: boolean[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const at = c.pos;
      const b = c.u8(`${field}[${i}]`);
      if (b > 1) c.fail(`${field}[${i}]`, `bool must be 0 or 1, found ${b}`, at);
      out[i] = b === 1;
    }
    return { type: GGUFValueType.ARRAY, itemType: t, value: out };
  }
  if (t === GGUFValueType.STRING) {
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = c.string(`${field}[${i}]`);
    return { type: GGUFValueType.ARRAY, itemType: t, value: out };
  }
  // An array of arrays: each element is written as (item type, count, items), as gguf-py does.
  const out: GGUFArrayValue[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readArray(c, `${field}[${i}]`, depth + 1);
  return { type: GGUFValueType.ARRAY, itemType: t, value: out };
}
