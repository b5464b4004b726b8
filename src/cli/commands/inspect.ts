/**
 * `codellama inspect FILE [--json]`: what a model file is, without loading its weights.
 *
 * Works on .gguf files and Hugging Face folders (anything `openModel` accepts). Reports the
 * configuration, special tokens, a histogram of tensor types, whether every tensor the engine
 * needs is there with the right shape, and which prompt formats the model supports: infilling
 * needs the FIM pieces (▁<PRE> ▁<SUF> ▁<MID> ▁<EOT>); chat is always possible for a Llama, in the
 * 70B "Source/Destination <step>" format when the tokenizer has `<step>`, else Llama 2 [INST].
 */
import type { Command } from "commander";
import { FILE_TYPE_NAMES, typeName } from "../../format/ggml-types.js";
import { parameterCount } from "../../format/model-config.js";
import { checkLlamaTensors, describeTensorProblems, openModel } from "../../format/model-file.js";

export interface InspectReport {
  file: string;
  format: "gguf" | "safetensors";
  /** GGUF version (null for safetensors). */
  formatVersion: number | null;
  /** GGUF general.file_type name, when present. */
  fileType: string | null;
  fileSize: number;
  architecture: "llama";
  name: string | null;
  parameters: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffnDim: number;
  contextLength: number;
  ropeTheta: number;
  ropeScale: number;
  rmsEps: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  special: { bos: number; eos: number; unk: number; prefix: number | null; suffix: number | null; middle: number | null; eot: number | null; step: number | null };
  tokenizer: "gguf" | "spm" | "hf-json";
  /** Per ggml type, largest first. */
  tensorTypes: { type: string; count: number; bytes: number }[];
  tensorCount: number;
  tensorBytes: number;
  /** "ok", or what is missing or misshapen. */
  tensorCheck: string;
  infill: boolean;
  chat: "inst" | "step";
}

export function inspectModel(path: string): InspectReport {
  const m = openModel(path);
  try {
    const c = m.config;
    // 1. Tensor type histogram.
    const hist = new Map<string, { type: string; count: number; bytes: number }>();
    let tensorBytes = 0;
    for (const t of m.tensors.values()) {
      const name = typeName(t.type);
      const h = hist.get(name) ?? { type: name, count: 0, bytes: 0 };
      h.count++;
      h.bytes += t.nbytes;
      tensorBytes += t.nbytes;
      hist.set(name, h);
    }
    const tensorTypes = [...hist.values()].sort((a, b) => b.bytes - a.bytes || a.type.localeCompare(b.type));
    // 2. GGUF specifics.
    const g = m.tokenizerSource.kind === "gguf" ? m.tokenizerSource.file : undefined;
    const ft = g?.getNumber("general.file_type");
    const s = c.special;
    const fim = s.prefix !== undefined && s.suffix !== undefined && s.middle !== undefined && s.eot !== undefined;
    return {
      file: path,
      format: m.format,
      formatVersion: g?.version ?? null,
      fileType: ft === undefined ? null : FILE_TYPE_NAMES.get(ft) ?? `unknown(${ft})`,
      fileSize: m.fileSize,
      architecture: c.architecture,
      name: c.name ?? null,
      parameters: parameterCount(c),
      dim: c.dim, layers: c.nLayers, heads: c.nHeads, kvHeads: c.nKVHeads, headDim: c.headDim, ffnDim: c.ffnDim,
      contextLength: c.contextLength, ropeTheta: c.ropeTheta, ropeScale: c.ropeScale, rmsEps: c.rmsEps,
      vocabSize: c.vocabSize, tiedEmbeddings: c.tiedEmbeddings,
      special: { bos: s.bos, eos: s.eos, unk: s.unk, prefix: s.prefix ?? null, suffix: s.suffix ?? null, middle: s.middle ?? null, eot: s.eot ?? null, step: s.step ?? null },
      tokenizer: m.tokenizerSource.kind,
      tensorTypes,
      tensorCount: m.tensors.size,
      tensorBytes,
      tensorCheck: describeTensorProblems(checkLlamaTensors(c, m.tensors), 4) ?? "ok",
      infill: fim,
      chat: s.step !== undefined ? "step" : "inst",
    };
  } finally {
    m.close();
  }
}

// ------------------------------------------------------------------ human output

const int = (n: number) => n.toLocaleString("en-US");

function bytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/** Rows of cells → text with every column padded to its widest cell (`right` columns right-aligned). */
function table(rows: string[][], right: boolean[] = []): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 && !right[i] ? cell : right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ")).join("\n");
}

export function formatInspect(r: InspectReport): string {
  const id = (v: number | null) => (v === null ? "none" : String(v));
  const sp = r.special;
  const fmt = r.format === "gguf" ? `GGUF v${r.formatVersion}${r.fileType ? `, ${r.fileType}` : ""}` : "Hugging Face safetensors";
  const info: [string, string][] = [
    ["file", `${r.file} (${fmt})`],
    ["file size", `${bytes(r.fileSize)} (${int(r.fileSize)} bytes)`],
    ["architecture", r.architecture],
    ["name", r.name ?? "none"],
    ["parameters", `${count(r.parameters)} (${int(r.parameters)})`],
    ["dim", String(r.dim)],
    ["layers", String(r.layers)],
    ["heads", String(r.heads)],
    ["kv heads", `${r.kvHeads}${r.kvHeads < r.heads ? ` (grouped-query, ${r.heads / r.kvHeads} heads per kv head)` : ""}`],
    ["head dim", String(r.headDim)],
    ["ffn dim", String(r.ffnDim)],
    ["context length", int(r.contextLength)],
    ["rope theta", `${r.ropeTheta}${r.ropeScale !== 1 ? ` (linear scale ${r.ropeScale})` : ""}`],
    ["rms eps", Number(r.rmsEps.toPrecision(3)).toExponential()], // f32 1e-5 is 9.99999974e-6
    ["vocab size", int(r.vocabSize)],
    ["embeddings", r.tiedEmbeddings ? "tied (no output.weight)" : "separate output.weight"],
    ["special tokens", `BOS ${sp.bos}, EOS ${sp.eos}, UNK ${sp.unk}`],
    ["FIM tokens", `PRE ${id(sp.prefix)}, SUF ${id(sp.suffix)}, MID ${id(sp.middle)}, EOT ${id(sp.eot)}`],
    ["<step> token", id(sp.step)],
    ["tokenizer", { gguf: "inside the GGUF", spm: "tokenizer.model (SentencePiece)", "hf-json": "tokenizer.json" }[r.tokenizer]],
    ["infilling", r.infill ? "yes" : "no (the tokenizer has no FIM pieces)"],
    ["chat", r.chat === "step" ? "yes, 70B Source/Destination <step> format" : "yes, Llama 2 [INST] format"],
    ["tensors", `${r.tensorCount}, ${bytes(r.tensorBytes)}: ${r.tensorCheck === "ok" ? "all present with the expected shapes" : r.tensorCheck}`],
  ];
  const hist = [["type", "count", "bytes"], ...r.tensorTypes.map((t) => [t.type, int(t.count), bytes(t.bytes)])];
  return `${table(info)}\n\n${r.tensorTypes.length ? table(hist, [false, true, true]) : "(no tensors: a vocabulary-only file)"}\n`;
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description("show a model's configuration, special tokens and tensor types (GGUF file or Hugging Face folder)")
    .argument("<file>", "a .gguf file or a Hugging Face model folder")
    .option("--json", "print one JSON object instead of a table")
    .action((file: string, opts: { json?: boolean }) => {
      const r = inspectModel(file);
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + "\n" : formatInspect(r));
    });
}
