#!/bin/bash
# Prepares the real-GPU measurement (tools/gpu/run.sh): builds the native webgan binary into
# .gpu/webgan and records the commit it was built from in .gpu/commit (.gpu/ is git-ignored).
#
#   tools/gpu/prepare.sh            the binary only
#   tools/gpu/prepare.sh --loader   also a copy of the Vulkan loader (Debian's libvulkan1),
#                                   unpacked into .gpu/vulkan/, for a GPU machine that has no
#                                   loader and on which you cannot install one
#
# Run it on a machine with Rust (from anywhere in the checkout). --loader needs apt-get (Debian
# or Ubuntu) and network access; it needs no root and changes nothing outside the checkout.
# The binary runs on a machine of the same architecture whose glibc is no older than this one's.
# If the GPU machine is another one, copy tools/gpu/run.sh and .gpu/ to it (or the whole
# checkout with .gpu/), then run `bash tools/gpu/run.sh` there; see that script's header.
set -euo pipefail
cd "$(dirname "$0")/../.."
loader=0
case "${1:-}" in
  "") ;;
  --loader) loader=1 ;;
  *) echo "usage: $0 [--loader]" >&2; exit 2 ;;
esac
target=${CARGO_TARGET_DIR:-target}
cargo build --release --bin webgan
mkdir -p .gpu
cp "$target/release/webgan" .gpu/webgan
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD || commit="$commit-dirty"
echo "$commit" > .gpu/commit
if [ "$loader" = 1 ]; then
  # Package lists of its own under .gpu/apt, so that neither root nor the system's lists are needed.
  rm -rf .gpu/apt .gpu/vulkan
  mkdir -p .gpu/apt/lists/partial .gpu/apt/cache
  o=(-o "Dir::State::Lists=$PWD/.gpu/apt/lists" -o "Dir::Cache=$PWD/.gpu/apt/cache")
  apt-get "${o[@]}" update -qq
  (cd .gpu/apt && apt-get "${o[@]}" download -qq libvulkan1)
  dpkg -x .gpu/apt/libvulkan1_*.deb .gpu/vulkan
  # The library itself in place of its symlink, so that a copy of .gpu/ that drops links still works.
  for lib in .gpu/vulkan/usr/lib/*/libvulkan.so.1; do
    cp --remove-destination "$(readlink -f "$lib")" "$lib"
  done
  rm -rf .gpu/apt
fi
echo "ready: .gpu/webgan ($(du -h .gpu/webgan | cut -f1), commit $commit)$([ "$loader" = 1 ] && echo ", Vulkan loader in .gpu/vulkan")"
