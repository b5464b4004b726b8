#!/usr/bin/python3
"""PyTorch reference for codellama-ts training (src/train): the same Llama model, in float32.

Two modes (Debian's /usr/bin/python3 with python3-torch 1.13; never on the product's runtime path):

  llama_train_torch.py grads IN OUT
      IN:  u32 header length, a JSON header {shape, batch, seqLen, tensors: [{name, offset, rows,
           cols}], total}, padding to 4 bytes, then params f32[total], tokens i32[N], targets i32[N],
           weights f32[N] (N = batch * seqLen), all little-endian.
      OUT: f64 loss = sum_t weights[t] * CE_t, then the gradient of that loss, f32[total], in the
           same layout. Autograd, one thread, no fused kernels.

  llama_train_torch.py bench --dim 256 --layers 4 --heads 4 --kv-heads 4 --ffn 688 --vocab 32016
                             --seq 256 --batch 8 --steps 5 --threads 2
      Times full AdamW training steps (forward, backward, step) on random tokens and prints one
      JSON line {tok_per_s, step_ms, threads, torch}.

The model follows Meta's llama/model.py (pre-norm RMSNorm, GQA, RoPE on adjacent pairs as in
GGUF's layout, SwiGLU, untied output), with cos/sin computed in float64 and rounded to float32 as
src/model/rope.ts does.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def rope_tables(T, hd, theta):
    pos = np.arange(T, dtype=np.float64)[:, None]
    i = np.arange(hd // 2, dtype=np.float64)[None, :]
    ang = pos * np.power(theta, -2.0 * i / hd)
    return torch.from_numpy(np.cos(ang).astype(np.float32)), torch.from_numpy(np.sin(ang).astype(np.float32))


def rope(x, cos, sin):
    # x: [B, T, H, hd]; rotate adjacent pairs (x[2i], x[2i+1])
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward(W, shape, tokens, cos, sin):
    dim, nH, nKV = shape["dim"], shape["heads"], shape["kvHeads"]
    hd, eps = dim // nH, shape["normEps"]
    B, T = tokens.shape
    x = W["token_embd.weight"][tokens]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(shape["layers"]):
        p = f"blk.{l}."
        h = rmsnorm(x, W[p + "attn_norm.weight"], eps)
        q = (h @ W[p + "attn_q.weight"].T).view(B, T, nH, hd)
        k = (h @ W[p + "attn_k.weight"].T).view(B, T, nKV, hd)
        v = (h @ W[p + "attn_v.weight"].T).view(B, T, nKV, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = nH // nKV
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(B, T, dim) @ W[p + "attn_output.weight"].T
        h = rmsnorm(x, W[p + "ffn_norm.weight"], eps)
        x = x + (F.silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
    x = rmsnorm(x, W["output_norm.weight"], eps)
    return x @ W["output.weight"].T


def grads(path_in, path_out):
    torch.set_num_threads(1)
    data = open(path_in, "rb").read()
    (hlen,) = struct.unpack_from("<I", data, 0)
    hdr = json.loads(data[4:4 + hlen].decode("utf8"))
    off = (4 + hlen + 3) // 4 * 4
    total, B, T = hdr["total"], hdr["batch"], hdr["seqLen"]
    N = B * T
    params = np.frombuffer(data, np.float32, total, off).copy()
    off += total * 4
    tokens = np.frombuffer(data, np.int32, N, off).astype(np.int64)
    targets = np.frombuffer(data, np.int32, N, off + N * 4).astype(np.int64)
    weights = np.frombuffer(data, np.float32, N, off + N * 8).copy()
    shape = hdr["shape"]
    W = {}
    for t in hdr["tensors"]:
        a = params[t["offset"]:t["offset"] + t["rows"] * t["cols"]]
        W[t["name"]] = torch.tensor(a.reshape(t["cols"]) if t["kind"] == "norm" else a.reshape(t["rows"], t["cols"]), requires_grad=True)
    cos, sin = rope_tables(T, shape["dim"] // shape["heads"], shape["ropeTheta"])
    logits = forward(W, shape, torch.from_numpy(tokens).view(B, T), cos, sin)
    ce = F.cross_entropy(logits.view(N, -1), torch.from_numpy(targets), reduction="none")
    loss = (ce * torch.from_numpy(weights)).sum()
    loss.backward()
    out = np.zeros(total, np.float32)
    for t in hdr["tensors"]:
        out[t["offset"]:t["offset"] + t["rows"] * t["cols"]] = W[t["name"]].grad.numpy().reshape(-1)
    with open(path_out, "wb") as f:
        f.write(struct.pack("<d", float(loss.item())))
        f.write(out.tobytes())


def bench(argv):
    import argparse
    ap = argparse.ArgumentParser()
    for k, d in [("dim", 256), ("layers", 4), ("heads", 4), ("kv-heads", 4), ("ffn", 688), ("vocab", 32016), ("seq", 256), ("batch", 8), ("steps", 5), ("threads", 2), ("warmup", 1)]:
        ap.add_argument("--" + k, type=int, default=d)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    hd = a.dim // a.heads
    shape = {"dim": a.dim, "layers": a.layers, "heads": a.heads, "kvHeads": a.kv_heads, "normEps": 1e-5}
    W = {"token_embd.weight": torch.randn(a.vocab, a.dim) * 0.02, "output_norm.weight": torch.ones(a.dim), "output.weight": torch.randn(a.vocab, a.dim) * 0.02}
    for l in range(a.layers):
        p = f"blk.{l}."
        W[p + "attn_norm.weight"] = torch.ones(a.dim)
        W[p + "ffn_norm.weight"] = torch.ones(a.dim)
        for n, r, c in [("attn_q", a.dim, a.dim), ("attn_k", a.kv_heads * hd, a.dim), ("attn_v", a.kv_heads * hd, a.dim), ("attn_output", a.dim, a.dim), ("ffn_gate", a.ffn, a.dim), ("ffn_up", a.ffn, a.dim), ("ffn_down", a.dim, a.ffn)]:
            W[p + n + ".weight"] = torch.randn(r, c) * 0.02
    for v in W.values():
        v.requires_grad_(True)
    opt = torch.optim.AdamW(list(W.values()), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    cos, sin = rope_tables(a.seq, hd, 10000.0)
    g = torch.Generator().manual_seed(1)
    times = []
    for s in range(a.warmup + a.steps):
        tok = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
        t0 = time.perf_counter()
        logits = forward(W, shape, tok[:, :-1], cos, sin)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), tok[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(W.values()), 1.0)
        opt.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    best = min(times)
    print(json.dumps({"tok_per_s": a.batch * a.seq / best, "step_ms": best * 1000, "median_step_ms": sorted(times)[len(times) // 2] * 1000, "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "grads":
        grads(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
    else:
        sys.exit(__doc__)
