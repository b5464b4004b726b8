/**
 * The execution sandbox for untrusted Python (issue 5): an `Executor` runs programs over a fixed
 * number of worker slots, each a long-lived sandbox holding a fork server (fork-server.ts) that
 * forks a fresh, unprivileged, resource-limited child per program. See launch.ts for what a slot
 * is made of on this machine and what the fallbacks give up.
 *
 * A run passes only if the program ran to its end: the child prints a per-run random nonce (sent
 * through its stdin, never in the program text) on a separate result fd after `exec` returned,
 * and exits 0. `sys.exit(0)` / `os._exit(0)` before the checks, or a crash, therefore fail.
 *
 * Statuses: passed; failed (an exception, a non-zero exit, or exit 0 without the nonce);
 * timeout (wall deadline or CPU rlimit); killed (memory limit, output cap, file size limit, any
 * other signal); error (the harness could not run it: sandbox setup, a slot that died twice).
 * A run whose fork server dies (which a program, running under another uid, cannot cause) is
 * retried once on a fresh server.
 *
 * Limits, by design: the nonce lives in the program's own process while it runs (a local of the
 * runner), so code that walks the interpreter's frames could find and print it; it stops
 * early exits and harness tricks, not a program written to defeat this harness. Programs of one
 * slot run one after another in the same sandbox: each gets a fresh process, work directory,
 * /tmp and /dev/shm, and nothing it started survives it, but they share the slot's namespaces.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, chmodSync } from "node:fs";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import { UserError } from "../../util/errors.js";
import { FORK_SERVER_PY } from "./fork-server.js";
import { bwrapArgs, CgroupSet, probeBwrap, serverConfig, type SlotCgroupPaths } from "./launch.js";
import { seccompFilter } from "./seccomp.js";

export type ExecStatus = "passed" | "failed" | "timeout" | "error" | "killed";
export interface ExecResult {
  status: ExecStatus;
  /** Short: "AssertionError", "NameError: name 'x' is not defined", "exceeded 3 s", "memory limit", "no nonce", ... */
  reason: string;
  /** Wall time of the program (fork to exit), ms. */
  ms: number;
  /** The last bytes of the program's stdout+stderr (at most 2 KiB). */
  output?: string;
  /** Processes the run left behind that the sweep killed. */
  leftovers?: number;
}

export interface ExecutorOptions {
  /** Worker slots (parallel programs); default: the number of CPUs. */
  workers?: number;
  /** Memory cap per slot (cgroup; RLIMIT_AS when there are no cgroups); default 4096 (EvalPlus's cap; at most RAM / (2 x workers)). */
  memoryMb?: number;
  /** Run with no sandbox at all (only the timeouts and a process-group kill). */
  unsafeNoSandbox?: boolean;
  /** Called with each warning about a protection that is not available (default: stderr). */
  onWarning?: (message: string) => void;
  /** bubblewrap binary (default /usr/bin/bwrap); a missing path selects the fallback. */
  bwrapPath?: string;
  /** Python inside the sandbox (default /usr/bin/python3, Debian's: fast start, readable by uid 65534). */
  python?: string;
  /** cgroup filesystem root (default /sys/fs/cgroup); a missing path selects the rlimit fallback. */
  cgroupRoot?: string;
  /** The uid/gid programs run as when we are root (default 65534, nobody/nogroup). */
  uid?: number;
  gid?: number;
  /** Processes per slot (cgroup pids.max; default 64). */
  pidsMax?: number;
  /** Size of each private tmpfs (/sandbox, /tmp, /dev/shm), MiB (default 64). */
  tmpfsMb?: number;
  /** Total stdout+stderr bytes after which a program is killed (default 64 MiB). */
  maxOutputBytes?: number;
  /** Load the seccomp filter (default true; x86-64 only). */
  seccomp?: boolean;
  /** Modules the fork server imports once so programs find them warm (default: numpy if present). */
  preload?: string[];
}

export interface ServerReply {
  id: number; code: number | null; signal: number | null; ms: number; timedOut: boolean; outputLimit: boolean;
  out: string; res: string; oom: number; leftovers: number; clean: boolean; recycle: boolean; error?: string;
}
interface Job { source: string; timeoutMs: number; resolve: (r: ExecResult) => void; attempts: number }

const SIGNALS = Object.fromEntries(Object.entries(osConstants.signals).map(([k, v]) => [v, k])) as Record<number, string>;
/** Extra time the Node side waits for a slot's answer beyond the program's timeout. */
const BACKSTOP_MS = 20_000;
let uidSeq = 0;

export class Executor {
  readonly protections: string[];
  readonly mode: "bwrap" | "host" | "unsafe";
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  private constructor(mode: Executor["mode"], protections: string[], private readonly cgroups: CgroupSet | null) {
    this.mode = mode;
    this.protections = protections;
  }

  static async create(opts: ExecutorOptions = {}): Promise<Executor> {
    const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    const workers = Math.max(1, Math.floor(opts.workers ?? availableParallelism()));
    const memoryMb = opts.memoryMb ?? Math.min(4096, Math.floor(totalmem() / 1048576 / (2 * workers))), pidsMax = opts.pidsMax ?? 64, tmpfsMb = opts.tmpfsMb ?? 64;
    const python = opts.python ?? "/usr/bin/python3";
    if (!existsSync(python)) throw new UserError(`${python} not found: the sandbox runs programs with it (install Debian's python3, or pass another interpreter under /usr)`);
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    const uid = opts.uid ?? 65534, gid = opts.gid ?? 65534;
    const protections: string[] = [];
    let mode: Executor["mode"] = "unsafe";
    let cgroups: CgroupSet | null = null;
    let seccomp: Buffer | null = null;
    let privateUids = false;
    if (opts.unsafeNoSandbox) {
      warn("--unsafe-no-sandbox: programs run on this machine as this user with no isolation (only the timeouts)");
      protections.push("wall + CPU timeouts", "kill process group and descendants");
    } else {
      const why = probeBwrap(opts.bwrapPath ?? "/usr/bin/bwrap", python, root);
      mode = why === null ? "bwrap" : "host";
      const cg = CgroupSet.create(opts.cgroupRoot ?? "/sys/fs/cgroup", workers, memoryMb, pidsMax);
      if (typeof cg !== "string") cgroups = cg;
      // On the host without cgroups each slot gets a private uid, so the sweep can kill exactly
      // the processes its runs left (kill(-1) as that uid); elsewhere 65534 (the PID namespace or
      // the cgroups already keep the slots apart).
      privateUids = mode === "host" && !cgroups && root && opts.uid === undefined;
      const who = !root ? "" : privateUids ? ", a private uid per slot" : `, uid ${uid}`;
      if (why !== null) warn(`bubblewrap is not usable (${why}): programs can read the host's files, reach the network and see host processes; running them with rlimits, their own session${who} and a fresh work directory only`);
      if (typeof cg === "string") warn(`cgroups are not usable (${cg}): no per-slot memory and process caps; using RLIMIT_AS (${memoryMb} MiB)${root ? " and RLIMIT_NPROC" : ""} instead`);
      if (!root) warn(`not running as root: programs run under this user's uid${mode === "bwrap" ? " (inside a user namespace)" : ""}, with no uid separation`);
      if (mode === "bwrap") {
        if (opts.seccomp ?? true) seccomp = seccompFilter();
        protections.push("bubblewrap", "no network", "read-only system", `private tmpfs workdir and /tmp (${tmpfsMb} MiB)`, "empty environment");
        if (seccomp) protections.push("seccomp");
      }
      if (root) protections.push(privateUids ? "private uid per slot" : `uid ${uid}`);
      if (cgroups) protections.push(`cgroup memory (${memoryMb} MiB)`, `cgroup pids (${pidsMax})`);
      else protections.push(`RLIMIT_AS (${memoryMb} MiB)`, ...(root ? ["RLIMIT_NPROC"] : []));
      protections.push("rlimits (cpu, fsize, core, nofile)", "wall + CPU timeouts",
        mode === "bwrap" ? "kill whole tree (PID namespace)" : privateUids ? "kill every process of the slot's uid" : "kill process group and descendants",
        ...(cgroups?.slots[0].run ? ["cgroup.kill"] : []), "output cap");
    }
    const slotUid = () => (privateUids ? 0x70000000 + ((process.pid & 0xfffff) << 6) + ((++uidSeq) & 63) : uid);
    const ex = new Executor(mode, protections, cgroups);
    let preload = opts.preload;
    if (!preload) preload = ["numpy"];
    for (let i = 0; i < workers; i++) {
      ex.slots.push(new Slot(i, {
        mode, root, python, uid: slotUid(), gid, seccomp, cg: cgroups?.slots[i] ?? null, tmpfsBytes: tmpfsMb * 1024 * 1024,
        bwrap: opts.bwrapPath ?? "/usr/bin/bwrap", memoryMb, pidsMax, maxOutput: opts.maxOutputBytes ?? 64 * 1024 * 1024, preload,
        killGroup: () => cgroups?.killSlot(i),
      }, () => ex.pump(), (job) => { ex.queue.unshift(job); }));
    }
    try {
      await Promise.all(ex.slots.map((s) => s.start()));
    } catch (e) {
      await ex.close();
      throw e;
    }
    return ex;
  }

  /** Runs one program; queued over the worker slots. Never throws for program behaviour. */
  run(source: string, opts: { timeoutMs: number }): Promise<ExecResult> {
    if (this.closed) return Promise.resolve({ status: "error", reason: "executor closed", ms: 0 });
    return new Promise((resolve) => {
      this.queue.push({ source, timeoutMs: opts.timeoutMs, resolve, attempts: 0 });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.idle());
      if (!slot) {
        if (this.slots.every((s) => s.dead)) for (const j of this.queue.splice(0)) j.resolve({ status: "error", reason: `sandbox unavailable: ${this.slots[0].deadReason}`, ms: 0 });
        return;
      }
      slot.send(this.queue.shift()!);
    }
  }

  /** Stops every slot; no process is left behind. Pending runs resolve with status "error". */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.resolve({ status: "error", reason: "executor closed", ms: 0 });
    await Promise.all(this.slots.map((s) => s.stop()));
    await this.cgroups?.remove();
  }
}

interface SlotSpec {
  mode: Executor["mode"]; root: boolean; python: string; bwrap: string; uid: number; gid: number; seccomp: Buffer | null;
  cg: SlotCgroupPaths | null; tmpfsBytes: number; memoryMb: number; pidsMax: number; maxOutput: number; preload: string[];
  killGroup: () => void;
}

/** One worker slot: a sandboxed fork server, restarted when it dies or asks to be recycled. */
class Slot {
  private proc: ChildProcess | null = null;
  private buf = "";
  private stderr = "";
  private starting: Promise<void> | null = null;
  private job: { job: Job; id: number; nonce: string; timer: NodeJS.Timeout } | null = null;
  private nextId = 1;
  private hostWork: string | null = null;
  private failures = 0;
  dead = false;
  deadReason = "";

  constructor(readonly index: number, private readonly spec: SlotSpec, private readonly onFree: () => void, private readonly requeue: (job: Job) => void) {}

  idle(): boolean { return !this.dead && this.job === null && this.starting === null; }

  start(): Promise<void> {
    if (this.starting) return this.starting;
    const p = this.spawnServer().then(() => { this.starting = null; this.failures = 0; this.onFree(); }, (e: Error) => {
      this.starting = null;
      if (++this.failures >= 3) { this.dead = true; this.deadReason = e.message; }
      this.onFree();
      throw e;
    });
    this.starting = p;
    return p;
  }

  private spawnServer(): Promise<void> {
    const s = this.spec;
    if (s.mode !== "bwrap" && !this.hostWork) {
      this.hostWork = mkdtempSync(join(tmpdir(), "codellama-eval-"));
      chmodSync(this.hostWork, 0o711);
    }
    const conf = serverConfig({ mode: s.mode, root: s.root, uid: s.uid, gid: s.gid, hostWork: this.hostWork, cg: s.cg, memoryMb: s.memoryMb, pidsMax: s.pidsMax, maxOutput: s.maxOutput, preload: s.preload });
    const py = [s.python, "-I", "-c", FORK_SERVER_PY, JSON.stringify(conf)];
    const argv = s.mode === "bwrap" ? [s.bwrap, ...bwrapArgs({ root: s.root, tmpfsBytes: s.tmpfsBytes, cg: s.cg, seccompFd: s.seccomp ? 3 : null }), "--", ...py] : py;
    const join2 = s.cg?.unified ? join(s.cg.unified, "cgroup.procs") : null;
    const [cmd, args] = join2 && s.mode !== "unsafe" ? ["/bin/sh", ["-c", 'echo $$ > "$0" && exec "$@"', join2, ...argv]] : [argv[0], argv.slice(1)];
    const proc = spawn(cmd, args, { env: {}, detached: true, stdio: ["pipe", "pipe", "pipe", s.seccomp && s.mode === "bwrap" ? "pipe" : "ignore"] });
    this.proc = proc;
    this.buf = "";
    this.stderr = "";
    if (s.seccomp && s.mode === "bwrap") (proc.stdio[3] as NodeJS.WritableStream).end(s.seccomp);
    // Killing a slot can reset its stdio sockets; the exit handler reports what matters.
    for (const st of proc.stdio) st?.on("error", () => undefined);
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (d: string) => { this.stderr = (this.stderr + d).slice(-2000); });
    proc.stdout!.setEncoding("utf8");
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const t = setTimeout(() => { if (!ready) { this.kill(); reject(new Error(`sandbox did not start within 30 s: ${this.stderr.trim()}`)); } }, 30_000);
      proc.stdout!.on("data", (d: string) => {
        this.buf += d;
        for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
          const line = this.buf.slice(0, nl);
          this.buf = this.buf.slice(nl + 1);
          let msg: Record<string, unknown>;
          try { msg = JSON.parse(line); } catch { continue; }
          if (!ready && msg.ready) { ready = true; clearTimeout(t); resolve(); } else if (ready) this.onReply(msg as unknown as ServerReply);
        }
      });
      proc.on("exit", (code, sig) => {
        clearTimeout(t);
        const current = this.proc === proc;
        if (current) this.proc = null;
        const why = `sandbox exited (${sig ?? `code ${code}`})${this.stderr.trim() ? ": " + this.stderr.trim().split("\n").slice(-1)[0] : ""}`;
        if (!ready) reject(new Error(why));
        else if (current) {
          // A program cannot kill its server (another uid); a death is the harness's failure, so the
          // run is retried once on a fresh server (twice dead: reported as an error).
          const cur = this.job;
          if (cur && cur.job.attempts === 0 && !this.stopping) {
            this.job = null;
            clearTimeout(cur.timer);
            cur.job.attempts++;
            this.requeue(cur.job);
          }
          this.finish({ status: "error", reason: why, ms: 0 }, true);
        }
      });
    });
  }

  send(job: Job): void {
    const id = this.nextId++;
    const nonce = randomBytes(16).toString("hex");
    const timer = setTimeout(() => this.finish({ status: "error", reason: "sandbox did not answer", ms: job.timeoutMs }, true), job.timeoutMs + BACKSTOP_MS);
    this.job = { job, id, nonce, timer };
    if (!this.proc) { this.finish({ status: "error", reason: "sandbox not running", ms: 0 }, true); return; }
    this.proc.stdin!.write(JSON.stringify({ id, nonce, timeout: job.timeoutMs / 1000, src: job.source }) + "\n");
  }

  private onReply(r: ServerReply): void {
    if (!this.job || r.id !== this.job.id) return;
    this.finish(classify(r, this.job.nonce, this.job.job.timeoutMs), r.recycle || !!r.error);
  }

  /** Resolves the current job; `restart` kills this server and starts a fresh one. */
  private finish(result: ExecResult, restart: boolean): void {
    const cur = this.job;
    this.job = null;
    if (cur) { clearTimeout(cur.timer); cur.job.resolve(result); }
    if (restart && !this.stopping) {
      this.kill();
      this.start().catch(() => { /* reported to the next job via dead/deadReason */ });
    } else this.onFree();
  }

  private stopping = false;

  private kill(): void {
    const p = this.proc;
    this.proc = null;
    this.spec.killGroup();
    if (p && p.exitCode === null && p.signalCode === null) {
      try { process.kill(-p.pid!, "SIGKILL"); } catch { /* gone */ }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.starting) await this.starting.catch(() => undefined);
    const p = this.proc;
    if (this.job) this.finish({ status: "error", reason: "executor closed", ms: 0 }, false);
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once("exit", () => r()));
      p.stdin!.end();
      const t = setTimeout(() => this.kill(), 3000);
      await exited;
      clearTimeout(t);
    }
    this.proc = null;
    this.spec.killGroup();
    if (this.hostWork) { rmSync(this.hostWork, { recursive: true, force: true }); this.hostWork = null; }
  }
}

/** Maps a server reply to a result; `nonce` is the one this run was given. */
export function classify(r: ServerReply, nonce: string, timeoutMs: number): ExecResult {
  const base = { ms: Math.round(r.ms * 10) / 10, output: r.out, leftovers: r.leftovers };
  if (r.error) return { ...base, status: "error", reason: `sandbox: ${r.error}`, ms: 0 };
  const lines = (r.res ?? "").split("\n");
  const setup = lines.find((l) => l.startsWith("SETUP "));
  if (setup) return { ...base, status: "error", reason: `sandbox setup failed: ${setup.slice(6)}` };
  if (r.timedOut) return { ...base, status: "timeout", reason: `exceeded ${+(timeoutMs / 1000).toFixed(3)} s` };
  if (r.outputLimit) return { ...base, status: "killed", reason: "output limit" };
  if (r.code === 0 && lines.includes(`NONCE ${nonce}`)) return { ...base, status: "passed", reason: "" };
  if (r.oom > 0) return { ...base, status: "killed", reason: "memory limit" };
  if (r.signal === osConstants.signals.SIGXCPU) return { ...base, status: "timeout", reason: "CPU time limit" };
  if (r.signal === osConstants.signals.SIGXFSZ) return { ...base, status: "killed", reason: "file size limit" };
  if (r.signal !== null) return { ...base, status: "killed", reason: `killed by ${SIGNALS[r.signal] ?? `signal ${r.signal}`}` };
  if (r.code === 0) return { ...base, status: "failed", reason: "no nonce" };
  const exc = lines.find((l) => l.startsWith("EXC "));
  return { ...base, status: "failed", reason: exc ? exc.slice(4).slice(0, 300) : `exit code ${r.code}` };
}
