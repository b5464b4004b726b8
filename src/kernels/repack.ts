/**
 * The one place where weights change layout after loading (everything else keeps GGUF's).
 *
 * Q8_0 and Q4_0 matrices whose row count is a multiple of 4 are interleaved in groups of four rows
 * ("x4" kinds, as llama.cpp's REPACK does for its CPU kernels). For group g (rows 4g..4g+3) and block
 * b, the group holds the four f16 scales d0 d1 d2 d3, then the four rows' quants:
 *   Q8_0x4: [quants of row 0 (32 B)]..[quants of row 3]                       8 + 128 bytes
 *   Q4_0x4: 4 chunks of 16 bytes; chunk k = bytes 4k..4k+3 of rows 0, 1, 2, 3   8 + 64 bytes
 * (a Q4_0 byte j holds weight j in its low nibble and weight j + 16 in its high nibble, so Q4_0x4
 * chunk k's low nibbles are weights 4k..4k+3 and its high nibbles weights 16+4k..16+4k+3 of each row:
 * one 16-byte load gives every row's 32-bit lane, and a broadcast activation dots all four rows at
 * once with no horizontal sums). Either way a group is exactly the bytes of its four GGUF rows, so it
 * occupies the same byte range in both layouts and the conversion runs in place. The kernels read one
 * sequential stream for four rows and get the four scales with one load. The kernels decode the
 * scales without the inf/NaN case, so a scale that is inf or NaN is refused here.
 */
import { GGMLType } from "../format/ggml-types.js";

export const KIND_Q4_0X4 = 102;
export const KIND_Q8_0X4 = 108;

/** The kernel kind for a weight of `type` with `rows` rows: its x4 kind when it can be repacked. */
export function kernelKind(type: number, rows: number): number {
  if (rows % 4 !== 0) return type;
  if (type === GGMLType.Q4_0) return KIND_Q4_0X4;
  if (type === GGMLType.Q8_0) return KIND_Q8_0X4;
  return type;
}

/** The GGUF type behind a kernel kind. */
export function fileType(kind: number): number {
  return kind === KIND_Q4_0X4 ? GGMLType.Q4_0 : kind === KIND_Q8_0X4 ? GGMLType.Q8_0 : kind;
}

function geometry(kind: number, cols: number) {
  const q = kind === KIND_Q4_0X4 ? 16 : 32; // quant bytes per block
  const nb = cols / 32;
  return { q, nb, blk: 2 + q, rowBytes: nb * (2 + q) };
}

/** Where quant byte j of row r (0..3) of a block goes inside its x4 block (after the 8 scale bytes). */
function quantOffset(kind: number, r: number, j: number): number {
  return kind === KIND_Q4_0X4 ? (j >> 2) * 16 + r * 4 + (j & 3) : r * 32 + j;
}

/** A scale that is inf or NaN (the x4 kernels' fast f16 decoding leaves that case out). */
export class BadScaleError extends Error {
  constructor(readonly row: number, readonly block: number, readonly bits: number) {
    super(`row ${row}, block ${block} has an ${(bits & 0x3ff) === 0 ? "infinite" : "NaN"} scale (f16 0x${bits.toString(16)})`);
  }
}

/** GGUF rows -> x4 groups, in place, for `rows` rows of `cols` (rows a multiple of 4). */
export function repackX4(kind: number, bytes: Uint8Array, rows: number, cols: number): void {
  const { q, nb, blk, rowBytes } = geometry(kind, cols);
  const tmp = new Uint8Array(4 * rowBytes);
  for (let g = 0; g < rows / 4; g++) {
    const base = g * 4 * rowBytes;
    tmp.set(bytes.subarray(base, base + 4 * rowBytes));
    for (let b = 0; b < nb; b++) {
      const o = base + b * 4 * blk;
      for (let r = 0; r < 4; r++) {
        const src = r * rowBytes + b * blk;
        if ((tmp[src + 1] & 0x7c) === 0x7c) throw new BadScaleError(4 * g + r, b, tmp[src] | (tmp[src + 1] << 8));
        bytes[o + 2 * r] = tmp[src];
        bytes[o + 2 * r + 1] = tmp[src + 1];
        for (let j = 0; j < q; j++) bytes[o + 8 + quantOffset(kind, r, j)] = tmp[src + 2 + j];
      }
    }
  }
}

/** Row `r` of an x4 matrix starting at `bytes`, back in GGUF block layout. */
export function unpackX4Row(kind: number, bytes: Uint8Array, r: number, cols: number): Uint8Array {
  const { q, nb, blk, rowBytes } = geometry(kind, cols);
  const out = new Uint8Array(rowBytes);
  const base = (r >> 2) * 4 * rowBytes, k = r & 3;
  for (let b = 0; b < nb; b++) {
    const o = base + b * 4 * blk;
    out[b * blk] = bytes[o + 2 * k];
    out[b * blk + 1] = bytes[o + 2 * k + 1];
    for (let j = 0; j < q; j++) out[b * blk + 2 + j] = bytes[o + 8 + quantOffset(kind, k, j)];
  }
  return out;
}
