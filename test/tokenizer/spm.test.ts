/**
 * Agreement with Debian's SentencePiece (spm_train / spm_encode / spm_decode) on real code.
 *
 * A BPE model with byte fallback is trained like Llama's (identity normalisation, no extra
 * whitespace removal, split digits, whitespace-only pieces, plus user-defined and control
 * symbols to exercise those paths) on a sample of Python standard-library files (topped up with
 * node_modules JavaScript where the Python installation is small; see `sourcePaths`). Then at least
 * 2,000 other files are encoded line by line (spm_encode reads one sentence per line) by
 * spm_encode and by our tokenizer loading the same tokenizer.model: every line must give
 * identical ids. Variants of the model (UNUSED pieces, whitespace removal, no dummy prefix,
 * no byte fallback) are checked on a subset. If the tools are missing the test fails and says
 * to `apt-get install sentencepiece`.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { editSpmModel, sourcePaths, readSources, requireSpmTools, spmDecode, spmEncodeLines, spread, trainSpm, type SourceFile } from "./spm-tools.js";

const MIN_FILES = 2000;
const LLAMA_LIKE_FLAGS = [
  "--model_type=bpe", "--vocab_size=8000", "--byte_fallback=true", "--normalization_rule_name=identity",
  "--remove_extra_whitespaces=false", "--split_digits=true", "--allow_whitespace_only_pieces=true",
  "--max_sentencepiece_length=16", "--character_coverage=0.9999", "--hard_vocab_limit=false",
  "--user_defined_symbols=<FILL_ME>,self", "--control_symbols=<PRE>,<SUF>,<MID>,<EOT>",
  "--shuffle_input_sentence=false", "--num_threads=2",
];

let trainFiles: SourceFile[] = [];
let encodeSet: SourceFile[] = [];
let model = "";

before(() => {
  requireSpmTools();
  const paths = sourcePaths(MIN_FILES + 100);
  if (paths.length < MIN_FILES + 100) throw new Error(`only ${paths.length} source files found (Python library, node_modules); the SentencePiece agreement test needs ${MIN_FILES + 100}`);
  // Training sample: every 9th file, up to 2 MB. The encode set: 2,100 files spread over the
  // rest, or over all of them when there are too few (training on some of them does no harm).
  trainFiles = readSources(paths.filter((_, i) => i % 9 === 4));
  let corpus = "";
  for (const f of trainFiles) { if (corpus.length > 2e6) break; corpus += f.text.endsWith("\n") ? f.text : f.text + "\n"; }
  model = trainSpm("llama-like", corpus, LLAMA_LIKE_FLAGS);
  const rest = paths.filter((_, i) => i % 9 !== 4);
  encodeSet = readSources(spread(rest.length >= MIN_FILES + 100 ? rest : paths, MIN_FILES + 100));
});

/** The lines spm_encode sees for a file ('\n'-separated; a final newline ends the last line). */
function linesOf(f: SourceFile): string[] {
  const lines = f.text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Encode every line of `set` with spm_encode and with `tok`; return the mismatches. */
async function compare(tok: Tokenizer, modelPath: string, set: SourceFile[], extra: string[] = []) {
  const owners: string[] = [];
  const lines: string[] = [];
  for (const f of set) for (const l of linesOf(f)) { lines.push(l); owners.push(f.path); }
  for (const l of extra) { lines.push(l); owners.push("(extra)"); }
  // spm_encode runs in the background while we encode.
  const pending = spmEncodeLines(modelPath, lines);
  const ours = lines.map((l) => tok.encode(l));
  const want = await pending;
  const bad: { file: string; line: string; want: string; got: string }[] = [];
  const badFiles = new Set<string>();
  lines.forEach((l, i) => {
    const got = ours[i];
    if (got.length !== want[i].length || got.some((x, k) => x !== want[i][k])) {
      badFiles.add(owners[i]);
      if (bad.length < 5) bad.push({ file: owners[i], line: l, want: want[i].join(" "), got: got.join(" ") });
    }
  });
  return { lines, want, bad, badFiles, nFiles: new Set(owners).size };
}

test(`spm_encode and our tokenizer agree on every line of ≥ ${MIN_FILES} files of real code (Python library)`, async (t) => {
  const tok = Tokenizer.fromSentencePieceModel(readFileSync(model), model);
  assert.ok(tok.vocabSize > 4000, `vocabulary of ${tok.vocabSize}`);
  assert.equal(tok.id("self") !== undefined && tok.id("<PRE>") !== undefined, true);
  const r = await compare(tok, model, encodeSet);
  assert.ok(r.nFiles >= MIN_FILES, `${r.nFiles} files compared`);
  assert.deepEqual(r.bad, [], `${r.badFiles.size} of ${r.nFiles} files differ`);
  // The user-defined piece "self" and byte fallback were both exercised.
  assert.ok(r.want.filter((ids) => ids.includes(tok.id("self")!)).length > 1000);
  assert.ok(r.want.some((ids) => ids.includes(tok.id("<0x09>")!)), "a tab (byte fallback) somewhere");
  t.diagnostic(`spm agreement: ${r.nFiles} files, ${r.lines.length} lines, ${r.want.reduce((a, w) => a + w.length, 0)} tokens identical`);
  // Every line decodes back to itself.
  const notRoundTrip = r.lines.filter((l, i) => tok.decode(r.want[i]) !== l);
  assert.deepEqual(notRoundTrip.slice(0, 5), []);
});

test("spm_decode and our decode agree (real ids and random ids, byte pieces included)", async () => {
  const tok = Tokenizer.fromSentencePieceModel(readFileSync(model), model);
  const lines = encodeSet.slice(0, 100).flatMap(linesOf);
  const seqs = (await spmEncodeLines(model, lines)).filter((s) => s.length > 0);
  // Random sequences: any id, with a bias to byte pieces (ids 3..262 here) to make broken UTF-8.
  let x = 12345;
  const rnd = (m: number) => { x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff; return x % m; };
  const newline = new Set([tok.id("<0x0A>"), tok.id("<0x0D>")]);
  for (let k = 0; k < 3000; k++) {
    const s: number[] = [];
    for (let j = 1 + rnd(12); j > 0; j--) {
      const id = rnd(2) ? rnd(tok.vocabSize) : rnd(270);
      if (!newline.has(id)) s.push(id);
    }
    if (s.length) seqs.push(s);
  }
  const want = spmDecode(model, seqs);
  const bad = seqs.map((s, i) => ({ ids: s.join(" "), want: want[i], got: tok.decode(s) })).filter((d) => d.want !== d.got);
  assert.deepEqual(bad.slice(0, 5), []);
  // And the streaming decoder gives the same text.
  for (const s of seqs.slice(-500)) {
    const d = tok.streamDecoder();
    assert.equal(s.map((id) => d.push(id)).join("") + d.flush(), tok.decode(s));
  }
});

test("variant: UNUSED pieces are resegmented exactly like SentencePiece", async () => {
  const bytes = readFileSync(model);
  const base = Tokenizer.fromSentencePieceModel(bytes, model);
  // Every 5th multi-character normal piece becomes UNUSED.
  const types = new Map<number, number>();
  for (let id = 0; id < base.vocabSize; id++) {
    const p = base.piece(id);
    if ([...p].length > 1 && id % 5 === 0 && !/^<.*>$/.test(p) && p !== "self") types.set(id, 5);
  }
  const path = trainSpmPath(model, "unused");
  writeModel(path, editSpmModel(bytes, { pieceTypes: types }));
  const tok = Tokenizer.fromSentencePieceModel(readFileSync(path), path);
  const r = await compare(tok, path, encodeSet.slice(0, 400));
  assert.deepEqual(r.bad, []);
  // The variant must really change things: many lines tokenize differently than with the
  // base model, and no UNUSED id survives resegmentation.
  const changed = r.lines.filter((l, i) => base.encode(l).join(" ") !== r.want[i].join(" ")).length;
  assert.ok(changed > r.lines.length / 10, `only ${changed} of ${r.lines.length} lines changed`);
  assert.equal(r.want.some((ids) => ids.some((id) => types.has(id))), false);
});

test("variant: remove_extra_whitespaces on, dummy prefix off", async () => {
  const bytes = readFileSync(model);
  for (const edits of [{ removeExtraWhitespaces: true }, { addDummyPrefix: false }, { removeExtraWhitespaces: true, addDummyPrefix: false }]) {
    const path = trainSpmPath(model, JSON.stringify(edits).replace(/\W+/g, "-"));
    writeModel(path, editSpmModel(bytes, edits));
    const tok = Tokenizer.fromSentencePieceModel(readFileSync(path), path);
    if (edits.removeExtraWhitespaces) {
      assert.deepEqual(tok.encode("   lead  and trail   "), tok.encode("lead and trail"));
      assert.deepEqual(tok.encode("    "), []);
    }
    if (edits.addDummyPrefix === false) assert.deepEqual(tok.encode("def"), [tok.id("def")]);
    const extra = ["   lead and trail   ", "  ", "a  b   c", "▁ literal ▁", " ", "x ▁", "\t tab  "];
    const r = await compare(tok, path, encodeSet.slice(400, 700), extra);
    assert.deepEqual(r.bad, [], JSON.stringify(edits));
    const dec = spmDecode(path, r.want.filter((w) => w.length > 0).slice(0, 2000));
    assert.deepEqual(r.want.filter((w) => w.length > 0).slice(0, 2000).map((w) => tok.decode(w)).filter((s, i) => s !== dec[i]).slice(0, 3), []);
  }
});

test("variant: no byte fallback (unknown characters become one <unk> per run)", async () => {
  let corpus = "";
  for (const f of trainFiles) { if (corpus.length > 4e5) break; corpus += f.text.endsWith("\n") ? f.text : f.text + "\n"; }
  const path = trainSpm("no-byte-fallback", corpus, [
    "--model_type=bpe", "--vocab_size=1000", "--normalization_rule_name=identity", "--character_coverage=0.995",
    "--shuffle_input_sentence=false", "--num_threads=2", "--hard_vocab_limit=false",
  ]);
  const tok = Tokenizer.fromSentencePieceModel(readFileSync(path), path);
  const extra = ["日本語 テキスト 😀😀 a😀b", "Ünïcödé ☺☺☺ ok", "\u0000\u0001\u0002 ctl", "é", "😀"];
  const r = await compare(tok, path, encodeSet.slice(700, 900), extra);
  assert.deepEqual(r.bad, []);
  assert.ok(r.want.some((ids) => ids.includes(tok.special.unk)), "some line must contain <unk>");
  const nonEmpty = r.want.filter((w) => w.length > 0).slice(0, 3000);
  const dec = spmDecode(path, nonEmpty);
  assert.deepEqual(nonEmpty.map((w) => tok.decode(w)).filter((s, i) => s !== dec[i]).slice(0, 3), []);
});

/** Edited models live beside the trained one. */
function trainSpmPath(base: string, tagName: string): string {
  return base.replace(/\.model$/, `.${tagName}.model`);
}
function writeModel(path: string, bytes: Uint8Array): void {
  writeFileAtomic(path, bytes);
}
