"""PyTorch CPU matmul timings for bench/matmul.ts.

Usage: torch_matmul.py '{"cases": [{"case": str, "batch": b, "m": m, "n": n, "k": k,
"transA": bool, "transB": bool}], "budget_s": float, "rounds": int, "threads": int}'

"threads" (optional) is passed to torch.set_num_threads before anything runs; bench/matmul.ts
sets OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) to the same count in the environment.

Prints one JSON line: {"threads": t, "results": {case: GFLOPS}}. Operands are created in
their stored layout ([k, m] for transA, [n, k] for transB) and used through a transposed
view, so BLAS runs its transposed variant without a copy, like our kernel flags.
"""
import json
import sys
import time

import torch


def seconds_per_rep(fn, budget_s, rounds):
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    reps = max(1, min(200, int(budget_s / rounds / once)))
    best = once
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def set_threads(threads):
    """torch's intra-op threads, set explicitly (None: torch's default)."""
    if threads is not None:
        torch.set_num_threads(int(threads))


def main():
    spec = json.loads(sys.argv[1])
    set_threads(spec.get("threads"))
    torch.manual_seed(0)
    out = {}
    for c in spec["cases"]:
        b, m, n, k = c["batch"], c["m"], c["n"], c["k"]
        a = torch.rand(b, k, m) if c["transA"] else torch.rand(b, m, k)
        bb = torch.rand(b, n, k) if c["transB"] else torch.rand(b, k, n)
        a = a.transpose(1, 2) if c["transA"] else a
        bb = bb.transpose(1, 2) if c["transB"] else bb
        if b == 1:
            a, bb = a[0], bb[0]
        with torch.no_grad():
            s = seconds_per_rep(lambda: torch.matmul(a, bb), spec["budget_s"], spec["rounds"])
        out[c["case"]] = 2.0 * b * m * n * k / s / 1e9
    print(json.dumps({"threads": torch.get_num_threads(), "results": out}))


if __name__ == "__main__":
    main()
