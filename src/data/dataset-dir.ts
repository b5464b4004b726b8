/**
 * A dataset folder that appears all at once: the build writes into a temporary folder beside the
 * destination (`.NAME.<pid>.<time>.tmp`), and `commit(manifest)` writes manifest.json last and
 * renames the folder into place. A build that fails or is interrupted never leaves a half
 * dataset under the destination's name (`abort()` removes the temporary folder; a killed process
 * leaves only the hidden temporary folder).
 *
 * An existing destination is refused unless `force`; with `force` it must be a dataset (it has a
 * manifest.json) or an empty folder, and it is replaced only after the new one is complete.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { UserError } from "../util/errors.js";
import type { DatasetManifest } from "./format.js";

export class DatasetDir {
  /** The temporary folder the build writes into. */
  readonly tmp: string;
  private done = false;

  constructor(readonly out: string, private readonly force = false) {
    checkDestination(out, force);
    const parent = dirname(resolve(out));
    try {
      mkdirSync(parent, { recursive: true });
    } catch (e) {
      throw new UserError(`--out ${out}: cannot create the folder ${parent} (${(e as Error).message})`);
    }
    this.tmp = join(parent, `.${basename(resolve(out))}.${process.pid}.${Date.now().toString(36)}.tmp`);
    mkdirSync(this.tmp);
  }

  /** Write the manifest (last) and move the finished dataset into place. */
  commit(manifest: DatasetManifest): void {
    writeFileAtomic(join(this.tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
    const final = resolve(this.out);
    if (existsSync(final)) {
      checkDestination(this.out, this.force);
      const old = `${this.tmp}.old`;
      renameSync(final, old);
      renameSync(this.tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(this.tmp, final);
    }
    this.done = true;
  }

  /** Remove the temporary folder (after a failure). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

function checkDestination(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new UserError(`--out ${out}: exists and is not a folder`);
  const empty = readdirSync(out).length === 0;
  if (empty) return;
  if (!force) throw new UserError(`--out ${out}: already exists; use --force to replace it`);
  if (!existsSync(join(out, "manifest.json"))) throw new UserError(`--out ${out}: is a folder that is not a dataset (no manifest.json); refusing to replace it`);
}
