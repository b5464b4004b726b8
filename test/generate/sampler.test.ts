import { test } from "node:test";
import assert from "node:assert/strict";
import { Sampler, argmax, topIndices } from "../../src/generate/sampler.js";
import { Rng } from "../../src/util/rng.js";

/** Logits whose softmax (at temperature 1) is exactly `probs`. */
const logitsOf = (probs: number[]) => Float32Array.from(probs, (p) => Math.log(p));

function counts(s: Sampler, logits: Float32Array, n: number): Map<number, number> {
  const c = new Map<number, number>();
  for (let i = 0; i < n; i++) { const t = s.sample(logits.slice()); c.set(t, (c.get(t) ?? 0) + 1); }
  return c;
}

test("temperature 0 is argmax (ties: lowest id)", () => {
  const s = new Sampler({ temperature: 0 });
  assert.equal(s.sample(Float32Array.from([0.1, 3, -1, 3, 2])), 1);
  assert.equal(argmax([5, 5, 1]), 0);
});

test("top-p keeps a token when the mass before it is <= p (Meta's sample_top_p)", () => {
  // sorted 0.5, 0.3, 0.15, 0.05; p = 0.7: masses before are 0, 0.5, 0.8, 0.95 -> keep tokens 0 and 1
  const s = new Sampler({ temperature: 1, topP: 0.7, seed: 1 });
  const c = counts(s, logitsOf([0.15, 0.5, 0.05, 0.3]), 4000);
  assert.deepEqual([...c.keys()].sort(), [1, 3]);
  // renormalised: 0.5/0.8 = 0.625
  assert.ok(Math.abs(c.get(1)! / 4000 - 0.625) < 0.03, `frequency ${c.get(1)! / 4000}`);
  // p = 0.81: the mass before 0.15 is 0.8 <= 0.81, so the token that crosses p is kept too
  const s2 = new Sampler({ temperature: 1, topP: 0.81, seed: 2 });
  assert.deepEqual([...counts(s2, logitsOf([0.15, 0.5, 0.05, 0.3]), 4000).keys()].sort(), [0, 1, 3]);
});

test("top-p grows past the first 64 sorted candidates when it must", () => {
  const V = 1000;
  const probs = Array.from({ length: V }, (_, i) => (V - i) / ((V * (V + 1)) / 2));
  const s = new Sampler({ temperature: 1, topP: 0.95, seed: 3 });
  const c = counts(s, logitsOf(probs), 3000);
  assert.ok(Math.max(...c.keys()) > 256, "samples reach past 256 candidates");
  assert.ok(Math.max(...c.keys()) < 800, "tokens in the last 5% of mass are never drawn");
});

test("top-k and min-p", () => {
  const l = logitsOf([0.4, 0.3, 0.2, 0.1]);
  assert.deepEqual([...counts(new Sampler({ temperature: 1, topP: 1, topK: 2, seed: 4 }), l, 2000).keys()].sort(), [0, 1]);
  // min-p 0.6: floor 0.24 keeps 0.4 and 0.3
  assert.deepEqual([...counts(new Sampler({ temperature: 1, topP: 1, minP: 0.6, seed: 5 }), l, 2000).keys()].sort(), [0, 1]);
  assert.deepEqual([...counts(new Sampler({ temperature: 1, topP: 1, topK: 1, seed: 6 }), l, 50).keys()], [0]);
});

test("repetition penalty divides positive and multiplies negative logits of recent tokens", () => {
  const s = new Sampler({ temperature: 0, repetitionPenalty: 2 });
  const l = Float32Array.from([4, 3, -1, -0.5]);
  assert.equal(s.sample(l, [0]), 1); // 4 -> 2 < 3
  assert.deepEqual(Array.from(l), [2, 3, -1, -0.5]);
  const l2 = Float32Array.from([-1, -1.5, -3]);
  new Sampler({ temperature: 0, repetitionPenalty: 2 }).sample(l2, [0, 0, 2]);
  assert.deepEqual(Array.from(l2), [-2, -1.5, -6]);
});

test("a seed reproduces the same draws; another seed does not", () => {
  const rng = new Rng(9);
  const l = Float32Array.from({ length: 500 }, () => rng.normal());
  const draw = (seed: number) => { const s = new Sampler({ temperature: 1.2, topP: 0.95, seed }); return Array.from({ length: 50 }, () => s.sample(l.slice())); };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test("topIndices equals a full sort, ties by index", () => {
  const rng = new Rng(10);
  const v = Float32Array.from({ length: 3000 }, () => Math.round(rng.normal() * 4) / 4);
  const full = [...v.keys()].sort((a, b) => v[b] - v[a] || a - b);
  for (const k of [1, 7, 64, 3000]) assert.deepEqual(Array.from(topIndices(v, k)), full.slice(0, k));
});

test("bad sampling settings are refused", () => {
  assert.throws(() => new Sampler({ topP: 1.5 }), /topP must be in \[0, 1\]/);
  assert.throws(() => new Sampler({ temperature: -1 }), /temperature/);
  assert.throws(() => new Sampler({ topK: 2.5 }), /topK/);
});
