/**
 * Where this package is installed: the nearest folder above this file that holds package.json
 * (works from src/ under tsx and from dist/src/ after the build), and the files the package ships.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json")) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** The embedded default model (trained by `codellama train --recipe default`). */
export function defaultModelPath(): string {
  return join(packageRoot(), "models", "default.gguf");
}
