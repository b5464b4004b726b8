/**
 * The Llama block for training: forward and backward as explicit function pairs, in the manner of
 * llm.c's train_gpt2.c (no autograd). One micro-batch is B sequences of T tokens, N = B*T rows.
 *
 * Forward, per layer l (x = the residual stream entering the layer, saved as res[l]):
 *   xn1 = rmsnorm(x) * attn_norm                     rstd1 [N] and xn1 [N][dim] saved
 *   qkv = xn1 Wqkv^T; rope(q), rope(k)                [N][dim + 2 kvDim] (q | k | v per row)
 *   att = causal_softmax(q k^T / sqrt(hd)) v          [N][dim], lse [N][heads] saved
 *   mid = x + att Wo^T                                [N][dim]
 *   xn2 = rmsnorm(mid) * ffn_norm                     rstd2, xn2 saved
 *   gu  = xn2 Wgu^T, h = silu(g) * u                  [N][2 ffn], [N][ffn]
 *   res[l+1] = mid + h Wdown^T
 * then xf = rmsnorm(res[L]) * output_norm and logits = xf Wout^T, processed `chunk` rows at a time:
 * each chunk's cross-entropy turns its logits into their gradient at once (llm.c's fused
 * classifier), so the [N][vocab] logits never exist whole. Backward walks the same steps in
 * reverse; the weight gradients accumulate (+=) until `zeroGrads`, which makes gradient
 * accumulation free.
 *
 * Every buffer lives in one shared memory (plan below); matrices go through the gemm kernel as
 * y = x W^T (forward), dx = dy W and dW += dy^T x (backward).
 */
import { ArenaPlan } from "../kernels/arena.js";
import type { KernelVariant } from "../kernels/wasm.js";
import { ropeTable } from "../model/rope.js";
import { UserError } from "../util/errors.js";
import { planF16Table, TrainExec, type TrainBackend } from "./exec.js";
import { layoutParams, type LlamaShape, type ParamLayout, type ParamTensor } from "./params.js";

/** gemm's p block (as/train.ts PB): its A panel is PB x 4 floats of per-thread scratch. */
const GEMM_SCRATCH = 256 * 16;
/** Blocks of the gradient-norm sum (fixed, so the sum does not depend on the thread count). */
export const NORM_BLOCK = 1 << 14;

export interface TrainModelOptions {
  /** Sequences per micro-batch. */
  batch: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Rows of logits computed at once (default 256). */
  chunk?: number;
  threads?: number;
  backend?: TrainBackend;
  variant?: KernelVariant;
}

interface LayerActs { res: number; rstd1: number; xn1: number; qkv: number; att: number; lse: number; mid: number; rstd2: number; xn2: number; gu: number; h: number }

export class TrainModel {
  readonly layout: ParamLayout;
  readonly B: number;
  readonly T: number;
  readonly N: number;
  readonly chunk: number;
  /** Byte pointers of the four parameter-sized buffers. */
  readonly ptr: { params: number; grads: number; m: number; v: number };
  private readonly acts: LayerActs[];
  private readonly p: Record<string, number>;
  private ropeTheta = NaN;
  private readonly tokens: Int32Array;
  private closed = false;

  private constructor(readonly exec: TrainExec, layout: ParamLayout, B: number, T: number, chunk: number, plan: ArenaPlan, acts: LayerActs[]) {
    this.layout = layout;
    this.B = B; this.T = T; this.N = B * T; this.chunk = chunk;
    this.p = Object.fromEntries(plan.regions.map((r) => [r.name, r.ptr]));
    this.ptr = { params: this.p.params, grads: this.p.grads, m: this.p.m, v: this.p.v };
    this.acts = acts;
    this.tokens = new Int32Array(this.N);
  }

  static async create(shape: LlamaShape, opts: TrainModelOptions): Promise<TrainModel> {
    const layout = layoutParams(shape);
    const { dim, heads, ffn, vocab, layers } = shape;
    const B = opts.batch, T = opts.seqLen, N = B * T;
    const chunk = Math.min(opts.chunk ?? 256, N);
    const ld = dim + 2 * layout.kvDim;
    const threads = opts.backend === "ref" ? 1 : Math.max(1, opts.threads ?? 1);
    const r8 = (n: number) => Math.ceil(n / 8) * 8;
    const plan = new ArenaPlan(opts.backend === "ref" ? 64 : TrainExec.heapBase(opts.variant));
    planF16Table(plan);
    const F = 4; // bytes per float
    for (const name of ["params", "grads", "m", "v"]) plan.alloc(name, layout.total * F);
    const acts: LayerActs[] = [];
    for (let l = 0; l <= layers; l++) {
      const res = plan.alloc(`res${l}`, N * dim * F);
      if (l === layers) { acts.push({ res } as LayerActs); break; }
      acts.push({
        res, rstd1: plan.alloc(`rstd1_${l}`, N * F), xn1: plan.alloc(`xn1_${l}`, N * dim * F), qkv: plan.alloc(`qkv${l}`, N * ld * F),
        att: plan.alloc(`att${l}`, N * dim * F), lse: plan.alloc(`lse${l}`, N * heads * F), mid: plan.alloc(`mid${l}`, N * dim * F),
        rstd2: plan.alloc(`rstd2_${l}`, N * F), xn2: plan.alloc(`xn2_${l}`, N * dim * F), gu: plan.alloc(`gu${l}`, N * 2 * ffn * F),
        h: plan.alloc(`h${l}`, N * ffn * F),
      });
    }
    plan.alloc("rstdF", N * F);
    plan.alloc("xnF", N * dim * F);
    plan.alloc("targets", N * F);
    plan.alloc("weights", N * F);
    plan.alloc("losses", N * F);
    plan.alloc("logits", chunk * vocab * F);
    // backward
    plan.alloc("dres", N * dim * F);
    plan.alloc("dxn", N * dim * F);
    plan.alloc("dqkv", N * ld * F);
    plan.alloc("datt", N * dim * F);
    plan.alloc("dgu", N * 2 * ffn * F);
    plan.alloc("dh", N * ffn * F);
    // packed B operands of gemm: the largest of every product below, and the output matrix for dx
    const packFloats = Math.max(
      r8(N) * Math.max(dim, ffn), // forward: x^T
      r8(dim) * Math.max(ld, dim, 2 * ffn), r8(ffn) * dim, // dx: W
      r8(Math.max(dim, ffn)) * N, // dW: x
      r8(chunk) * dim, r8(dim) * chunk, // classifier
    );
    plan.alloc("pack", packFloats * F);
    plan.alloc("packOut", r8(dim) * vocab * F);
    plan.alloc("cs", N * layout.headDim * F);
    plan.alloc("csNeg", N * layout.headDim * F);
    plan.alloc("normBlocks", Math.ceil(layout.total / NORM_BLOCK) * 8);
    const scratchStride = Math.ceil(Math.max(GEMM_SCRATCH, T * 4 * 8) / 64) * 64; // attn_bwd: p and ds of four queries
    plan.alloc("scratch", scratchStride * threads);
    if (!plan.fits()) {
      throw new UserError(`the training state needs ${(plan.size / 2 ** 30).toFixed(2)} GiB, more than one 4 GiB WebAssembly memory; lower batchSize, seqLen or the model size`);
    }
    const exec = await TrainExec.create(plan, { threads, backend: opts.backend, variant: opts.variant, scratchStride });
    const m = new TrainModel(exec, layout, B, T, chunk, plan, acts);
    m.setRopeTheta(shape.ropeTheta);
    return m;
  }

  /** Bytes of the memory (everything: weights, optimizer, activations). */
  get memoryBytes(): number { return this.exec.memory.buffer.byteLength; }

  params(): Float32Array { return this.exec.f32(this.ptr.params, this.layout.total); }
  grads(): Float32Array { return this.exec.f32(this.ptr.grads, this.layout.total); }
  moments(): { m: Float32Array; v: Float32Array } { return { m: this.exec.f32(this.ptr.m, this.layout.total), v: this.exec.f32(this.ptr.v, this.layout.total) }; }
  view(buf: "params" | "grads" | "m" | "v", t: ParamTensor): Float32Array { return this.exec.f32(this.ptr[buf] + t.offset * 4, t.size); }
  /** Per-token losses (unweighted) of the last forward. */
  losses(): Float32Array { return this.exec.f32(this.p.losses, this.N); }

  /** The RoPE base (LCFT raises it from 1e4 to 1e6): recomputes the cos/sin tables of positions 0..T-1. */
  setRopeTheta(theta: number): void {
    if (theta === this.ropeTheta) return;
    this.ropeTheta = theta;
    const hd = this.layout.headDim;
    const pos = Array.from({ length: this.N }, (_, i) => i % this.T);
    const cs = this.exec.f32(this.p.cs, this.N * hd), neg = this.exec.f32(this.p.csNeg, this.N * hd);
    ropeTable(cs, pos, hd, theta);
    neg.set(cs);
    for (let i = 1; i < neg.length; i += 2) neg[i] = -neg[i]; // rotation by -angle: the backward of rope
  }

  zeroGrads(): void { this.grads().fill(0); }

  // ------------------------------------------------------------------ matrix products

  private wptr(t: ParamTensor): number { return this.ptr.params + t.offset * 4; }
  private gptr(t: ParamTensor): number { return this.ptr.grads + t.offset * 4; }

  /** y [N][rows] (+)= x [N][cols] W^T, W = `rows` x `cols` at w. */
  private linearForward(x: number, w: number, rows: number, cols: number, y: number, acc: number, nRows = this.N): void {
    const e = this.exec, pack = this.p.pack, scratch = this.p.scratch;
    e.run("pack_b", x, 1, cols, pack, cols, nRows, 0, nRows);
    e.run("gemm", w, cols, 1, pack, y, rows, 1, nRows, cols, acc, scratch, 0, rows);
  }

  /** dx [N][cols] = dy [N][rows] W (when dx != 0), and dW += dy^T x. */
  private linearBackward(dy: number, x: number, w: number, dw: number, rows: number, cols: number, dx: number): void {
    const e = this.exec, pack = this.p.pack, scratch = this.p.scratch, N = this.N;
    if (dx) {
      e.run("pack_b", w, cols, 1, pack, rows, cols, 0, cols);
      e.run("gemm", dy, rows, 1, pack, dx, cols, 0, cols, rows, 0, scratch, 0, N);
    }
    e.run("pack_b", x, cols, 1, pack, N, cols, 0, cols);
    e.run("gemm", dy, 1, rows, pack, dw, cols, 0, cols, N, 1, scratch, 0, rows);
  }

  private copy(dst: number, src: number, floats: number): void {
    new Float32Array(this.exec.memory.buffer).copyWithin(dst >> 2, src >> 2, (src >> 2) + floats);
  }

  // ------------------------------------------------------------------ forward

  /**
   * Forward over one micro-batch: `tokens` [N] inputs, `targets` [N] next tokens. With `weights`
   * (the loss weight of each position; 0 = not a target) the classifier also writes the gradient of
   * sum(weights * loss) into the output matrix's gradient and the final norm's input, ready for
   * `backward`. Returns the per-token losses (unweighted; a view, valid until the next call).
   */
  forward(tokens: ArrayLike<number>, targets: ArrayLike<number>, weights?: ArrayLike<number>): Float32Array {
    if (this.closed) throw new Error("the training model is closed");
    const e = this.exec, L = this.layout, s = L.shape, N = this.N;
    const { dim, heads: nH, kvHeads: nKV, ffn, vocab: V, normEps: eps } = s;
    const hd = L.headDim, ld = dim + 2 * L.kvDim;
    if (tokens.length !== N || targets.length !== N) throw new Error(`forward takes ${N} tokens and targets, got ${tokens.length} and ${targets.length}`);

    // token embeddings -> res[0]                                              [N][dim]
    const mem = e.memory.buffer;
    const emb = new Float32Array(mem, this.wptr(L.embd), L.embd.size);
    const x0 = new Float32Array(mem, this.acts[0].res, N * dim);
    for (let t = 0; t < N; t++) {
      const id = tokens[t];
      if (!(id >= 0 && id < V && Number.isInteger(id))) throw new UserError(`token id ${id} is outside the vocabulary (0..${V - 1})`);
      this.tokens[t] = id;
      x0.set(emb.subarray(id * dim, (id + 1) * dim), t * dim);
    }
    e.i32(this.p.targets, N).set(targets);
    if (weights) e.f32(this.p.weights, N).set(weights);

    for (let l = 0; l < s.layers; l++) {
      const a = this.acts[l], w = L.layers[l], next = this.acts[l + 1].res;
      // attention rmsnorm, fused q|k|v projection, RoPE on q and k (adjacent pairs)
      e.run("rmsnorm_fwd", a.res, this.wptr(w.attnNorm), a.xn1, a.rstd1, dim, eps, 0, N);
      this.linearForward(a.xn1, this.wptr(w.q), ld, dim, a.qkv, 0);
      e.run("rope", a.qkv, ld, nH, hd, this.p.cs, 0, N);
      e.run("rope", a.qkv + dim * 4, ld, nKV, hd, this.p.cs, 0, N);
      // causal attention (GQA), output projection added to the residual: mid = x + att Wo^T
      e.run("attn_fwd", a.qkv, a.att, a.lse, this.T, nH, nKV, hd, this.p.scratch, 0, this.B * nH * this.T);
      this.copy(a.mid, a.res, N * dim);
      this.linearForward(a.att, this.wptr(w.o), dim, dim, a.mid, 1);
      // ffn rmsnorm, fused gate|up projection, SwiGLU, down projection added to the residual
      e.run("rmsnorm_fwd", a.mid, this.wptr(w.ffnNorm), a.xn2, a.rstd2, dim, eps, 0, N);
      this.linearForward(a.xn2, this.wptr(w.gate), 2 * ffn, dim, a.gu, 0);
      e.run("swiglu_fwd", a.gu, a.h, ffn, 0, N);
      this.copy(next, a.mid, N * dim);
      this.linearForward(a.h, this.wptr(w.down), dim, ffn, next, 1);
    }

    // final rmsnorm, then logits and cross-entropy `chunk` rows at a time
    const xf = this.p.xnF, resL = this.acts[s.layers].res;
    e.run("rmsnorm_fwd", resL, this.wptr(L.outNorm), xf, this.p.rstdF, dim, eps, 0, N);
    const wOut = this.wptr(L.output), logits = this.p.logits;
    if (weights) e.run("pack_b", wOut, dim, 1, this.p.packOut, V, dim, 0, dim); // W as gemm's B for dx = dlogits W
    for (let r0 = 0; r0 < N; r0 += this.chunk) {
      const C = Math.min(this.chunk, N - r0);
      const xr = xf + r0 * dim * 4;
      this.linearForward(xr, wOut, V, dim, logits, 0, C);
      e.run("xent", logits, V, this.p.targets + r0 * 4, weights ? this.p.weights + r0 * 4 : 0, this.p.losses + r0 * 4, 0, C);
      if (!weights) continue;
      // dxf = dlogits W (into dxn), dWout += dlogits^T xf
      e.run("gemm", logits, V, 1, this.p.packOut, this.p.dxn + r0 * dim * 4, dim, 0, dim, V, 0, this.p.scratch, 0, C);
      e.run("pack_b", xr, dim, 1, this.p.pack, C, dim, 0, dim);
      e.run("gemm", logits, 1, V, this.p.pack, this.gptr(L.output), dim, 0, dim, C, 1, this.p.scratch, 0, V);
    }
    return this.losses();
  }

  // ------------------------------------------------------------------ backward

  /** Backward of the last `forward` (which must have had weights): adds every gradient into grads. */
  backward(): void {
    const e = this.exec, L = this.layout, s = L.shape, N = this.N;
    const { dim, heads: nH, kvHeads: nKV, ffn, vocab: V } = s;
    const hd = L.headDim, ld = dim + 2 * L.kvDim;
    const { dres, dxn, dqkv, datt, dgu, dh } = this.p;

    // final rmsnorm: dres = d res[L]
    e.f32(dres, N * dim).fill(0);
    const resL = this.acts[s.layers].res;
    e.run("rmsnorm_bwd", dxn, resL, this.wptr(L.outNorm), this.p.rstdF, dres, dim, 0, N);
    e.run("rmsnorm_dw", dxn, resL, this.p.rstdF, this.gptr(L.outNorm), dim, N, 0, dim);

    for (let l = s.layers - 1; l >= 0; l--) {
      const a = this.acts[l], w = L.layers[l];
      // res[l+1] = mid + h Wdown^T: dh = dres Wdown, dWdown += dres^T h; d mid = dres (kept in dres)
      this.linearBackward(dres, a.h, this.wptr(w.down), this.gptr(w.down), dim, ffn, dh);
      e.run("swiglu_bwd", a.gu, dh, dgu, ffn, 0, N);
      this.linearBackward(dgu, a.xn2, this.wptr(w.gate), this.gptr(w.gate), 2 * ffn, dim, dxn);
      e.run("rmsnorm_bwd", dxn, a.mid, this.wptr(w.ffnNorm), a.rstd2, dres, dim, 0, N);
      e.run("rmsnorm_dw", dxn, a.mid, a.rstd2, this.gptr(w.ffnNorm), dim, N, 0, dim);
      // mid = x + att Wo^T: datt = dres Wo, dWo += dres^T att; d x = dres (kept)
      this.linearBackward(dres, a.att, this.wptr(w.o), this.gptr(w.o), dim, dim, datt);
      // attention, then RoPE backward (rotation by -angle) on dq and dk
      e.run("attn_bwd", a.qkv, a.att, datt, a.lse, dqkv, this.T, nH, nKV, hd, this.p.scratch, 0, this.B * nKV);
      e.run("rope", dqkv, ld, nH, hd, this.p.csNeg, 0, N);
      e.run("rope", dqkv + dim * 4, ld, nKV, hd, this.p.csNeg, 0, N);
      this.linearBackward(dqkv, a.xn1, this.wptr(w.q), this.gptr(w.q), ld, dim, dxn);
      e.run("rmsnorm_bwd", dxn, a.res, this.wptr(w.attnNorm), a.rstd1, dres, dim, 0, N);
      e.run("rmsnorm_dw", dxn, a.res, a.rstd1, this.gptr(w.attnNorm), dim, N, 0, dim);
    }

    // token embeddings: dEmb[token] += dres row (in token order)
    const mem = e.memory.buffer;
    const gE = new Float32Array(mem, this.gptr(L.embd), L.embd.size), d = new Float32Array(mem, dres, N * dim);
    for (let t = 0; t < N; t++) {
      const o = this.tokens[t] * dim;
      for (let i = 0; i < dim; i++) gE[o + i] += d[t * dim + i];
    }
    void V;
  }

  /** Sum of squares of all gradients (blocks of NORM_BLOCK summed in order: any thread count, same bits). */
  gradSumSquares(): number {
    const n = this.layout.total, nb = Math.ceil(n / NORM_BLOCK);
    this.exec.run("sumsq", this.ptr.grads, n, NORM_BLOCK, this.p.normBlocks, 0, nb);
    const blocks = this.exec.f64(this.p.normBlocks, nb);
    let s = 0;
    for (let i = 0; i < nb; i++) s += blocks[i];
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exec.close();
  }
}
