// GGUF rows -> x4 groups, in place (the layout is documented in src/kernels/repack.ts, whose
// TypeScript repackX4 is this function's reference twin). `tmp` holds one group: 4 x rowBytes.
// Returns 0, or 1 + (row * blocksPerRow + block) of the first scale that is inf or NaN.

const KIND_Q4_0X4: i32 = 102;

export function repack_x4(kind: i32, p: usize, rows: i32, cols: i32, tmp: usize): i32 {
  const nb = cols >> 5;
  const q: usize = kind == KIND_Q4_0X4 ? 16 : 32;
  const blk: usize = 2 + q;
  const rb = <usize>nb * blk;
  for (let g = 0; g < rows >> 2; g++) {
    const base = p + <usize>g * 4 * rb;
    memory.copy(tmp, base, 4 * rb);
    for (let b = 0; b < nb; b++) {
      const o = base + <usize>b * 4 * blk;
      for (let r = 0; r < 4; r++) {
        const src = tmp + <usize>r * rb + <usize>b * blk;
        const h = load<u16>(src);
        if ((h & 0x7c00) == 0x7c00) return 1 + (4 * g + r) * nb + b;
        store<u16>(o + (<usize>r << 1), h);
        if (q == 16) {
          // chunk c holds bytes 4c..4c+3 of rows 0..3
          const d = o + 8 + (<usize>r << 2);
          store<u32>(d, load<u32>(src + 2));
          store<u32>(d + 16, load<u32>(src + 6));
          store<u32>(d + 32, load<u32>(src + 10));
          store<u32>(d + 48, load<u32>(src + 14));
        } else {
          const d = o + 8 + (<usize>r << 5);
          v128.store(d, v128.load(src + 2));
          v128.store(d + 16, v128.load(src + 18));
        }
      }
    }
  }
  return 0;
}
