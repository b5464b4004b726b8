/**
 * Training batches from packed token datasets (src/data: `PackedDataset`, sequences of exactly
 * `ctx` tokens with a loss mask), or from token arrays held in memory (tests).
 *
 * A sequence of T tokens gives T positions: position t reads tokens 0..t and predicts token t+1,
 * counted when mask[t+1] is 1 (the dataset's mask: 0 for padding and instruction prompts); the
 * last position has no target. Attention is causal over the whole sequence (documents packed into
 * one sequence see each other, as in Llama's pretraining), positions 0..T-1.
 *
 * Order: each source is read in a fresh pseudo-random permutation per epoch (seeded by
 * [seed, source, epoch]); with several sources (a data mix) each sequence's source is drawn with
 * the given weights by an RNG seeded by [seed, n] for the n-th sequence drawn. The whole sampler
 * state is therefore a few counters, saved in checkpoints, and a resumed run reads exactly the
 * sequences the uninterrupted run would have.
 */
import { existsSync } from "node:fs";
import { PackedDataset } from "../data/index.js";
import { UserError } from "../util/errors.js";
import { Rng } from "../util/rng.js";

/** Numbered sequences of `ctx` tokens with a loss mask. */
export interface SequenceSource {
  readonly name: string;
  readonly ctx: number;
  readonly numSequences: number;
  read(seq: number, tokens: Int32Array, mask: Uint8Array): void;
  close?(): void;
}

/** One split of a packed dataset folder. */
export class DatasetSource implements SequenceSource {
  readonly ds: PackedDataset;
  constructor(readonly name: string, split: "train" | "val") {
    if (!existsSync(name)) throw new UserError(`dataset ${name} does not exist (build one with codellama data build)`);
    this.ds = PackedDataset.open(name, split);
  }
  get ctx(): number { return this.ds.ctx; }
  get numSequences(): number { return this.ds.numSequences; }
  read(seq: number, tokens: Int32Array, mask: Uint8Array): void { this.ds.tokens(seq, tokens); this.ds.mask(seq, mask); }
  close(): void { this.ds.close(); }
}

/** Sequences held in memory: `tokens` is [n][ctx]; the mask is 1 except at position 0 unless given. */
export class ArraySource implements SequenceSource {
  readonly numSequences: number;
  constructor(readonly name: string, readonly ctx: number, private readonly tokens: Int32Array, private readonly mask?: Uint8Array) {
    this.numSequences = Math.floor(tokens.length / ctx);
  }
  read(seq: number, tokens: Int32Array, mask: Uint8Array): void {
    tokens.set(this.tokens.subarray(seq * this.ctx, (seq + 1) * this.ctx));
    if (this.mask) mask.set(this.mask.subarray(seq * this.ctx, (seq + 1) * this.ctx));
    else { mask.fill(1); mask[0] = 0; }
  }
}

export interface SamplerState {
  /** Sequences drawn so far (all sources). */
  drawn: number;
  /** Sequences drawn from each source. */
  perSource: number[];
}

export class Sampler {
  private state: SamplerState;
  private readonly cum: number[];
  private perm: (Uint32Array | undefined)[];
  private permEpoch: number[];

  constructor(readonly sources: SequenceSource[], weights: number[], readonly seed: number, state?: SamplerState) {
    const total = weights.reduce((a, b) => a + b, 0);
    let c = 0;
    this.cum = weights.map((w) => (c += w / total));
    this.state = state ? { drawn: state.drawn, perSource: [...state.perSource] } : { drawn: 0, perSource: sources.map(() => 0) };
    this.perm = sources.map(() => undefined);
    this.permEpoch = sources.map(() => -1);
    sources.forEach((s) => { if (s.numSequences === 0) throw new UserError(`dataset ${s.name} has no sequences`); });
  }

  getState(): SamplerState { return { drawn: this.state.drawn, perSource: [...this.state.perSource] }; }

  /** The next sequence of the stream into tokens/mask. */
  next(tokens: Int32Array, mask: Uint8Array): void {
    let s = 0;
    if (this.sources.length > 1) {
      const u = new Rng([this.seed, 0x6d697820, this.state.drawn]).next();
      while (s < this.cum.length - 1 && u >= this.cum[s]) s++;
    }
    const src = this.sources[s], n = src.numSequences, k = this.state.perSource[s];
    const epoch = Math.floor(k / n);
    if (this.permEpoch[s] !== epoch) {
      this.perm[s] = permutation(n, new Rng([this.seed, s, epoch]));
      this.permEpoch[s] = epoch;
    }
    src.read(this.perm[s]![k % n], tokens, mask);
    this.state.perSource[s]++;
    this.state.drawn++;
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** Inputs, targets and per-position target flags of one sequence (see the file comment). */
export function sequenceTargets(tokens: Int32Array, mask: Uint8Array, inputs: Int32Array, targets: Int32Array, isTarget: Uint8Array): number {
  const T = tokens.length;
  let n = 0;
  for (let t = 0; t < T; t++) {
    inputs[t] = tokens[t];
    const has = t + 1 < T && mask[t + 1] !== 0;
    targets[t] = has ? tokens[t + 1] : 0;
    isTarget[t] = has ? 1 : 0;
    n += isTarget[t];
  }
  return n;
}
