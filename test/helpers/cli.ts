// Running the real `codellama` CLI in a child process, and checking the one-line user errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.js";

/** The compiled CLI when the tests run from dist/, else the TypeScript source under tsx. */
export const CLI = import.meta.url.endsWith(".ts")
  ? ["--import", "tsx", join(REPO_ROOT, "src/cli/main.ts")]
  : [join(REPO_ROOT, "dist/src/cli/main.js")];

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], opts: { input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: opts.timeout ?? 120_000, input: opts.input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 1, nothing on stdout, exactly one line on stderr matching `line`, no stack trace. */
export function assertUserError(r: CliResult, line: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.split("\n").length, 2, r.stderr); // one line + the final newline
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.match(r.stderr, line);
}
