/**
 * THE one place where Q/K rows move between the Hugging Face layout and the Meta/GGUF layout.
 *
 * Meta's model applies RoPE to adjacent pairs (x[2i], x[2i+1]) of each head; GGUF keeps that
 * layout. HF's Llama applies RoPE "rotate_half" style to (x[i], x[i + d/2]), so HF's conversion
 * script permutes the rows of wq and wk, per head of d = head_dim rows:
 *
 *   HF  = W.view(n_heads, d/2, 2, cols).transpose(1, 2).reshape(rows, cols)     (Meta → HF)
 *   GGUF = W.reshape(n_heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols)  (HF → Meta, llama.cpp)
 *
 * Index map, head h, i in [0, d/2), j in {0, 1}:
 *
 *   HF row  h*d + j*(d/2) + i   holds   Meta row  h*d + 2*i + j
 *
 * e.g. d = 4: HF rows [0 1 2 3] hold Meta rows [0 2 1 3]; d = 8: [0 2 4 6 1 3 5 7].
 * wq uses n_heads; wk uses n_kv_heads (llama.cpp's `permute(w, n_head, n_head_kv)` does the same).
 * The functions move whole rows of bytes, so they work for any element type.
 */

function headRows(rows: number, nHeads: number): number {
  if (!Number.isInteger(nHeads) || nHeads < 1 || rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0) {
    throw new RangeError(`cannot split ${rows} rows into ${nHeads} heads of an even number of rows`);
  }
  return rows / nHeads;
}

/** The Meta/GGUF row held by HF row `r` of a [rows, cols] Q or K matrix. */
export function metaRowOfHFRow(r: number, rows: number, nHeads: number): number {
  const d = headRows(rows, nHeads), half = d / 2;
  const h = Math.floor(r / d), k = r % d;
  const j = Math.floor(k / half), i = k % half;
  return h * d + 2 * i + j;
}

/** The HF row that holds Meta/GGUF row `r`. */
export function hfRowOfMetaRow(r: number, rows: number, nHeads: number): number {
  const d = headRows(rows, nHeads), half = d / 2;
  const h = Math.floor(r / d), k = r % d;
  const i = k >> 1, j = k & 1;
  return h * d + j * half + i;
}

/** Move rows: out row `map(r)` = src row `r`. */
function moveRows(src: Uint8Array, rows: number, map: (r: number) => number, out: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  if (src.length % rows !== 0 || out.length !== src.length) throw new RangeError(`${src.length} bytes do not hold ${rows} equal rows`);
  const rb = src.length / rows;
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * rb, (r + 1) * rb), map(r) * rb);
  return out;
}

/** Meta/GGUF → HF (what HF's convert_llama_weights_to_hf does). `src` holds `rows` rows. */
export function permuteMetaToHF(src: Uint8Array, rows: number, nHeads: number): Uint8Array {
  headRows(rows, nHeads);
  return moveRows(src, rows, (r) => hfRowOfMetaRow(r, rows, nHeads));
}

/** HF → Meta/GGUF (what llama.cpp's convert_hf_to_gguf does). `src` holds `rows` rows. */
export function unpermuteHFToMeta(src: Uint8Array, rows: number, nHeads: number, out?: Uint8Array): Uint8Array {
  headRows(rows, nHeads);
  return moveRows(src, rows, (r) => metaRowOfHFRow(r, rows, nHeads), out);
}

/**
 * Read an HF-layout Q/K matrix into `dst` in Meta/GGUF layout, one head at a time, so a large
 * matrix never needs a second full-size buffer. `read(byteStart, buf)` reads HF bytes.
 */
export function readUnpermuted(read: (byteStart: number, buf: Uint8Array) => void, dst: Uint8Array, rows: number, nHeads: number): void {
  const d = headRows(rows, nHeads);
  if (dst.length % rows !== 0) throw new RangeError(`${dst.length} bytes do not hold ${rows} equal rows`);
  const headBytes = d * (dst.length / rows);
  const tmp = new Uint8Array(headBytes);
  for (let h = 0; h < nHeads; h++) {
    read(h * headBytes, tmp);
    // Within a head the permutation is the same for every head: a 1-head map on d rows.
    unpermuteHFToMeta(tmp, d, 1, dst.subarray(h * headBytes, (h + 1) * headBytes));
  }
}
