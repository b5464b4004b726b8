/**
 * `SplitWriter`: writes one split (`train` or `val`) of a packed dataset (layout in format.ts):
 * whole sequences are appended to `<split>.bin` / `<split>.mask` as they are closed, and the
 * segment and document tables are kept in memory (16 bytes per segment, 8 per document) and
 * written to `<split>.idx` by `finish()`. The folder is the build's temporary folder
 * (dataset-dir.ts), so nothing is visible under the dataset's name until the build completes.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import {
  DOC_WORDS, IDX_HEADER_BYTES, IDX_MAGIC, IDX_VERSION, SEG_WORDS, splitFiles, type Segment, type SplitName,
} from "./format.js";

/** A growable u32 array. */
class U32List {
  data = new Uint32Array(1024);
  length = 0;
  push(...v: number[]): void {
    if (this.length + v.length > this.data.length) {
      const d = new Uint32Array(Math.max(this.data.length * 2, this.length + v.length));
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    for (const x of v) this.data[this.length++] = x;
  }
  view(): Uint32Array { return this.data.subarray(0, this.length); }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let o = 0;
  while (o < bytes.length) o += writeSync(fd, bytes, o, bytes.length - o);
}

export class SplitWriter {
  readonly ctx: number;
  private readonly binFd: number;
  private readonly maskFd: number;
  private readonly segStart = new U32List();
  private readonly segs = new U32List();
  private readonly docs = new U32List();
  private readonly raw: Uint8Array;
  private readonly dv: DataView;
  private finished = false;
  sequences = 0;
  tokens = 0;
  padTokens = 0;
  targetTokens = 0;

  constructor(private readonly dir: string, readonly split: SplitName, ctx: number, readonly tokenBytes: 2 | 4, readonly padId: number) {
    this.ctx = ctx;
    const f = splitFiles(split);
    this.binFd = openSync(join(dir, f.bin), "w");
    this.maskFd = openSync(join(dir, f.mask), "w");
    this.raw = new Uint8Array(ctx * tokenBytes);
    this.dv = new DataView(this.raw.buffer);
    this.segStart.push(0);
  }

  get documents(): number { return this.docs.length / DOC_WORDS; }
  get segments(): number { return this.segs.length / SEG_WORDS; }

  /** Register a document (its total length in tokens and flags); returns its number. */
  addDocument(tokens: number, flags: number): number {
    this.docs.push(tokens, flags);
    return this.documents - 1;
  }

  /**
   * Append one sequence: `tokens`/`mask` hold `fill` used positions (the rest becomes padding),
   * `segs` its segments in position order, covering [0, fill) without gaps.
   */
  writeSequence(tokens: Int32Array, mask: Uint8Array, fill: number, segs: readonly Segment[]): void {
    const { ctx } = this;
    // 1. Padding: padId, mask 0.
    tokens.fill(this.padId, fill, ctx);
    mask.fill(0, fill, ctx);
    // 2. Tokens, little-endian.
    if (this.tokenBytes === 2) for (let i = 0; i < ctx; i++) this.dv.setUint16(i * 2, tokens[i], true);
    else for (let i = 0; i < ctx; i++) this.dv.setUint32(i * 4, tokens[i], true);
    writeAll(this.binFd, this.raw);
    writeAll(this.maskFd, mask.subarray(0, ctx));
    // 3. The index entries.
    for (const s of segs) this.segs.push(s.pos, s.len, s.doc, s.part);
    this.segStart.push(this.segments);
    this.sequences++;
    this.tokens += fill;
    this.padTokens += ctx - fill;
    for (let i = 0; i < fill; i++) this.targetTokens += mask[i];
  }

  /** Write the index, fsync and close everything. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const body = [this.segStart.view(), this.segs.view(), this.docs.view()];
    const words = IDX_HEADER_BYTES / 4 + body.reduce((s, a) => s + a.length, 0);
    const buf = Buffer.alloc(words * 4);
    const header = [IDX_MAGIC, IDX_VERSION, this.ctx, this.tokenBytes, this.sequences, this.segments, this.documents, this.padId];
    let o = 0;
    for (const w of header) { buf.writeUInt32LE(w, o); o += 4; }
    for (const a of body) for (let i = 0; i < a.length; i++) { buf.writeUInt32LE(a[i], o); o += 4; }
    const idxFd = openSync(join(this.dir, splitFiles(this.split).idx), "w");
    try {
      writeAll(idxFd, buf);
      fsyncSync(idxFd);
    } finally {
      closeSync(idxFd);
    }
    for (const fd of [this.binFd, this.maskFd]) { fsyncSync(fd); closeSync(fd); }
  }

  /** Close the files without writing the index (the build failed; the folder is removed). */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    for (const fd of [this.binFd, this.maskFd]) { try { closeSync(fd); } catch { /* closed */ } }
  }
}
