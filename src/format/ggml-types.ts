/**
 * ggml tensor types: ids as stored in GGUF tensor infos, block geometry and names.
 * Block layouts are documented with each dequantiser in `dequant.ts`.
 */
export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
}

export interface TypeInfo {
  readonly name: string;
  /** Elements per block (1 for plain float types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

/** The tensor types codellama-ts reads. Q8_1 is listed so files can be inspected, but it has no dequantiser. */
export const TYPE_INFO: ReadonlyMap<number, TypeInfo> = new Map<number, TypeInfo>([
  [GGMLType.F32, { name: "F32", blockSize: 1, typeSize: 4 }],
  [GGMLType.F16, { name: "F16", blockSize: 1, typeSize: 2 }],
  [GGMLType.BF16, { name: "BF16", blockSize: 1, typeSize: 2 }],
  [GGMLType.Q4_0, { name: "Q4_0", blockSize: 32, typeSize: 18 }],
  [GGMLType.Q4_1, { name: "Q4_1", blockSize: 32, typeSize: 20 }],
  [GGMLType.Q5_0, { name: "Q5_0", blockSize: 32, typeSize: 22 }],
  [GGMLType.Q5_1, { name: "Q5_1", blockSize: 32, typeSize: 24 }],
  [GGMLType.Q8_0, { name: "Q8_0", blockSize: 32, typeSize: 34 }],
  [GGMLType.Q8_1, { name: "Q8_1", blockSize: 32, typeSize: 36 }],
  [GGMLType.Q2_K, { name: "Q2_K", blockSize: 256, typeSize: 84 }],
  [GGMLType.Q3_K, { name: "Q3_K", blockSize: 256, typeSize: 110 }],
  [GGMLType.Q4_K, { name: "Q4_K", blockSize: 256, typeSize: 144 }],
  [GGMLType.Q5_K, { name: "Q5_K", blockSize: 256, typeSize: 176 }],
  [GGMLType.Q6_K, { name: "Q6_K", blockSize: 256, typeSize: 210 }],
  [GGMLType.Q8_K, { name: "Q8_K", blockSize: 256, typeSize: 292 }],
]);

export function typeName(type: number): string {
  return TYPE_INFO.get(type)?.name ?? `unknown(${type})`;
}

export function typeByName(name: string): GGMLType | undefined {
  for (const [id, info] of TYPE_INFO) if (info.name.toLowerCase() === name.toLowerCase()) return id;
  return undefined;
}

export const SUPPORTED_TYPE_NAMES = [...TYPE_INFO.values()].map((t) => t.name).join(", ");

/** Bytes taken by a row of `n` elements of `type`; `n` must be a multiple of the block size. */
export function rowBytes(type: number, n: number): number {
  const info = TYPE_INFO.get(type);
  if (!info) throw new Error(`unknown ggml type ${type}`);
  if (n % info.blockSize !== 0) throw new Error(`row of ${n} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  return (n / info.blockSize) * info.typeSize;
}

/** `general.file_type` (llama_ftype) names, for display. */
export const FILE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "ALL_F32"], [1, "MOSTLY_F16"], [2, "MOSTLY_Q4_0"], [3, "MOSTLY_Q4_1"], [7, "MOSTLY_Q8_0"],
  [8, "MOSTLY_Q5_0"], [9, "MOSTLY_Q5_1"], [10, "MOSTLY_Q2_K"], [11, "MOSTLY_Q3_K_S"], [12, "MOSTLY_Q3_K_M"],
  [13, "MOSTLY_Q3_K_L"], [14, "MOSTLY_Q4_K_S"], [15, "MOSTLY_Q4_K_M"], [16, "MOSTLY_Q5_K_S"],
  [17, "MOSTLY_Q5_K_M"], [18, "MOSTLY_Q6_K"], [32, "MOSTLY_BF16"],
]);
