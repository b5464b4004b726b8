/**
 * GGUF metadata values, kept with their on-disk types so that a file read and written
 * again is identical to the byte. Numeric arrays are typed arrays; 64-bit integers are bigint.
 */
export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export const VALUE_TYPE_NAMES = [
  "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
] as const;

export type GGUFNumberType =
  | GGUFValueType.UINT8 | GGUFValueType.INT8 | GGUFValueType.UINT16 | GGUFValueType.INT16
  | GGUFValueType.UINT32 | GGUFValueType.INT32 | GGUFValueType.FLOAT32 | GGUFValueType.FLOAT64;

export type GGUFArrayItems =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array
  | boolean[] | string[] | GGUFArrayValue[];

export interface GGUFArrayValue {
  type: GGUFValueType.ARRAY;
  itemType: GGUFValueType;
  value: GGUFArrayItems;
}

export type GGUFMetaValue =
  | { type: GGUFNumberType; value: number }
  | { type: GGUFValueType.UINT64 | GGUFValueType.INT64; value: bigint }
  | { type: GGUFValueType.BOOL; value: boolean }
  | { type: GGUFValueType.STRING; value: string }
  | GGUFArrayValue;

/** Bytes a scalar of this type takes on disk (strings and arrays are variable). */
export const SCALAR_SIZE: Partial<Record<GGUFValueType, number>> = {
  [GGUFValueType.UINT8]: 1, [GGUFValueType.INT8]: 1, [GGUFValueType.UINT16]: 2, [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4, [GGUFValueType.INT32]: 4, [GGUFValueType.FLOAT32]: 4, [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT64]: 8, [GGUFValueType.INT64]: 8, [GGUFValueType.FLOAT64]: 8,
};

/** One tensor of a GGUF file. `dims` are innermost first, as stored: a matrix of `rows` rows of `cols` is [cols, rows]. */
export interface GGUFTensorInfo {
  name: string;
  dims: number[];
  type: number;
  /** Offset of the tensor data relative to the start of the data section. */
  offset: number;
  /** Absolute byte offset in the file. */
  fileOffset: number;
  nelements: number;
  nbytes: number;
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_MAX_DIMS = 4;

/** Convenience: the JS value of a metadata entry (typed arrays for numeric arrays). */
export function plainValue(v: GGUFMetaValue): unknown {
  if (v.type === GGUFValueType.ARRAY) {
    return v.itemType === GGUFValueType.ARRAY ? (v.value as GGUFArrayValue[]).map(plainValue) : v.value;
  }
  return v.value;
}
