import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A temporary path beside `path`, so the final rename stays on one filesystem. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/**
 * Write a file so that it is never seen half-written: the chunks go to a temporary
 * file beside `path`, which is fsynced and then renamed over `path`.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array> | Uint8Array | string): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "w");
  try {
    const list = typeof chunks === "string" ? [Buffer.from(chunks)] : chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const c of list) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}
