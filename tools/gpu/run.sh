#!/bin/bash
# Real-GPU figures for BENCHMARKS.md. On a machine with an NVIDIA (or any Vulkan) GPU, after
# tools/gpu/prepare.sh (which puts the binary in .gpu/):
#
#   bash tools/gpu/run.sh [DIR]
#
# runs the self-check (`webgan check`), training throughput (`webgan bench train` at batch
# 128, and dcgan28 at 64), every kernel's GFLOP/s against a square matmul (`webgan bench
# kernels --batch 128`), and dcgan64's training again without subgroups (WEBGAN_SUBGROUPS=off).
# Each step has its own time limit (8.5 minutes in all at most), so that one hang still leaves
# the others' figures. The figures go to DIR (default .gpu/results): gpu.txt, check.txt,
# train.md, kernels.md; the steps append to them.
#
# Needs the Vulkan loader (libvulkan.so.1): the system's, or the copy that
# `tools/gpu/prepare.sh --loader` puts in .gpu/vulkan/. Where the GPU driver's Vulkan manifest
# is not in the loader's search path, set VK_DRIVER_FILES to it; the script does so itself for
# /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json when that file exists.
set -u
cd "$(dirname "$0")/../.."
w=.gpu/webgan
if [ ! -x "$w" ]; then
  echo "no $w: run tools/gpu/prepare.sh first (on this machine or one of the same architecture)" >&2
  exit 1
fi
out=${1:-.gpu/results}
mkdir -p "$out"

system_loader() {
  local ldconfig
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  "$ldconfig" -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' && return 0
  compgen -G '/usr/lib*/libvulkan.so.1' >/dev/null || compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null ||
    compgen -G '/lib*/libvulkan.so.1' >/dev/null || compgen -G '/lib/*/libvulkan.so.1' >/dev/null
}
if ! system_loader; then
  local_loader=$(compgen -G "$PWD/.gpu/vulkan/usr/lib/*/libvulkan.so.1" | head -n1)
  if [ -z "$local_loader" ]; then
    echo "the Vulkan loader (libvulkan.so.1) is missing: install it (Debian/Ubuntu: sudo apt-get install libvulkan1; Fedora: sudo dnf install vulkan-loader) or run tools/gpu/prepare.sh --loader" >&2
    exit 1
  fi
  echo "using the Vulkan loader in ${local_loader%/*}"
  export LD_LIBRARY_PATH=${local_loader%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES=$nvidia_icd
fi
export WGPU_BACKEND=vulkan
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/webgan-xdg}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

step() {
  local limit=$1 file=$2
  shift 2
  echo "== webgan $* (commit $(cat .gpu/commit), subgroups ${WEBGAN_SUBGROUPS:-on})" | tee -a "$out/$file"
  timeout "$limit" "$w" "$@" 2>&1 | tee -a "$out/$file"
  echo "(exit ${PIPESTATUS[0]})" | tee -a "$out/$file"
}
if command -v nvidia-smi >/dev/null; then
  { nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; } > "$out/gpu.txt" 2>&1
elif command -v vulkaninfo >/dev/null; then
  vulkaninfo --summary > "$out/gpu.txt" 2>&1
else
  echo "no nvidia-smi or vulkaninfo: see check.txt for the adapter" > "$out/gpu.txt"
fi
cat "$out/gpu.txt"
step 60 check.txt check
step 150 train.md bench train --presets dcgan28,dcgan64 --batch 128 --steps 20
step 60 train.md bench train --presets dcgan28 --batch 64 --steps 20
step 150 kernels.md bench kernels --presets matmul,dcgan64 --batch 128 --min-seconds 0.5
WEBGAN_SUBGROUPS=off step 90 train.md bench train --presets dcgan64 --batch 128 --steps 20
echo "figures in $out"
