/**
 * Where the format readers get their bytes: positional reads from a file (a multi-GB model is never
 * read into one JS buffer) or slices of an in-memory buffer (zero-copy views), and whole small
 * files (JSON, tokenizers) read with a size limit checked before anything is allocated.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError, UserError } from "../util/errors.js";

export interface ByteSource {
  readonly size: number;
  /** Fill `dst` from byte `pos`. */
  read(pos: number, dst: Uint8Array): void;
  /** A zero-copy view, when the bytes are in memory. */
  view?(pos: number, len: number): Uint8Array;
  close(): void;
}

function open(path: string): number {
  try {
    return openSync(path, "r");
  } catch (e) {
    throw new UserError(`${path}: cannot open: ${(e as Error).message}`);
  }
}

/** Fill `dst` from `fd` at `pos`; returns the bytes read (fewer only at the end of the file). */
function readFully(fd: number, dst: Uint8Array, pos: number): number {
  let done = 0;
  while (done < dst.length) {
    const n = readSync(fd, dst, done, dst.length - done, pos + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

export function fileSource(path: string): ByteSource {
  const fd = open(path);
  const size = fstatSync(fd).size;
  return {
    size,
    read(pos, dst) {
      const n = readFully(fd, dst, pos);
      if (n < dst.length) throw new FormatError(path, pos + n, "data", `the file ended early (size now ${fstatSync(fd).size}, was ${size}); was it changed while open?`);
    },
    close() { closeSync(fd); },
  };
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(pos, dst) { dst.set(bytes.subarray(pos, pos + dst.length)); },
    view(pos, len) { return bytes.subarray(pos, pos + len); },
    close() { /* nothing to release */ },
  };
}

/** A whole small file; one larger than `maxBytes` is refused before it is read. `what` names it in the error. */
export function readSmallFile(path: string, maxBytes: number, what: string): Uint8Array {
  const fd = open(path);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new FormatError(path, 0, "file size", `${size} bytes is too large for ${what} (at most ${maxBytes})`);
    const buf = new Uint8Array(size);
    return buf.subarray(0, readFully(fd, buf, 0));
  } finally {
    closeSync(fd);
  }
}
