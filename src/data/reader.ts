/**
 * `PackedDataset`: reads one split of a packed token dataset (format.ts) by positional reads.
 * The token and mask files are never loaded whole; the segment index (a few bytes per sequence
 * and per document) is read once at open.
 *
 *   const ds = PackedDataset.open("DATASET", "train");
 *   for (let s = 0; s < ds.numSequences; s++) {
 *     const tokens = ds.tokens(s);        // Int32Array(ctx)
 *     const mask = ds.mask(s);            // Uint8Array(ctx): 1 = target
 *     const seg = ds.segmentIds(s);       // Int32Array(ctx): segment number, -1 = padding
 *   }
 *   ds.close();
 *
 * Pass `out` buffers to reuse memory across calls. `document(d)` reassembles one whole document
 * (its chunks in order), e.g. to decode it back.
 *
 * For a trainer: the input at position i predicts token i+1, and that prediction counts when
 * mask[i+1] = 1. To respect document boundaries, allow attention only within a segment
 * (segmentIds equal; -1 is padding) and skip targets that start a segment (segmentIds[i+1] !=
 * segmentIds[i]); positions(s) gives positions restarting at each segment, if wanted.
 * manifest.tokenizer names the vocabulary (size, sha256 of its pieces, BOS/EOS/FIM ids).
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { FormatError, UserError } from "../util/errors.js";
import {
  DOC_FIM, DOC_INSTRUCT, DOC_SPM, DOC_WORDS, FORMAT_NAME, IDX_HEADER_BYTES, IDX_MAGIC, IDX_VERSION, SEG_WORDS, splitFiles,
  type DatasetManifest, type Segment, type SplitName,
} from "./format.js";

export interface DocumentInfo {
  /** Length in tokens (with BOS/EOS). */
  tokens: number;
  fim: boolean;
  spm: boolean;
  instruct: boolean;
}

/** Read the manifest of a dataset folder (UserError when it is not one). */
export function readManifest(dir: string): DatasetManifest {
  const path = join(dir, "manifest.json");
  if (!existsSync(path)) throw new UserError(`${dir}: not a dataset (no manifest.json); build one with codellama data build`);
  let m: DatasetManifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8")) as DatasetManifest;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== FORMAT_NAME) throw new UserError(`${path}: "format" is ${JSON.stringify(m.format)}, expected "${FORMAT_NAME}"`);
  return m;
}

export class PackedDataset {
  readonly manifest: DatasetManifest;
  readonly ctx: number;
  readonly tokenBytes: 2 | 4;
  readonly padId: number;
  readonly numSequences: number;
  readonly numSegments: number;
  readonly numDocuments: number;
  private readonly segStart: Uint32Array;
  private readonly segs: Uint32Array;
  private readonly docs: Uint32Array;
  private binFd: number;
  private maskFd: number;
  private readonly raw: Uint8Array;
  private docParts: Int32Array[] | undefined;

  private constructor(readonly dir: string, readonly split: SplitName) {
    this.manifest = readManifest(dir);
    const f = splitFiles(split);
    // 1. The index: header, then segStart, segments and documents.
    const idxPath = join(dir, f.idx);
    if (!existsSync(idxPath)) throw new UserError(`${dir}: the dataset has no ${f.idx}`);
    const idx = readFileSync(idxPath);
    if (idx.length < IDX_HEADER_BYTES) throw new FormatError(idxPath, 0, "header", `the file is ${idx.length} bytes, shorter than the ${IDX_HEADER_BYTES}-byte header`);
    const h = (i: number) => idx.readUInt32LE(i * 4);
    if (h(0) !== IDX_MAGIC) throw new FormatError(idxPath, 0, "magic", `expected "CLDI"`);
    if (h(1) !== IDX_VERSION) throw new FormatError(idxPath, 4, "version", `${h(1)} is not supported (this reader knows version ${IDX_VERSION})`);
    this.ctx = h(2);
    const tb = h(3);
    if (tb !== 2 && tb !== 4) throw new FormatError(idxPath, 12, "tokenBytes", `must be 2 or 4, got ${tb}`);
    this.tokenBytes = tb;
    this.numSequences = h(4);
    this.numSegments = h(5);
    this.numDocuments = h(6);
    this.padId = h(7);
    const words = (IDX_HEADER_BYTES / 4) + this.numSequences + 1 + this.numSegments * SEG_WORDS + this.numDocuments * DOC_WORDS;
    if (idx.length !== words * 4) throw new FormatError(idxPath, 0, "size", `expected ${words * 4} bytes for ${this.numSequences} sequences, ${this.numSegments} segments and ${this.numDocuments} documents, got ${idx.length}`);
    const all = new Uint32Array(words);
    for (let i = 0; i < words; i++) all[i] = idx.readUInt32LE(i * 4);
    let o = IDX_HEADER_BYTES / 4;
    this.segStart = all.subarray(o, o += this.numSequences + 1);
    this.segs = all.subarray(o, o += this.numSegments * SEG_WORDS);
    this.docs = all.subarray(o, o += this.numDocuments * DOC_WORDS);
    // 2. The token and mask files, sized as the index says.
    this.binFd = openSync(join(dir, f.bin), "r");
    this.maskFd = openSync(join(dir, f.mask), "r");
    const want = this.numSequences * this.ctx;
    const binSize = fstatSync(this.binFd).size, maskSize = fstatSync(this.maskFd).size;
    if (binSize !== want * this.tokenBytes || maskSize !== want) {
      this.close();
      throw new FormatError(join(dir, f.bin), 0, "size", `expected ${want * this.tokenBytes} token bytes and ${want} mask bytes for ${this.numSequences} x ${this.ctx}, got ${binSize} and ${maskSize}`);
    }
    this.raw = new Uint8Array(this.ctx * this.tokenBytes);
  }

  /** Open one split of the dataset folder `dir`. */
  static open(dir: string, split: SplitName = "train"): PackedDataset {
    return new PackedDataset(dir, split);
  }

  private check(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.numSequences) throw new RangeError(`sequence ${seq} is out of range (${this.numSequences} sequences)`);
  }

  /** The ctx tokens of sequence `seq` (padding included). */
  tokens(seq: number, out: Int32Array = new Int32Array(this.ctx)): Int32Array {
    this.check(seq);
    const n = this.ctx * this.tokenBytes;
    readAt(this.binFd, this.raw, seq * n);
    const dv = new DataView(this.raw.buffer, this.raw.byteOffset, n);
    if (this.tokenBytes === 2) for (let i = 0; i < this.ctx; i++) out[i] = dv.getUint16(i * 2, true);
    else for (let i = 0; i < this.ctx; i++) out[i] = dv.getUint32(i * 4, true);
    return out;
  }

  /** The loss mask of sequence `seq`: 1 = target, 0 = not. */
  mask(seq: number, out: Uint8Array = new Uint8Array(this.ctx)): Uint8Array {
    this.check(seq);
    readAt(this.maskFd, out.subarray(0, this.ctx), seq * this.ctx);
    return out;
  }

  /** The segments of sequence `seq`, in position order. */
  segments(seq: number): Segment[] {
    this.check(seq);
    const out: Segment[] = [];
    for (let k = this.segStart[seq]; k < this.segStart[seq + 1]; k++) {
      const r = k * SEG_WORDS;
      out.push({ pos: this.segs[r], len: this.segs[r + 1], doc: this.segs[r + 2], part: this.segs[r + 3] });
    }
    return out;
  }

  /** Per position: the number of its segment within the sequence (0, 1, ...), or -1 for padding. */
  segmentIds(seq: number, out: Int32Array = new Int32Array(this.ctx)): Int32Array {
    out.fill(-1, 0, this.ctx);
    this.segments(seq).forEach((s, k) => out.fill(k, s.pos, s.pos + s.len));
    return out;
  }

  /** Per position: its offset from the start of its segment (positions restart at each segment); 0 for padding. */
  positions(seq: number, out: Int32Array = new Int32Array(this.ctx)): Int32Array {
    out.fill(0, 0, this.ctx);
    for (const s of this.segments(seq)) for (let i = 0; i < s.len; i++) out[s.pos + i] = i;
    return out;
  }

  /** Length and flags of document `doc`. */
  documentInfo(doc: number): DocumentInfo {
    if (!Number.isInteger(doc) || doc < 0 || doc >= this.numDocuments) throw new RangeError(`document ${doc} is out of range (${this.numDocuments} documents)`);
    const f = this.docs[doc * DOC_WORDS + 1];
    return { tokens: this.docs[doc * DOC_WORDS], fim: (f & DOC_FIM) !== 0, spm: (f & DOC_SPM) !== 0, instruct: (f & DOC_INSTRUCT) !== 0 };
  }

  /** All tokens of document `doc` (its chunks joined in order), and their mask. */
  document(doc: number): { tokens: Int32Array; mask: Uint8Array } {
    const info = this.documentInfo(doc);
    if (!this.docParts) this.docParts = this.buildDocParts();
    const tokens = new Int32Array(info.tokens), mask = new Uint8Array(info.tokens);
    const seqTokens = new Int32Array(this.ctx), seqMask = new Uint8Array(this.ctx);
    const parts = this.docParts[doc];
    for (let p = 0; p < parts.length; p++) {
      const k = parts[p];
      const seq = this.seqOfSegment(k);
      const r = k * SEG_WORDS;
      const pos = this.segs[r], len = this.segs[r + 1];
      this.tokens(seq, seqTokens);
      this.mask(seq, seqMask);
      tokens.set(seqTokens.subarray(pos, pos + len), p * this.ctx);
      mask.set(seqMask.subarray(pos, pos + len), p * this.ctx);
    }
    return { tokens, mask };
  }

  close(): void {
    if (this.binFd >= 0) { closeSync(this.binFd); this.binFd = -1; }
    if (this.maskFd >= 0) { closeSync(this.maskFd); this.maskFd = -1; }
  }

  /** docParts[doc][part] = the segment record holding that chunk. */
  private buildDocParts(): Int32Array[] {
    const parts: Int32Array[] = [];
    for (let d = 0; d < this.numDocuments; d++) parts.push(new Int32Array(Math.ceil(this.docs[d * DOC_WORDS] / this.ctx)).fill(-1));
    for (let k = 0; k < this.numSegments; k++) {
      const doc = this.segs[k * SEG_WORDS + 2], part = this.segs[k * SEG_WORDS + 3];
      parts[doc][part] = k;
    }
    parts.forEach((p, d) => { if (p.includes(-1)) throw new FormatError(join(this.dir, splitFiles(this.split).idx), 0, "segments", `document ${d} is missing a chunk`); });
    return parts;
  }

  /** The sequence holding segment record k (binary search in segStart). */
  private seqOfSegment(k: number): number {
    let lo = 0, hi = this.numSequences - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segStart[mid] <= k) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
}

function readAt(fd: number, dst: Uint8Array, pos: number): void {
  let done = 0;
  while (done < dst.length) {
    const n = readSync(fd, dst, done, dst.length - done, pos + done);
    if (n <= 0) throw new UserError(`the dataset file ended early at byte ${pos + done}`);
    done += n;
  }
}
