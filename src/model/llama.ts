/**
 * The Llama forward pass (Code Llama is Llama 2 with RoPE base 1e6), in the manner of llama2.c's
 * forward(): one function read top to bottom, a comment per step, shapes on every buffer.
 *
 * One call processes a chunk of T tokens at positions pos..pos+T-1 (T = 1 is decode, T > 1 is a
 * prefill chunk with a causal mask that accounts for pos > 0). The KV cache keeps every position
 * seen so far, so a long prompt is fed as several chunks. Kernels run on the thread pool over the
 * shared memories planned in plan.ts; weights stay in their GGUF layouts.
 */
import { dequantizeRow } from "../format/dequant.js";
import { GGMLType, typeName } from "../format/ggml-types.js";
import type { ModelConfig } from "../format/model-config.js";
import { describeTensorProblems, checkLlamaTensors, type ModelFile } from "../format/model-file.js";
import { writeF16Table } from "../kernels/arena.js";
import { activationFormat, activationStride, KERNEL_WEIGHT_TYPES } from "../kernels/formats.js";
import { compileKernels, detectVariant, instantiateKernels, probeKernels, type KernelExports, type KernelVariant } from "../kernels/wasm.js";
import { UserError } from "../util/errors.js";
import { createExec, type Backend, type Exec } from "./exec.js";
import { attentionScratchBytes, availableMemory, gb, KV_CODE, kvRowBytes, LOGIT_ROWS, planModel, type KVType, type ModelPlan, type PlacedWeight } from "./plan.js";
import { ropeTable } from "./rope.js";
import { cpus } from "node:os";

export interface LoadOptions {
  /** KV cache positions (default: the file's context length, at most 4096). */
  ctx?: number;
  /** Tokens per forward chunk (default 64). */
  batch?: number;
  kvType?: KVType;
  /** Independent KV caches (sessions, parallel samples); default 1. */
  nSeq?: number;
  threads?: number;
  backend?: Backend;
  variant?: KernelVariant;
  ropeTheta?: number;
  ropeScale?: number;
  /** Testing: force smaller shards. */
  maxShardBytes?: number;
  /** Called with the planned memory before anything is allocated (the CLI prints it). */
  onPlan?: (plan: ModelPlan, summary: string) => void;
  onProgress?: (loaded: number, total: number) => void;
}

export type LogitsWanted = "last" | "all" | "none";

/** Milliseconds spent per kernel since the last reset (when profiling is on). */
export type KernelTimes = Record<string, number>;

export class LlamaModel {
  /** Time split by kernel, filled while `profile` is true. */
  profile = false;
  readonly times: KernelTimes = {};
  private closed = false;

  private constructor(
    readonly config: ModelConfig,
    readonly ctx: number,
    readonly batch: number,
    readonly kvType: KVType,
    readonly plan: ModelPlan,
    readonly memories: WebAssembly.Memory[],
    private readonly exec: Exec,
    readonly variant: KernelVariant | "ref",
  ) {}

  get nThreads(): number { return this.exec.nThreads; }

  /** Number of independent KV cache sequences. */
  get nSeq(): number { return this.plan.nSeq; }

  static async load(file: ModelFile, opts: LoadOptions = {}): Promise<LlamaModel> {
    const c0 = file.config;
    const config: ModelConfig = { ...c0, ropeTheta: opts.ropeTheta ?? c0.ropeTheta, ropeScale: opts.ropeScale ?? c0.ropeScale };
    // 1. The tensors must match the config, and every matrix needs a kernel.
    const problems = describeTensorProblems(checkLlamaTensors(config, file.tensors));
    if (problems) throw new UserError(`${file.path}: ${problems}`);
    for (const [name, t] of file.tensors) {
      if (t.dims.length < 2 || name === "token_embd.weight") continue;
      const fmt = activationFormat(t.type);
      if (!fmt) throw new UserError(`${file.path}: tensor ${name} has type ${typeName(t.type)}; the engine runs ${KERNEL_WEIGHT_TYPES.map(typeName).join(", ")}`);
      if (fmt === "q8_K" && t.dims[0] % 256 !== 0) throw new UserError(`${file.path}: tensor ${name} is ${typeName(t.type)} with rows of ${t.dims[0]}, not a multiple of 256`);
    }
    if (!file.tensors.has("output.weight") && !activationFormat(file.tensors.get("token_embd.weight")!.type)) {
      throw new UserError(`${file.path}: token_embd.weight (${typeName(file.tensors.get("token_embd.weight")!.type)}) doubles as the output matrix but has no kernel`);
    }
    const ctx = opts.ctx ?? Math.min(config.contextLength || 4096, 4096);
    if (!(ctx >= 1 && Number.isInteger(ctx))) throw new UserError(`--ctx must be a positive integer, got ${ctx}`);
    const batch = Math.min(opts.batch ?? 64, ctx);
    const kvType = opts.kvType ?? "f16";
    const backend = opts.backend ?? "wasm";
    const nThreads = backend === "ref" ? 1 : Math.max(1, opts.threads ?? cpus().length);
    const variant = opts.variant ?? detectVariant();
    const heapBase = probeKernels(compileKernels(variant)).heap_base();

    // 2. Plan the memories, and check that they fit before allocating anything.
    const nSeq = opts.nSeq ?? 1;
    if (!(Number.isInteger(nSeq) && nSeq >= 1)) throw new UserError(`the number of sequences must be a whole number >= 1, got ${nSeq}`);
    const plan = planModel(config, file.tensors, { ctx, batch, kvType, nThreads, heapBase, nSeq, maxShardBytes: opts.maxShardBytes });
    opts.onPlan?.(plan, `${gb(plan.totalBytes)} planned: weights ${gb(plan.weightBytes)}, KV cache ${gb(plan.kvBytes)} (${nSeq > 1 ? `${nSeq} x ` : ""}${ctx} tokens, ${kvType}), ${plan.shards.length} memor${plan.shards.length === 1 ? "y" : "ies"}, ${nThreads} thread${nThreads === 1 ? "" : "s"}, ${backend === "ref" ? "reference kernels" : `${variant} kernels`}`);
    const avail = availableMemory();
    if (avail !== undefined && plan.totalBytes > avail) {
      throw new UserError(`${file.path}: needs ${gb(plan.totalBytes)} (weights ${gb(plan.weightBytes)}, KV cache ${gb(plan.kvBytes)} for ${ctx} tokens) but only ${gb(avail)} is available; try a smaller --ctx or --kv f16`);
    }

    // 3. Create the memories and read every weight straight into place.
    const memories = plan.shards.map((s) => s.arena.createMemory());
    let loaded = 0;
    plan.shards.forEach((s, si) => {
      const mem = memories[si];
      writeF16Table(mem, s.lut);
      const rk = instantiateKernels(compileKernels(variant), mem); // for the in-place repacking
      for (const w of s.weights) {
        const t = file.tensors.get(w.name)!;
        const dst = new Uint8Array(mem.buffer, w.ptr, w.nbytes);
        if (t.dims.length === 1 && t.type !== GGMLType.F32) {
          // norms are kept as f32 (see plan.ts)
          const raw = new Uint8Array(t.nbytes);
          t.read(raw);
          new Float32Array(mem.buffer, w.ptr, w.cols).set(dequantizeRow(t.type, raw, w.cols));
        } else {
          t.read(dst);
          if (w.kind !== w.type) {
            // the one layout change, in place (src/kernels/repack.ts)
            const bad = rk.repack_x4(w.kind, w.ptr, w.rows, w.cols, s.buffers.repack);
            if (bad !== 0) {
              const nb = w.cols / 32, row = Math.floor((bad - 1) / nb), block = (bad - 1) % nb;
              const off = row * w.rowBytes + block * (w.rowBytes / nb);
              throw new UserError(`${file.path}: tensor ${w.name}, row ${row}, block ${block} (byte ${off} of the tensor's data): the block scale is inf or NaN; the engine needs finite scales`);
            }
          }
        }
        loaded += w.nbytes;
        opts.onProgress?.(loaded, plan.weightBytes);
      }
    });
    const exec = await createExec(backend, memories, plan.shards.map((s) => s.lut), nThreads, variant);
    exec.setScratchStride(attentionScratchBytes(ctx, config.headDim));
    return new LlamaModel(config, ctx, batch, kvType, plan, memories, exec, backend === "ref" ? "ref" : variant);
  }

  private k(si: number): KernelExports { return this.exec.ks[si]; }

  /** Run a kernel across threads (timed when profiling). */
  private run(si: number, fn: keyof KernelExports, ...args: number[]): void {
    if (!this.profile) { this.exec.run(si, fn, ...args); return; }
    const t0 = performance.now();
    this.exec.run(si, fn, ...args);
    this.times[fn] = (this.times[fn] ?? 0) + performance.now() - t0;
  }

  /** Run a kernel on the main thread only (timed when profiling). */
  private direct(si: number, fn: keyof KernelExports, ...args: number[]): void {
    const k = this.k(si), f = k[fn] as (...a: number[]) => void;
    if (!this.profile) { f.apply(k, args); return; }
    const t0 = performance.now();
    f.apply(k, args);
    this.times[fn] = (this.times[fn] ?? 0) + performance.now() - t0;
  }

  /**
   * out[t][0..rows) = W . x[t] for t < T. `x` is an f32 buffer [T][cols]; quantised copies of it are
   * made on demand (and reused by the next matmul that reads the same input, see `Input`).
   */
  private matmul(si: number, w: PlacedWeight, x: Input, T: number, out: number, outStride = w.rows): void {
    const fmt = activationFormat(w.kind)!;
    let src = x.ptr, stride = w.cols * 4;
    if (fmt !== "f32") {
      src = this.plan.shards[si].buffers.act[fmt];
      stride = activationStride(fmt, w.cols);
      if (!x.quantized.has(fmt)) {
        const fn = fmt === "q8_0" ? "quantize_q8_0" : "quantize_q8_K";
        if (T === 1) this.direct(si, fn as keyof KernelExports, x.ptr, w.cols, src, w.cols, 0, 1);
        else this.run(si, fn as keyof KernelExports, x.ptr, w.cols, src, w.cols, 0, T);
        x.quantized.add(fmt);
      }
    }
    this.run(si, "matmul", w.kind, w.ptr, w.rowBytes, src, stride, out, outStride, w.cols, T, 0, w.rows);
  }

  /**
   * Process `tokens` of sequence `seq` at positions pos..pos+T-1 (T <= batch) and return logits: of
   * the last token ([vocab]), of every token ([T][vocab]) or none.
   */
  forward(tokens: ArrayLike<number>, pos: number, want: LogitsWanted = "last", seq = 0): Float32Array {
    const T = tokens.length;
    return this.forwardBatch(tokens, new Array(T).fill(seq), Array.from({ length: T }, (_, t) => pos + t), want);
  }

  /**
   * The general step: token t belongs to sequence seqs[t] at position positions[t]. Tokens of one
   * sequence must come in increasing positions; its cache must already hold the earlier positions.
   * Several sequences in one call decode as a batch (matrix-matrix products over the rows).
   */
  forwardBatch(tokens: ArrayLike<number>, seqs: ArrayLike<number>, positions: ArrayLike<number>, want: LogitsWanted = "last"): Float32Array {
    if (this.closed) throw new Error("model is closed");
    const c = this.config, T = tokens.length;
    if (T < 1 || T > this.batch) throw new Error(`forward takes 1..${this.batch} tokens, got ${T}`);
    for (let t = 0; t < T; t++) {
      if (!(positions[t] >= 0 && positions[t] < this.ctx)) throw new UserError(`position ${positions[t]} is past the context of ${this.ctx} tokens (set --ctx)`);
      if (!(seqs[t] >= 0 && seqs[t] < this.plan.nSeq)) throw new Error(`sequence ${seqs[t]} does not exist (the model has ${this.plan.nSeq})`);
    }
    const { dim, headDim, nHeads, nKVHeads: nKV, ffnDim: ffn } = c;
    const kvDim = nKV * headDim;
    const kvRow = kvRowBytes(this.kvType, kvDim), kvt = KV_CODE[this.kvType];
    const shards = this.plan.shards;
    const seqBytes = this.plan.seqBytes;

    // token embeddings -> x [T][dim] of the first shard
    {
      const e = this.plan.tokenEmbd, emem = this.memories[shards.length - 1].buffer;
      const x0 = new Float32Array(this.memories[0].buffer, shards[0].buffers.x, T * dim);
      for (let t = 0; t < T; t++) {
        const id = tokens[t];
        if (!(id >= 0 && id < c.vocabSize && Number.isInteger(id))) throw new UserError(`token id ${id} is outside the vocabulary (0..${c.vocabSize - 1})`);
        dequantizeRow(e.type, new Uint8Array(emem, e.ptr + id * e.rowBytes, e.rowBytes), dim, x0.subarray(t * dim, (t + 1) * dim));
      }
    }
    // RoPE cos/sin for these positions, [T][headDim]
    const cs = new Float32Array(T * headDim);
    ropeTable(cs, positions, headDim, c.ropeTheta, c.ropeScale);

    for (let si = 0; si < shards.length; si++) {
      const b = shards[si].buffers, mem = this.memories[si];
      if (si > 0) new Float32Array(mem.buffer, b.x, T * dim).set(new Float32Array(this.memories[si - 1].buffer, shards[si - 1].buffers.x, T * dim));
      new Float32Array(mem.buffer, b.cs, T * headDim).set(cs);
      const info = new Int32Array(mem.buffer, b.info, T * 3);
      const split = (fn: keyof KernelExports, ...a: number[]) => (T === 1 ? this.direct(si, fn, ...a) : this.run(si, fn, ...a));

      for (const l of shards[si].layers) {
        const L = this.plan.layers[l];
        // attention rmsnorm: xb = rmsnorm(x) * attn_norm                      [T][dim]
        split("rmsnorm", b.x, L.attn_norm.ptr, b.xb, dim, c.rmsEps, 0, T);
        // q, k, v projections                                                 [T][dim], [T][kvDim] x2
        const xb = input(b.xb);
        this.matmul(si, L.attn_q, xb, T, b.q);
        this.matmul(si, L.attn_k, xb, T, b.k);
        this.matmul(si, L.attn_v, xb, T, b.v);
        // RoPE on q and k (adjacent pairs)
        split("rope", b.q, dim, nHeads, headDim, b.cs, 0, T);
        split("rope", b.k, kvDim, nKV, headDim, b.cs, 0, T);
        // append each token's k, v to its sequence's cache at its position     [nSeq][ctx][kvDim]
        for (let t = 0; t < T; t++) {
          const kc = L.kCache + seqs[t] * seqBytes, vc = L.vCache + seqs[t] * seqBytes;
          this.direct(si, "store_kv", b.k + t * kvDim * 4, kc + positions[t] * kvRow, kvDim, kvt);
          this.direct(si, "store_kv", b.v + t * kvDim * 4, vc + positions[t] * kvRow, kvDim, kvt);
          info[3 * t] = kc; info[3 * t + 1] = vc; info[3 * t + 2] = positions[t] + 1;
        }
        // causal attention, GQA: xb2 = softmax(q k^T / sqrt(hd)) v; token t sees positions 0..pos_t of its sequence
        this.run(si, "attention", b.q, dim, b.info, b.xb2, b.scores, headDim, nHeads, nKV, kvt, T, this.ctx, 0, T * nHeads);
        // output projection and residual: x += wo . xb2
        this.matmul(si, L.attn_output, input(b.xb2), T, b.xb);
        this.direct(si, "add", b.x, b.xb, T * dim);
        // ffn rmsnorm: xb = rmsnorm(x) * ffn_norm
        split("rmsnorm", b.x, L.ffn_norm.ptr, b.xb, dim, c.rmsEps, 0, T);
        // SwiGLU: hb = silu(w1 . xb) * (w3 . xb)                              [T][ffn]
        const xf = input(b.xb);
        this.matmul(si, L.ffn_gate, xf, T, b.hb);
        this.matmul(si, L.ffn_up, xf, T, b.hb2);
        this.run(si, "silu_mul", b.hb, b.hb2, b.hb, 0, T * ffn);
        // down projection and residual: x += w2 . hb
        this.matmul(si, L.ffn_down, input(b.hb), T, b.xb);
        this.direct(si, "add", b.x, b.xb, T * dim);
      }
    }

    if (want === "none") return new Float32Array(0);
    // final rmsnorm and the output matrix, for the rows wanted, LOGIT_ROWS at a time  [n][vocab]
    const si = shards.length - 1, b = shards[si].buffers, V = c.vocabSize;
    const first = want === "last" ? T - 1 : 0, n = T - first;
    const out = new Float32Array(n * V);
    for (let r0 = 0; r0 < n; r0 += LOGIT_ROWS) {
      const m = Math.min(LOGIT_ROWS, n - r0);
      const split = (fn: keyof KernelExports, ...a: number[]) => (m === 1 ? this.direct(si, fn, ...a) : this.run(si, fn, ...a));
      split("rmsnorm", b.x + (first + r0) * dim * 4, this.plan.outputNorm.ptr, b.xb, dim, c.rmsEps, 0, m);
      this.matmul(si, this.plan.output, input(b.xb), m, b.logits, V);
      out.set(new Float32Array(this.memories[si].buffer, b.logits, m * V), r0 * V);
    }
    return out;
  }

  /** Feed a whole prompt of sequence `seq` in batch-sized chunks from `pos`; returns the logits wanted. */
  prefill(tokens: ArrayLike<number>, pos: number, want: LogitsWanted = "last", seq = 0): Float32Array {
    const V = this.config.vocabSize;
    const all = want === "all" ? new Float32Array(tokens.length * V) : undefined;
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < tokens.length; i += this.batch) {
      const chunk = Array.prototype.slice.call(tokens, i, Math.min(tokens.length, i + this.batch)) as number[];
      const isLast = i + this.batch >= tokens.length;
      const out = this.forward(chunk, pos + i, all ? "all" : isLast ? want : "none", seq);
      if (all) all.set(out, i * V);
      else if (isLast) last = out;
    }
    return all ?? last;
  }

  /** Copy positions [0, n) of sequence `src`'s KV cache to sequence `dst` (every layer). */
  copySeq(src: number, dst: number, n: number): void {
    if (src === dst || n <= 0) return;
    const bytes = n * kvRowBytes(this.kvType, this.config.nKVHeads * this.config.headDim);
    const sb = this.plan.seqBytes;
    this.plan.shards.forEach((s, si) => {
      const u8 = new Uint8Array(this.memories[si].buffer);
      for (const l of s.layers) {
        const L = this.plan.layers[l];
        u8.copyWithin(L.kCache + dst * sb, L.kCache + src * sb, L.kCache + src * sb + bytes);
        u8.copyWithin(L.vCache + dst * sb, L.vCache + src * sb, L.vCache + src * sb + bytes);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exec.close();
  }
}

/** An f32 activation buffer and the quantised copies of it made so far. */
interface Input { ptr: number; quantized: Set<string> }
function input(ptr: number): Input { return { ptr, quantized: new Set() }; }
