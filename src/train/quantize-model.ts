/**
 * Re-encode a Llama GGUF (e.g. a training checkpoint) with another weight type, the way
 * llama.cpp's llama-quantize assigns types:
 *   - 1-D tensors (the RMSNorm gains) stay F32;
 *   - output.weight becomes Q6_K unless the type is Q8_0 or a float type (llama_tensor_get_type);
 *   - "q4_k_m" is llama.cpp's mix (format/synth-llama.ts q4KMType: some attn_v / ffn_down Q6_K);
 *   - a tensor whose rows do not divide into the type's blocks falls back as llama.cpp does
 *     (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), and to F16 when that does not divide either.
 * Metadata is copied (general.file_type updated; the codellama.train.* keys of checkpoints
 * dropped). Output is written atomically (temp file + rename).
 */
import { dequantizeRow } from "../format/dequant.js";
import { GGMLType, TYPE_INFO, rowBytes, typeName } from "../format/ggml-types.js";
import { GGUFFile } from "../format/gguf-reader.js";
import type { GGUFMetaValue } from "../format/gguf-types.js";
import { meta, writeGGUF, type GGUFTensorToWrite } from "../format/gguf-writer.js";
import { quantizeRow } from "../format/quantize.js";
import { q4KMType, SYNTH_TYPES } from "../format/synth-llama.js";
import { UserError } from "../util/errors.js";

/** The types `quantizeModel` writes (those the engine runs) and their general.file_type. */
export const QUANT_TARGETS = { f32: 0, f16: 1, bf16: 32, q8_0: 7, q4_0: 2, q4_k: 14, q5_k: 16, q6_k: 18, q4_k_m: 15 } as const;
export type QuantTarget = keyof typeof QUANT_TARGETS;

const FALLBACK = new Map<number, number>([[GGMLType.Q4_K, GGMLType.Q5_0], [GGMLType.Q5_K, GGMLType.Q5_1], [GGMLType.Q6_K, GGMLType.Q8_0]]);

/** The type tensor `name` (rows of `cols`) gets for target `t`. */
export function tensorType(t: QuantTarget, name: string, cols: number, nDims: number, layers: number): number {
  if (nDims < 2) return GGMLType.F32;
  let type: number;
  if (t === "q4_k_m") {
    const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
    type = name === "output.weight" ? GGMLType.Q6_K : m ? SYNTH_TYPES[q4KMType(m[2], Number(m[1]), layers)] : GGMLType.Q4_K;
  } else {
    type = SYNTH_TYPES[t];
    const float = t === "f32" || t === "f16" || t === "bf16";
    if (name === "output.weight" && !float && t !== "q8_0") type = GGMLType.Q6_K;
  }
  const fits = (ty: number) => cols % TYPE_INFO.get(ty)!.blockSize === 0;
  if (!fits(type)) type = FALLBACK.get(type) ?? GGMLType.F16;
  if (!fits(type)) type = GGMLType.F16;
  return type;
}

export interface QuantizeResult { tensors: { name: string; type: string }[]; bytes: number }

export function quantizeModel(inPath: string, outPath: string, target: QuantTarget): QuantizeResult {
  if (!Object.hasOwn(QUANT_TARGETS, target)) throw new UserError(`unknown type "${target}" (supported: ${Object.keys(QUANT_TARGETS).join(", ")})`);
  const g = GGUFFile.open(inPath);
  try {
    if (g.getString("general.architecture") !== "llama") throw new UserError(`${inPath}: general.architecture is ${JSON.stringify(g.getString("general.architecture"))}; quantize handles llama models`);
    const layers = g.getNumber("llama.block_count") ?? 0;
    const quantized = !["f32", "f16", "bf16"].includes(target);
    const metadata: [string, GGUFMetaValue][] = [];
    for (const [k, v] of g.metadata) {
      if (k.startsWith("codellama.train.") || k === "general.quantization_version") continue;
      metadata.push([k, k === "general.file_type" ? meta.u32(QUANT_TARGETS[target]) : v]);
      if (k === "general.file_type" && quantized) metadata.push(["general.quantization_version", meta.u32(2)]);
    }
    if (!g.has("general.file_type")) metadata.splice(1, 0, ["general.file_type", meta.u32(QUANT_TARGETS[target])]);
    const report: QuantizeResult["tensors"] = [];
    const tensors: GGUFTensorToWrite[] = g.tensors.map((t) => {
      const cols = t.dims[0], n = t.dims.reduce((a, d) => a * d, 1), rows = n / cols;
      const type = tensorType(target, t.name, cols, t.dims.length, layers);
      report.push({ name: t.name, type: typeName(type) });
      return {
        name: t.name, dims: t.dims, type,
        data: () => {
          const src = g.tensorBytes(t);
          let f: Float32Array;
          try {
            f = t.type === GGMLType.F32 ? new Float32Array(src.slice().buffer) : dequantizeRow(t.type, src, n);
          } catch {
            throw new UserError(`${inPath}: tensor ${t.name} has type ${typeName(t.type)}, which cannot be read back to re-encode it`);
          }
          if (type === t.type) return src;
          const rb = rowBytes(type, cols), out = new Uint8Array(rows * rb);
          for (let r = 0; r < rows; r++) quantizeRow(type, f.subarray(r * cols, (r + 1) * cols), out.subarray(r * rb, (r + 1) * rb));
          return out;
        },
      };
    });
    writeGGUF(outPath, { metadata, tensors, alignment: g.alignment });
    const bytes = tensors.reduce((s, t) => s + rowBytes(t.type, t.dims[0]) * (t.dims.reduce((a, d) => a * d, 1) / t.dims[0]), 0);
    return { tensors: report, bytes };
  } finally {
    g.close();
  }
}
