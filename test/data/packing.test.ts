// Packing and the dataset format: exact sequence layouts for hand-made documents, BOS/EOS and
// document boundaries in a real build, round-trip decoding (plain and FIM documents),
// determinism (same seed, same bytes; different seed, different), the atomic dataset folder,
// and the reader's checks.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDataset } from "../../src/data/build.js";
import { DatasetDir } from "../../src/data/dataset-dir.js";
import { DOC_FIM, type DatasetManifest } from "../../src/data/format.js";
import { Packer } from "../../src/data/packer.js";
import { PackedDataset } from "../../src/data/reader.js";
import { splitDocuments, validationCount } from "../../src/data/split.js";
import { SplitWriter } from "../../src/data/writer.js";
import { FormatError, UserError } from "../../src/util/errors.js";
import { codeLlamaTok } from "../prompt/vocab.js";
import { FIXTURE_MAX_BYTES, scratchDir, writeFixtureTree } from "./fixture.js";

const dir = scratchDir("packing");
const tree = join(dir, "tree");
const kept = writeFixtureTree(tree);
after(() => rmSync(dir, { recursive: true, force: true }));

const fakeManifest = (ctx: number): DatasetManifest => ({
  format: "codellama-packed", version: 1, kind: "pretrain", ctx, tokenBytes: 2, padId: 2, seed: 0,
  tokenizer: { file: "-", sha256: "-", vocabSize: 32016, bos: 1, eos: 2 }, options: {}, splits: {} as DatasetManifest["splits"],
});

test("packer: first fit, long documents in ctx-sized chunks, padding at the end of a sequence, exact layout", () => {
  const out = join(dir, "hand");
  const d = new DatasetDir(out);
  const w = new SplitWriter(d.tmp, "train", 8, 2, 2);
  const p = new Packer(w, 2);
  const docs = [[1, 5, 6, 2], [1, 7, 2], [1, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 2], [1, 9, 2], [1, 3, 3, 3, 3, 3, 3, 2]];
  p.add(docs[0]);
  p.add(docs[1], DOC_FIM, [0, 1, 1]);
  for (const x of docs.slice(2)) p.add(x);
  p.finish();
  w.finish();
  new SplitWriter(d.tmp, "val", 8, 2, 2).finish();
  d.commit(fakeManifest(8));
  const ds = PackedDataset.open(out);
  const seqs = Array.from({ length: ds.numSequences }, (_, s) => ({ t: [...ds.tokens(s)], m: [...ds.mask(s)].join(""), seg: ds.segments(s), ids: [...ds.segmentIds(s)], pos: [...ds.positions(s)] }));
  // doc 2 (12 tokens): chunk 0 fills a sequence at once; its 4-token rest and doc 3 share a sequence with padding
  assert.deepEqual(seqs.map((s) => s.t), [
    [1, 8, 8, 8, 8, 8, 8, 8],
    [1, 3, 3, 3, 3, 3, 3, 2],
    [1, 5, 6, 2, 1, 7, 2, 2],
    [8, 8, 8, 2, 1, 9, 2, 2],
  ]);
  assert.deepEqual(seqs.map((s) => s.m), ["11111111", "11111111", "11110110", "11111110"]);
  assert.deepEqual(seqs[2].seg, [{ pos: 0, len: 4, doc: 0, part: 0 }, { pos: 4, len: 3, doc: 1, part: 0 }]);
  assert.deepEqual(seqs[3].seg, [{ pos: 0, len: 4, doc: 2, part: 1 }, { pos: 4, len: 3, doc: 3, part: 0 }]);
  assert.deepEqual(seqs[3].ids, [0, 0, 0, 0, 1, 1, 1, -1]);
  assert.deepEqual(seqs[3].pos, [0, 1, 2, 3, 0, 1, 2, 0]);
  docs.forEach((x, i) => assert.deepEqual([...ds.document(i).tokens], x));
  assert.deepEqual(ds.documentInfo(1), { tokens: 3, fim: true, spm: false, instruct: false });
  assert.deepEqual([...ds.document(1).mask], [0, 1, 1]);
  // bytes: uint16 little-endian, sequence s at s * ctx * 2
  const bin = readFileSync(join(out, "train.bin"));
  assert.equal(bin.length, 4 * 8 * 2);
  assert.equal(bin.readUInt16LE(2 * 8 * 2 + 2), 5);
  assert.throws(() => ds.tokens(4), RangeError);
  ds.close();
});

test("a real build: BOS at every document start, EOS at every document end, nowhere else; plain documents decode back", () => {
  const out = join(dir, "plain");
  const tok = codeLlamaTok();
  const { manifest } = buildDataset({ src: [tree], out, tokenizer: tok, tokenizerFile: "v", languages: ["py", "js"], ctx: 300, val: 0.2, fimRate: 0, filter: { maxBytes: FIXTURE_MAX_BYTES } });
  const texts: string[] = [];
  for (const split of ["train", "val"] as const) {
    const ds = PackedDataset.open(out, split);
    assert.equal(ds.numSequences, manifest.splits[split].sequences);
    let docTokens = 0, pad = 0;
    for (let s = 0; s < ds.numSequences; s++) {
      const t = ds.tokens(s), m = ds.mask(s), segs = ds.segments(s);
      let end = 0;
      for (const g of segs) {
        assert.equal(g.pos, end, "segments are contiguous from position 0");
        end = g.pos + g.len;
        const info = ds.documentInfo(g.doc);
        const last = g.part * 300 + g.len === info.tokens;
        for (let i = g.pos; i < end; i++) {
          const isFirst = g.part === 0 && i === g.pos, isLast = last && i === end - 1;
          assert.equal(t[i] === 1, isFirst, `BOS only at a document start (seq ${s}, pos ${i})`);
          assert.equal(t[i] === 2, isLast, `EOS only at a document end (seq ${s}, pos ${i})`);
          assert.equal(m[i], 1);
        }
        docTokens += g.len;
      }
      for (let i = end; i < 300; i++) { assert.equal(t[i], 2); assert.equal(m[i], 0); pad++; }
    }
    assert.equal(docTokens, manifest.splits[split].tokens);
    assert.equal(pad, manifest.splits[split].padTokens);
    for (let d = 0; d < ds.numDocuments; d++) texts.push(tok.decode(ds.document(d).tokens.subarray(1, -1)));
    ds.close();
  }
  assert.equal(manifest.splits.val.documents, 1);
  assert.equal(manifest.splits.train.documents, 4);
  assert.ok(manifest.splits.train.splitDocuments > 0, "some documents are longer than 300 tokens");
  assert.deepEqual(texts.sort(), [...kept.values()].sort());
});

test("FIM documents in a build decode back to their text; counts add up", () => {
  const out = join(dir, "fim");
  const tok = codeLlamaTok();
  // small documents: each kept file cut into many 3-line files, so most fit in ctx 256
  const small = join(dir, "small");
  mkdirSync(small);
  const written = new Set<string>();
  let n = 0;
  for (const text of kept.values()) {
    const lines = text.split("\n");
    for (let i = 0; i + 3 <= lines.length; i += 3) {
      const t = lines.slice(i, i + 3).join("\n") + "\n";
      writeFileSync(join(small, `f${String(n++).padStart(4, "0")}.py`), t);
      written.add(t);
    }
  }
  const { manifest } = buildDataset({ src: [small], out, tokenizer: tok, tokenizerFile: "v", languages: ["py"], ctx: 256, val: 0, fimRate: 0.9, spmRate: 0.5, seed: 7 });
  const s = manifest.splits.train;
  assert.equal(s.documents, manifest.dedup!.kept);
  assert.equal(s.fim.eligible + s.fim.notEligible, s.documents);
  assert.equal(s.fim.transformed, s.fim.psm + s.fim.spm);
  assert.ok(s.fim.psm > 0 && s.fim.spm > 0 && s.fim.transformed < s.fim.eligible);
  const ds = PackedDataset.open(out, "train");
  let fim = 0, spm = 0;
  const back: string[] = [];
  for (let d = 0; d < ds.numDocuments; d++) {
    const info = ds.documentInfo(d);
    const t = [...ds.document(d).tokens];
    assert.equal(t[0], 1);
    assert.equal(t[t.length - 1], 2);
    if (!info.fim) { back.push(tok.decode(t.slice(1, -1))); continue; }
    fim++;
    assert.equal(t[t.length - 2], 32010);
    const [suf, mid] = [t.indexOf(32008), t.indexOf(32009)];
    let text: string;
    if (info.spm) {
      spm++;
      assert.deepEqual(t.slice(1, 3), [32007, 32008]);
      text = tok.decode(t.slice(mid + 1, -2)) + tok.decodeInfilling(t.slice(3, mid));
    } else {
      assert.equal(t[1], 32007);
      text = tok.decode(t.slice(2, suf)) + tok.decodeInfilling(t.slice(mid + 1, -2)) + tok.decodeInfilling(t.slice(suf + 1, mid));
    }
    back.push(text);
  }
  // every document, FIM or not, decodes back to one of the files, each file at most once
  assert.equal(new Set(back).size, back.length);
  for (const t of back) assert.ok(written.has(t), JSON.stringify(t));
  assert.equal(back.length, manifest.dedup!.kept);
  assert.equal(fim, s.fim.transformed);
  assert.equal(spm, s.fim.spm);
  ds.close();
});

test("determinism: the same seed gives the same bytes; another seed gives other bytes", () => {
  const opts = { src: [tree], tokenizer: codeLlamaTok(), tokenizerFile: "v", languages: ["py", "js"], ctx: 128, val: 0.25, filter: { maxBytes: FIXTURE_MAX_BYTES } };
  buildDataset({ ...opts, out: join(dir, "s1"), seed: 1 });
  buildDataset({ ...opts, out: join(dir, "s1b"), seed: 1 });
  buildDataset({ ...opts, out: join(dir, "s2"), seed: 2 });
  const files = readdirSync(join(dir, "s1")).sort();
  assert.deepEqual(files, ["manifest.json", "train.bin", "train.idx", "train.mask", "val.bin", "val.idx", "val.mask"]);
  for (const f of files) assert.ok(readFileSync(join(dir, "s1", f)).equals(readFileSync(join(dir, "s1b", f))), f);
  assert.ok(!readFileSync(join(dir, "s1", "train.bin")).equals(readFileSync(join(dir, "s2", "train.bin"))));
  assert.ok(!readFileSync(join(dir, "s1", "manifest.json")).equals(readFileSync(join(dir, "s2", "manifest.json"))));
});

test("split: by document, deterministic, at least one of each when asked", () => {
  assert.deepEqual(splitDocuments(10, 0.2, 3), splitDocuments(10, 0.2, 3));
  const s = splitDocuments(100, 0.1, 3);
  assert.equal(s.val.length, 10);
  assert.deepEqual([...s.val, ...s.train].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([validationCount(5, 0.01), validationCount(1, 0.5), validationCount(5, 0), validationCount(2, 0.99)], [1, 0, 0, 1]);
});

test("an interrupted build leaves no dataset and no temporary folder; an existing dataset needs --force", () => {
  const out = join(dir, "interrupted");
  const opts = { src: [tree], out, tokenizer: codeLlamaTok(), tokenizerFile: "v", languages: ["py", "js"], ctx: 128, filter: { maxBytes: FIXTURE_MAX_BYTES } };
  assert.throws(() => buildDataset({ ...opts, onProgress: (stage, done) => { if (stage === "tokenize" && done === 3) throw new Error("interrupted"); } }), /interrupted/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".interrupted")), []);
  buildDataset(opts);
  assert.throws(() => buildDataset(opts), (e: Error) => e instanceof UserError && /already exists; use --force/.test(e.message));
  buildDataset({ ...opts, force: true, seed: 5 });
  assert.equal(PackedDataset.open(out).manifest.seed, 5);
  assert.throws(() => buildDataset({ ...opts, out: tree, force: true }), /not a dataset \(no manifest\.json\); refusing/);
});

test("reader: a truncated index or token file is a FormatError naming the file", () => {
  const out = join(dir, "s1");
  const idx = readFileSync(join(out, "train.idx"));
  writeFileSync(join(out, "train.idx"), idx.subarray(0, idx.length - 4));
  assert.throws(() => PackedDataset.open(out), (e: Error) => e instanceof FormatError && /train\.idx: at byte 0, size/.test(e.message));
  writeFileSync(join(out, "train.idx"), idx);
  const bin = readFileSync(join(out, "train.bin"));
  writeFileSync(join(out, "train.bin"), bin.subarray(0, bin.length - 2));
  assert.throws(() => PackedDataset.open(out), /train\.bin: at byte 0, size/);
  assert.throws(() => PackedDataset.open(dir), /not a dataset \(no manifest\.json\)/);
});
