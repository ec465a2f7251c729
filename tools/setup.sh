#!/usr/bin/env bash
# setup.sh: install the Debian packages arithlab needs (only those missing),
# then configure and build into build/. Safe to run again; it does only what is left.
# --tests (tools/test.sh passes it): also what only the test suite needs, Chromium for
# the view_browser test (headless, driven over the DevTools protocol).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libblis-dev libblis-openmp-dev libblis4-openmp
          libcriterion-dev libcairo2-dev libpango1.0-dev libcjson-dev libinih-dev fonts-dejavu-core
          python3 python3-numpy python3-torch)
[[ "${1:-}" == "--tests" ]] && PACKAGES+=(chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning:" || true
test -x build/arithlab || { echo "setup: build failed (run: cmake --build build)"; exit 1; }
