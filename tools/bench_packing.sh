#!/usr/bin/env bash
# bench_packing.sh: useful (non-padding) tokens/s of `arithlab bench --config abacus`,
# unpacked against masked packing (train.packing = masked) at a few row lengths, on 1 and
# 2 threads pinned to the same cores (taskset), REPEATS runs each; prints each run's CSV
# line and then the medians. BIN defaults to build/arithlab; CORES1 and CORES2 (default 2
# and 2,3) are the cores of the 1- and 2-thread runs; SEQ_LENS="0 48 68" sets the masked
# rows' lengths (0: the task's longest sequence).
#   tools/bench_packing.sh [REPEATS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/arithlab}
REPEATS=${1:-3}
STEPS=${2:-10}
CASES=("none 0" "masked 0" "masked 68")
[ -n "${SEQ_LENS:-}" ] && { CASES=("none 0"); for s in $SEQ_LENS; do CASES+=("masked $s"); done; }   # e.g. SEQ_LENS="0 48 68"
declare -A CORES=([1]=${CORES1:-2} [2]=${CORES2:-2,3})   # override where cores 2,3 do not exist
results=$(mktemp)
for threads in 1 2; do
    for rep in $(seq "$REPEATS"); do
        for c in "${CASES[@]}"; do
            set -- $c
            line=$(taskset -c "${CORES[$threads]}" "$BIN" bench --config abacus --csv --threads "$threads" --steps "$STEPS" \
                   --packing "$1" --seq-len "$2" | tail -1)
            echo "threads=$threads rep=$rep packing=$1 seq_len=$2 $line"
            echo "$threads $1 $2 $line" >>"$results"
        done
    done
done
echo
echo "medians over $REPEATS runs (csv: config,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb,useful_tokens_per_s)"
printf "%-8s %-8s %-8s %12s %14s %16s\n" threads packing seq_len ms_per_step tokens_per_s useful_tok_per_s
for threads in 1 2; do
    for c in "${CASES[@]}"; do
        set -- $c
        grep "^$threads $1 $2 " "$results" | awk '{print $4}' | awk -F, -v t="$threads" -v p="$1" -v s="$2" '
            { ms[NR] = $2; tok[NR] = $3; use[NR] = $8 }
            function med(a, n,   i, j, x) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                                          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            END { printf "%-8s %-8s %-8s %12.2f %14.0f %16.0f\n", t, p, s ? s : "auto", med(ms, NR), med(tok, NR), med(use, NR) }'
    done
done
rm -f "$results"
