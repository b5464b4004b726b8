// Helpers for the sandbox tests: the processes below this test process (host view of /proc).
import { readdirSync, readFileSync } from "node:fs";

export interface Proc { pid: number; ppid: number; uid: number; cmd: string }

/** Every process on the host, with its parent, real uid and command line. */
export function allProcs(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ").slice(0, 120);
      out.push({ pid: Number(d), ppid, uid, cmd });
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** The processes descended from `root` (default: this process), excluding it. */
export function descendants(root = process.pid): Proc[] {
  const procs = allProcs();
  const kids = new Map<number, Proc[]>();
  for (const p of procs) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const stack = [root];
  while (stack.length) for (const k of kids.get(stack.pop()!) ?? []) { out.push(k); stack.push(k.pid); }
  return out;
}

/** Processes of `uid` anywhere on the host. */
export const procsOfUid = (uid: number) => allProcs().filter((p) => p.uid === uid);

/** This process's cgroup directories in the v1 pids and memory hierarchies and cgroup2 (where the Executor makes its groups). */
export function cgroupParents(root = "/sys/fs/cgroup"): string[] {
  const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n").map((l) => l.split(":"));
  const path = (pred: (ctrl: string[]) => boolean, h: string) => {
    const l = lines.find((x) => x.length >= 3 && pred(x[1].split(",")));
    return `${root}/${h}${l ? l.slice(2).join(":") : "/"}`;
  };
  return [path((c) => c.includes("pids"), "pids"), path((c) => c.includes("memory"), "memory"), path((c) => c.length === 1 && c[0] === "", "unified")];
}
