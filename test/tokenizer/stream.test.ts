/**
 * The streaming decoder: ids pushed one at a time (and in random groups) must give, in total,
 * exactly `decode` / `decodeInfilling`, and no chunk may contain half a character (a lone
 * surrogate) or a U+FFFD that the complete text does not have — even when a character's UTF-8
 * bytes are spread over several `<0xNN>` byte-fallback pieces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeLlamaTokenizer } from "./fixtures.js";

const TEXTS = [
  "def f(x):\n    return x  # 😀",
  "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs",
  "한국어 텍스트와 코드: let 변수 = 1;",
  "日本語のテキスト、中文文本，𠜎𠜱𠝹𠱓 (astral CJK)",
  "mixed ✓ ✗ ∑ ∫ ≤ ≥ → ← ⇒ emoji 🎉🎊 at the end 🎉",
  " leading space and trailing 🙂 ",
  "\u0000\u0001 control \u007f\u0080\u009f",
  "ꙮ ߷ ༀ ᚠᛇᚻ ⴰⵣⵓⵍ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

let seed = 42;
const rnd = (m: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % m; };
const isWellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

test("byte fallback is really exercised by these texts", () => {
  const tok = codeLlamaTokenizer();
  const ids = tok.encode(TEXTS[1]);
  const bytePieces = ids.filter((i) => /^<0x[0-9A-F]{2}>$/.test(tok.piece(i)));
  assert.ok(bytePieces.length >= 20, `${bytePieces.length} byte pieces`);
});

test("push one id at a time: concatenation = decode, every chunk well formed, no U+FFFD", () => {
  const tok = codeLlamaTokenizer();
  for (const text of TEXTS) {
    for (const infill of [false, true]) {
      const ids = infill ? tok.encodeInfilling(text) : tok.encode(text);
      const want = infill ? tok.decodeInfilling(ids) : tok.decode(ids);
      assert.equal(want, text);
      const d = tok.streamDecoder({ infill });
      const chunks = ids.map((id) => d.push(id));
      chunks.push(d.flush());
      assert.equal(chunks.join(""), want);
      for (const c of chunks) {
        assert.ok(isWellFormed(c), `chunk ${JSON.stringify(c)} is not well formed`);
        assert.ok(!c.includes("\ufffd"), `chunk ${JSON.stringify(c)} has U+FFFD`);
      }
      // A character made of several byte pieces appears whole, in the chunk of its last byte.
      const emojiChunk = chunks.find((c) => /\p{Extended_Pictographic}/u.test(c));
      if (/\p{Extended_Pictographic}/u.test(text)) assert.ok(emojiChunk !== undefined);
    }
  }
});

test("random groupings and random id sequences: stream = batch decode", () => {
  const tok = codeLlamaTokenizer();
  const byteIds = Array.from({ length: 256 }, (_, b) => tok.id(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!);
  for (let round = 0; round < 400; round++) {
    // Half the rounds: real encodings; the others: random ids, mostly byte pieces (invalid UTF-8).
    let ids: number[];
    if (round % 2 === 0) ids = tok.encode(TEXTS[rnd(TEXTS.length)].slice(rnd(5)));
    else ids = Array.from({ length: 1 + rnd(20) }, () => (rnd(4) ? byteIds[0x80 + rnd(0x80)] : rnd(tok.vocabSize)));
    for (const infill of [false, true]) {
      const d = tok.streamDecoder({ infill });
      let out = "";
      for (let i = 0; i < ids.length;) {
        const k = 1 + rnd(4);
        for (const id of ids.slice(i, i + k)) {
          const c = d.push(id);
          assert.ok(isWellFormed(c));
          out += c;
        }
        i += k;
      }
      out += d.flush();
      assert.equal(out, infill ? tok.decodeInfilling(ids) : tok.decode(ids), ids.join(" "));
    }
  }
});

test("U+FFFD appears only for bytes that really are invalid, and as early as it is certain", () => {
  const tok = codeLlamaTokenizer();
  const b = (x: number) => tok.id(`<0x${x.toString(16).toUpperCase().padStart(2, "0")}>`)!;
  const d = tok.streamDecoder();
  // "é" = C3 A9: nothing after the first byte, the character after the second.
  assert.equal(d.push(b(0xc3)), "");
  assert.equal(d.push(b(0xa9)), "é");
  // 😀 = F0 9F 98 80 split over four pushes.
  assert.deepEqual([0xf0, 0x9f, 0x98, 0x80].map((x) => d.push(b(x))), ["", "", "", "😀"]);
  // E2 followed by 'A' (0x41) can never complete: U+FFFD at once, then the A.
  assert.equal(d.push(b(0xe2)), "");
  assert.equal(d.push(b(0x41)), "\ufffdA");
  // A truncated sequence at the end of the stream: one U+FFFD per byte, as SentencePiece does.
  assert.equal(d.push(b(0xe2)), "");
  assert.equal(d.push(b(0x82)), "");
  assert.equal(d.flush(), "\ufffd\ufffd");
  assert.equal(tok.decode([b(0xe2), b(0x82)]), "\ufffd\ufffd");
  // A non-byte piece also ends a pending sequence.
  const e = tok.streamDecoder();
  assert.equal(e.push(b(0xc3)), "");
  assert.equal(e.push(tok.id("▁x")!), "\ufffd x");
});

test("leading space: dropped at the start of a completion, kept for an infill", () => {
  const tok = codeLlamaTokenizer();
  const ids = [tok.id("▁foo")!, tok.id("▁bar")!];
  const c = tok.streamDecoder();
  assert.deepEqual([c.push(ids[0]), c.push(ids[1]), c.flush()], ["foo", " bar", ""]);
  const f = tok.streamDecoder({ infill: true });
  assert.deepEqual([f.push(ids[0]), f.push(ids[1]), f.flush()], [" foo", " bar", ""]);
  // BOS (control) first does not count as output: the space of ▁foo is still dropped.
  const s = tok.streamDecoder();
  assert.equal(s.push(1) + s.push(ids[0]), "foo");
  // Byte output first does count: then ▁foo keeps its space.
  const t = tok.streamDecoder();
  assert.equal(t.push(tok.id("<0x41>")!) + t.push(ids[0]), "A foo");
  assert.equal(tok.decode([tok.id("<0x41>")!, ids[0]]), "A foo");
  // A lone ▁ piece first is the stripped dummy space; the next piece keeps its space.
  const u = tok.streamDecoder();
  assert.equal(u.push(29871) + u.push(ids[0]), " foo");
  assert.equal(tok.decode([29871, ids[0]]), " foo");
});
