/**
 * safetensors reader (Hugging Face checkpoints).
 *
 * Layout: u64 little-endian N, then N bytes of UTF-8 JSON (possibly padded with spaces), then the
 * data buffer. The JSON maps each tensor name to {dtype, shape (outermost first), data_offsets:
 * [begin, end] relative to the data buffer}; the optional `__metadata__` maps strings to strings.
 * Sharded checkpoints add `model.safetensors.index.json`: {"weight_map": {tensor: shard file}}.
 *
 * The file is read through positional reads: only the header is held in memory, and tensor bytes
 * are read straight into the caller's buffer. Everything is checked against the file size before
 * any allocation: the header length, every shape and offset pair (begin <= end, end - begin equal
 * to elements x dtype size, inside the data buffer) and that no two tensors overlap. Gaps between
 * tensors are tolerated (the reference writer never leaves any, but they are harmless).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FormatError, UserError } from "../util/errors.js";
import { bufferSource, fileSource, type ByteSource } from "./byte-source.js";
import { GGMLType } from "./ggml-types.js";
import { isObject, keyOffset, parseJSONBytes, readJSONFile, type JSONText } from "./json-file.js";

/** The dtypes codellama-ts reads, with their element size and the ggml type with the same bytes. */
export const SAFETENSORS_DTYPES = {
  F32: { size: 4, ggml: GGMLType.F32 },
  F16: { size: 2, ggml: GGMLType.F16 },
  BF16: { size: 2, ggml: GGMLType.BF16 },
} as const;
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/** dtypes of the format we recognise but do not read (named in the error message). */
const OTHER_DTYPES = new Set(["BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"]);

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIM = 2 ** 40;

/** A name from the file, quoted for a one-line message (control characters escaped). */
const q = (s: string) => JSON.stringify(s);
const MAX_ELEMENTS = 2 ** 48;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDType;
  /** Outermost first, as in PyTorch: a matrix of `rows` rows of `cols` is [rows, cols]. */
  shape: number[];
  nelements: number;
  nbytes: number;
  /** Absolute byte offset of the tensor data in the file. */
  fileOffset: number;
}

export class SafetensorsFile {
  readonly tensorsByName: ReadonlyMap<string, SafetensorsTensorInfo>;

  private constructor(
    /** File name used in messages. */
    readonly name: string,
    /** The JSON header's length N (the data buffer starts at 8 + N). */
    readonly headerLength: number,
    readonly fileSize: number,
    /** `__metadata__`, string to string. */
    readonly metadata: Readonly<Record<string, string>>,
    /** In header order. */
    readonly tensors: SafetensorsTensorInfo[],
    private readonly src: ByteSource,
  ) {
    this.tensorsByName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Open a safetensors file; only the header is read. Call `close()` when done. */
  static open(path: string, opts: { name?: string } = {}): SafetensorsFile {
    const src = fileSource(path);
    try {
      return SafetensorsFile.parseSource(src, opts.name ?? path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Parse a safetensors file held in memory. */
  static parse(bytes: Uint8Array, opts: { name?: string } = {}): SafetensorsFile {
    return SafetensorsFile.parseSource(bufferSource(bytes), opts.name ?? "<buffer>");
  }

  private static parseSource(src: ByteSource, file: string): SafetensorsFile {
    // 1. The header length, checked against the file size before the header is read.
    if (src.size < 8) throw new FormatError(file, 0, "header length", `the file has ${src.size} bytes; a safetensors file starts with an 8-byte header length`);
    const lenBytes = new Uint8Array(8);
    src.read(0, lenBytes);
    const n64 = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (n64 < 2n) throw new FormatError(file, 0, "header length", `${n64} is too small for a JSON header`);
    if (n64 > BigInt(src.size - 8)) throw new FormatError(file, 0, "header length", `${n64} bytes of JSON header do not fit in the file (size ${src.size}); the file is truncated or not safetensors`);
    if (n64 > BigInt(MAX_HEADER_BYTES)) throw new FormatError(file, 0, "header length", `${n64} bytes is larger than the format allows (at most ${MAX_HEADER_BYTES})`);
    const n = Number(n64);

    // 2. The JSON header.
    const hdr = new Uint8Array(n);
    src.read(8, hdr);
    if (hdr[0] !== 0x7b) throw new FormatError(file, 8, "header", `must start with "{" but starts with byte 0x${hdr[0].toString(16).padStart(2, "0")}; this is not a safetensors file`);
    const j = parseJSONBytes(hdr, file, 8, "header");
    if (!isObject(j.value)) throw new FormatError(file, 8, "header", "must be a JSON object");

    // 3. Every entry: `__metadata__` or a tensor.
    const dataStart = 8 + n;
    const dataSize = src.size - dataStart;
    let metadata: Record<string, string> = {};
    const tensors: SafetensorsTensorInfo[] = [];
    for (const [name, entry] of Object.entries(j.value)) {
      if (name === "__metadata__") { metadata = readMetadata(j, entry); continue; }
      const t = readTensorEntry(j, name, entry, dataSize);
      t.fileOffset += dataStart;
      tensors.push(t);
    }

    // 4. No two tensors may share bytes (sorted by start; empty tensors take no bytes).
    const sorted = tensors.filter((t) => t.nbytes > 0).sort((a, b) => a.fileOffset - b.fileOffset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1], t = sorted[i];
      if (t.fileOffset < prev.fileOffset + prev.nbytes) {
        throw new FormatError(file, keyOffset(j, t.name), `tensor ${q(t.name)} data_offsets`, `bytes ${t.fileOffset - dataStart}..${t.fileOffset - dataStart + t.nbytes} overlap tensor ${q(prev.name)} (${prev.fileOffset - dataStart}..${prev.fileOffset - dataStart + prev.nbytes})`);
      }
    }
    return new SafetensorsFile(file, n, src.size, metadata, tensors, src);
  }

  tensor(name: string): SafetensorsTensorInfo | undefined { return this.tensorsByName.get(name); }

  /** Read a tensor's bytes (or a byte range of it) straight into `dst`. */
  readTensorInto(t: SafetensorsTensorInfo, dst: Uint8Array, byteStart = 0): void {
    if (byteStart < 0 || byteStart + dst.length > t.nbytes) throw new RangeError(`range ${byteStart}+${dst.length} is outside tensor "${t.name}" (${t.nbytes} bytes)`);
    this.src.read(t.fileOffset + byteStart, dst);
  }

  /** A tensor's bytes in a new buffer. */
  tensorBytes(t: SafetensorsTensorInfo): Uint8Array {
    const out = new Uint8Array(t.nbytes);
    this.readTensorInto(t, out);
    return out;
  }

  close(): void { this.src.close(); }
}

function readMetadata(j: JSONText, v: unknown): Record<string, string> {
  const at = keyOffset(j, "__metadata__");
  if (!isObject(v)) throw new FormatError(j.file, at, "__metadata__", "must be an object of strings");
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== "string") throw new FormatError(j.file, at, `__metadata__[${q(k)}]`, `must be a string, found ${JSON.stringify(s)}`);
  }
  return v as Record<string, string>;
}

/** Validate one tensor entry; `fileOffset` is returned relative to the data buffer. */
function readTensorEntry(j: JSONText, name: string, e: unknown, dataSize: number): SafetensorsTensorInfo {
  const at = keyOffset(j, name);
  const f = `tensor ${q(name)}`;
  const fail = (field: string, problem: string): never => { throw new FormatError(j.file, at, `${f} ${field}`.trimEnd(), problem); };
  if (!isObject(e)) fail("", "must be an object with dtype, shape and data_offsets");
  const entry = e as Record<string, unknown>;

  // dtype: one we read, else a message that says which ones we do.
  const dtype = entry.dtype;
  if (typeof dtype !== "string") fail("dtype", `must be a string, found ${JSON.stringify(dtype)}`);
  if (!Object.hasOwn(SAFETENSORS_DTYPES, dtype as string)) {
    const what = OTHER_DTYPES.has(dtype as string) ? `dtype ${dtype} is not supported` : `unknown dtype ${JSON.stringify(dtype)}`;
    fail("dtype", `${what} (supported: F32, F16, BF16; quantised checkpoints must be dequantised first)`);
  }
  const dt = dtype as SafetensorsDType;

  // shape: non-negative integers; [] is a scalar.
  const shape = entry.shape;
  if (!Array.isArray(shape)) fail("shape", `must be an array of integers, found ${JSON.stringify(shape)}`);
  let nelements = 1;
  for (const [i, d] of (shape as unknown[]).entries()) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > MAX_DIM) fail(`shape[${i}]`, `must be an integer from 0 to ${MAX_DIM}, found ${JSON.stringify(d)}`);
    nelements *= d as number;
  }
  if (nelements > MAX_ELEMENTS) fail("shape", `[${(shape as number[]).join(", ")}] is too many elements`);
  const nbytes = nelements * SAFETENSORS_DTYPES[dt].size;

  // data_offsets: [begin, end] inside the data buffer, exactly the tensor's size.
  const off = entry.data_offsets;
  if (!Array.isArray(off) || off.length !== 2) fail("data_offsets", `must be [begin, end], found ${JSON.stringify(off)}`);
  const [begin, end] = off as unknown[];
  for (const [k, v] of [["begin", begin], ["end", end]] as const) {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail(`data_offsets ${k}`, `must be a non-negative integer, found ${JSON.stringify(v)}`);
  }
  const b = begin as number, en = end as number;
  if (en < b) fail("data_offsets", `end ${en} is before begin ${b}`);
  if (en > dataSize) fail("data_offsets", `end ${en} is past the end of the data buffer (${dataSize} bytes); the file is truncated`);
  if (en - b !== nbytes) fail("data_offsets", `span ${b}..${en} is ${en - b} bytes but ${dt} [${(shape as number[]).join(", ")}] needs ${nbytes}`);
  return { name, dtype: dt, shape: (shape as number[]).slice(), nelements, nbytes, fileOffset: b };
}

// ------------------------------------------------------------------ checkpoints (one or many files)

export interface CheckpointTensor {
  file: SafetensorsFile;
  info: SafetensorsTensorInfo;
}

/**
 * All the tensors of a HF checkpoint: a sharded one through `model.safetensors.index.json`
 * (its weight_map decides which shard holds each tensor), `model.safetensors`, or every
 * `*.safetensors` file of the folder (a name in two files is an error).
 */
export class SafetensorsCheckpoint {
  private constructor(
    readonly files: SafetensorsFile[],
    readonly tensors: ReadonlyMap<string, CheckpointTensor>,
  ) {}

  /** Total size of the weight files in bytes. */
  get totalBytes(): number { return this.files.reduce((a, f) => a + f.fileSize, 0); }

  /** `path` is a folder, a `.safetensors` file or a `*.index.json` file. */
  static open(path: string): SafetensorsCheckpoint {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      throw new UserError(`${path}: cannot open: ${(e as Error).message}`);
    }
    const dir = isDir ? path : dirname(path);
    const index = isDir ? join(dir, "model.safetensors.index.json") : path.endsWith(".json") ? path : undefined;
    if (index && existsSync(index)) return SafetensorsCheckpoint.openIndex(index);
    let names: string[];
    if (!isDir) names = [basename(path)];
    else if (existsSync(join(dir, "model.safetensors"))) names = ["model.safetensors"];
    else names = readdirSync(dir).filter((n) => n.endsWith(".safetensors")).sort();
    if (names.length === 0) throw new UserError(`${dir}: no *.safetensors files (and no model.safetensors.index.json)`);

    const files: SafetensorsFile[] = [];
    const tensors = new Map<string, CheckpointTensor>();
    try {
      for (const n of names) {
        const file = SafetensorsFile.open(join(dir, n));
        files.push(file);
        for (const info of file.tensors) {
          const prev = tensors.get(info.name);
          if (prev) throw new FormatError(file.name, 8, `tensor ${q(info.name)}`, `is also in ${prev.file.name}; add a model.safetensors.index.json to say which one to use`);
          tensors.set(info.name, { file, info });
        }
      }
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    return new SafetensorsCheckpoint(files, tensors);
  }

  private static openIndex(indexPath: string): SafetensorsCheckpoint {
    const dir = dirname(indexPath);
    const j = readJSONFile(indexPath);
    if (!isObject(j.value)) throw new FormatError(indexPath, 0, "index", "must be a JSON object");
    const map = j.value.weight_map;
    if (!isObject(map)) throw new FormatError(indexPath, keyOffset(j, "weight_map"), "weight_map", "must be an object {tensor name: shard file}");

    const byShard = new Map<string, SafetensorsFile>();
    const tensors = new Map<string, CheckpointTensor>();
    try {
      for (const [name, shard] of Object.entries(map)) {
        const at = keyOffset(j, name);
        const field = `weight_map[${q(name)}]`;
        // Shard names are plain file names in the same folder.
        if (typeof shard !== "string" || shard === "" || /[\\/]/.test(shard) || shard === "." || shard === "..") {
          throw new FormatError(indexPath, at, field, `must be a file name in the same folder, found ${JSON.stringify(shard)}`);
        }
        let file = byShard.get(shard);
        if (!file) {
          if (!existsSync(join(dir, shard))) throw new FormatError(indexPath, at, field, `shard ${shard} does not exist in ${dir}`);
          file = SafetensorsFile.open(join(dir, shard));
          byShard.set(shard, file);
        }
        const info = file.tensor(name);
        if (!info) throw new FormatError(indexPath, at, field, `tensor is not in ${shard}`);
        tensors.set(name, { file, info });
      }
    } catch (e) {
      for (const f of byShard.values()) f.close();
      throw e;
    }
    if (tensors.size === 0) throw new FormatError(indexPath, keyOffset(j, "weight_map"), "weight_map", "lists no tensors");
    return new SafetensorsCheckpoint([...byShard.values()], tensors);
  }

  close(): void { for (const f of this.files) f.close(); }
}
