#!/usr/bin/env bash
# run.sh: the three device calls behind this folder's files, as they were run on the lent
# 16-core host (kind nvidia-h200: Intel Xeon with AVX-512, PyTorch 2.11 with MKL 2024.2,
# gcc 13.3, no Debian packages), from the repository root with devkit/ carried
# (`tools/device_build.sh kit`, made on Debian 12). Usage: run.sh a|b|c OUTDIR
#   a: build, host facts; 2 threads pinned to CPUs 2,3 through bench_compare.py (3 repeats,
#      medians): tiny, abacus (10 steps), small (5 steps; the call's 590 s limit stopped it
#      after 2 of 3 repeats: torch.compile spent 35-75 s compiling in every peer process)
#   b: the peer alone, eager and SDPA (no compile: no time left for it), 16 threads, 2 repeats
#      of 5 steps: tiny, small, base (abacus and arithlab's lines failed: build-device/ had not
#      survived the copy of the tree); then base on 2 pinned threads
#   c: arithlab, rebuilt: 16 threads, 2 repeats of 5 steps, every config; the abacus peer
#      (eager, SDPA) on arithlab's batches; base on 2 pinned threads, 2 repeats
set -uo pipefail
phase=$1 out=$2
export PYTHONUNBUFFERED=1
A=build-device/arithlab
cmp() { python3 tools/bench_compare.py --arithlab build-device/arithlab --python python3 --repeat 3 --timeout 240 "$@"; }
case $phase in
a)
    lscpu > "$out/lscpu.txt"
    python3 -c 'import torch; print(torch.__version__); print(torch.__config__.show()); print(torch.__config__.parallel_info())' \
        > "$out/torch_config.txt" 2>&1
    JOBS=16 tools/device_build.sh build 2>&1 | tee "$out/build.log" || exit 3
    taskset -c 2,3 bash -c "$(declare -f cmp); cmp --threads 2 --configs tiny,abacus --steps 10" 2>&1 | tee "$out/t2_tiny_abacus.txt"
    taskset -c 2,3 bash -c "$(declare -f cmp); cmp --threads 2 --configs small --steps 5" 2>&1 | tee "$out/t2_small.txt"
    ;;
b)
    f=$out/t16_and_t2base_eager_sdpa.txt
    $A bench --config abacus --steps 1 --threads 16 --csv --save-batches /tmp/b > /dev/null
    for r in 1 2; do for c in tiny abacus small base; do
        b=; [ $c = abacus ] && b="--batches /tmp/b"
        echo "== t16 $c rep $r" >> "$f"
        OMP_NUM_THREADS=16 $A bench --config $c --threads 16 --steps 5 --csv >> "$f" 2>&1
        python3 tools/torch_peer.py --config $c --threads 16 --steps 5 --variants eager,sdpa $b >> "$f" 2>&1
    done; done
    for r in 1 2; do
        echo "== t2 base rep $r" >> "$f"
        OMP_NUM_THREADS=2 taskset -c 2,3 $A bench --config base --threads 2 --steps 5 --csv >> "$f" 2>&1
        taskset -c 2,3 python3 tools/torch_peer.py --config base --threads 2 --steps 5 --variants eager,sdpa >> "$f" 2>&1
    done
    ;;
c)
    JOBS=16 tools/device_build.sh build > /dev/null 2>&1 || exit 3
    f=$out/arithlab_t16_t2base.txt
    $A bench --config abacus --steps 1 --threads 16 --csv --save-batches /tmp/b > /dev/null
    for r in 1 2; do
        for c in tiny abacus small base; do
            echo "== t16 $c rep $r" >> "$f"
            OMP_NUM_THREADS=16 $A bench --config $c --threads 16 --steps 5 --csv >> "$f" 2>&1
        done
        echo "== t16 abacus peer rep $r" >> "$f"
        python3 tools/torch_peer.py --config abacus --threads 16 --steps 5 --variants eager,sdpa --batches /tmp/b >> "$f" 2>&1
    done
    for r in 1 2; do
        echo "== t2 base rep $r" >> "$f"
        OMP_NUM_THREADS=2 taskset -c 2,3 $A bench --config base --threads 2 --steps 5 --csv >> "$f" 2>&1
    done
    ;;
*) echo "usage: run.sh a|b|c OUTDIR" >&2; exit 2 ;;
esac
