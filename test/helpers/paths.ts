import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest folder above this file that holds package.json (works from dist/ and under tsx). */
export const REPO_ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json"))) {
    const up = dirname(d);
    if (up === d) throw new Error("package.json not found above " + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
})();

/** The read-only team material (`../shared` beside the repo), overridable with CODELLAMA_SHARED. */
export const SHARED = process.env.CODELLAMA_SHARED ?? join(REPO_ROOT, "..", "shared");
export const SHARED_DATA = join(SHARED, "data");
export const LLAMA_VOCAB_GGUF = join(SHARED_DATA, "llama-spm-vocab", "ggml-vocab-llama-spm.gguf");

/** A scratch folder for generated fixtures (git-ignored), created on demand. */
export const SCRATCH = join(REPO_ROOT, ".cache", "test");
