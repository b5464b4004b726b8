// The sandbox without its parts: no bubblewrap (bwrapPath: "/nonexistent"), no cgroups
// (cgroupRoot: "/nonexistent"), neither, and unsafeNoSandbox. Each warns about exactly what is
// lost, still enforces the timeouts and the nonce, and leaves no process behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Executor, type ExecutorOptions } from "../../src/eval/sandbox/index.js";
import { descendants } from "./sandbox-helpers.js";

async function withExecutor(opts: ExecutorOptions, fn: (ex: Executor, warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const ex = await Executor.create({ workers: 2, memoryMb: 256, ...opts, onWarning: (m) => warnings.push(m) });
  try {
    await fn(ex, warnings);
  } finally {
    await ex.close();
  }
  assert.deepEqual(descendants().map((p) => `${p.pid} uid ${p.uid} ${p.cmd}`), [], "nothing left after close()");
}

/** The checks every mode must pass: pass, fail, nonce, timeout, a setsid'd leftover killed. */
async function basics(ex: Executor): Promise<void> {
  const run = (src: string, timeoutMs = 3000) => ex.run(src, { timeoutMs });
  const pick = async (src: string, timeoutMs?: number) => { const r = await run(src, timeoutMs); return [r.status, r.reason]; };
  assert.deepEqual(await pick("assert sum(range(10)) == 45"), ["passed", ""]);
  assert.deepEqual(await pick("assert 1 == 2"), ["failed", "AssertionError"]);
  assert.deepEqual(await pick("import os\nos._exit(0)\nassert False"), ["failed", "no nonce"]);
  assert.deepEqual(await pick("import sys\nsys.exit(0)\nassert False"), ["failed", "SystemExit: 0"]);
  assert.deepEqual(await pick("while True:\n    pass", 1000), ["timeout", "exceeded 1 s"]);
  assert.deepEqual(await pick("import time\ntime.sleep(30)", 1000), ["timeout", "exceeded 1 s"]);
  const left = await run("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n    os._exit(0)\ntime.sleep(0.2)\n");
  assert.equal(left.status, "passed");
  assert.ok((left.leftovers ?? 0) >= 1, "the sweep found the setsid'd grandchild");
  // Only the slots remain: the two fork servers (whose forks share their command line) and bwrap.
  const procs = descendants();
  const servers = procs.filter((p) => p.cmd.includes("import os, sys, json"));
  assert.equal(servers.length, 2, procs.map((p) => p.cmd).join("\n"));
  assert.deepEqual(procs.filter((p) => !servers.includes(p) && !p.cmd.startsWith("/usr/bin/bwrap")), []);
  assert.deepEqual(await pick("assert True"), ["passed", ""]);
}

test("no bubblewrap: warns, runs on the host under uid 65534 with cgroups, enforces timeouts", async () => {
  await withExecutor({ bwrapPath: "/nonexistent" }, async (ex, warnings) => {
    assert.equal(ex.mode, "host");
    assert.deepEqual(warnings, ["bubblewrap is not usable (/nonexistent not found): programs can read the host's files, reach the network and see host processes; running them with rlimits, their own session, uid 65534 and a fresh work directory only"]);
    assert.ok(!ex.protections.includes("bubblewrap") && ex.protections.includes("uid 65534") && ex.protections.includes("cgroup memory (256 MiB)"), ex.protections.join(", "));
    await basics(ex);
    const who = await ex.run("import os\nprint(os.getuid(), os.getcwd().startswith('/tmp/codellama-eval-'))", { timeoutMs: 3000 });
    assert.equal(who.output, "65534 True\n");
    const mem = await ex.run("x = bytearray(2 * 1024 ** 3)", { timeoutMs: 5000 });
    assert.deepEqual([mem.status, mem.reason], ["killed", "memory limit"]);
  });
});

test("no cgroups: warns, bubblewrap with RLIMIT_AS and RLIMIT_NPROC instead", async () => {
  await withExecutor({ cgroupRoot: "/nonexistent" }, async (ex, warnings) => {
    assert.equal(ex.mode, "bwrap");
    assert.deepEqual(warnings, ["cgroups are not usable (no cgroup v1 pids hierarchy at /nonexistent/pids): no per-slot memory and process caps; using RLIMIT_AS (256 MiB) and RLIMIT_NPROC instead"]);
    assert.ok(ex.protections.includes("RLIMIT_AS (256 MiB)") && !ex.protections.some((p) => p.startsWith("cgroup")), ex.protections.join(", "));
    await basics(ex);
    const mem = await ex.run("x = bytearray(2 * 1024 ** 3)", { timeoutMs: 5000 });
    assert.deepEqual([mem.status, mem.reason], ["failed", "MemoryError"]);
  });
});

test("neither: a private uid per slot, whose leftover processes are killed by uid", async () => {
  await withExecutor({ bwrapPath: "/nonexistent", cgroupRoot: "/nonexistent" }, async (ex, warnings) => {
    assert.equal(ex.mode, "host");
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /^bubblewrap is not usable .* a private uid per slot and a fresh work directory only$/);
    assert.ok(ex.protections.includes("private uid per slot") && ex.protections.includes("kill every process of the slot's uid"), ex.protections.join(", "));
    await basics(ex);
    const who = await ex.run("import os\nprint(os.getuid())", { timeoutMs: 3000 });
    assert.ok(Number(who.output) >= 0x70000000, who.output);
  });
});

test("unsafeNoSandbox: warns, runs as this user, still enforces timeouts and the nonce", async () => {
  await withExecutor({ unsafeNoSandbox: true }, async (ex, warnings) => {
    assert.equal(ex.mode, "unsafe");
    assert.deepEqual(warnings, ["--unsafe-no-sandbox: programs run on this machine as this user with no isolation (only the timeouts)"]);
    assert.deepEqual(ex.protections, ["wall + CPU timeouts", "kill process group and descendants"]);
    await basics(ex);
    const who = await ex.run("import os\nprint(os.getuid())", { timeoutMs: 3000 });
    assert.equal(who.output, `${process.getuid!()}\n`);
  });
});
