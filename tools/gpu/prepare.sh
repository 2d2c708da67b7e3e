#!/bin/bash
# Readies the real-GPU measurement (run.sh) for the `device` tool's machine, which starts bare
# and cannot fetch anything: builds the native webgan binary into .gpu/ and downloads the
# Vulkan loader's packages into .gl/ (both git-ignored; carry both). Run here, from anywhere.
#
# Then, in one device call:  command "bash tools/gpu/run.sh", carry [".gpu", ".gl"],
# timeout_s 540. The figures come back in $OUT (gpu.txt, check.txt, train.md, kernels.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --bin webgan
mkdir -p .gpu
cp "$target/release/webgan" .gpu/webgan
git rev-parse --short HEAD > .gpu/commit
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gl && apt-get $o download -qq libvulkan1)
echo "ready: .gpu/webgan ($(du -h .gpu/webgan | cut -f1), commit $(cat .gpu/commit)) and .gl/*.deb"
