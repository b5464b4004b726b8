// Hostile completions in the real sandbox (bubblewrap + cgroups + uid 65534 + seccomp), each
// inserted into HumanEval/0's program as a model completion would be. Every one scores as not
// passed; the host is unchanged (files, a loopback listener, the parent's environment); no
// process of the run is left (none of this process's descendants runs as anything but root, the
// servers); and the executor keeps working for the next normal program.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { datasetFolder, loadTasks } from "../../src/eval/datasets.js";
import { buildProgram } from "../../src/eval/programs.js";
import { Executor, type ExecResult } from "../../src/eval/sandbox/index.js";
import { SCRATCH, SHARED_DATA } from "../helpers/paths.js";
import { cgroupParents, descendants } from "./sandbox-helpers.js";

const task = loadTasks("humaneval", join(SHARED_DATA, datasetFolder("humaneval")))[0]; // has_close_elements
const WRONG = "    return None\n";
const DIR = join(SCRATCH, `sandbox-hostile-${process.pid}`); // own folder: suites may run concurrently
const CANARY = join(DIR, "canary.txt");
const CREATED = join(DIR, "created.txt");
const HOST_TMP = `/tmp/codellama-hostile-${process.pid}`;
const SECRET = "secret-" + randomBytes(8).toString("hex");
process.env.CODELLAMA_TEST_SECRET = SECRET; // in the parent's environment before the Executor starts

let ex: Executor;
let listener: Server;
let port = 0;
let connections = 0;

before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(CANARY, "original");
  rmSync(HOST_TMP, { force: true });
  listener = createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()));
  port = (listener.address() as { port: number }).port;
  ex = await Executor.create({ workers: 2, memoryMb: 256, maxOutputBytes: 1 << 20, onWarning: (m) => assert.fail(`unexpected warning: ${m}`) });
});

after(async () => {
  await ex.close();
  listener.close();
  rmSync(DIR, { recursive: true, force: true });
  // Nothing of the executor is left: no descendant process, no cgroup directory.
  assert.deepEqual(descendants().map((p) => `${p.pid} ${p.cmd}`), []);
  for (const parent of cgroupParents()) {
    if (existsSync(parent)) assert.deepEqual(readdirSync(parent).filter((n) => n.startsWith(`codellama-eval-${process.pid}-`)), [], parent);
  }
});

/** Runs HumanEval/0 with `completion` (time limit `timeoutMs`), then checks nothing is left and the executor still works. */
async function hostile(completion: string, timeoutMs = 3000): Promise<ExecResult> {
  const p = buildProgram(task, completion);
  const r = await ex.run(p.source, { timeoutMs });
  assert.notEqual(r.status, "passed", `a hostile completion passed: ${completion}`);
  assert.notEqual(r.status, "error", `the harness failed: ${r.reason}`);
  assert.deepEqual(descendants().filter((d) => d.uid !== 0).map((d) => `${d.pid} uid ${d.uid} ${d.cmd}`), [], "no process of the run is left");
  const ok = buildProgram(task, task.canonical);
  const next = await ex.run(ok.source, ok);
  assert.equal(next.status, "passed", `the next normal program: ${next.reason}`);
  return r;
}

test("fork bomb: capped by the pids cgroup, killed at the timeout with all its processes", async () => {
  const r = await hostile(WRONG + "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", 2000);
  // 64 forked interpreters dirty copy-on-write pages (reference counts), so on a slow machine the
  // 256 MiB memory cap may stop the bomb before the 2 s timeout does; either way it is contained.
  assert.ok(r.status === "timeout" ? r.reason === "exceeded 2 s" : r.status === "killed" && r.reason === "memory limit", JSON.stringify(r));
  if (r.status === "timeout") assert.ok((r.leftovers ?? 0) > 0, "the sweep found the forked processes");
});

test("memory bombs: killed by the memory cgroup", async () => {
  const a = await hostile(WRONG + "x = bytearray(10 * 1024 ** 3)\n");
  assert.deepEqual([a.status, a.reason], ["killed", "memory limit"]);
  const b = await hostile(WRONG + "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 ** 2))\n");
  assert.deepEqual([b.status, b.reason], ["killed", "memory limit"]);
});

test("infinite loop: timeout", async () => {
  const r = await hostile("    while True:\n        pass\n", 1500);
  assert.deepEqual([r.status, r.reason], ["timeout", "exceeded 1.5 s"]);
});

test("exiting early cannot fake a pass: sys.exit(0), os._exit(0), exit(), atexit", async () => {
  assert.deepEqual(pick(await hostile("    import sys\n    sys.exit(0)\n")), ["failed", "SystemExit: 0"]);
  assert.deepEqual(pick(await hostile(WRONG + "import sys\nsys.exit(0)\n")), ["failed", "SystemExit: 0"]);
  assert.deepEqual(pick(await hostile("    import os\n    os._exit(0)\n")), ["failed", "no nonce"]);
  assert.deepEqual(pick(await hostile(WRONG + "import os\nos._exit(0)\n")), ["failed", "no nonce"]);
  assert.deepEqual(pick(await hostile(WRONG + "exit(0)\n")), ["failed", "SystemExit: 0"]);
  // An exit-code harness would report 0 here: the failing assert ends the program, atexit exits 0.
  assert.deepEqual(pick(await hostile(WRONG + "import atexit, os\natexit.register(os._exit, 0)\n")), ["failed", "AssertionError"]);
});

test("redefining check or AssertionError, forging or reading the nonce: still not passed", async () => {
  assert.deepEqual(pick(await hostile(WRONG + "def check(candidate):\n    return True\n")), ["failed", "AssertionError"]);
  assert.deepEqual(pick(await hostile(WRONG + "import builtins\nbuiltins.AssertionError = type('Fine', (Exception,), {})\n")), ["failed", "AssertionError"]);
  assert.deepEqual(pick(await hostile(WRONG + "import os\nos.write(3, b'NONCE ' + b'0' * 32 + b'\\n')\nos._exit(0)\n")), ["failed", "no nonce"]);
  assert.deepEqual(pick(await hostile(WRONG + "import os, sys\nos.write(3, b'NONCE ' + sys.stdin.read().encode() + b'\\n')\nos._exit(0)\n")), ["failed", "no nonce"]);
});

test("writing outside the work directory fails; the host is unchanged", async () => {
  const paths = [CANARY, CREATED, HOST_TMP, "/etc/passwd", "/usr/lib/evil", "/evil", "/proc/sys/kernel/hostname"];
  const r = await hostile(WRONG + [
    "for p in " + JSON.stringify(paths) + ":",
    "    try:",
    "        open(p, 'w').write('pwned')",
    "        print('WROTE', p)",
    "    except OSError as e:",
    "        print('DENIED', p, type(e).__name__)",
    "",
  ].join("\n"));
  assert.deepEqual(pick(r), ["failed", "AssertionError"]);
  // Only /tmp is writable, and it is the sandbox's own tmpfs: the host's /tmp does not get the file.
  assert.deepEqual((r.output ?? "").match(/^WROTE .*$/gm), [`WROTE ${HOST_TMP}`]);
  assert.equal((r.output ?? "").match(/^DENIED /gm)?.length, paths.length - 1, r.output);
  assert.equal(readFileSync(CANARY, "utf8"), "original");
  assert.equal(existsSync(CREATED), false);
  assert.equal(existsSync(HOST_TMP), false);
});

test("files a run leaves in /tmp, /dev/shm or its work directory are gone for the next run", async () => {
  await hostile(WRONG + "open('/tmp/left', 'w').write('x')\nopen('/dev/shm/left', 'w').write('x')\nopen('left', 'w').write('x')\n");
  const look = WRONG + "import os\nprint('SEEN', sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')), sorted(os.listdir('.')))\n";
  for (const r of await Promise.all([0, 1].map(() => ex.run(buildProgram(task, look).source, { timeoutMs: 3000 })))) {
    assert.match(r.output ?? "", /^SEEN \[\] \[\] \[\]$/m, "both slots start clean");
  }
});

test("no network: the host's loopback listener is unreachable, IP sockets are refused", async () => {
  const r = await hostile(WRONG + [
    "import socket",
    "for fam, addr in ((socket.AF_INET, ('127.0.0.1', " + port + ")), (socket.AF_INET6, ('::1', " + port + "))):",
    "    try:",
    "        socket.socket(fam).connect(addr)",
    "        print('CONNECTED')",
    "    except OSError as e:",
    "        print('REFUSED', e.errno)",
    "",
  ].join("\n"));
  assert.deepEqual(pick(r), ["failed", "AssertionError"]);
  assert.match(r.output ?? "", /^REFUSED 97\nREFUSED 97\n$/); // EAFNOSUPPORT (seccomp)
  assert.equal(connections, 0);
});

test("the parent's environment never reaches the program", async () => {
  const r = await hostile(WRONG + [
    "import os",
    "secret = " + JSON.stringify(SECRET),
    "seen = [k for k, v in os.environ.items() if secret in v or secret in k]",
    "for p in os.listdir('/proc'):",
    "    for f in ('environ', 'cmdline'):",
    "        try:",
    "            if secret.encode() in open('/proc/%s/%s' % (p, f), 'rb').read():",
    "                seen.append(p + '/' + f)",
    "        except OSError:",
    "            pass",
    "print('ENV', os.environ.get('LANG'), 'SEEN', seen)",
    "",
  ].join("\n"));
  assert.match(r.output ?? "", /^ENV C\.UTF-8 SEEN \[\]$/m);
  assert.ok(!(r.output ?? "").includes(SECRET));
});

test("killing the parent, init or everything: refused or only the program itself dies", async () => {
  const r1 = await hostile(WRONG + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n");
  assert.deepEqual(pick(r1), ["failed", "PermissionError: [Errno 1] Operation not permitted"]);
  const r2 = await hostile(WRONG + "import os, signal\nos.kill(1, signal.SIGKILL)\n");
  assert.deepEqual(pick(r2), ["failed", "PermissionError: [Errno 1] Operation not permitted"]);
  const r3 = await hostile(WRONG + "import os, signal\nos.kill(-1, signal.SIGKILL)\n"); // the caller itself is spared by kill(-1)
  assert.deepEqual(pick(r3), ["failed", "AssertionError"]);
  const r4 = await hostile(WRONG + "import os\nos.system('kill -9 -1')\n");
  assert.deepEqual(pick(r4), ["killed", "killed by SIGKILL"]);
});

test("a huge output is capped and killed", async () => {
  const r = await hostile(WRONG + "while True:\n    print('x' * 10000)\n");
  assert.deepEqual(pick(r), ["killed", "output limit"]);
  assert.ok((r.output ?? "").length <= 2048);
});

test("processes left running are killed after the run", async () => {
  const r = await hostile(WRONG + "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n    os._exit(0)\ntime.sleep(0.2)\n");
  assert.deepEqual(pick(r), ["failed", "AssertionError"]);
  assert.ok((r.leftovers ?? 0) >= 1);
});

test("inside: uid 65534 with no groups, only fds 0-3 (4 is listdir's own), no namespaces for the program (seccomp)", async () => {
  const r = await hostile(WRONG + [
    "import ctypes, os",
    "libc = ctypes.CDLL(None, use_errno=True)",
    "rc = libc.unshare(0x10000000)",
    "print('ID', os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), 'FDS', sorted(int(f) for f in os.listdir('/proc/self/fd')), 'UNSHARE', rc, ctypes.get_errno())",
    "",
  ].join("\n"));
  assert.match(r.output ?? "", /^ID 65534 65534 65534 \[\] FDS \[0, 1, 2, 3, 4\] UNSHARE -1 1$/m);
  assert.ok(ex.protections.includes("bubblewrap") && ex.protections.includes("seccomp") && ex.protections.includes("uid 65534"), ex.protections.join(", "));
});

const pick = (r: ExecResult) => [r.status, r.reason];
