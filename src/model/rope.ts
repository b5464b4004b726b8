/**
 * RoPE angles. Llama (Meta and GGUF layout) rotates adjacent pairs (x[2i], x[2i+1]) of each head by
 * pos * theta^(-2i/headDim). Angles are computed in float64 (exact enough for 100K-token positions)
 * and stored as f32 (cos, sin) pairs: out[t*headDim + 2i] = cos, [.. + 2i + 1] = sin.
 * `scale` > 1 is linear position interpolation (positions are divided by it).
 */
export function ropeTable(out: Float32Array, positions: ArrayLike<number>, headDim: number, theta: number, scale = 1): void {
  const half = headDim / 2;
  for (let t = 0; t < positions.length; t++) {
    const p = positions[t] / scale;
    for (let i = 0; i < half; i++) {
      const ang = p * Math.pow(theta, (-2 * i) / headDim);
      out[t * headDim + 2 * i] = Math.cos(ang);
      out[t * headDim + 2 * i + 1] = Math.sin(ang);
    }
  }
}
