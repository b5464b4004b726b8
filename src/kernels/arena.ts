/**
 * Byte layout of one shared WebAssembly memory: a bump allocator that is planned first
 * (so the memory is created once, at its final size, and never grows under running threads).
 */
import { MAX_PAGES, PAGE } from "./wasm.js";

export interface Region {
  readonly name: string;
  readonly ptr: number;
  readonly bytes: number;
}

export class ArenaPlan {
  private top: number;
  readonly regions: Region[] = [];

  /** `base`: first free byte (above the kernel module's static data). */
  constructor(base: number) { this.top = base; }

  /** Reserve `bytes` aligned to `align` (64 = a cache line). */
  alloc(name: string, bytes: number, align = 64): number {
    const ptr = Math.ceil(this.top / align) * align;
    this.top = ptr + bytes;
    this.regions.push({ name, ptr, bytes });
    return ptr;
  }

  get size(): number { return this.top; }

  get pages(): number { return Math.ceil(this.top / PAGE); }

  fits(): boolean { return this.pages <= MAX_PAGES; }

  /** Create the shared memory of exactly the planned size. */
  createMemory(): WebAssembly.Memory {
    if (!this.fits()) throw new Error(`planned ${this.size} bytes do not fit one 4 GiB wasm memory`);
    return new WebAssembly.Memory({ initial: this.pages, maximum: MAX_PAGES, shared: true });
  }
}

/** f16 -> f32 table (65536 entries, 256 KiB) written into the memory for the kernels' scalar paths. */
export function writeF16Table(mem: WebAssembly.Memory, ptr: number): void {
  const out = new Float32Array(mem.buffer, ptr, 65536);
  const u32 = new Uint32Array(out.buffer, ptr, 65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    else if (exp === 31) u32[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    else u32[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  }
}
