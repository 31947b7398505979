#!/usr/bin/python3
"""PyTorch baseline for bench/lm_throughput: the same language models, batch
and sequence length, Adam lr 1e-3, one thread. Prints one line per run:

    pytorch <spec> <batch> <tokens_per_second> <final_loss>

Usage: pytorch_lm_throughput.py TOKENS SPEC@BATCH... with SPEC one of
rnn:gru-H[xL][-eE][-tT][-vV], rnn:lstm-..., lm:transformer-dD-hA-lL[-tT][-vV]
(edgefl's model spec strings, nn/model_spec.h). Run by lm_throughput itself
(same invocation); needs Debian's python3-torch (with libopenblas0-pthread).
The models are the layouts of nn/char_rnn.h and nn/transformer_lm.h:
embedding + torch.nn.GRU/LSTM + linear head; token + learned position
embeddings, pre-norm blocks (fused qkv projection, causal softmax attention,
MLP of width 4d with tanh GELU), final LayerNorm, linear head.
"""
import math
import sys

from single_thread import OneCore  # before torch: it sets BLAS to one thread

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse(spec):
    kind, args = spec.split(":", 1)
    shape = {"v": 96, "t": 64}
    parts = args.split("-")
    if kind == "rnn":
        shape["cell"] = parts[0]
        hidden, _, layers = parts[1].partition("x")
        shape["h"], shape["l"], shape["e"] = int(hidden), int(layers or 1), 32
        rest = parts[2:]
    else:
        shape["cell"] = "transformer"
        rest = parts[1:]
    for token in rest:
        shape[token[0]] = int(token[1:])
    return shape


class CharRnn(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.embedding = nn.Embedding(s["v"], s["e"])
        cell = nn.GRU if s["cell"] == "gru" else nn.LSTM
        self.rnn = cell(s["e"], s["h"], num_layers=s["l"])  # time-major, as edgefl
        self.head = nn.Linear(s["h"], s["v"])

    def forward(self, ids):  # ids: T x B
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out)  # T x B x V


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, mask):  # x: B x T x d
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=2)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        att = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


class TransformerLm(nn.Module):
    def __init__(self, s):
        super().__init__()
        d = s["d"]
        self.tokens, self.positions = nn.Embedding(s["v"], d), nn.Embedding(s["t"], d)
        self.blocks = nn.ModuleList(Block(d, s["h"]) for _ in range(s["l"]))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, s["v"])
        self.register_buffer("mask", torch.triu(torch.ones(s["t"], s["t"], dtype=torch.bool), 1))

    def forward(self, ids):  # ids: T x B
        ids = ids.t()
        t = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(t))
        for block in self.blocks:
            x = block(x, self.mask[:t, :t])
        return self.head(self.norm(x))  # B x T x V


def main():
    tokens = int(sys.argv[1])
    torch.set_num_threads(1)
    for arg in sys.argv[2:]:
        spec, batch_text = arg.rsplit("@", 1)
        batch = int(batch_text)
        s = parse(spec)
        torch.manual_seed(1)
        model = CharRnn(s) if s["cell"] in ("gru", "lstm") else TransformerLm(s)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        pool = [torch.randint(0, s["v"], (s["t"] + 1, batch)) for _ in range(16)]

        def step(i):
            windows = pool[i % len(pool)]
            logits = model(windows[:-1])
            targets = windows[1:] if s["cell"] != "transformer" else windows[1:].t()
            loss = F.cross_entropy(logits.reshape(-1, s["v"]), targets.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        for i in range(5):  # warm-up
            step(i)
        steps = max(1, tokens // (batch * s["t"]))
        with OneCore() as timed:
            for i in range(steps):
                loss = step(i)
        print(f"pytorch {spec} {batch} {steps * batch * s['t'] / timed.seconds:.1f} "
              f"{loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
