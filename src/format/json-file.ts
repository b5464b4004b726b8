/**
 * Small JSON files that describe a model: HF `config.json`, Meta `params.json`,
 * `model.safetensors.index.json`, `tokenizer.json`, and the JSON header of a safetensors file.
 *
 * Everything the user can get wrong becomes a FormatError that names the file, a byte offset
 * (the offset of the offending key in the file when it can be found, else the start of the JSON)
 * and the field. `JSONFields` reads typed, range-checked fields out of one JSON object.
 */
import { FormatError } from "../util/errors.js";
import { readSmallFile } from "./byte-source.js";

/** JSON describing a model is small; anything bigger than this is not one of ours. */
export const MAX_JSON_FILE_BYTES = 256 * 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface JSONText {
  /** File name used in messages. */
  file: string;
  /** The raw bytes of the JSON text (for locating keys). */
  bytes: Uint8Array;
  /** Absolute file offset of `bytes[0]` (8 for a safetensors header, 0 for a .json file). */
  base: number;
  /** The parsed value. */
  value: unknown;
}

/** Read and parse a JSON file, refusing files larger than `maxBytes` before reading them. */
export function readJSONFile(path: string, maxBytes = MAX_JSON_FILE_BYTES): JSONText {
  return parseJSONBytes(readSmallFile(path, maxBytes, "a JSON model description"), path, 0);
}

/** Parse JSON bytes that start at file offset `base`; syntax errors become FormatErrors. */
export function parseJSONBytes(bytes: Uint8Array, file: string, base: number, field = "JSON"): JSONText {
  // 1. Strict UTF-8 (JSON text must be UTF-8; a corrupted byte should not turn into U+FFFD silently).
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new FormatError(file, base + firstBadUTF8(bytes), field, "is not valid UTF-8");
  }
  // 2. Parse; V8 reports a character position for some syntax errors, which we turn into a byte offset.
  try {
    return { file, bytes, base, value: JSON.parse(text) };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const at = m ? base + Buffer.byteLength(text.slice(0, Number(m[1]))) : base;
    // V8 quotes the whole input in some messages; keep only the first clause.
    const problem = msg.split(/, "|\s+in JSON at position/)[0].replace(/[\u0000-\u001f\u007f]/g, (ch) => JSON.stringify(ch).slice(1, -1));
    throw new FormatError(file, at, field, `is not valid JSON (${problem})`);
  }
}

function firstBadUTF8(bytes: Uint8Array): number {
  // Binary search the longest valid prefix; cheap enough for the rare error path.
  let lo = 0, hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try { new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true }); lo = mid; } catch { hi = mid - 1; }
  }
  return lo;
}

/** The absolute file offset of `"key"` in the JSON text (first occurrence), else of the text start. */
export function keyOffset(j: JSONText, key: string): number {
  const needle = Buffer.from(JSON.stringify(key));
  const i = Buffer.from(j.bytes.buffer, j.bytes.byteOffset, j.bytes.length).indexOf(needle);
  return j.base + (i < 0 ? 0 : i);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface IntOptions { min?: number; max?: number }

/**
 * Typed access to the fields of one JSON object. `prefix` is prepended to field names in
 * messages (e.g. `rope_scaling.`).
 */
export class JSONFields {
  constructor(readonly j: JSONText, readonly obj: Record<string, unknown>, readonly prefix = "") {}

  /** Throw a FormatError located at `key`. */
  fail(key: string, problem: string): never {
    throw new FormatError(this.j.file, keyOffset(this.j, key), this.prefix + key, problem);
  }

  has(key: string): boolean { return this.obj[key] !== undefined && this.obj[key] !== null; }

  /** An integer in [min, max]; `def` when absent (or an error when `def` is undefined). */
  int(key: string, def?: number, o: IntOptions = {}): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.fail(key, "is missing");
      return def;
    }
    const min = o.min ?? 1, max = o.max ?? 2 ** 31 - 1;
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(key, `expected an integer, found ${JSON.stringify(v)}`);
    if (v < min || v > max) this.fail(key, `${v} is out of range (supported: ${min} to ${max})`);
    return v;
  }

  /** A finite number > 0; `def` when absent (or an error when `def` is undefined). */
  positive(key: string, def?: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.fail(key, "is missing");
      return def;
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(key, `expected a positive number, found ${JSON.stringify(v)}`);
    return v;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(key, `expected a string, found ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== "boolean") this.fail(key, `expected true or false, found ${JSON.stringify(v)}`);
    return v;
  }

  /** A nested object (or undefined when absent/null). */
  object(key: string): JSONFields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.fail(key, `expected an object, found ${JSON.stringify(v)}`);
    return new JSONFields(this.j, v, `${this.prefix}${key}.`);
  }
}

/** The top-level object of a JSON text, or a FormatError. */
export function topObject(j: JSONText, what: string): JSONFields {
  if (!isObject(j.value)) throw new FormatError(j.file, j.base, what, "must be a JSON object");
  return new JSONFields(j, j.value);
}
