/**
 * Packing documents into fixed-length sequences of `ctx` tokens that keep document boundaries.
 *
 *  - A document of at most ctx tokens is never cut: it goes whole into the first open sequence
 *    with room for it (first fit over at most `maxOpen` open sequences; when a new one must be
 *    opened and `maxOpen` are open, the oldest is closed and written, its tail padded).
 *  - A longer document is cut into ctx-sized chunks: every full chunk is a sequence of its own,
 *    the remainder is placed like a short document. Chunk k holds tokens [k*ctx, (k+1)*ctx).
 *  - `finish()` closes the open sequences, oldest first.
 *
 * Deterministic: the result depends only on the order and lengths of the documents added.
 * The caller builds each document's tokens (BOS ... EOS, FIM layouts, dialogs) and its loss mask.
 */
import type { Segment } from "./format.js";
import type { SplitWriter } from "./writer.js";

interface Bin {
  tokens: Int32Array;
  mask: Uint8Array;
  fill: number;
  segs: Segment[];
}

export const DEFAULT_MAX_OPEN = 32;

export class Packer {
  private readonly open: Bin[] = [];
  private readonly ctx: number;
  /** Documents longer than ctx (cut into chunks). */
  splitDocuments = 0;

  constructor(private readonly writer: SplitWriter, private readonly maxOpen = DEFAULT_MAX_OPEN) {
    this.ctx = writer.ctx;
  }

  /** Add one document; `mask` defaults to all ones. Returns its document number. */
  add(tokens: ArrayLike<number>, flags = 0, mask?: ArrayLike<number>): number {
    const len = tokens.length;
    if (len === 0) throw new Error("Packer.add: empty document");
    if (mask && mask.length !== len) throw new Error(`Packer.add: mask length ${mask.length} != ${len} tokens`);
    const doc = this.writer.addDocument(len, flags);
    const { ctx } = this;
    if (len > ctx) this.splitDocuments++;
    // 1. Full chunks: one sequence each, written at once.
    let part = 0, at = 0;
    for (; len - at >= ctx; at += ctx, part++) {
      const bin = this.newBin();
      this.put(bin, tokens, mask, at, ctx, doc, part);
      this.writeBin(bin);
    }
    // 2. The rest (the whole document when it fits): first fit.
    const rest = len - at;
    if (rest > 0) {
      let bin = this.open.find((b) => ctx - b.fill >= rest);
      if (!bin) {
        if (this.open.length >= this.maxOpen) this.writeBin(this.open.shift()!);
        bin = this.newBin();
        this.open.push(bin);
      }
      this.put(bin, tokens, mask, at, rest, doc, part);
      if (bin.fill === ctx) {
        this.open.splice(this.open.indexOf(bin), 1);
        this.writeBin(bin);
      }
    }
    return doc;
  }

  /** Write the sequences still open, oldest first. */
  finish(): void {
    for (const b of this.open.splice(0)) this.writeBin(b);
  }

  private newBin(): Bin {
    return { tokens: new Int32Array(this.ctx), mask: new Uint8Array(this.ctx), fill: 0, segs: [] };
  }

  private put(bin: Bin, tokens: ArrayLike<number>, mask: ArrayLike<number> | undefined, from: number, len: number, doc: number, part: number): void {
    const pos = bin.fill;
    for (let i = 0; i < len; i++) {
      bin.tokens[pos + i] = tokens[from + i];
      bin.mask[pos + i] = mask ? (mask[from + i] ? 1 : 0) : 1;
    }
    bin.segs.push({ pos, len, doc, part });
    bin.fill += len;
  }

  private writeBin(bin: Bin): void {
    this.writer.writeSequence(bin.tokens, bin.mask, bin.fill, bin.segs);
  }
}
