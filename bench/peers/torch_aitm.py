"""PyTorch CPU timings of the AITM training step and inference for bench/aitm.ts.

Usage: /usr/bin/python3 torch_aitm.py '<PeerSpec JSON>'   (see bench/aitm-cases.ts)
       AITM_TORCH_DEVICE=cuda runs it on the GPU (eager mode; bench/gpu.sh sets it when torch has CUDA).
Prints one JSON line: {"results": {case: samples/s}, "skipped": [case], "note": str}.

The model is torch-rechub's AITM (EmbeddingLayer, per-task bottom MLPs, info gates, the
AttentionLayer over [own, info], towers with a sigmoid), with torch-rechub's MLP (Linear,
BatchNorm1d, ReLU, Dropout per hidden dim) given a batch_norm switch for the no-BN cases.
A training step is zero_grad, forward, the AITM loss (sum of task BCEs + alpha * mean of
relu(p2 - p1)), backward and Adam; inference is eval mode under no_grad.

BLAS: Debian's python3-torch links the generic BLAS interface, which is the slow
reference BLAS unless OpenBLAS is installed (apt-get install libopenblas0-pthread). With
OpenBLAS, this CPU needs OPENBLAS_CORETYPE=SkylakeX (its core type is not detected).

Threads: the spec's "threads" (bench/aitm.ts runs 1 and 2, the columns torch-cpu-1t and
torch-cpu-2t) goes to torch.set_num_threads, and bench/aitm.ts sets OPENBLAS_NUM_THREADS
and OMP_NUM_THREADS to the same count. Without "threads" torch keeps its default (one
thread on the 2-core machine the README's figures come from).

Measured here at B=2048 (one thread): 31k samples/s with the reference BLAS, 137k-236k
with tuned OpenBLAS.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_matmul import seconds_per_rep, set_threads  # noqa: E402


class EmbeddingLayer(nn.Module):
    def __init__(self, fields, vocab, embed_dim):
        super().__init__()
        self.names = [f"f{i}" for i in range(fields)]
        self.embed_dict = nn.ModuleDict({n: nn.Embedding(vocab, embed_dim) for n in self.names})

    def forward(self, x, squeeze_dim=True):
        return torch.cat([self.embed_dict[n](x[n].long()) for n in self.names], dim=1)


class MLP(nn.Module):
    def __init__(self, input_dim, output_layer=True, dims=None, dropout=0.0, batch_norm=True):
        super().__init__()
        layers = []
        for d in dims or []:
            layers.append(nn.Linear(input_dim, d))
            if batch_norm:
                layers.append(nn.BatchNorm1d(d))
            layers += [nn.ReLU(), nn.Dropout(p=dropout)]
            input_dim = d
        if output_layer:
            layers.append(nn.Linear(input_dim, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


class AttentionLayer(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.dim = dim
        self.q_layer = nn.Linear(dim, dim, bias=False)
        self.k_layer = nn.Linear(dim, dim, bias=False)
        self.v_layer = nn.Linear(dim, dim, bias=False)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        q, k, v = self.q_layer(x), self.k_layer(x), self.v_layer(x)
        a = self.softmax(torch.sum(q * k, -1) / math.sqrt(self.dim))
        return torch.sum(a.unsqueeze(-1) * v, dim=1)


class AITM(nn.Module):
    def __init__(self, shape, batch_norm):
        super().__init__()
        self.n_task = shape["tasks"]
        hidden = shape["bottom"][-1]
        self.embedding = EmbeddingLayer(shape["fields"], shape["vocab"], shape["embedDim"])
        input_dim = shape["fields"] * shape["embedDim"]
        self.bottoms = nn.ModuleList(
            MLP(input_dim, output_layer=False, dims=shape["bottom"], batch_norm=batch_norm) for _ in range(self.n_task))
        self.towers = nn.ModuleList(MLP(hidden, dims=shape["tower"], batch_norm=batch_norm) for _ in range(self.n_task))
        # torch-rechub's info gates always have BatchNorm (its MLP has no switch).
        self.info_gates = nn.ModuleList(MLP(hidden, output_layer=False, dims=[hidden]) for _ in range(self.n_task - 1))
        self.aits = nn.ModuleList(AttentionLayer(hidden) for _ in range(self.n_task - 1))

    def forward(self, x):
        embed_x = self.embedding(x, squeeze_dim=True)
        towers_in = [self.bottoms[i](embed_x) for i in range(self.n_task)]
        for i in range(1, self.n_task):
            info = self.info_gates[i - 1](towers_in[i - 1]).unsqueeze(1)
            towers_in[i] = self.aits[i - 1](torch.cat([towers_in[i].unsqueeze(1), info], dim=1))
        return torch.cat([torch.sigmoid(self.towers[i](towers_in[i])) for i in range(self.n_task)], dim=1)


def aitm_loss(p, y, alpha):
    bce = sum(F.binary_cross_entropy(p[:, t], y[:, t]) for t in range(p.shape[1]))
    return bce + alpha * torch.sum(torch.relu(p[:, 1:] - p[:, :-1]), dim=1).mean()


def main():
    spec = json.loads(sys.argv[1])
    set_threads(spec.get("threads"))
    shape = spec["shape"]
    torch.manual_seed(0)
    rows, fields, tasks = spec["rows"], shape["fields"], shape["tasks"]
    raw = np.fromfile(spec["data"], dtype=np.int32, count=fields * rows).reshape(fields, rows)
    labels = np.fromfile(spec["data"], dtype=np.float32, offset=fields * rows * 4).reshape(tasks, rows).T.copy()
    device = torch.device(os.environ.get("AITM_TORCH_DEVICE", "cpu"))
    start = time.perf_counter()
    out, skipped = {}, []
    for c in spec["cases"]:
        b = c["batch"]
        if b not in spec.get("batches", [b]) or time.perf_counter() - start > spec["deadlineS"]:
            skipped.append(c["name"])
            continue
        x = {f"f{i}": torch.from_numpy(raw[i, :b].astype(np.int64)).to(device) for i in range(fields)}
        y = torch.from_numpy(labels[:b]).to(device)
        model = AITM(shape, c["batchNorm"]).to(device)
        if c["mode"] == "train":
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=shape["lr"])

            def step():
                opt.zero_grad()
                aitm_loss(model(x), y, shape["alpha"]).backward()
                opt.step()
                if device.type == "cuda":
                    torch.cuda.synchronize()  # a step is timed to its end on the GPU too
        else:
            model.eval()

            def step():
                with torch.no_grad():
                    model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
        s = seconds_per_rep(step, spec["budgetMs"] / 1000, spec["rounds"])
        out[c["name"]] = b / s
        print(f"torch-{device.type} {c['name']}: {b / s:.0f} samples/s", file=sys.stderr)
    note = (f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
            f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}, "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    print(json.dumps({"results": out, "skipped": skipped, "note": note, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
