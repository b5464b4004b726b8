/**
 * Plain-TypeScript reference twins of every WebAssembly kernel, with the same signatures and the
 * same memory layout (pointers into the shared memory). They are the test oracle for the SIMD
 * kernels, and a model can run on them end to end (`RefKernels` implements `KernelExports`).
 * Sums are taken in float64; results are stored as f32.
 */
import { dequantizeRow } from "../format/dequant.js";
import { floatToHalf, halfToFloat, roundToHalf } from "../format/f16.js";
import { rowBytes } from "../format/ggml-types.js";
import { activationFormat, activationStride } from "./formats.js";
import { BadScaleError, fileType, repackX4, unpackX4Row } from "./repack.js";
import type { KernelExports } from "./wasm.js";

const f32 = Math.fround;

/** Round half to even, as f32x4.nearest / _mm256_round_ps(_MM_ROUND_NEAREST). */
function nearestEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export class RefKernels implements KernelExports {
  constructor(private readonly memory: WebAssembly.Memory) {}

  private get u8() { return new Uint8Array(this.memory.buffer); }
  private f32v(ptr: number, n: number) { return new Float32Array(this.memory.buffer, ptr, n); }

  set_f16_lut(_p: number): void { /* the reference converts halves directly */ }
  relaxed_dot_factor(): number { return 1; }
  dot_add_u8_exact(): number { return 0; }
  heap_base(): number { return 0; }
  q8Stride(cols: number): number { return cols + (cols >> 5) * 8; }
  f2h(x: number): number { return floatToHalf(x); }

  repack_x4(kind: number, p: number, rows: number, cols: number): number {
    try {
      repackX4(kind, new Uint8Array(this.memory.buffer, p, rows * rowBytes(fileType(kind), cols)), rows, cols);
      return 0;
    } catch (e) {
      if (e instanceof BadScaleError) return 1 + e.row * (cols / 32) + e.block;
      throw e;
    }
  }

  /** Dequantised Q8 activations of one token: d * q per element. */
  private q8Values(x: number, cols: number): Float64Array {
    const qs = new Int8Array(this.memory.buffer, x, cols);
    const ds = this.f32v(x + cols, cols >> 5);
    const out = new Float64Array(cols);
    for (let i = 0; i < cols; i++) out[i] = ds[i >> 5] * qs[i];
    return out;
  }

  /** Dequantised Q8_K activations of one token: d * q per element (one d per 256). */
  private q8KValues(x: number, cols: number): Float64Array {
    const qs = new Int8Array(this.memory.buffer, x, cols);
    const ds = this.f32v(x + cols, cols >> 8);
    const out = new Float64Array(cols);
    for (let i = 0; i < cols; i++) out[i] = ds[i >> 8] * qs[i];
    return out;
  }

  matmul(kind: number, w: number, rb: number, x: number, xStride: number, y: number, yStride: number,
    cols: number, nTok: number, r0: number, r1: number): void {
    // Activations as the kernel for this weight type reads them (other quantised types: Q8 blocks of 32).
    const fmt = activationFormat(kind) ?? "q8_0";
    const u8 = this.u8;
    const type = fileType(kind), x4 = type !== kind;
    if (rowBytes(type, cols) !== rb) throw new Error(`rowBytes ${rb} does not match type ${kind} x ${cols}`);
    const xs: ArrayLike<number>[] = [];
    for (let t = 0; t < nTok; t++) {
      const xt = x + t * xStride;
      xs.push(fmt === "f32" ? this.f32v(xt, cols) : fmt === "q8_0" ? this.q8Values(xt, cols) : this.q8KValues(xt, cols));
    }
    const out = this.f32v(y, nTok * yStride);
    for (let r = r0; r < r1; r++) {
      const bytes = x4 ? unpackX4Row(kind, u8.subarray(w), r, cols) : u8.subarray(w + r * rb, w + (r + 1) * rb);
      const wr = dequantizeRow(type, bytes, cols);
      for (let t = 0; t < nTok; t++) {
        const xt = xs[t];
        let s = 0;
        for (let i = 0; i < cols; i++) s += wr[i] * xt[i];
        out[t * yStride + r] = s;
      }
    }
  }

  quantize_q8_0(x: number, xStride: number, out: number, cols: number, t0: number, t1: number): void {
    const nb = cols >> 5;
    const os = this.q8Stride(cols);
    for (let t = t0; t < t1; t++) {
      const xt = this.f32v(x + t * xStride * 4, cols);
      const qs = new Int8Array(this.memory.buffer, out + t * os, cols);
      const ds = this.f32v(out + t * os + cols, nb);
      const ss = new Int32Array(this.memory.buffer, out + t * os + cols + nb * 4, nb);
      for (let b = 0; b < nb; b++) {
        let amax = 0;
        for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(xt[b * 32 + i]));
        const d = f32(amax / 127);
        const id = amax !== 0 ? f32(127 / amax) : 0;
        let sum = 0;
        for (let i = 0; i < 32; i++) {
          const q = Math.max(-128, Math.min(127, nearestEven(f32(xt[b * 32 + i] * id))));
          qs[b * 32 + i] = q;
          sum += q;
        }
        ss[b] = 8 * sum; // the Q4_0 offset term (see formats.ts)
        ds[b] = roundToHalf(d);
      }
    }
  }

  /**
   * ggml's quantize_row_q8_K_ref, operation by operation in f32: max = first value of largest
   * magnitude, iscale = -127 / max, q = min(127, nearest-even(iscale * x)), d = 1 / iscale;
   * bsums of each 16 and of each 32 (i16). An all-zero block gets d = 0, zero quants and zero bsums.
   */
  quantize_q8_K(x: number, xStride: number, out: number, cols: number, t0: number, t1: number): void {
    const nb = cols >> 8;
    const os = activationStride("q8_K", cols);
    for (let t = t0; t < t1; t++) {
      const xt = this.f32v(x + t * xStride * 4, cols);
      const qs = new Int8Array(this.memory.buffer, out + t * os, cols);
      const ds = this.f32v(out + t * os + cols, nb);
      const bs = new Int16Array(this.memory.buffer, out + t * os + cols + nb * 4, nb * 16);
      const b32 = new Int16Array(this.memory.buffer, out + t * os + cols + nb * 4 + nb * 32, nb * 8);
      for (let b = 0; b < nb; b++) {
        let amax = 0, max = 0;
        for (let i = 0; i < 256; i++) {
          const v = xt[b * 256 + i];
          if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
        }
        if (!amax) {
          qs.fill(0, b * 256, b * 256 + 256);
          ds[b] = 0;
          bs.fill(0, b * 16, b * 16 + 16);
          b32.fill(0, b * 8, b * 8 + 8);
          continue;
        }
        const iscale = f32(-127 / max);
        for (let i = 0; i < 256; i++) qs[b * 256 + i] = Math.min(127, nearestEven(f32(iscale * xt[b * 256 + i])));
        for (let g = 0; g < 16; g++) {
          let sum = 0;
          for (let i = 0; i < 16; i++) sum += qs[b * 256 + g * 16 + i];
          bs[b * 16 + g] = sum;
        }
        for (let j = 0; j < 8; j++) b32[b * 8 + j] = bs[b * 16 + 2 * j] + bs[b * 16 + 2 * j + 1];
        ds[b] = f32(1 / iscale);
      }
    }
  }

  rmsnorm(x: number, w: number, y: number, n: number, eps: number, t0: number, t1: number): void {
    const wv = this.f32v(w, n);
    for (let t = t0; t < t1; t++) {
      const xt = this.f32v(x + t * n * 4, n), yt = this.f32v(y + t * n * 4, n);
      let ss = 0;
      for (let i = 0; i < n; i++) ss += xt[i] * xt[i];
      const scale = 1 / Math.sqrt(ss / n + eps);
      for (let i = 0; i < n; i++) yt[i] = xt[i] * scale * wv[i];
    }
  }

  rope(x: number, xStride: number, nHeads: number, headDim: number, cs: number, t0: number, t1: number): void {
    for (let t = t0; t < t1; t++) {
      const c = this.f32v(cs + t * headDim * 4, headDim);
      for (let h = 0; h < nHeads; h++) {
        const v = this.f32v(x + (t * xStride + h * headDim) * 4, headDim);
        for (let i = 0; i < headDim; i += 2) {
          const a = v[i], b = v[i + 1];
          v[i] = a * c[i] - b * c[i + 1];
          v[i + 1] = a * c[i + 1] + b * c[i];
        }
      }
    }
  }

  silu_mul(g: number, u: number, out: number, i0: number, i1: number): void {
    const gv = this.f32v(g, i1), uv = this.f32v(u, i1), ov = this.f32v(out, i1);
    for (let i = i0; i < i1; i++) ov[i] = (gv[i] / (1 + Math.exp(-gv[i]))) * uv[i];
  }

  add(y: number, x: number, n: number): void {
    const yv = this.f32v(y, n), xv = this.f32v(x, n);
    for (let i = 0; i < n; i++) yv[i] += xv[i];
  }

  kv_bytes(kvt: number, n: number): number { return kvt === 2 ? (n / 32) * 34 : kvt === 1 ? n * 2 : n * 4; }

  store_kv(src: number, dst: number, n: number, kvt: number): void {
    const s = this.f32v(src, n);
    if (kvt === 1) {
      const d = new Uint16Array(this.memory.buffer, dst, n);
      for (let i = 0; i < n; i++) d[i] = floatToHalf(Math.min(Math.max(s[i], -65504), 65504)); // saturated, as the kernel
    } else if (kvt === 2) {
      const dv = new DataView(this.memory.buffer);
      for (let b = 0; b < n / 32; b++) {
        let amax = 0;
        for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(s[b * 32 + i]));
        const id = amax !== 0 ? f32(127 / amax) : 0;
        dv.setUint16(dst + b * 34, floatToHalf(f32(amax / 127)), true);
        for (let i = 0; i < 32; i++) dv.setInt8(dst + b * 34 + 2 + i, nearestEven(f32(s[b * 32 + i] * id)));
      }
    } else this.f32v(dst, n).set(s);
  }

  attention(q: number, qStride: number, info: number, out: number, _scratch: number,
    headDim: number, nHeads: number, nKV: number, kvt: number, nTok: number, _ctx: number, j0: number, j1: number): void {
    // the item order of the wasm kernel: head-major for several tokens over an f16 cache
    const hm = nTok > 1 && kvt === 1;
    const group = nHeads / nKV;
    const rowBytes = this.kv_bytes(kvt, nKV * headDim), headBytes = this.kv_bytes(kvt, headDim);
    const inf = new DataView(this.memory.buffer);
    /** Value d of the head row that starts at byte `p`. */
    const kvAt = (p: number, d: number): number => {
      if (kvt === 2) { const blk = p + Math.floor(d / 32) * 34; return halfToFloat(inf.getUint16(blk, true)) * inf.getInt8(blk + 2 + (d % 32)); }
      return kvt === 1 ? halfToFloat(inf.getUint16(p + 2 * d, true)) : inf.getFloat32(p + 4 * d, true);
    };
    for (let j = j0; j < j1; j++) {
      const t = hm ? j % nTok : Math.floor(j / nHeads), h = hm ? Math.floor(j / nTok) : j % nHeads, kvh = Math.floor(h / group);
      const qh = this.f32v(q + (t * qStride + h * headDim) * 4, headDim);
      const oh = this.f32v(out + (t * qStride + h * headDim) * 4, headDim);
      const kc = inf.getUint32(info + t * 12, true) + kvh * headBytes, vc = inf.getUint32(info + t * 12 + 4, true) + kvh * headBytes;
      const npos = inf.getInt32(info + t * 12 + 8, true);
      const s = new Float64Array(npos);
      let mx = -Infinity;
      for (let i = 0; i < npos; i++) {
        let acc = 0;
        for (let d = 0; d < headDim; d++) acc += qh[d] * kvAt(kc + i * rowBytes, d);
        s[i] = acc / Math.sqrt(headDim);
        mx = Math.max(mx, s[i]);
      }
      let sum = 0;
      for (let i = 0; i < npos; i++) { s[i] = Math.exp(s[i] - mx); sum += s[i]; }
      const o = new Float64Array(headDim);
      for (let i = 0; i < npos; i++) for (let d = 0; d < headDim; d++) o[d] += (s[i] / sum) * kvAt(vc + i * rowBytes, d);
      oh.set(o);
    }
  }
}
