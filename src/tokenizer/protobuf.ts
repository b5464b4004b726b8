/**
 * A minimal protocol-buffers wire-format reader, enough for SentencePiece's `ModelProto`.
 *
 * `readFields` walks one message and returns its fields in order, each with its absolute
 * byte offset. Every length and every varint is checked against the message bounds before
 * use, so a truncated or corrupt file gives a `FormatError` naming the byte offset and the
 * field path, never an out-of-range read.
 */
import { FormatError } from "../util/errors.js";

export enum WireType { VARINT = 0, I64 = 1, LEN = 2, SGROUP = 3, EGROUP = 4, I32 = 5 }

export interface Field {
  /** Field number. */
  no: number;
  wire: WireType;
  /** Absolute offset of the field's tag. */
  at: number;
  /** VARINT: the low 32 bits (unsigned) and the high 32 bits. */
  lo: number;
  hi: number;
  /** LEN: absolute start and end of the payload; I32/I64: start of the value. */
  start: number;
  end: number;
}

/** Strict UTF-8 that keeps a leading U+FEFF (Llama has a piece that is exactly U+FEFF). */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class ProtoReader {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly file: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(at: number, field: string, problem: string): never {
    throw new FormatError(this.file, at, field, problem);
  }

  /** Read a varint at `pos` (bounded by `end`): returns [lo, hi, next position]. */
  private varint(pos: number, end: number, field: string): [number, number, number] {
    let lo = 0, hi = 0;
    const start = pos;
    for (let k = 0; k < 10; k++) {
      if (pos >= end) this.fail(start, field, "varint runs past the end of its message (truncated file?)");
      const b = this.bytes[pos++];
      if (k < 4) lo |= (b & 0x7f) << (7 * k);
      else if (k === 4) { lo |= (b & 0x0f) << 28; hi |= (b & 0x7f) >> 4; }
      else hi |= (b & 0x7f) << (7 * k - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0, pos];
    }
    return this.fail(start, field, "varint is longer than 10 bytes");
  }

  /** All fields of the message occupying [start, end). `path` names it in errors. */
  readFields(start: number, end: number, path: string): Field[] {
    const out: Field[] = [];
    let pos = start;
    while (pos < end) {
      const at = pos;
      const [tagLo, tagHi, p1] = this.varint(pos, end, `${path} field tag`);
      if (tagHi !== 0) this.fail(at, `${path} field tag`, "field number out of range");
      const no = tagLo >>> 3;
      const wire = (tagLo & 7) as WireType;
      if (no === 0) this.fail(at, `${path} field tag`, "field number 0 is invalid");
      const f: Field = { no, wire, at, lo: 0, hi: 0, start: p1, end: p1 };
      const name = `${path}.field ${no}`;
      switch (wire) {
        case WireType.VARINT: {
          const [lo, hi, p2] = this.varint(p1, end, name);
          f.lo = lo; f.hi = hi; f.end = p2;
          break;
        }
        case WireType.I64:
          if (end - p1 < 8) this.fail(at, name, `needs 8 bytes, only ${end - p1} left in the message`);
          f.end = p1 + 8;
          break;
        case WireType.I32:
          if (end - p1 < 4) this.fail(at, name, `needs 4 bytes, only ${end - p1} left in the message`);
          f.end = p1 + 4;
          break;
        case WireType.LEN: {
          const [lo, hi, p2] = this.varint(p1, end, `${name} length`);
          // Check the length against what is left before trusting it.
          if (hi !== 0 || lo > end - p2) this.fail(at, `${name} length`, `length ${hi ? "≥ 2^32" : lo} exceeds the ${end - p2} bytes left in the message (truncated or corrupt file)`);
          f.start = p2;
          f.end = p2 + lo;
          break;
        }
        default:
          this.fail(at, name, `unsupported wire type ${wire} (groups are not used by SentencePiece models)`);
      }
      out.push(f);
      pos = f.end;
    }
    return out;
  }

  /** A LEN field as UTF-8 text (invalid UTF-8 is an error). */
  string(f: Field, field: string): string {
    this.expectWire(f, WireType.LEN, field);
    try {
      return UTF8.decode(this.bytes.subarray(f.start, f.end));
    } catch {
      return this.fail(f.at, field, "is not valid UTF-8");
    }
  }

  /** A float field (I32). */
  float(f: Field, field: string): number {
    this.expectWire(f, WireType.I32, field);
    return this.dv.getFloat32(f.start, true);
  }

  /** An int32/enum field (VARINT; negative values are 10-byte varints, keep the low 32 bits). */
  int32(f: Field, field: string): number {
    this.expectWire(f, WireType.VARINT, field);
    return f.lo | 0;
  }

  bool(f: Field, field: string): boolean {
    this.expectWire(f, WireType.VARINT, field);
    return f.lo !== 0 || f.hi !== 0;
  }

  expectWire(f: Field, wire: WireType, field: string): void {
    if (f.wire !== wire) this.fail(f.at, field, `has wire type ${f.wire}, expected ${wire}`);
  }

  /** An embedded message or bytes field must be length-delimited. */
  expectLen(f: Field, field: string): void {
    this.expectWire(f, WireType.LEN, field);
  }
}
