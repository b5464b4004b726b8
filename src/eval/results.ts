/**
 * The run folder of `codellama eval <benchmark>` (--out DIR) and how a run resumes from it.
 *
 *   run.json       what the folder holds: benchmark, model or endpoint or samples file, and the
 *                  settings that change samples (max tokens, seed, infill mode, prompt version).
 *                  A rerun with other settings is refused, so one folder never mixes two setups.
 *   samples.jsonl  one line per generated sample: {run, task_id, sample, completion, finish}
 *   results.jsonl  one line per executed sample: {run, task_id, sample, completion, passed,
 *                  result, reason, ms}; `result` is passed / failed / timeout / error / killed
 *   .lock          the pid of the process writing the folder (a second writer is refused)
 *
 * `run` names a sampling setup ("greedy", "T0.8-p0.95", "samples"), so a greedy pass@1 run and a
 * sampled pass@10/100 run can share the folder. A line is appended (one write) as soon as its
 * sample is generated or executed; on restart every complete line is kept and a line cut short
 * by a kill is dropped, so nothing is lost and nothing is done twice.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import type { ExecStatus } from "./sandbox/index.js";

export const SampleLine = z.object({
  run: z.string(),
  task_id: z.string(),
  sample: z.number().int().min(0),
  completion: z.string(),
  finish: z.string(),
});
export type SampleLine = z.infer<typeof SampleLine>;

export const ResultLine = z.object({
  run: z.string(),
  task_id: z.string(),
  sample: z.number().int().min(0),
  completion: z.string(),
  passed: z.boolean(),
  result: z.enum(["passed", "failed", "timeout", "error", "killed"]),
  reason: z.string(),
  ms: z.number(),
});
export type ResultLine = z.infer<typeof ResultLine> & { result: ExecStatus };

export function sampleKey(run: string, taskId: string, sample: number): string {
  return `${run}\u0000${taskId}\u0000${sample}`;
}

/** An append-only JSONL file of records checked by `schema`. */
export class JsonlLog<T extends { run: string; task_id: string; sample: number }> {
  readonly records: T[] = [];
  private readonly keys = new Map<string, T>();
  private fd: number;

  /** Read `path` (created when missing), dropping a last line cut short by a kill. */
  constructor(readonly path: string, schema: z.ZodType<T>) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      const end = text.lastIndexOf("\n") + 1;
      // 1. A torn last line (no newline yet): cut the file back to the last complete line.
      if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
      const lines = text.slice(0, end).split("\n");
      lines.pop();
      // 2. Every complete line must be a record; anything else was not written by us.
      lines.forEach((line, i) => {
        if (line.trim() === "") return;
        let obj: unknown;
        try { obj = JSON.parse(line); } catch { throw new UserError(`${path}:${i + 1}: not a JSON line; fix or delete that line (or the file) to go on`); }
        const r = schema.safeParse(obj);
        if (!r.success) throw new UserError(`${path}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join(".") || "line"}: ${x.message}`).join("; ")}; fix or delete that line to go on`);
        this.add(r.data);
      });
    }
    this.fd = openSync(path, "a");
  }

  private add(rec: T): void {
    const k = sampleKey(rec.run, rec.task_id, rec.sample);
    if (this.keys.has(k)) return; // a duplicate (should not happen) counts once
    this.keys.set(k, rec);
    this.records.push(rec);
  }

  get(run: string, taskId: string, sample: number): T | undefined {
    return this.keys.get(sampleKey(run, taskId, sample));
  }

  has(run: string, taskId: string, sample: number): boolean {
    return this.keys.has(sampleKey(run, taskId, sample));
  }

  /** Append one record as one line, in one write. */
  append(rec: T): void {
    if (this.has(rec.run, rec.task_id, rec.sample)) throw new Error(`${this.path}: ${rec.task_id} sample ${rec.sample} of ${rec.run} is already recorded`);
    writeSync(this.fd, JSON.stringify(rec) + "\n");
    this.add(rec);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** What a run folder was made for; a rerun must match it. */
export type Manifest = Record<string, string | number | boolean | null>;

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

/** A run folder: manifest checked, locked, both logs open. */
export class RunDir {
  readonly samples: JsonlLog<SampleLine>;
  readonly results: JsonlLog<ResultLine>;
  private locked = false;

  constructor(readonly dir: string, manifest: Manifest) {
    // 1. The folder, and nobody else writing it.
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UserError(`--out: cannot create ${dir}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (!statSync(dir).isDirectory()) throw new UserError(`--out: ${dir} is not a folder`);
    this.lock();
    try {
      // 2. The manifest: written the first time, compared after.
      const mpath = join(dir, "run.json");
      if (existsSync(mpath)) {
        let old: Manifest;
        try { old = JSON.parse(readFileSync(mpath, "utf8")) as Manifest; } catch { throw new UserError(`${mpath}: not JSON; delete the folder or choose another --out`); }
        for (const k of new Set([...Object.keys(old), ...Object.keys(manifest)])) {
          if (old[k] !== manifest[k]) {
            throw new UserError(`--out ${dir} holds a run with ${k} = ${JSON.stringify(old[k])}, not ${JSON.stringify(manifest[k])}; choose another --out (or delete the folder) to start a new run`);
          }
        }
      } else {
        writeFileAtomic(mpath, JSON.stringify(manifest, null, 2) + "\n");
      }
      // 3. The logs.
      this.samples = new JsonlLog(join(dir, "samples.jsonl"), SampleLine);
      this.results = new JsonlLog(join(dir, "results.jsonl"), ResultLine as z.ZodType<ResultLine>);
    } catch (e) {
      this.unlock();
      throw e;
    }
  }

  private lock(): void {
    const path = join(this.dir, ".lock");
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fd = openSync(path, "wx");
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.locked = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new UserError(`--out: cannot write ${path}: ${(e as Error).message.split("\n")[0]}`);
        const pid = Number(readFileSync(path, "utf8").trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new UserError(`--out ${this.dir} is being written by another codellama eval (pid ${pid}); wait for it or choose another --out`);
        }
        unlinkSync(path); // left by a run that was killed
      }
    }
    throw new UserError(`--out: cannot lock ${this.dir}`);
  }

  private unlock(): void {
    if (!this.locked) return;
    try { unlinkSync(join(this.dir, ".lock")); } catch { /* already gone */ }
    this.locked = false;
  }

  close(): void {
    this.samples?.close();
    this.results?.close();
    this.unlock();
  }
}
