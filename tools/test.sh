#!/usr/bin/env bash
# test.sh: set up (tools/setup.sh), then run the whole test suite through CTest:
# the Criterion tests and the PyTorch reference check.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cd build
ctest --output-on-failure "$@"
