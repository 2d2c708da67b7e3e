#!/bin/bash
# Real-GPU figures for BENCHMARKS.md, on the `device` tool's machine (see prepare.sh): the
# self-check, training throughput at PyTorch's batch sizes, and every kernel's GFLOP/s against
# a square matmul, with subgroups and without. About 4 minutes on an H200; each step has its
# own time limit, so that one hang still leaves the others' figures.
set -u
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/webgan-gpu}
mkdir -p "$out"
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
# The driver's Vulkan manifest, where the loader does not look by itself.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$nvidia_icd" ] && export VK_DRIVER_FILES=$nvidia_icd
export WGPU_BACKEND=vulkan XDG_RUNTIME_DIR=/tmp/webgan-xdg
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
w=.gpu/webgan
step() {
  local limit=$1 file=$2
  shift 2
  echo "== webgan $* (commit $(cat .gpu/commit), subgroups ${WEBGAN_SUBGROUPS:-on})" | tee -a "$out/$file"
  timeout "$limit" "$w" "$@" 2>&1 | tee -a "$out/$file"
  echo "(exit ${PIPESTATUS[0]})" | tee -a "$out/$file"
}
{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; } > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
step 60 check.txt check
step 150 train.md bench train --presets dcgan28,dcgan64 --batch 128 --steps 20
step 60 train.md bench train --presets dcgan28 --batch 64 --steps 20
step 150 kernels.md bench kernels --presets matmul,dcgan64 --batch 128 --min-seconds 0.5
WEBGAN_SUBGROUPS=off step 90 train.md bench train --presets dcgan64 --batch 128 --steps 20
