/**
 * Sessions keep their KV cache between requests. A new request reuses the longest common token
 * prefix of what the cache holds and evaluates only the rest: after an edit near the end of a file,
 * re-infilling costs only the changed tail. Each session owns one of the model's KV sequences while
 * it has one; when all are taken, the least recently used idle session loses its cache (LRU) and
 * simply starts cold next time.
 */
import { generate, type GenerateOptions, type Generation, type GenerationResult } from "../generate/generate.js";
import type { LlamaModel } from "../model/llama.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";

/** Length of the common prefix of a and b. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

interface Slot { owner: Session | undefined; lastUsed: number; busy: boolean }

export class SessionPool {
  private readonly slots: Slot[];
  private clock = 0;

  constructor(readonly model: LlamaModel, readonly tokenizer: Tokenizer) {
    this.slots = Array.from({ length: model.nSeq }, () => ({ owner: undefined, lastUsed: 0, busy: false }));
  }

  session(): Session { return new Session(this); }

  /** A sequence for `s`: its own if it still has one, else a free one, else the LRU idle one's. */
  acquire(s: Session): number {
    let seq = this.slots.findIndex((x) => x.owner === s);
    if (seq < 0) {
      seq = this.slots.findIndex((x) => x.owner === undefined);
      if (seq < 0) {
        let best = -1;
        this.slots.forEach((x, i) => { if (!x.busy && (best < 0 || x.lastUsed < this.slots[best].lastUsed)) best = i; });
        if (best < 0) throw new UserError(`all ${this.slots.length} KV cache sequences are generating; load the model with more sequences`);
        this.slots[best].owner!.evicted();
        seq = best;
      }
      this.slots[seq].owner = s;
    }
    this.slots[seq].lastUsed = ++this.clock;
    return seq;
  }

  setBusy(seq: number, busy: boolean): void { this.slots[seq].busy = busy; }

  /** Sequences [0, n) are about to be overwritten by work outside any session: their owners lose their caches. */
  clobber(n: number): void {
    for (const x of this.slots.slice(0, n)) {
      if (x.busy) throw new UserError("a session is generating on this model; wait for it before running other requests");
      x.owner?.evicted();
      x.owner = undefined;
    }
  }

  release(s: Session): void {
    for (const x of this.slots) if (x.owner === s) { x.owner = undefined; x.busy = false; }
  }
}

export class Session {
  /** Tokens the session's KV cache holds at positions 0..n-1. */
  private cached: number[] = [];

  constructor(private readonly pool: SessionPool) {}

  /** Called by the pool when another session takes this one's sequence. */
  evicted(): void { this.cached = []; }

  /** How many of `promptTokens` the cache already holds (at most all but the last, which must be fed for logits). */
  reusable(promptTokens: readonly number[]): number {
    return Math.min(commonPrefix(this.cached, promptTokens), promptTokens.length - 1);
  }

  /** Generate from `promptTokens`, reusing the cached prefix. */
  generate(promptTokens: number[], opts: GenerateOptions = {}): Generation {
    const seq = this.pool.acquire(this);
    const startPos = this.reusable(promptTokens);
    this.cached = this.cached.slice(0, startPos); // what follows is about to be overwritten
    this.pool.setBusy(seq, true);
    let gen: Generation;
    try {
      gen = generate(this.pool.model, this.pool.tokenizer, promptTokens, { ...opts, seq, startPos });
    } catch (e) {
      this.pool.setBusy(seq, false);
      throw e;
    }
    gen.settled.then((r: GenerationResult) => { this.cached = r.cached; }, () => { this.cached = []; })
      .finally(() => this.pool.setBusy(seq, false));
    return gen;
  }

  /** Forget the cache and give the sequence back. */
  close(): void {
    this.cached = [];
    this.pool.release(this);
  }
}
