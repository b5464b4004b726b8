/**
 * encode never throws and stays fast: lone surrogates (encoded as U+FFFD, as a UTF-8 encoder
 * writes them), NUL and every control character, random UTF-16 garbage, and 1 MB runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeLlamaTokenizer, llamaTokenizer } from "./fixtures.js";

/**
 * What decode(encode(s)) must give: the string a UTF-8 encoder sees (lone surrogates → U+FFFD),
 * with literal `▁` read back as spaces (SentencePiece cannot tell them apart).
 */
const wellFormed = (s: string) => Buffer.from(s, "utf8").toString("utf8").replaceAll("\u2581", " ");

test("lone surrogates are encoded as U+FFFD, as a UTF-8 encoder writes them", () => {
  const tok = llamaTokenizer();
  const fffd = tok.encode("\ufffd");
  assert.deepEqual(fffd, [29871, 30140]); // ▁ and the piece "\ufffd"
  assert.deepEqual(tok.encode("\ud800"), fffd);
  assert.deepEqual(tok.encode("\udfff"), fffd);
  assert.deepEqual(tok.encode("a\ud800b"), tok.encode("a\ufffdb"));
  assert.deepEqual(tok.encode("\udc00\ud800"), tok.encode("\ufffd\ufffd"));
  assert.deepEqual(tok.encode("x\ud83d"), tok.encode("x\ufffd")); // high surrogate at the end
  assert.deepEqual(tok.encode("\ud83d\ude00"), tok.encode("😀")); // a real pair is one character
  assert.equal(tok.decode(tok.encode("a\ud800b")), "a\ufffdb");
});

test("NUL and all C0/C1 control characters encode (as byte pieces) and decode back", () => {
  const tok = llamaTokenizer();
  assert.deepEqual(tok.encode("\u0000"), [29871, 3]); // <0x00> is id 3
  for (let c = 0; c < 0xa0; c++) {
    if (c >= 0x20 && c < 0x7f) continue;
    const s = `a${String.fromCharCode(c)}b${String.fromCharCode(c)}`;
    assert.equal(tok.decode(tok.encode(s)), s, `U+${c.toString(16)}`);
  }
  const all = Array.from({ length: 0xa0 }, (_, c) => String.fromCharCode(c)).join("");
  assert.equal(tok.decode(tok.encode(all)), all);
});

test("random UTF-16 garbage never throws and round-trips to its well-formed form", () => {
  const tok = codeLlamaTokenizer();
  let seed = 7;
  const rnd = (m: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % m; };
  const pools = [[0, 0x80], [0xd800, 0xe000], [0x2580, 0x2590], [0x20, 0x21], [0, 0x10000]];
  for (let k = 0; k < 2000; k++) {
    let s = "";
    for (let n = rnd(30); n > 0; n--) {
      const [lo, hi] = pools[rnd(pools.length)];
      s += String.fromCharCode(lo + rnd(hi - lo));
    }
    const ids = tok.encode(s);
    assert.ok(ids.every((i) => Number.isInteger(i) && i >= 0 && i < tok.vocabSize));
    assert.equal(tok.decode(ids), wellFormed(s), JSON.stringify(s));
    assert.equal(tok.decodeInfilling(tok.encodeInfilling(s)), wellFormed(s));
  }
});

test("1 MB runs encode quickly (near-linear), correctly", () => {
  const tok = llamaTokenizer();
  const MB = 1 << 20;
  const cases: [string, string][] = [
    ["spaces", " ".repeat(MB)],
    ["a", "a".repeat(MB)],
    ["newlines", "\n".repeat(MB)],
    ["tabs", "\t".repeat(MB)],
    ["emoji", "😀".repeat(MB / 2)],
    ["ab", "ab".repeat(MB / 2)],
    ["one long line of code", "x = foo(bar, baz) + 1; ".repeat(MB / 23)],
  ];
  for (const [name, s] of cases) {
    const t0 = performance.now();
    const ids = tok.encode(s);
    const ms = performance.now() - t0;
    // Not a speed test (npm run bench measures speed): a bound no linear-time encoder gets near,
    // even on a loaded CI machine, while a quadratic one (~10^12 steps for 1 MB) never meets it.
    assert.ok(ms < 60_000, `${name}: ${ms.toFixed(0)} ms for ${s.length} UTF-16 units`);
    assert.equal(tok.decode(ids), s, name);
  }
  // Exact shape of the space run: dummy prefix + 2^20 spaces = 2^20 + 1 `▁`, merged leftmost
  // first into 16-space pieces (all `▁` runs share the score -1e9): 65537 × 16 = 2^20 + 16.
  const spaces = tok.encode(" ".repeat(MB));
  assert.equal(spaces.length, 65537);
  assert.equal(tok.piece(spaces[0]), "▁".repeat(16));
  assert.equal(tok.piece(spaces[65536]), "▁");
});
