/**
 * Local source code for the long-context evaluations: finding and reading code files, and the
 * Python filler corpus of the key-retrieval task (§7.4) with, per file, its lines, the token
 * count of each line, and where a cut keeps the code valid Python.
 *
 * Nothing here reaches the network. The paper's filler is CodeContests' Python solutions; we
 * read a local tree instead: by default this machine's Python standard library (found by running
 * `python3` once), or any folder the user names.
 *
 * Token counts. The prompt is `lines.join("\n")`. For SentencePiece vocabularies where "\n" is
 * only ever its own piece (Llama's `<0x0A>`), tokens never span a newline, so the tokens of the
 * whole text are BOS + the first line's tokens (with the implicit leading space) + for every
 * other line one newline token and `encodeInfilling(line)`. We count per line that way and the
 * caller checks the total against one real encode (and corrects it when the vocabulary differs).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";

// ------------------------------------------------------------------ finding files

/** Extensions taken when a folder is given for perplexity (source code, not data). */
export const CODE_EXTENSIONS = [
  ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".go",
  ".rs", ".rb", ".php", ".sh", ".bash", ".scala", ".kt", ".swift", ".m", ".mm", ".lua", ".pl", ".r", ".jl", ".hs", ".ml", ".sql",
  ".dart", ".zig", ".nim", ".ex", ".exs", ".erl", ".clj", ".f90", ".v", ".sv", ".vhd", ".tex",
];

/** Folders never entered (VCS data, caches, installed packages). */
const SKIP_DIRS = new Set([".git", ".hg", ".svn", "node_modules", "__pycache__", "site-packages", "dist-packages"]);

/** Folders of the Python standard library left out of the filler: tests (some are deliberately invalid), data tables. */
const STDLIB_SKIP_DIRS = new Set(["test", "tests", "idle_test", "pydoc_data", "encodings"]);

/** Files under `root` with one of `exts` (lower-cased compare), recursively, sorted by path (plain code-unit order). */
export function listFiles(root: string, exts: readonly string[], skipDirs: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; } // unreadable folder: skipped
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) { if (!SKIP_DIRS.has(e.name) && !skipDirs.has(e.name)) walk(p); }
      else if (e.isFile() && exts.some((x) => e.name.toLowerCase().endsWith(x))) out.push(p);
    }
  };
  walk(root);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Every file named in `paths`, with folders expanded to their code files (CODE_EXTENSIONS),
 * in the order given (a folder's files sorted). A path that does not exist is a UserError.
 */
export function expandSourcePaths(paths: readonly string[], flag = "--files"): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UserError(`${flag}: no such file or folder: ${p}`);
    if (statSync(p).isDirectory()) {
      const files = listFiles(p, CODE_EXTENSIONS);
      if (files.length === 0) throw new UserError(`${flag}: the folder ${p} holds no source files (${CODE_EXTENSIONS.slice(0, 6).join(" ")} ...)`);
      out.push(...files);
    } else out.push(p);
  }
  return out;
}

/** A file's text when it is valid UTF-8 without NUL bytes (CRLF made LF, a BOM dropped), else undefined. */
export function readSourceText(path: string): string | undefined {
  const bytes = readFileSync(path);
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\ufeff/, "").replace(/\r\n?/g, "\n");
  } catch {
    return undefined;
  }
}

/** The standard library folder of the `python3` on PATH (run once, locally). */
export function pythonStdlibDir(): string {
  let dir: string;
  try {
    dir = execFileSync("python3", ["-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"], { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    throw new UserError(`no --source given and python3 could not be run to find its standard library (${(e as Error).message.split("\n")[0]}); give --source DIR with Python files`);
  }
  if (!dir || !existsSync(dir)) throw new UserError(`python3 reports its standard library at "${dir}", which does not exist; give --source DIR with Python files`);
  return dir;
}

// ------------------------------------------------------------------ where Python code can be cut

export interface PythonCuts {
  /**
   * topLevel[i]: a new top-level statement (our key function) can go before line i: the lexer
   * is outside any string, bracket or continuation, line i is code at column 0 that does not
   * continue a compound statement (else/elif/except/finally), and the statement before is not a
   * decorator or a block header. Index lines.length (the end) is always true.
   */
  topLevel: boolean[];
  /**
   * safeEnd[i]: the code can end before line i and go on with a top-level statement: the same
   * lexer conditions, the last statement is neither a block header (`...:`) nor a decorator, and
   * no `try` is waiting for its `except`/`finally`. Line i itself may be indented (the top-level
   * statement that follows dedents).
   */
  safeEnd: boolean[];
}

/**
 * A line-level Python lexer, enough to find safe cut points: strings (single, triple, with
 * backslash escapes: a backslash never ends a string, raw or not), comments, bracket depth and
 * backslash continuations. Broken code only makes it conservative (fewer cut points).
 */
export function pythonCuts(lines: readonly string[]): PythonCuts {
  const n = lines.length;
  const topLevel = new Array<boolean>(n + 1).fill(false), safeEnd = new Array<boolean>(n + 1).fill(false);
  let quote = "", triple = false; // inside a string when quote !== ""
  let depth = 0, cont = false;
  let lastCode = "", logical = "", indent = 0; // last code character of the current logical line, its text and indent
  let prevHeader = false, prevDecorator = false; // of the last complete logical line
  const openTry: number[] = []; // indents of `try:` blocks whose except/finally has not come yet
  for (let i = 0; i < n; i++) {
    const line = lines[i];
    const clean = quote === "" && depth === 0 && !cont;
    if (clean) {
      safeEnd[i] = !prevHeader && !prevDecorator && openTry.length === 0;
      topLevel[i] = safeEnd[i] && /^[^\s#]/.test(line) && !/^(else|elif|except|finally)\b/.test(line);
      lastCode = "";
      logical = line.trimStart();
      indent = line.length - logical.length;
    }
    cont = false;
    for (let j = 0; j < line.length; j++) {
      const c = line[j];
      if (quote !== "") {
        if (c === "\\") { if (j === line.length - 1) cont = true; j++; continue; }
        if (c === quote && (!triple || line.startsWith(quote.repeat(3), j))) {
          if (triple) j += 2;
          quote = ""; lastCode = c;
        }
        continue;
      }
      if (c === "#") break;
      if (c === "'" || c === '"') {
        triple = line.startsWith(c.repeat(3), j);
        quote = c;
        if (triple) j += 2;
        continue;
      }
      if (c === "\\" && j === line.length - 1) { cont = true; continue; }
      if (c === "(" || c === "[" || c === "{") depth++;
      else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
      if (c !== " " && c !== "\t") lastCode = c;
    }
    // A one-quote string cannot cross a line without a backslash: recover from broken code.
    if (quote !== "" && !triple && !cont) quote = "";
    if (quote === "" && depth === 0 && !cont && lastCode !== "") {
      prevHeader = lastCode === ":";
      prevDecorator = logical.startsWith("@");
      while (openTry.length && openTry[openTry.length - 1] > indent) openTry.pop(); // only in broken code
      if (/^(except|finally)\b/.test(logical) && openTry[openTry.length - 1] === indent) openTry.pop();
      if (/^try\s*:/.test(logical)) openTry.push(indent);
      lastCode = "";
    }
  }
  const endClean = quote === "" && depth === 0 && !cont && openTry.length === 0;
  topLevel[n] = endClean && !prevHeader && !prevDecorator;
  safeEnd[n] = topLevel[n];
  return { topLevel, safeEnd };
}

// ------------------------------------------------------------------ the filler corpus

/** One usable filler file: its lines, their token counts and its cut points. */
export interface FillerFile {
  path: string;
  lines: string[];
  /** cost[k]: tokens of its first k lines joined by "\n", not counting a leading space (cost[0] = 0). */
  cost: Int32Array;
  /** Tokens the first line gains when it starts the prompt (the implicit leading space), usually 0 or 1. */
  firstLineExtra: number;
  /** Ascending k (1..lines.length) where a key function can follow the first k lines. */
  keyCuts: number[];
  /** Ascending k (1..lines.length) where the prompt can end (before the query) after the first k lines. */
  endCuts: number[];
}

export interface FillerCorpusOptions {
  /** Leave out files holding any of these strings (default: "my_function", the key's name). */
  exclude?: readonly string[];
  /** Leave out files with a line longer than this (default 1000 characters). */
  maxLineLength?: number;
  /** Leave out files larger than this (default 1 MiB). */
  maxBytes?: number;
}

/** Token count of one line after a newline (no implicit leading space). */
export function lineTokens(tok: Tokenizer, line: string): number {
  return line === "" ? 0 : tok.encodeInfilling(line).length;
}

/**
 * The Python files of a folder as filler. Files are read and tokenized lazily (and cached), and
 * files that are not usable (not UTF-8, empty, holding the key's name, a huge line) are skipped.
 */
export class FillerCorpus {
  readonly files: string[];
  private readonly cache = new Map<number, FillerFile | null>();
  private readonly exclude: readonly string[];
  private readonly maxLineLength: number;
  private readonly maxBytes: number;

  constructor(readonly root: string, readonly tokenizer: Tokenizer, files: string[], opts: FillerCorpusOptions = {}) {
    this.files = files;
    this.exclude = opts.exclude ?? ["my_function"];
    this.maxLineLength = opts.maxLineLength ?? 1000;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
  }

  /** The `.py` files under `root`; the standard library's tests and data tables are left out when `stdlib`. */
  static fromFolder(root: string, tokenizer: Tokenizer, opts: FillerCorpusOptions & { stdlib?: boolean } = {}): FillerCorpus {
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`--source: no such folder: ${root}`);
    const files = listFiles(root, [".py"], opts.stdlib ? STDLIB_SKIP_DIRS : new Set());
    if (files.length === 0) throw new UserError(`--source: the folder ${root} holds no .py files`);
    return new FillerCorpus(root, tokenizer, files, opts);
  }

  /** The path relative to the root, with "/" separators (for reports). */
  relativePath(path: string): string {
    return relative(this.root, path).split(sep).join("/");
  }

  /** File `i` prepared as filler, or null when it is not usable. */
  get(i: number): FillerFile | null {
    let f = this.cache.get(i);
    if (f === undefined) {
      f = this.load(this.files[i]);
      this.cache.set(i, f);
    }
    return f;
  }

  private load(path: string): FillerFile | null {
    try { if (statSync(path).size > this.maxBytes) return null; } catch { return null; }
    const text = readSourceText(path);
    if (text === undefined || this.exclude.some((s) => text.includes(s))) return null;
    // Tabs stay; trailing spaces and blank lines at both ends go (files are joined by blank lines).
    const lines = text.split("\n").map((l) => l.trimEnd());
    while (lines.length && lines[lines.length - 1] === "") lines.pop();
    while (lines.length && lines[0] === "") lines.shift();
    if (lines.length === 0 || lines.some((l) => l.length > this.maxLineLength)) return null;
    const cost = new Int32Array(lines.length + 1);
    for (let k = 0; k < lines.length; k++) cost[k + 1] = cost[k] + lineTokens(this.tokenizer, lines[k]) + (k > 0 ? 1 : 0);
    const firstLineExtra = this.tokenizer.encode(lines[0]).length - (cost[1] - cost[0]);
    const cuts = pythonCuts(lines);
    const keyCuts: number[] = [], endCuts: number[] = [];
    for (let k = 1; k <= lines.length; k++) {
      if (cuts.topLevel[k]) keyCuts.push(k);
      if (cuts.safeEnd[k]) endCuts.push(k);
    }
    // The whole file is always a valid unit (the paper's filler is whole solutions).
    if (keyCuts[keyCuts.length - 1] !== lines.length) keyCuts.push(lines.length);
    if (endCuts[endCuts.length - 1] !== lines.length) endCuts.push(lines.length);
    return { path, lines, cost, firstLineExtra, keyCuts, endCuts };
  }
}
