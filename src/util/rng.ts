/**
 * A small deterministic random number generator: xoshiro128** (Blackman & Vigna, 2018),
 * 128 bits of state, period 2^128 - 1, seeded through splitmix32 so that any list of u32
 * seed words (e.g. `[seed, crc32(name)]`) gives a well-mixed, never all-zero state.
 *
 * The same seed words always give the same sequence on every platform: everything is
 * 32-bit integer arithmetic (`Math.imul`, `>>>`), and `normal()` uses only `Math.log`,
 * `Math.sqrt`, `Math.cos` and `Math.sin`, whose results V8 computes the same way everywhere
 * (fdlibm ports). Used for random test models, sampling and training initialisation.
 */

/** One splitmix32 step: advances `state` and returns a mixed u32. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

export class Rng {
  // xoshiro128** state: four u32 words, never all zero.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  /** Second value of the last Box–Muller pair, handed out by the next `normal()` when `hasSpare`. */
  private spare = 0;
  private hasSpare = false;

  /**
   * @param seed a u32 seed, or a list of them (each word is folded into the splitmix32 state
   *   in turn, so `[1, 2]` and `[2, 1]` give different streams).
   */
  constructor(seed: number | readonly number[] = 0) {
    const words = typeof seed === "number" ? [seed] : seed;
    // Fold every seed word into a splitmix32 state, mixing after each one.
    const st = { s: 0x6a09e667 };
    for (const w of words) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`RNG seed words must be u32 integers, got ${w}`);
      st.s = (st.s ^ w) >>> 0;
      st.s = splitmix32(st);
    }
    // Draw the four state words from the splitmix32 stream.
    // (Kept as int32 values, `| 0`, so V8 stores the fields as small integers.)
    this.a = splitmix32(st) | 0;
    this.b = splitmix32(st) | 0;
    this.c = splitmix32(st) | 0;
    this.d = splitmix32(st) | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // unreachable in practice
  }

  /** A generator with the given raw xoshiro128** state (not all zero); for reference-vector tests. */
  static fromState(a: number, b: number, c: number, d: number): Rng {
    if (((a | b | c | d) >>> 0) === 0) throw new RangeError("xoshiro128** state must not be all zero");
    const r = new Rng(0);
    r.a = a | 0;
    r.b = b | 0;
    r.c = c | 0;
    r.d = d | 0;
    return r;
  }

  /** A uniform u32 in [0, 2^32). */
  nextU32(): number {
    // result = rotl(b * 5, 7) * 9
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    // State transition of xoshiro128.
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** A uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [0, n), n <= 2^32, without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`Rng.int needs an integer 1..2^32, got ${n}`);
    // Largest multiple of n that fits in 2^32; values at or above it are redrawn.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /**
   * A standard normal N(0, 1) sample (Box–Muller). Each pair of uniforms gives two
   * independent normals; the second is kept for the next call.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // u1 in (0, 1] so the log is finite; u2 in [0, 1).
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Fill `dst` with N(mean, std^2) samples (rounded to f32 by the array). Returns `dst`. */
  fillNormal(dst: Float32Array | Float64Array, std = 1, mean = 0): Float32Array | Float64Array {
    for (let i = 0; i < dst.length; i++) dst[i] = mean + std * this.normal();
    return dst;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
