#!/usr/bin/env bash
# quickstart.sh: set up (tools/setup.sh: no Python or PyTorch), then train the default model and
# write its run directory under runs/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec build/arithlab train --out runs/quickstart "$@"
