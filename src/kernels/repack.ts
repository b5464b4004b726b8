/**
 * The one place where weights change layout after loading (everything else keeps GGUF's).
 *
 * Q8_0 and Q4_0 matrices whose row count is a multiple of 4 are interleaved in groups of four rows
 * ("x4" kinds, as llama.cpp's REPACK does for its CPU kernels). For group g (rows 4g..4g+3) and block
 * b, the group holds [d0 d1 d2 d3 (f16)][quants of row 0]..[quants of row 3]: 8 + 4 x 32 bytes for
 * Q8_0, 8 + 4 x 16 for Q4_0, which is exactly the bytes of the four GGUF blocks. So a group occupies
 * the same byte range in both layouts and the conversion runs in place. The kernels then read one
 * sequential stream for four rows and get the four scales with one load.
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
        bytes[o + 2 * r] = tmp[src];
        bytes[o + 2 * r + 1] = tmp[src + 1];
        bytes.set(tmp.subarray(src + 2, src + 2 + q), o + 8 + r * q);
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
    out.set(bytes.subarray(o + 8 + k * q, o + 8 + (k + 1) * q), b * blk + 2);
  }
  return out;
}
