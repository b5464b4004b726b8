/**
 * How a worker slot's fork server is started, per what this machine offers (see
 * research/eval-and-sandbox.md §3):
 *  - "bwrap" (root, bubblewrap works): `sh` joins the slot's cgroup2 group (the cgroup-namespace
 *    root and kill backstop), then execs bwrap with an empty environment: new mount, PID, IPC,
 *    UTS, cgroup and network namespaces (no user namespace: the server must be able to drop each
 *    program to uid 65534), /usr read-only plus the merged-/usr symlinks, fresh /proc and /dev,
 *    size-capped private tmpfs for /sandbox (work dirs), /tmp and /dev/shm, the slot's cgroup
 *    directories bound at /cg/*, `/` remounted read-only, all capabilities dropped except the
 *    six the server needs (set*id, chown, dac_override, fowner, kill), the seccomp filter, and
 *    --die-with-parent / --new-session. Not root: the same with a user namespace and no uid drop.
 *  - "host" (no usable bubblewrap): the server runs on the host; each program still gets its own
 *    uid (65534 when root), session, rlimits (address space and process count in place of the
 *    cgroups when those are missing), cgroups when available, and a fresh work directory.
 *  - "unsafe" (only with unsafeNoSandbox): the server on the host, same uid, CPU rlimit and the
 *    wall timeout with a process-group kill; nothing else.
 * Cgroups: cgroup v1 `pids` and `memory` plus cgroup2 (`unified`, for cgroup.kill), as Debian's
 * hybrid layout has them; each slot gets `<own cgroup>/codellama-eval-<pid>-<n>/slot<i>` in each.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the server needs to know (mirrors the keys fork-server.ts reads). */
export interface ServerConfig {
  uid: number | null; gid: number | null;
  work: string; tmp: string | null; wipe: string[];
  cgProcs: string[]; cgKill: string | null; cgRunProcs: string | null; oomControl: string | null;
  sweep: "pidns" | "uid" | "pgroup";
  rlimits: Record<string, number>;
  maxOutput: number;
  env: Record<string, string>;
  preload: string[];
}

export interface SlotCgroupPaths {
  /** Host paths of the slot's directories. */
  pids: string; memory: string; unified: string | null; run: string | null;
}

const CHILD_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };

/** Per-slot cgroups (v1 pids + memory, cgroup2 for kill), made and removed by the Executor. */
export class CgroupSet {
  private constructor(private readonly bases: string[], readonly slots: SlotCgroupPaths[]) {}

  /** Creates the groups, or returns why it cannot (a one-line reason for the warning). */
  static create(root: string, slots: number, memoryMb: number, pidsMax: number): CgroupSet | string {
    if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root";
    const own = ownCgroups();
    const v1 = (name: string) => join(root, name, own.get(name) ?? "/");
    for (const h of ["pids", "memory"]) if (!existsSync(join(root, h, "cgroup.procs"))) return `no cgroup v1 ${h} hierarchy at ${join(root, h)}`;
    const uni = existsSync(join(root, "unified", "cgroup.procs")) ? join(root, "unified", own.get("") ?? "/") : null;
    const tag = `codellama-eval-${process.pid}-${++cgSeq}`;
    const parents = [v1("pids"), v1("memory"), ...(uni ? [uni] : [])];
    for (const p of parents) removeStale(p);
    const bases = parents.map((p) => join(p, tag));
    const made: string[] = [];
    try {
      for (const b of bases) { mkdirSync(b); made.push(b); }
      const out: SlotCgroupPaths[] = [];
      for (let i = 0; i < slots; i++) {
        const s: SlotCgroupPaths = { pids: join(bases[0], `slot${i}`), memory: join(bases[1], `slot${i}`), unified: uni ? join(bases[2], `slot${i}`) : null, run: null };
        for (const d of [s.pids, s.memory, s.unified]) if (d) { mkdirSync(d); made.push(d); }
        writeFileSync(join(s.pids, "pids.max"), String(pidsMax));
        writeFileSync(join(s.memory, "memory.limit_in_bytes"), String(memoryMb * 1024 * 1024));
        // No swapping past the cap either, where swap accounting exists.
        try { writeFileSync(join(s.memory, "memory.memsw.limit_in_bytes"), String(memoryMb * 1024 * 1024)); } catch { /* no swap accounting */ }
        if (s.unified) {
          s.run = join(s.unified, "run");
          mkdirSync(s.run); made.push(s.run);
          if (!existsSync(join(s.run, "cgroup.kill"))) s.run = null;
        }
        out.push(s);
      }
      return new CgroupSet(bases, out);
    } catch (e) {
      for (const d of made.reverse()) try { rmdirSync(d); } catch { /* best effort */ }
      return `cannot set up cgroups (${(e as Error).message})`;
    }
  }

  /** Kills every process of a slot (the server included). */
  killSlot(i: number): void {
    const s = this.slots[i];
    for (const d of [s.unified, s.run]) if (d && existsSync(join(d, "cgroup.kill"))) try { writeFileSync(join(d, "cgroup.kill"), "1"); } catch { /* gone */ }
  }

  /** Number of processes still in a slot's groups. */
  count(i: number): number {
    const s = this.slots[i];
    let n = 0;
    for (const d of [s.pids, s.memory, s.unified, s.run]) if (d) n += procsIn(d);
    return n;
  }

  /** Kills whatever is left and removes the directories (waits up to ~2 s for the kills). */
  async remove(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) this.killSlot(i);
    for (let t = 0; t < 200 && this.slots.some((_, i) => this.count(i) > 0); t++) await new Promise((r) => setTimeout(r, 10));
    for (const b of this.bases) rmTree(b);
  }
}
let cgSeq = 0;

/** This process's cgroup per v1 controller name ("" = cgroup2), from /proc/self/cgroup. */
function ownCgroups(): Map<string, string> {
  const m = new Map<string, string>();
  try {
    for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
      const parts = line.split(":");
      if (parts.length < 3) continue;
      const path = parts.slice(2).join(":");
      for (const c of parts[1].split(",")) m.set(c, path);
    }
  } catch { /* not Linux */ }
  return m;
}

function procsIn(dir: string): number {
  try { return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter((l) => l.trim() !== "").length; } catch { return 0; }
}

/** Removes a cgroup tree bottom-up (rmdir only: cgroupfs files go with their directory). */
function rmTree(dir: string): void {
  let entries: string[] = [];
  try { entries = readdirSync(dir); } catch { return; }
  for (const e of entries) {
    const p = join(dir, e);
    try { if (statSync(p).isDirectory()) rmTree(p); } catch { /* raced */ }
  }
  try { rmdirSync(dir); } catch { /* still busy: left for the stale sweep */ }
}

/** Groups left by an Executor whose process is gone (killed before close()). */
function removeStale(parent: string): void {
  let names: string[] = [];
  try { names = readdirSync(parent); } catch { return; }
  for (const n of names) {
    const m = /^codellama-eval-(\d+)-\d+$/.exec(n);
    if (!m || Number(m[1]) === process.pid || existsSync(`/proc/${m[1]}`)) continue;
    const dir = join(parent, n);
    for (const s of readdirSync(dir)) for (const k of ["", "run"]) {
      const f = join(dir, s, k, "cgroup.kill");
      if (existsSync(f)) try { writeFileSync(f, "1"); } catch { /* ignore */ }
    }
    rmTree(dir);
  }
}

/** bubblewrap's namespace and mount arguments, shared by the probe and the slots. */
export function bwrapArgs(o: { root: boolean; tmpfsBytes: number; cg: SlotCgroupPaths | null; seccompFd: number | null }): string[] {
  const a = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"];
  if (!o.root) a.push("--unshare-user");
  a.push("--die-with-parent", "--new-session", "--cap-drop", "ALL");
  if (o.root) for (const c of ["SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL"]) a.push("--cap-add", `CAP_${c}`);
  a.push("--ro-bind", "/usr", "/usr");
  for (const d of ["bin", "lib", "lib64", "lib32", "libx32", "sbin"]) if (existsSync(`/usr/${d}`)) a.push("--symlink", `usr/${d}`, `/${d}`);
  for (const f of ["/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"]) a.push("--ro-bind-try", f, f);
  a.push("--proc", "/proc", "--dev", "/dev");
  const size = String(o.tmpfsBytes);
  a.push("--perms", "1777", "--size", size, "--tmpfs", "/tmp");
  a.push("--perms", "1777", "--size", size, "--tmpfs", "/dev/shm");
  a.push("--perms", "0755", "--size", size, "--tmpfs", "/sandbox");
  if (o.cg) {
    a.push("--bind", o.cg.pids, "/cg/pids", "--bind", o.cg.memory, "/cg/memory");
    if (o.cg.run) a.push("--bind", o.cg.run, "/cg/run");
  }
  a.push("--remount-ro", "/", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--chdir", "/sandbox");
  if (o.seccompFd !== null) a.push("--seccomp", String(o.seccompFd));
  return a;
}

/** Whether bubblewrap can start Python with our namespaces here; a one-line reason if not. */
export function probeBwrap(bwrap: string, python: string, root: boolean): string | null {
  if (!existsSync(bwrap)) return `${bwrap} not found`;
  const r = spawnSync(bwrap, [...bwrapArgs({ root, tmpfsBytes: 1 << 20, cg: null, seccompFd: null }), "--", python, "-I", "-c", "pass"], { env: {}, encoding: "utf8", timeout: 20_000 });
  if (r.error) return r.error.message;
  if (r.status !== 0) return (r.stderr || `exit ${r.status}`).trim().split("\n")[0];
  return null;
}

/** The server configuration for a slot. */
export function serverConfig(o: {
  mode: "bwrap" | "host" | "unsafe"; root: boolean; uid: number; gid: number; hostWork: string | null;
  cg: SlotCgroupPaths | null; memoryMb: number; pidsMax: number; maxOutput: number; preload: string[];
}): ServerConfig {
  const inBwrap = o.mode === "bwrap";
  const drop = o.mode !== "unsafe" && o.root;
  const rlimits: Record<string, number> = {};
  if (o.mode !== "unsafe") {
    rlimits.fsize = 16 * 1024 * 1024; rlimits.core = 0; rlimits.nofile = 1024;
    if (!o.cg) { rlimits.as = o.memoryMb * 1024 * 1024; if (drop) rlimits.nproc = 2 * o.pidsMax; }
  }
  const cgDir = (host: string | null, inside: string) => (host ? (inBwrap ? inside : host) : null);
  const procs = o.cg ? [cgDir(o.cg.pids, "/cg/pids")!, cgDir(o.cg.memory, "/cg/memory")!, ...(o.cg.run ? [cgDir(o.cg.run, "/cg/run")!] : [])] : [];
  const run = o.cg?.run ? cgDir(o.cg.run, "/cg/run") : null;
  return {
    uid: drop ? o.uid : null, gid: drop ? o.gid : null,
    work: inBwrap ? "/sandbox" : o.hostWork!, tmp: inBwrap ? "/tmp" : null, wipe: inBwrap ? ["/tmp", "/dev/shm"] : [],
    cgProcs: procs.map((d) => join(d, "cgroup.procs")),
    cgKill: run ? join(run, "cgroup.kill") : null,
    cgRunProcs: run ? join(run, "cgroup.procs") : null,
    oomControl: o.cg ? join(cgDir(o.cg.memory, "/cg/memory")!, "memory.oom_control") : null,
    sweep: inBwrap ? "pidns" : drop && !o.cg ? "uid" : "pgroup",
    rlimits, maxOutput: o.maxOutput, env: CHILD_ENV, preload: o.preload,
  };
}
