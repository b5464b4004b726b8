/**
 * The optimizer step: learning-rate schedule, global gradient-norm clipping and AdamW.
 *
 * Schedule (Llama 2 / Code Llama §8.2): linear warm-up over `warmup` steps to the peak `lr`, then a
 * cosine decay to `minLrRatio * lr` at the last step (Llama 2 decays to 10% of the peak; the Code
 * Llama paper's code stage to 1/30).
 *
 * AdamW is PyTorch's torch.optim.AdamW (decoupled weight decay: p *= 1 - lr*wd before the Adam
 * update), with decay on the 2-D projection matrices only (params.ts `decay`). Gradients are
 * clipped to a global L2 norm of `gradClip` by scaling them inside the update.
 */
import type { TrainModel } from "./model.js";

export interface OptimizerSettings {
  lr: number;
  minLrRatio: number;
  warmup: number;
  /** Total optimizer steps of the stage (the schedule ends there). */
  steps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  gradClip: number;
}

/** The learning rate of step `step` (0-based). */
export function learningRate(step: number, o: OptimizerSettings): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const span = Math.max(1, o.steps - o.warmup - 1);
  const progress = Math.min(1, Math.max(0, (step - o.warmup) / span));
  const min = o.lr * o.minLrRatio;
  return min + (o.lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export interface StepStats { lr: number; gradNorm: number; clipped: boolean }

/**
 * One AdamW update of every parameter from the accumulated gradients (step is 0-based; Adam's bias
 * corrections use step + 1).
 */
export function adamwStep(model: TrainModel, step: number, o: OptimizerSettings): StepStats {
  const gradNorm = Math.sqrt(model.gradSumSquares());
  const clipped = o.gradClip > 0 && gradNorm > o.gradClip;
  const gscale = clipped ? o.gradClip / gradNorm : 1;
  const lr = learningRate(step, o);
  const t = step + 1;
  const bc1 = 1 - Math.pow(o.beta1, t), bc2 = 1 - Math.pow(o.beta2, t);
  const { params, grads, m, v } = model.ptr;
  for (const p of model.layout.tensors) {
    const off = p.offset * 4;
    model.exec.run("adamw", params + off, grads + off, m + off, v + off, lr, o.beta1, o.beta2, o.eps,
      p.decay ? o.weightDecay : 0, gscale, bc1, bc2, 0, p.size);
  }
  return { lr, gradNorm, clipped };
}
