#!/usr/bin/env bash
# The benchmarks on a real GPU, prepared to run once within 10 minutes on an NVIDIA machine
# (WebGPU through its Vulkan driver): builds, checks that the adapter is that GPU and not a
# software one, runs the matmul and aitm suites with batches up to 65536, and PyTorch on CUDA
# as a peer where torch has CUDA; the results land in bench/results/*.json as usual.
#
#   bash bench/gpu.sh                       # on the GPU machine
#   AITM_GPU_ALLOW_SOFTWARE=1 AITM_BENCH_BATCHES=512,2048 bash bench/gpu.sh --quick
#                                           # a test of the script on llvmpipe
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}
mkdir -p "$XDG_RUNTIME_DIR"

command -v pnpm >/dev/null || npm install -g "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")" >/dev/null
pnpm install --frozen-lockfile --reporter=silent
pnpm build
pnpm -C bench build

node bench/dist/check-adapter.js

export AITM_BENCH_BATCHES=${AITM_BENCH_BATCHES:-512,2048,8192,65536}
if /usr/bin/python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  export AITM_TORCH_CUDA=1
  echo "gpu.sh: PyTorch has CUDA: torch-cuda runs as a peer"
else
  echo "gpu.sh: no PyTorch with CUDA here: torch-cuda is left out"
fi
# Ten minutes in all: whatever is still running then is cut, with what finished already written.
timeout "${AITM_GPU_BUDGET_S:-570}" node bench/dist/cli.js matmul aitm "$@"
