import { test } from "node:test";
import assert from "node:assert/strict";
import {
  hfRowOfMetaRow, metaRowOfHFRow, permuteMetaToHF, readUnpermuted, unpermuteHFToMeta,
} from "../../src/format/hf-permute.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A matrix of `rows` rows of `rb` bytes where every byte of row r is r (so rows can be identified). */
function labelled(rows: number, rb: number): Uint8Array {
  const a = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) a.fill(r, r * rb, (r + 1) * rb);
  return a;
}
const rowLabels = (a: Uint8Array, rows: number) => range(rows).map((r) => a[r * (a.length / rows)]);

test("index map, hand-checked: HF row -> Meta row", () => {
  // One head of 4 rows: HF keeps the first halves of the pairs, then the second halves.
  assert.deepEqual(range(4).map((r) => metaRowOfHFRow(r, 4, 1)), [0, 2, 1, 3]);
  assert.deepEqual(range(8).map((r) => metaRowOfHFRow(r, 8, 1)), [0, 2, 4, 6, 1, 3, 5, 7]);
  // Two heads of 4: the map repeats per head, offset by the head.
  assert.deepEqual(range(8).map((r) => metaRowOfHFRow(r, 8, 2)), [0, 2, 1, 3, 4, 6, 5, 7]);
  // Three heads of 6 (d/2 = 3 is odd: nothing assumes powers of two).
  assert.deepEqual(range(18).map((r) => metaRowOfHFRow(r, 18, 3)), [0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11, 12, 14, 16, 13, 15, 17]);
});

test("index map, hand-checked: Meta row -> HF row", () => {
  assert.deepEqual(range(8).map((r) => hfRowOfMetaRow(r, 8, 1)), [0, 4, 1, 5, 2, 6, 3, 7]);
  assert.deepEqual(range(8).map((r) => hfRowOfMetaRow(r, 8, 2)), [0, 2, 1, 3, 4, 6, 5, 7]);
  // The two maps are inverse permutations.
  for (const [rows, heads] of [[8, 1], [16, 2], [18, 3], [256, 2]]) {
    for (let r = 0; r < rows; r++) {
      assert.equal(hfRowOfMetaRow(metaRowOfHFRow(r, rows, heads), rows, heads), r);
      assert.equal(metaRowOfHFRow(hfRowOfMetaRow(r, rows, heads), rows, heads), r);
    }
  }
});

test("permuteMetaToHF is HF's view(n_heads, d/2, 2, cols).transpose(1, 2)", () => {
  // Meta rows 0..7, one head: HF order is the even rows then the odd rows.
  assert.deepEqual(rowLabels(permuteMetaToHF(labelled(8, 3), 8, 1), 8), [0, 2, 4, 6, 1, 3, 5, 7]);
  // Two heads of 4 (e.g. K with n_kv_heads = 2).
  assert.deepEqual(rowLabels(permuteMetaToHF(labelled(8, 5), 8, 2), 8), [0, 2, 1, 3, 4, 6, 5, 7]);
});

test("unpermuteHFToMeta is llama.cpp's reshape(n_heads, 2, d/2, cols).swapaxes(1, 2)", () => {
  // HF rows 0..7, one head: Meta interleaves the two halves.
  assert.deepEqual(rowLabels(unpermuteHFToMeta(labelled(8, 3), 8, 1), 8), [0, 4, 1, 5, 2, 6, 3, 7]);
  assert.deepEqual(rowLabels(unpermuteHFToMeta(labelled(8, 2), 8, 2), 8), [0, 2, 1, 3, 4, 6, 5, 7]);
});

test("permute then unpermute (and the reverse) is the identity", () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
  for (const [rows, heads, rb] of [[8, 1, 4], [16, 2, 8], [18, 3, 2], [64, 8, 12], [256, 2, 4]]) {
    const a = Uint8Array.from({ length: rows * rb }, rnd);
    const hf = permuteMetaToHF(a, rows, heads);
    assert.notDeepEqual(hf, a, `rows ${rows} heads ${heads}: the permutation must move something`);
    assert.deepEqual(unpermuteHFToMeta(hf, rows, heads), a);
    assert.deepEqual(permuteMetaToHF(unpermuteHFToMeta(a, rows, heads), rows, heads), a);
  }
});

test("readUnpermuted (head by head, from positional reads) equals unpermuteHFToMeta", () => {
  const rows = 24, heads = 3, rb = 6;
  const hf = Uint8Array.from({ length: rows * rb }, (_, i) => (i * 7) & 0xff);
  const dst = new Uint8Array(hf.length);
  const reads: number[] = [];
  readUnpermuted((at, buf) => { reads.push(at); buf.set(hf.subarray(at, at + buf.length)); }, dst, rows, heads);
  assert.deepEqual(dst, unpermuteHFToMeta(hf, rows, heads));
  assert.deepEqual(reads, [0, 48, 96]); // one read per head of 8 rows x 6 bytes
});

test("shapes that cannot be split into heads of an even size are refused", () => {
  assert.throws(() => permuteMetaToHF(new Uint8Array(12), 6, 2), /cannot split 6 rows into 2 heads/);
  assert.throws(() => unpermuteHFToMeta(new Uint8Array(10), 5, 1), /cannot split 5 rows into 1 heads/);
  assert.throws(() => metaRowOfHFRow(0, 8, 3), RangeError);
});

test("RoPE: Meta pairs on Meta rows == HF rotate_half on HF rows, after un-permuting", () => {
  // The reason the permutation exists: q = W x rotated Meta-style (pairs 2i, 2i+1) equals
  // q' = W_hf x rotated HF-style (pairs i, i + d/2) with its rows un-permuted.
  const heads = 2, d = 8, cols = 5, rows = heads * d, pos = 7, theta = 1e6;
  const W = Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * 0.5);
  const x = Float64Array.from({ length: cols }, (_, i) => Math.cos(i * 0.9));
  const matvec = (m: Float64Array) => Float64Array.from({ length: rows }, (_, r) => x.reduce((s, v, c) => s + v * m[r * cols + c], 0));
  const angle = (i: number) => pos / Math.pow(theta, (2 * i) / d);
  const ropeMeta = (q: Float64Array) => {
    const o = q.slice();
    for (let h = 0; h < heads; h++) for (let i = 0; i < d / 2; i++) {
      const a = q[h * d + 2 * i], b = q[h * d + 2 * i + 1], c = Math.cos(angle(i)), s = Math.sin(angle(i));
      o[h * d + 2 * i] = a * c - b * s; o[h * d + 2 * i + 1] = a * s + b * c;
    }
    return o;
  };
  const ropeHF = (q: Float64Array) => {
    const o = q.slice();
    for (let h = 0; h < heads; h++) for (let i = 0; i < d / 2; i++) {
      const a = q[h * d + i], b = q[h * d + i + d / 2], c = Math.cos(angle(i)), s = Math.sin(angle(i));
      o[h * d + i] = a * c - b * s; o[h * d + i + d / 2] = b * c + a * s;
    }
    return o;
  };
  const asBytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const fromBytes = (b: Uint8Array) => new Float64Array(b.slice().buffer);
  const Whf = fromBytes(permuteMetaToHF(asBytes(W), rows, heads));
  const meta = ropeMeta(matvec(W));
  const hf = fromBytes(unpermuteHFToMeta(asBytes(ropeHF(matvec(Whf))), rows, heads));
  for (let r = 0; r < rows; r++) assert.ok(Math.abs(meta[r] - hf[r]) < 1e-12, `row ${r}: ${meta[r]} vs ${hf[r]}`);
});
