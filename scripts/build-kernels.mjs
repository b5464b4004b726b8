#!/usr/bin/env node
// Builds the WebAssembly kernels from src/kernels/as (AssemblyScript) into dist/kernels/:
//   kernels-simd.wasm     baseline SIMD128 + threads (every current engine)
//   kernels-relaxed.wasm  the same source with relaxed SIMD enabled (picked at run time when available)
//   kernels-dotadd.wasm   relaxed, with the integer kernels on i32x4.relaxed_dot_i8x16_i7x16_add_s
//                         (picked where V8 makes that AVX-VNNI's vpdpbusd, as Node 24 does; wasm.ts)
// Only npm packages are needed (assemblyscript); no other toolchain.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "kernels");
mkdirSync(out, { recursive: true });

const common = [
  join(root, "src/kernels/as/index.ts"),
  "-O3", "--runtime", "stub", "--noAssert", "--use", "abort=",
  "--importMemory", "--sharedMemory", "--initialMemory", "1", "--maximumMemory", "65536",
];
for (const [name, features, dotAdd] of [["simd", "simd,threads", 0], ["relaxed", "simd,threads,relaxed-simd", 0], ["dotadd", "simd,threads,relaxed-simd", 1]]) {
  const { error, stderr } = await asc.main([...common, "--use", `DOTADD=${dotAdd}`, "--enable", features, "-o", join(out, `kernels-${name}.wasm`)]);
  if (error) {
    console.error(stderr.toString());
    console.error(`kernel build (${name}) failed: ${error.message}`);
    process.exit(1);
  }
}
