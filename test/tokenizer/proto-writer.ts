/**
 * A small protobuf writer for tests: builds SentencePiece `ModelProto` files (to test the
 * loader without the SentencePiece tools, and to make corrupt files) and edits trained ones.
 */

export function varint(n: number): number[] {
  const b: number[] = [];
  if (n < 0) { // int32 negatives: 10-byte two's complement
    let lo = n >>> 0, hi = 0xffffffff;
    for (let k = 0; k < 9; k++) {
      b.push((lo & 0x7f) | 0x80);
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
    }
    b.push(1);
    return b;
  }
  let v = n;
  while (v >= 0x80) { b.push((v % 128) | 0x80); v = Math.floor(v / 128); }
  b.push(v);
  return b;
}
export const tag = (no: number, wire: number): number[] => varint(no * 8 + wire);
export const lenField = (no: number, payload: ArrayLike<number>): number[] => [...tag(no, 2), ...varint(payload.length), ...Array.from(payload)];
export const strField = (no: number, s: string): number[] => lenField(no, Buffer.from(s, "utf8"));
export const intField = (no: number, v: number): number[] => [...tag(no, 0), ...varint(v)];
export const boolField = (no: number, v: boolean): number[] => [...tag(no, 0), v ? 1 : 0];
export function floatField(no: number, v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...tag(no, 5), ...b];
}

export interface ModelToWrite {
  pieces: { piece: string; score: number; type?: number }[];
  /** TrainerSpec fields; model_type defaults to 2 (BPE). */
  modelType?: number;
  byteFallback?: boolean;
  /** NormalizerSpec; omitted fields keep the proto defaults. */
  normalizerName?: string;
  charsmap?: Uint8Array;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
}

/** Serialize a ModelProto. */
export function encodeModelProto(m: ModelToWrite): Uint8Array {
  const out: number[] = [];
  for (const p of m.pieces) {
    const body = [...strField(1, p.piece), ...floatField(2, p.score)];
    if (p.type !== undefined && p.type !== 1) body.push(...intField(3, p.type));
    out.push(...lenField(1, body));
  }
  const trainer = [...intField(3, m.modelType ?? 2), ...intField(4, m.pieces.length)];
  if (m.byteFallback !== undefined) trainer.push(...boolField(35, m.byteFallback));
  trainer.push(...intField(43, -1)); // pad_id = -1, a negative varint
  out.push(...lenField(2, trainer));
  const norm: number[] = [];
  if (m.normalizerName !== undefined) norm.push(...strField(1, m.normalizerName));
  if (m.charsmap !== undefined) norm.push(...lenField(2, m.charsmap));
  if (m.addDummyPrefix !== undefined) norm.push(...boolField(3, m.addDummyPrefix));
  if (m.removeExtraWhitespaces !== undefined) norm.push(...boolField(4, m.removeExtraWhitespaces));
  out.push(...lenField(3, norm));
  return Uint8Array.from(out);
}
