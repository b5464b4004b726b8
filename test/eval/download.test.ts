// Dataset sources: the pinned checksums are those of ../shared/data (PROVENANCE.md) and the file
// names those the loaders read; --data as a root or as the folder itself; the cache filled by a
// download from a loopback HTTP server (never the network), kept only when the sha256 matches.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BENCHMARKS, datasetFile, datasetFolder } from "../../src/eval/datasets.js";
import { DATA_FILES, dataCacheRoot, fetchVerified, resolveBenchmarkData, resolveDataFolder, sha256File, type DataFile } from "../../src/eval/download.js";
import { UserError } from "../../src/util/errors.js";
import { SCRATCH, SHARED_DATA } from "../helpers/paths.js";

// One folder per test process: concurrent runs of the suite must not delete each other's files.
const DIR = join(SCRATCH, `eval-download-${process.pid}`);
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));

// A loopback server for the shared data files: GET /<folder>/<file>; /broken/* serves wrong bytes.
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  const path = decodeURIComponent(req.url ?? "");
  if (path.startsWith("/broken/")) { res.writeHead(200); res.end("not the file"); return; }
  const file = join(SHARED_DATA, path);
  if (!path.includes("..") && existsSync(file)) { res.writeHead(200); res.end(readFileSync(file)); return; }
  res.writeHead(404); res.end("no");
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const BASE = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

test("DATA_FILES: the shared copies have the pinned sha256, and the names are the loaders'", () => {
  for (const b of BENCHMARKS) {
    const files = DATA_FILES[b];
    assert.equal(files[0].folder, datasetFolder(b));
    assert.equal(files[0].file, datasetFile(b));
    for (const f of files) {
      assert.equal(sha256File(join(SHARED_DATA, f.folder, f.file)), f.sha256, `${f.folder}/${f.file}`);
      assert.match(f.url, /^https:\/\/(raw\.githubusercontent\.com|github\.com)\//);
    }
  }
  assert.deepEqual(DATA_FILES["mbpp-plus"].map((f) => f.folder), ["mbpp-plus", "mbpp"]);
});

test("fetchVerified: kept only when the checksum matches; HTTP and connection errors are one-line UserErrors", async () => {
  const f = DATA_FILES.humaneval[0];
  const dest = join(DIR, "fetched", "HumanEval.jsonl.gz");
  await fetchVerified(`${BASE}/humaneval/HumanEval.jsonl.gz`, f.sha256, dest);
  assert.equal(sha256File(dest), f.sha256);
  const bad = join(DIR, "fetched", "bad.gz");
  await assert.rejects(fetchVerified(`${BASE}/broken/x`, f.sha256, bad), (e: unknown) => e instanceof UserError && /its sha256 is [0-9a-f]{64}, not the expected/.test(e.message));
  assert.equal(existsSync(bad), false);
  assert.deepEqual(readdirSync(join(DIR, "fetched")), ["HumanEval.jsonl.gz"]); // no temp files left
  await assert.rejects(fetchVerified(`${BASE}/nothing/here`, f.sha256, bad), (e: unknown) => e instanceof UserError && /HTTP 404/.test(e.message));
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(fetchVerified(`http://127.0.0.1:${port}/x`, f.sha256, bad), (e: unknown) => e instanceof UserError && /ECONNREFUSED.*--data PATH/.test(e.message));
});

test("resolveDataFolder: --data as the root, as the folder itself; a missing folder is a UserError", async () => {
  assert.equal(await resolveDataFolder("humaneval", "humaneval", { data: SHARED_DATA }), join(SHARED_DATA, "humaneval"));
  assert.equal(await resolveDataFolder("humaneval", "humaneval", { data: join(SHARED_DATA, "humaneval") }), join(SHARED_DATA, "humaneval"));
  const both = await resolveBenchmarkData("mbpp-plus", { data: join(SHARED_DATA, "mbpp-plus") });
  assert.deepEqual(both, { dataDir: join(SHARED_DATA, "mbpp-plus"), shotsDir: join(SHARED_DATA, "mbpp") });
  await assert.rejects(resolveDataFolder("humaneval", "humaneval", { data: DIR }), (e: unknown) => e instanceof UserError && e.message.includes("no humaneval/HumanEval.jsonl.gz there"));
  await assert.rejects(resolveDataFolder("humaneval", "humaneval", { data: join(DIR, "nope") }), (e: unknown) => e instanceof UserError && /--data: no such file or folder/.test(e.message));
});

test("resolveDataFolder: the cache is filled on first use, then used without fetching", async () => {
  const saved = process.env.CODELLAMA_CACHE;
  process.env.CODELLAMA_CACHE = join(DIR, "cache");
  try {
    const local: Record<string, DataFile[]> = {};
    for (const b of BENCHMARKS) local[b] = DATA_FILES[b].map((f) => ({ ...f, url: `${BASE}/${f.folder}/${f.file}` }));
    const files = local as unknown as typeof DATA_FILES;
    const notes: string[] = [];
    const before = hits;
    const dir = await resolveDataFolder("humaneval-infill-single", "humaneval-infilling", { files, onNote: (m) => notes.push(m) });
    assert.equal(dir, join(dataCacheRoot(), "humaneval-infilling"));
    assert.equal(dataCacheRoot(), join(DIR, "cache", "data"));
    assert.deepEqual(readdirSync(dir), ["HumanEval-SingleLineInfilling.jsonl.gz"]);
    assert.equal(hits - before, 1);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /^downloading HumanEval-SingleLineInfilling\.jsonl\.gz from http/);
    await resolveDataFolder("humaneval-infill-single", "humaneval-infilling", { files });
    assert.equal(hits - before, 1); // cached: no second fetch
    // A source whose bytes are wrong leaves nothing in the cache.
    const broken = { ...files, humaneval: [{ ...files.humaneval[0], url: `${BASE}/broken/HumanEval.jsonl.gz` }] };
    await assert.rejects(resolveDataFolder("humaneval", "humaneval", { files: broken }), UserError);
    assert.equal(existsSync(join(dataCacheRoot(), "humaneval", "HumanEval.jsonl.gz")), false);
  } finally {
    if (saved === undefined) delete process.env.CODELLAMA_CACHE; else process.env.CODELLAMA_CACHE = saved;
  }
});
