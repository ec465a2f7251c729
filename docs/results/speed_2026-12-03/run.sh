#!/usr/bin/env bash
# run.sh: the device call behind this folder (the lent 16-core Intel Xeon host with
# PyTorch 2.x/MKL, no Debian packages), from the repository root with devkit/
# carried: build, a model of the abacus workload trained for one step (4 layers,
# d=128, 4 heads, Abacus positions, reverse-all addition trained to 10 digits with a
# context for 30), then greedy decoding of the 30x30-digit grid (4 per cell, 3,600
# problems) by arithlab and by tools/torch_decode_peer.py on the same problems,
# both pinned to CPUs 2,3 with 2 threads. An untrained model never writes <eos>, so
# both decode every problem to the cap (one token past the expected answer): the
# most work per problem. Then training's useful tokens/s on the abacus config,
# unpacked against masked packing (tools/bench_packing.sh, 1 and 2 threads on CPUs
# 2 and 2,3, 3 repeats). Usage: run.sh OUTDIR
set -uo pipefail
out=$1
export FONTCONFIG_FILE=$PWD/devkit/fonts/fonts.conf PYTHONUNBUFFERED=1
JOBS=16 tools/device_build.sh build > "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 3; }
A=build-device/arithlab
rm -rf /tmp/dm /tmp/dp_*.txt
$A train --out /tmp/dm --set train.steps=1 --set train.threads=16 --set model.position=abacus --set model.n_layer=4 \
    --set model.n_embd=128 --set model.n_head=4 --set task.format=reverse_all --set task.pad_width=0 \
    --set task.max_len=10 --set eval.max_len=30 --set model.abacus_k=100 --set eval.per_cell=1 \
    --set eval.n_population=0 > "$out/init.log" 2>&1 || { tail "$out/init.log"; exit 4; }
python3 -c 'import torch; print(torch.__version__, torch.backends.mkl.is_available())' > "$out/torch_version.txt" 2>&1
lscpu > "$out/lscpu.txt"
for rep in 1 2; do
    taskset -c 2,3 $A bench-decode --checkpoint /tmp/dm/ckpt.safetensors --threads 2 --repeat 3 --per-cell 2 \
        --save-problems /tmp/dp_$rep.txt 2>&1 | tee -a "$out/decode_arithlab.txt"
    taskset -c 2,3 python3 tools/torch_decode_peer.py --checkpoint /tmp/dm/ckpt.safetensors --problems /tmp/dp_$rep.txt \
        --threads 2 --repeat 3 2>&1 | tee -a "$out/decode_torch.txt"
done
BIN=$A tools/bench_packing.sh 3 10 2>&1 | tee "$out/packing.txt"
