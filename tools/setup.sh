#!/usr/bin/env bash
# setup.sh: install the Debian packages arithlab needs (only those missing),
# then configure and build into build/. Safe to run again; it does only what is left.
#   tools/setup.sh           what building and running arithlab needs (the quickstart)
#   tools/setup.sh --tests   that, and what the test suite needs besides: Python with
#                            NumPy and PyTorch (the reference check, the layering check) and
#                            Chromium (the view_browser test, headless over the DevTools protocol)
#                            and Graphviz (the attention-graph DOT layout test);
#                            the Criterion library is in the first list (CMake needs it)
# Each step says what it does before doing it.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libblis-dev libblis-openmp-dev libblis4-openmp
          libcriterion-dev libcairo2-dev libpango1.0-dev libcjson-dev libinih-dev fonts-dejavu-core)
TEST_PACKAGES=(python3 python3-numpy python3-torch chromium graphviz)
case "${1:-}" in
  "") ;;
  --tests) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
  *) echo "setup: unknown option '$1'; accepted: --tests (also the test suite's packages)" >&2; exit 2 ;;
esac

what="Debian packages"; [[ "${1:-}" == --tests ]] && what="Debian packages, the test suite's included"
echo "setup: checking ${#PACKAGES[@]} $what (dpkg-query)"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: ${#missing[@]} missing: ${missing[*]}"
  echo "setup: ${SUDO:+sudo }apt-get update"
  $SUDO apt-get update -qq
  echo "setup: ${SUDO:+sudo }apt-get install ${missing[*]} (this can take minutes)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all installed"
fi

echo "setup: configuring build/ (cmake, Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "setup: building with $(nproc) jobs (cmake --build build)"
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning:" || true
test -x build/arithlab || { echo "setup: build failed (run: cmake --build build)"; exit 1; }
echo "setup: built build/arithlab ($(build/arithlab --version 2>/dev/null | head -1))"
