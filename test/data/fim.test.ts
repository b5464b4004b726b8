// The FIM training transformation (reference §4.4) on the Code Llama vocabulary (llama SPM + 16
// pieces): hand-built token layouts (ids from the golden vectors of §3.7 and the prompt tests),
// the implicit-space rule, empty parts, and property tests over 10,000 random documents.
import { test } from "node:test";
import assert from "node:assert/strict";
import { codePointCount, FimTransformer, fimLayout, fimSplit, fimSplitAt, type FimParts } from "../../src/data/fim.js";
import { DOC_FIM, DOC_SPM } from "../../src/data/format.js";
import { fimTokens } from "../../src/prompt/infill.js";
import { Rng } from "../../src/util/rng.js";
import { codeLlamaTok, llamaTok } from "../prompt/vocab.js";

const [BOS, EOS, PRE, SUF, MID, EOT] = [1, 2, 32007, 32008, 32009, 32010];
// §3.7 (a): enc(prefix) and encInf(suffix) of example_infilling.py's first prompt.
const P = 'def remove_non_ascii(s: str) -> str:\n    """ ';
const S = "\n    return result\n";
const ENC_P = [822, 3349, 29918, 5464, 29918, 294, 18869, 29898, 29879, 29901, 851, 29897, 1599, 851, 29901, 13, 1678, 9995, 29871];
const INF_S = [13, 1678, 736, 1121, 13];

/** One document through the layout with explicit cut points, framed like the transformer frames it. */
function layoutAt(doc: string, a: number, b: number, spm: boolean): number[] {
  const tok = codeLlamaTok();
  return [BOS, ...fimLayout(tok, fimTokens(tok), fimSplitAt(doc, a, b), spm), EOS];
}

test("PSM layout, token by token: <PRE> enc(prefix) <SUF> encInf(suffix) <MID> encInf(middle) <EOT>", () => {
  const doc = P + "x" + S;
  const L = codePointCount(P);
  // middle "x" has no implicit space: 29916 'x', not 921 '▁x' (§3.4)
  assert.deepEqual(layoutAt(doc, L, L + 1, false), [BOS, PRE, ...ENC_P, SUF, ...INF_S, MID, 29916, EOT, EOS]);
  // the cut points may come in either order
  assert.deepEqual(layoutAt(doc, L + 1, L, false), [BOS, PRE, ...ENC_P, SUF, ...INF_S, MID, 29916, EOT, EOS]);
});

test("SPM layout, token by token: <PRE> <SUF> encInf(suffix) <MID> enc(prefix + middle) <EOT>", () => {
  const doc = P + "x" + S;
  const L = codePointCount(P);
  // prefix and middle are encoded together: '""" ' + 'x' gives 9995 '"""' then 921 '▁x' (PSM has 29871, ..., 29916)
  assert.deepEqual(layoutAt(doc, L, L + 1, true), [BOS, PRE, SUF, ...INF_S, MID, ...ENC_P.slice(0, -1), 921, EOT, EOS]);
  // "def fibon|acci|(n):\n": PSM cuts the word, SPM encodes "def fibonacci" whole
  const d2 = "def fibonacci(n):\n";
  assert.deepEqual(layoutAt(d2, 9, 13, false), [BOS, PRE, 822, 18755, 265, SUF, 29898, 29876, 1125, 13, MID, 21566, EOT, EOS]);
  assert.deepEqual(layoutAt(d2, 9, 13, true), [BOS, PRE, SUF, 29898, 29876, 1125, 13, MID, 822, 18755, 265, 21566, EOT, EOS]);
});

test("the implicit space: only the PSM prefix and the SPM prefix+middle get it; a real leading space stays", () => {
  // "a| x|foo()": prefix "a" -> 263 '▁a' (implicit space); middle " x" -> 921 '▁x' (its real space, no extra one);
  // suffix "foo()" -> 5431 580 (no ▁: llama.cpp's old code, §4.5, would give ▁foo)
  assert.deepEqual(layoutAt("a xfoo()", 1, 3, false), [BOS, PRE, 263, SUF, 5431, 580, MID, 921, EOT, EOS]);
  // SPM: "a x" encoded whole -> 263 921
  assert.deepEqual(layoutAt("a xfoo()", 1, 3, true), [BOS, PRE, SUF, 5431, 580, MID, 263, 921, EOT, EOS]);
  const tok = codeLlamaTok();
  assert.deepEqual(tok.encodeInfilling("foo()"), [5431, 580]);
  assert.deepEqual(tok.encodeInfilling(" x"), [921]);
  assert.deepEqual(tok.encodeInfilling("x"), [29916]);
});

test("empty parts still give a valid layout: split at the start, at the end, empty document", () => {
  const L = codePointCount(P);
  // cuts at the end: prefix = document, middle = suffix = ""
  assert.deepEqual(layoutAt(P, L, L, false), [BOS, PRE, ...ENC_P, SUF, MID, EOT, EOS]);
  assert.deepEqual(layoutAt(P, L, L, true), [BOS, PRE, SUF, MID, ...ENC_P, EOT, EOS]);
  // cuts at the start: suffix = document
  assert.deepEqual(layoutAt(S, 0, 0, false), [BOS, PRE, SUF, ...INF_S, MID, EOT, EOS]);
  assert.deepEqual(layoutAt(S, 0, 0, true), [BOS, PRE, SUF, ...INF_S, MID, EOT, EOS]);
  // the whole document as the middle
  assert.deepEqual(layoutAt(S, 0, codePointCount(S), false), [BOS, PRE, SUF, MID, ...INF_S, EOT, EOS]);
  // an empty document
  assert.deepEqual(layoutAt("", 0, 0, false), [BOS, PRE, SUF, MID, EOT, EOS]);
  assert.deepEqual(layoutAt("", 0, 0, true), [BOS, PRE, SUF, MID, EOT, EOS]);
});

test("the split is by code point: surrogate pairs are never cut", () => {
  const doc = "a😀b";
  assert.equal(codePointCount(doc), 3);
  assert.deepEqual(fimSplitAt(doc, 1, 2), { prefix: "a", middle: "😀", suffix: "b" });
  assert.deepEqual(fimSplitAt(doc, 3, 0), { prefix: "", middle: "a😀b", suffix: "" });
});

// ------------------------------------------------------------------ property tests

const ALPHABET = [..."abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_", ..."()[]{}:;.,=+-*/<>\"'#", " ", " ", " ", "    ", "\n", "\n", "\t",
  "é", "ß", "中", "文", "Ж", "😀", "🦙", "\u0301", "☺", "\u00a0", "▁", "<PRE>", "<EOT>", "<SU", "\r"];

/** A random document: empty, whitespace-only, or mixed ASCII code and unicode (incl. ☺ and astral characters). */
function randomDoc(rng: Rng): string {
  const kind = rng.int(20);
  if (kind === 0) return "";
  if (kind === 1) return [" ", "\n", "\t", "  \n"][rng.int(4)].repeat(1 + rng.int(3));
  if (kind === 2) return ALPHABET[rng.int(ALPHABET.length)];
  const n = rng.int(120);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

/** Read the parts back from a FIM document's tokens by its sentinels. */
function partsFromTokens(tokens: number[], spm: boolean): FimParts {
  const tok = codeLlamaTok();
  assert.equal(tokens[0], BOS);
  assert.equal(tokens[tokens.length - 1], EOS);
  assert.equal(tokens[tokens.length - 2], EOT);
  assert.equal(tokens[1], PRE);
  const body = tokens.slice(2, -2);
  // each sentinel occurs exactly once in the body (text never produces them)
  for (const s of [SUF, MID]) assert.equal(body.filter((t) => t === s).length, 1);
  assert.ok(!body.includes(PRE) && !body.includes(EOT) && !body.includes(BOS) && !body.includes(EOS));
  const suf = body.indexOf(SUF), mid = body.indexOf(MID);
  if (spm) {
    assert.equal(suf, 0);
    return { prefix: "", middle: tok.decode(body.slice(mid + 1)), suffix: tok.decodeInfilling(body.slice(1, mid)) };
  }
  assert.ok(suf < mid);
  return { prefix: tok.decode(body.slice(0, suf)), middle: tok.decodeInfilling(body.slice(mid + 1)), suffix: tok.decodeInfilling(body.slice(suf + 1, mid)) };
}

test("10,000 random documents: parts concatenate to the document, layouts decode back, rates within 4.5 sigma", (t) => {
  const tok = codeLlamaTok();
  const N = 10_000;
  const docRng = new Rng(12345);
  const fim = new FimTransformer(tok, { ctx: 4096, fimRate: 0.9, spmRate: 0.5 }, new Rng(777));
  let nFim = 0, nSpm = 0;
  for (let i = 0; i < N; i++) {
    const doc = randomDoc(docRng);
    const r = fim.document(doc);
    if (!(r.flags & DOC_FIM)) {
      // plain: BOS + enc(doc) + EOS, decoding back to the document
      assert.deepEqual(r.tokens, tok.encode(doc, { bos: true, eos: true }));
      assert.equal(tok.decode(r.tokens.slice(1, -1)), doc.replace(/\u2581/g, " "));
      continue;
    }
    nFim++;
    const spm = (r.flags & DOC_SPM) !== 0;
    if (spm) nSpm++;
    const p = r.parts!;
    // 1. prefix + middle + suffix = document
    assert.equal(p.prefix + p.middle + p.suffix, doc, `document ${i}`);
    // 2. the layout is exactly the hand-assembled one
    const expect = spm
      ? [BOS, PRE, SUF, ...tok.encodeInfilling(p.suffix), MID, ...tok.encode(p.prefix + p.middle), EOT, EOS]
      : [BOS, PRE, ...tok.encode(p.prefix), SUF, ...tok.encodeInfilling(p.suffix), MID, ...tok.encodeInfilling(p.middle), EOT, EOS];
    assert.deepEqual(r.tokens, expect, `document ${i}`);
    // 3. and it decodes back to the parts (SPM: prefix + middle together); a literal "▁" in the
    //    text comes back as a space, as SentencePiece itself does it
    const back = partsFromTokens(r.tokens, spm);
    const sp = (x: string) => x.replace(/\u2581/g, " ");
    if (spm) assert.deepEqual({ pm: back.middle, s: back.suffix }, { pm: sp(p.prefix + p.middle), s: sp(p.suffix) });
    else assert.deepEqual(back, { prefix: sp(p.prefix), middle: sp(p.middle), suffix: sp(p.suffix) });
  }
  t.diagnostic(`FIM ${nFim} of ${N} (bound 9000 +- 135), SPM ${nSpm} of ${nFim} (bound ${nFim / 2} +- ${(4.5 * Math.sqrt(nFim) / 2).toFixed(0)})`);
  assert.equal(fim.counts.eligible, N);
  assert.equal(fim.counts.transformed, nFim);
  assert.deepEqual([fim.counts.psm, fim.counts.spm], [nFim - nSpm, nSpm]);
  // FIM count ~ Binomial(10000, 0.9): sigma = 30, so 4.5 sigma = 135
  assert.ok(Math.abs(nFim - 0.9 * N) <= 4.5 * Math.sqrt(N * 0.9 * 0.1), `FIM ${nFim} of ${N}`);
  // SPM count ~ Binomial(nFim, 0.5): 4.5 sigma = 4.5 * sqrt(nFim) / 2 (about 213)
  assert.ok(Math.abs(nSpm - 0.5 * nFim) <= 4.5 * Math.sqrt(nFim * 0.25), `SPM ${nSpm} of ${nFim}`);
});

test("cut points are two independent uniform draws over 0..L (mean prefix and suffix length within 4.5 sigma)", () => {
  const L = 60;
  const doc = "x".repeat(L);
  // min of two independent uniforms on 0..L: P(lo = k) = (2(L-k)+1)/(L+1)^2; the suffix length has the same law
  let mean = 0, m2 = 0;
  for (let k = 0; k <= L; k++) { const p = (2 * (L - k) + 1) / (L + 1) ** 2; mean += k * p; m2 += k * k * p; }
  const sd = Math.sqrt(m2 - mean * mean);
  const rng = new Rng(99);
  const n = 20_000;
  let sumPre = 0, sumSuf = 0, sumMid = 0;
  for (let i = 0; i < n; i++) {
    const p = fimSplit(doc, rng);
    sumPre += p.prefix.length; sumSuf += p.suffix.length; sumMid += p.middle.length;
  }
  const bound = 4.5 * sd / Math.sqrt(n);
  assert.ok(Math.abs(sumPre / n - mean) <= bound, `mean prefix ${sumPre / n} vs ${mean}`);
  assert.ok(Math.abs(sumSuf / n - mean) <= bound, `mean suffix ${sumSuf / n} vs ${mean}`);
  assert.equal(sumPre + sumMid + sumSuf, n * L);
});

test("rates 0 and 1; documents that do not fit are never transformed; a FIM form that outgrows ctx stays plain", () => {
  const tok = codeLlamaTok();
  const docs = ["def f(x):\n    return x\n", "", "print('hi')\n"];
  const none = new FimTransformer(tok, { ctx: 64, fimRate: 0, spmRate: 0.5 }, new Rng(1));
  for (const d of docs) assert.equal(none.document(d).flags, 0);
  const all = new FimTransformer(tok, { ctx: 64, fimRate: 1, spmRate: 0 }, new Rng(1));
  for (const d of docs) assert.equal(all.document(d).flags, DOC_FIM);
  const spm = new FimTransformer(tok, { ctx: 64, fimRate: 1, spmRate: 1 }, new Rng(1));
  for (const d of docs) assert.equal(spm.document(d).flags, DOC_FIM | DOC_SPM);
  // plain length 11 + 2 = 13 tokens: with ctx 12 not eligible; with ctx 13 eligible but the FIM form (>= 17) is too long
  const doc = "a b c d e f g h i j k";
  assert.equal(tok.encode(doc, { bos: true, eos: true }).length, 13);
  const t12 = new FimTransformer(tok, { ctx: 12, fimRate: 1, spmRate: 0.5 }, new Rng(1));
  assert.deepEqual(t12.document(doc), { tokens: tok.encode(doc, { bos: true, eos: true }), flags: 0 });
  assert.equal(t12.counts.notEligible, 1);
  const t13 = new FimTransformer(tok, { ctx: 13, fimRate: 1, spmRate: 0.5 }, new Rng(1));
  assert.equal(t13.document(doc).flags, 0);
  assert.deepEqual({ ...t13.counts }, { eligible: 1, transformed: 0, psm: 0, spm: 0, tooLongAfterTransform: 1, notEligible: 0 });
});

test("a vocabulary without the FIM pieces cannot be used with a FIM rate above 0", () => {
  assert.throws(() => new FimTransformer(llamaTok(), { ctx: 64, fimRate: 0.9, spmRate: 0.5 }, new Rng(1)), /cannot fill in the middle/);
  const plain = new FimTransformer(llamaTok(), { ctx: 64, fimRate: 0, spmRate: 0.5 }, new Rng(1));
  assert.deepEqual(plain.document("x").tokens, [1, 921, 2]);
});
