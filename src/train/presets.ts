/**
 * Stage presets, after Code Llama's pipeline (docs/codellama-reference.md §7.1, §8), scaled to a
 * small model trained from scratch on one machine. Each is a config layer: data, out and (after
 * pretraining) init come from the user's config or flags.
 *
 *   pretrain   code training with FIM (the dataset's FIM transform), RoPE base 1e4, sequences of
 *              256, peak LR 3e-4 (Llama 2 7B's), cosine to 10%, warm-up 100 steps, AdamW
 *              (0.9, 0.95), weight decay 0.1, clip 1.0.
 *   lcft       long-context fine-tuning: RoPE base raised 1e4 -> 1e6 and sequences x4 (1024; the
 *              paper goes 4096 -> 16384), a low LR (the paper's 2e-5 is for 7B-70B models that
 *              "stabilise within a few steps"; a small model needs more, 1e-4), short warm-up.
 *   python     Python specialisation: a data mix (the paper's 75% Python, 10% code, ...; give
 *              "data": [{path, weight}]), initial LR 1e-4.
 *   instruct   instruction tuning on a dataset from `codellama data instruct` (its loss mask
 *              zeroes the prompts), LR 2e-5 as the LCFT-size LR of the paper, no FIM.
 */
import type { ConfigLayer, Stage } from "./config.js";

export const PRESETS: Record<Stage, ConfigLayer> = {
  pretrain: {
    stage: "pretrain", model: { ropeTheta: 10000 }, seqLen: 256, batchSize: 8, gradAccum: 1, steps: 2000,
    lr: 3e-4, minLrRatio: 0.1, warmup: 100, weightDecay: 0.1, gradClip: 1.0,
  },
  lcft: {
    stage: "lcft", model: { ropeTheta: 1e6 }, seqLen: 1024, batchSize: 2, gradAccum: 1, steps: 300,
    lr: 1e-4, minLrRatio: 0.1, warmup: 20, weightDecay: 0.1, gradClip: 1.0,
  },
  python: {
    stage: "python", seqLen: 256, batchSize: 8, gradAccum: 1, steps: 500,
    lr: 1e-4, minLrRatio: 0.1, warmup: 20, weightDecay: 0.1, gradClip: 1.0,
  },
  instruct: {
    stage: "instruct", seqLen: 256, batchSize: 8, gradAccum: 1, steps: 300,
    lr: 2e-5, minLrRatio: 0.1, warmup: 10, weightDecay: 0.1, gradClip: 1.0,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as Stage[];
