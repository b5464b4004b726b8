// The kernel tests again under a second Node.js, when CODELLAMA_TEST_NODE names one (.ci/run fetches
// the current LTS, Node 24, from the npm registry). engines says Node >= 20, and the two differ where
// it matters to the kernels: Node 20 needs a flag for relaxed SIMD and expands the dot-add
// instruction into five, Node 24 ships relaxed SIMD and emits AVX-VNNI's vpdpbusd for it, so the
// dot-add build (and the test that it gives the relaxed build's bits) only meets that code there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const other = process.env.CODELLAMA_TEST_NODE;

test("the kernel tests pass under CODELLAMA_TEST_NODE", { skip: other ? false : "CODELLAMA_TEST_NODE is not set" }, () => {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith(".test.js") && f !== "other-node.test.js").map((f) => join(dir, f));
  assert.ok(files.length >= 3, `kernel test files found: ${files.join(", ")}`);
  const version = spawnSync(other!, ["--version"], { encoding: "utf8" });
  assert.equal(version.status, 0, `${other} --version: ${version.stderr}`);
  // which build that runtime picks (relaxed or dotadd; it depends on the CPU too), for the log
  const variant = spawnSync(other!, ["--input-type=module", "-e",
    `import { detectVariant } from ${JSON.stringify(join(dir, "..", "..", "src", "kernels", "wasm.js"))}; console.log(detectVariant());`], { encoding: "utf8" });
  assert.equal(variant.status, 0, variant.stderr);
  assert.equal(variant.stderr, "", "nothing on stderr (Node >= 22 does not know the relaxed-SIMD flag)");
  const env = { ...process.env };
  delete env.CODELLAMA_TEST_NODE;
  delete env.NODE_TEST_CONTEXT; // a child of node --test would otherwise report to its parent
  const r = spawnSync(other!, ["--test", "--test-reporter=dot", ...files], { encoding: "utf8", env, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${version.stdout.trim()} (${variant.stdout.trim()} kernels):\n${r.stdout}\n${r.stderr}`);
  console.log(`# ${version.stdout.trim()} picks the ${variant.stdout.trim()} kernels; ${files.length} kernel test files pass`);
});
