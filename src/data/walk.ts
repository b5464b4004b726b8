/**
 * Walking source trees for `codellama data build`: the files of the requested languages (by
 * extension), in a fixed order (each --src root in turn, entries sorted by name), and the license
 * records of the trees (license files and npm package.json "license" fields, licenses.ts).
 *
 * Not entered: hidden folders (.git, ...), __pycache__, and node_modules below a root (installed
 * dependencies, not the tree's own code) unless the root itself lies inside a node_modules folder
 * (then the user asked for packages and every package.json is a package). Symbolic links to
 * folders are not followed (no loops); links named like source files are taken as files (a
 * dangling one is then counted as unreadable). Unreadable folders are skipped with a warning.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { UserError } from "../util/errors.js";
import type { LicenseRecord } from "./format.js";
import { identifyLicense, LICENSE_FILE, packageJsonLicense, readHead } from "./licenses.js";

/** Languages and their extensions (lower case). `.min.js` and similar are found, then filtered as minified. */
export const LANGUAGES: Record<string, readonly string[]> = {
  py: [".py"],
  js: [".js", ".mjs", ".cjs", ".jsx"],
  ts: [".ts", ".tsx", ".mts", ".cts"],
  java: [".java"],
  c: [".c", ".h"],
  cpp: [".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"],
  cs: [".cs"],
  go: [".go"],
  rs: [".rs"],
  rb: [".rb"],
  php: [".php"],
  sh: [".sh", ".bash"],
  kt: [".kt", ".kts"],
  swift: [".swift"],
  scala: [".scala"],
  lua: [".lua"],
  pl: [".pl", ".pm"],
  r: [".r"],
  jl: [".jl"],
  hs: [".hs"],
  sql: [".sql"],
};

/** Parse a --lang list ("py,js,ts"); UserError for unknown names. Empty/undefined = all. */
export function parseLanguages(list: string | readonly string[] | undefined): string[] {
  const names = (typeof list === "string" ? list.split(",") : list ?? []).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) return Object.keys(LANGUAGES);
  const bad = names.filter((n) => !(n in LANGUAGES));
  if (bad.length) throw new UserError(`--lang: unknown language${bad.length > 1 ? "s" : ""} ${bad.join(", ")}; supported: ${Object.keys(LANGUAGES).join(", ")}`);
  return [...new Set(names)];
}

/** The language of a file name among `languages`, or undefined. */
export function languageOf(name: string, languages: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  for (const lang of languages) if (LANGUAGES[lang].some((x) => lower.endsWith(x))) return lang;
  return undefined;
}

export interface SourceFile {
  /** Index of its --src root. */
  root: number;
  /** The path to read (root joined with rel). */
  path: string;
  /** Relative to its root, with "/" separators. */
  rel: string;
  lang: string;
}

export interface WalkResult {
  files: SourceFile[];
  /** Per root: its license records (the root first, then folders with license files or package.json). */
  licenses: LicenseRecord[][];
  warnings: string[];
  unreadableDirs: number;
}

const SKIP_DIRS = new Set(["__pycache__", "node_modules"]);

/** Walk every root; a root that does not exist is a UserError. A root may also be a single file. */
export function walkSources(roots: readonly string[], languages: readonly string[]): WalkResult {
  const files: SourceFile[] = [];
  const licenses: LicenseRecord[][] = [];
  const warnings: string[] = [];
  let unreadableDirs = 0;
  roots.forEach((root, r) => {
    if (!existsSync(root)) throw new UserError(`--src ${root}: no such file or folder`);
    const recs: LicenseRecord[] = [];
    licenses.push(recs);
    if (!statSync(root).isDirectory()) {
      const lang = languageOf(root, languages);
      if (lang) files.push({ root: r, path: root, rel: basename(root), lang });
      return;
    }
    const inNodeModules = resolve(root).split(sep).includes("node_modules");
    const walk = (dir: string, isRoot: boolean) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        unreadableDirs++;
        warnings.push(`${dir}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped`);
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rel = relative(root, dir).split(sep).join("/") || ".";
      // 1. License records for this folder.
      const rec = folderLicenses(dir, rel, entries.filter((e) => e.isFile()).map((e) => e.name), warnings);
      if (rec || isRoot) recs.push(rec ?? { path: ".", files: [] });
      // 2. Files of the requested languages, then the sub-folders.
      for (const e of entries) {
        const lang = languageOf(e.name, languages);
        if (!lang || !(e.isFile() || (e.isSymbolicLink() && !linksToFolder(join(dir, e.name))))) continue;
        const p = join(dir, e.name);
        files.push({ root: r, path: p, rel: relative(root, p).split(sep).join("/"), lang });
      }
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith(".") || e.name === "__pycache__") continue;
        if (SKIP_DIRS.has(e.name) && !inNodeModules) continue;
        walk(join(dir, e.name), false);
      }
    };
    walk(root, true);
  });
  return { files, licenses, warnings, unreadableDirs };
}

/** Whether a symbolic link points to a folder (a dangling link does not). */
function linksToFolder(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

/** The license record of a folder, when it holds license files or a package.json. */
function folderLicenses(dir: string, rel: string, names: string[], warnings: string[]): LicenseRecord | undefined {
  const licenseFiles = names.filter((n) => LICENSE_FILE.test(n));
  // A package.json without "name" and "license" is an export-map stub inside a package, not a package.
  let pkg: { license?: string; name?: string } | "unreadable" | undefined;
  if (names.includes("package.json")) {
    try {
      pkg = packageJsonLicense(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")));
      if (pkg.name === undefined && pkg.license === undefined) pkg = undefined;
    } catch {
      pkg = "unreadable";
    }
  }
  if (licenseFiles.length === 0 && !pkg) return undefined;
  const rec: LicenseRecord = { path: rel, files: [] };
  for (const f of licenseFiles) {
    try {
      rec.files.push({ file: f, license: identifyLicense(readHead(join(dir, f))) });
    } catch (e) {
      warnings.push(`${join(dir, f)}: cannot read the license file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (pkg === "unreadable") rec.packageJson = "unreadable";
  else if (pkg) {
    if (pkg.name !== undefined) rec.package = pkg.name;
    rec.packageJson = pkg.license ?? "none";
  }
  return rec;
}
