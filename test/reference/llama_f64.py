#!/usr/bin/env python3
"""Float64 reference forward pass of a Llama GGUF with F32 weights (test reference only).

Usage: llama_f64.py MODEL.gguf IDS OUT.f64
  IDS is a comma-separated list of token ids (BOS included by the caller);
  OUT receives the logits after every position, float64, row-major [len(IDS)][vocab].

Written for codellama-ts's tests from the GGUF layout (innermost dim first) and Meta's
llama/model.py semantics: pre-norm RMSNorm, RoPE on adjacent pairs with base
llama.rope.freq_base, causal attention with grouped K/V heads, SwiGLU FFN, untied output.
Needs only numpy. Never on the product's runtime path.
"""
import struct
import sys

import numpy as np

GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf(path):
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<Q")
        s = data[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            it, n = take("<I"), take("<Q")
            return [value(it) for _ in range(n)]
        return take(GGUF_SCALARS[t])

    assert data[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    take("<I")
    n_tensors, n_kv = take("<Q"), take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        typ, off = take("<I"), take("<Q")
        infos.append((name, dims, typ, off))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        assert typ == 0, f"{name}: only F32 tensors are supported by this reference"
        n = int(np.prod(dims))
        arr = np.frombuffer(data, dtype="<f4", count=n, offset=base + off).astype(np.float64)
        tensors[name] = arr.reshape(list(reversed(dims)))  # GGUF dims are innermost first
    return meta, tensors


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, pos, theta):
    # x: [T, heads, hd]; rotate adjacent pairs (x[2i], x[2i+1]) by pos * theta^(-2i/hd)
    hd = x.shape[-1]
    freqs = theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.outer(pos, freqs)[:, None, :]
    c, s = np.cos(ang), np.sin(ang)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def forward(meta, t, ids):
    dim = meta["llama.embedding_length"]
    n_layers = meta["llama.block_count"]
    n_heads = meta["llama.attention.head_count"]
    n_kv = meta.get("llama.attention.head_count_kv", n_heads)
    eps = meta["llama.attention.layer_norm_rms_epsilon"]
    theta = meta.get("llama.rope.freq_base", 10000.0)
    hd = dim // n_heads
    T = len(ids)
    pos = np.arange(T)
    x = t["token_embd.weight"][ids]  # [T, dim]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(n_layers):
        p = f"blk.{l}."
        h = rmsnorm(x, t[p + "attn_norm.weight"], eps)
        q = (h @ t[p + "attn_q.weight"].T).reshape(T, n_heads, hd)
        k = (h @ t[p + "attn_k.weight"].T).reshape(T, n_kv, hd)
        v = (h @ t[p + "attn_v.weight"].T).reshape(T, n_kv, hd)
        q, k = rope(q, pos, theta), rope(k, pos, theta)
        rep = n_heads // n_kv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        att /= att.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(T, dim)
        x = x + o @ t[p + "attn_output.weight"].T
        h = rmsnorm(x, t[p + "ffn_norm.weight"], eps)
        g = h @ t[p + "ffn_gate.weight"].T
        u = h @ t[p + "ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ t[p + "ffn_down.weight"].T
    x = rmsnorm(x, t["output_norm.weight"], eps)
    out = t.get("output.weight", t["token_embd.weight"])
    return x @ out.T


if __name__ == "__main__":
    meta, tensors = read_gguf(sys.argv[1])
    ids = [int(s) for s in sys.argv[2].split(",")]
    forward(meta, tensors, ids).astype("<f8").tofile(sys.argv[3])
