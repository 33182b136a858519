#!/usr/bin/env bash
# The real-size cases on a GPU: install, build, then `npm run bench -- real-size` with --device webgpu, and with
# --device cuda where onnxruntime-node's CUDA files are present (npm ci --onnxruntime-node-install=cuda12 on a
# Linux x64 machine with CUDA 12 and cuDNN 9 and network access). Prints the same `real-size <case> (...)` lines
# as the CPU run. Run from anywhere: bash scripts/gpu-check.sh [sd15-512] [sdxl-1024]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/onnxruntime-node ] || npm ci --no-audit --no-fund
npm run build --silent
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
node -e "console.log('onnxruntime-node backends:', require('onnxruntime-node').listSupportedBackends().map(b => b.name).join(', '))"
node --import tsx bench/run.ts real-size "$@" --device webgpu || echo "webgpu: failed (see above)"
if ls node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
  node --import tsx bench/run.ts real-size "$@" --device cuda || echo "cuda: failed (see above)"
else
  echo "cuda: skipped (CUDA provider files absent; reinstall with: npm ci --onnxruntime-node-install=cuda12)"
fi
