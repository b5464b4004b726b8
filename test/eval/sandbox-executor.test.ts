// The Executor's mechanics: results go to the right caller under load, the status mapping, large
// and non-ASCII programs, a dead fork server is replaced, SysV IPC leftovers recycle the slot,
// the seccomp filter's shape, and the one-line error for a missing interpreter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Executor, classify, type ServerReply } from "../../src/eval/sandbox/index.js";
import { seccompFilter } from "../../src/eval/sandbox/seccomp.js";
import { UserError } from "../../src/util/errors.js";
import { descendants } from "./sandbox-helpers.js";

let ex: Executor;
before(async () => { ex = await Executor.create({ workers: 2, memoryMb: 256 }); });
after(async () => { await ex.close(); });

test("60 queued runs over 2 slots: each caller gets its own program's result", async () => {
  const rs = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    ex.run(`print(${i})\nassert ${i} % 3 != 0, "multiple of three"`, { timeoutMs: 5000 })));
  rs.forEach((r, i) => {
    assert.equal(r.output, `${i}\n`);
    assert.deepEqual([r.status, r.reason], i % 3 === 0 ? ["failed", "AssertionError: multiple of three"] : ["passed", ""]);
    assert.ok(r.ms > 0 && r.ms < 5000);
  });
});

test("large and non-ASCII programs", async () => {
  const big = "data = " + JSON.stringify("é€😀".repeat(100_000)) + "\nassert len(data) == 300000\nprint('ok ✓')";
  const r = await ex.run(big, { timeoutMs: 10_000 });
  assert.deepEqual([r.status, r.output], ["passed", "ok ✓\n"]);
  const s = await ex.run("def f(:\n    pass", { timeoutMs: 3000 });
  assert.equal(s.status, "failed");
  assert.match(s.reason, /^SyntaxError: /);
  const n = await ex.run("print('a\\x00b')", { timeoutMs: 3000 });
  assert.equal(n.output, "a\u0000b\n");
});

test("status mapping", () => {
  const base: ServerReply = { id: 1, code: 0, signal: null, ms: 12.34, timedOut: false, outputLimit: false, out: "", res: "NONCE abc\n", oom: 0, leftovers: 0, clean: true, recycle: false };
  const c = (o: Partial<ServerReply>) => { const r = classify({ ...base, ...o }, "abc", 3000); return [r.status, r.reason]; };
  assert.deepEqual(c({}), ["passed", ""]);
  assert.deepEqual(c({ res: "NONCE abd\n" }), ["failed", "no nonce"]);
  assert.deepEqual(c({ res: "" }), ["failed", "no nonce"]);
  assert.deepEqual(c({ code: 1, res: "EXC ValueError: bad\n" }), ["failed", "ValueError: bad"]);
  assert.deepEqual(c({ code: 3, res: "" }), ["failed", "exit code 3"]);
  assert.deepEqual(c({ timedOut: true, code: null, signal: 9 }), ["timeout", "exceeded 3 s"]);
  assert.deepEqual(c({ code: null, signal: 24, res: "" }), ["timeout", "CPU time limit"]);
  assert.deepEqual(c({ code: null, signal: 9, oom: 1, res: "" }), ["killed", "memory limit"]);
  assert.deepEqual(c({ code: null, signal: 25, res: "" }), ["killed", "file size limit"]);
  assert.deepEqual(c({ code: null, signal: 11, res: "" }), ["killed", "killed by SIGSEGV"]);
  assert.deepEqual(c({ outputLimit: true }), ["killed", "output limit"]);
  assert.deepEqual(c({ code: 70, res: "SETUP PermissionError()\n" }), ["error", "sandbox setup failed: PermissionError()"]);
  assert.deepEqual(c({ error: "OSError: x" }), ["error", "sandbox: OSError: x"]);
  // A program that passed keeps its pass even if a helper it started was OOM-killed.
  assert.deepEqual(c({ oom: 1 }), ["passed", ""]);
});

test("fork servers that die are replaced; the run in flight is retried once on a fresh one", async () => {
  const slow = ex.run("import time\ntime.sleep(1.5)\nprint('slept')", { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 500));
  // The servers are the python processes whose parent is bwrap's init (a fork of a server has a server as parent).
  const procs = descendants();
  const servers = procs.filter((p) => p.cmd.startsWith("/usr/bin/python3") && procs.some((q) => q.pid === p.ppid && q.cmd.startsWith("/usr/bin/bwrap")));
  assert.equal(servers.length, 2);
  for (const s of servers) process.kill(s.pid, "SIGKILL");
  const r = await slow;
  assert.deepEqual([r.status, r.output], ["passed", "slept\n"]);
  const after = descendants();
  assert.equal(after.filter((p) => servers.some((s) => s.pid === p.pid)).length, 0, "new servers");
  const next = await Promise.all([ex.run("assert True", { timeoutMs: 5000 }), ex.run("assert True", { timeoutMs: 5000 })]);
  assert.deepEqual(next.map((n) => n.status), ["passed", "passed"]);
  assert.deepEqual(descendants().filter((d) => d.uid !== 0), []);
});

test("SysV shared memory left by a run: the slot is recycled, the next run starts clean", async () => {
  const mk = "import ctypes\nlibc = ctypes.CDLL(None)\nassert libc.shmget(1234, 4096, 0o1666) >= 0";
  const look = "print(len(open('/proc/sysvipc/shm').read().strip().split('\\n')) - 1)";
  const rs = await Promise.all([ex.run(mk, { timeoutMs: 5000 }), ex.run(mk, { timeoutMs: 5000 })]);
  assert.deepEqual(rs.map((r) => r.status), ["passed", "passed"]);
  const after = await Promise.all([ex.run(look, { timeoutMs: 5000 }), ex.run(look, { timeoutMs: 5000 })]);
  assert.deepEqual(after.map((r) => r.output), ["0\n", "0\n"]);
});

test("after close() runs resolve with an error", async () => {
  const e2 = await Executor.create({ workers: 1, memoryMb: 128 });
  await e2.close();
  assert.deepEqual(await e2.run("assert True", { timeoutMs: 1000 }), { status: "error", reason: "executor closed", ms: 0 });
});

test("a missing interpreter is a one-line UserError", async () => {
  await assert.rejects(Executor.create({ python: "/nonexistent/python3" }), (e: unknown) =>
    e instanceof UserError && e.message === "/nonexistent/python3 not found: the sandbox runs programs with it (install Debian's python3, or pass another interpreter under /usr)");
});

test("seccomp filter: x86-64 BPF program, none elsewhere", () => {
  const f = seccompFilter("x64")!;
  assert.equal(f.length % 8, 0);
  assert.ok(f.length / 8 > 40 && f.length / 8 < 256);
  assert.deepEqual([f.readUInt16LE(0), f.readUInt32LE(4)], [0x20, 4]); // ld [4]: the architecture
  assert.equal(f.readUInt32LE(8 + 4), 0xc000003e); // jeq AUDIT_ARCH_X86_64
  const last = f.length - 8;
  assert.deepEqual([f.readUInt16LE(last), f.readUInt32LE(last + 4)], [0x06, 0x00050000 | 97]); // ret ERRNO(EAFNOSUPPORT)
  assert.equal(seccompFilter("arm64"), null);
});
