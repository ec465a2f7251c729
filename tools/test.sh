#!/usr/bin/env bash
# test.sh: set up with the test suite's packages (tools/setup.sh --tests: Criterion,
# Python, NumPy, PyTorch, Chromium), then run the whole test suite through CTest:
# the Criterion tests, the PyTorch reference check and the viewer in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --tests
cd build
ctest --output-on-failure "$@"
