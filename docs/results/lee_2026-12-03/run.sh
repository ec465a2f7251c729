#!/usr/bin/env bash
# run.sh: the device calls behind this folder (the lent 16-core Intel Xeon host, no
# Debian packages): build from devkit/ (tools/device_build.sh kit, made here and
# carried), then the sweep for up to LIMIT seconds; SIGTERM makes every run save a
# checkpoint, and the next call resumes it. Usage: run.sh SWEEP JOBS THREADS LIMIT OUTDIR
set -uo pipefail
sweep=$1 jobs=$2 threads=$3 limit=$4 out=$5
export FONTCONFIG_FILE=$PWD/devkit/fonts/fonts.conf
[ -x build-device/arithlab ] || JOBS=16 tools/device_build.sh build > "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 3; }
name=$(basename "${sweep%.ini}")
timeout -s TERM "$limit" build-device/arithlab sweep "experiments/lee_formats/$sweep" --out "runs/lee_$name" \
    --jobs "$jobs" --threads "$threads" > "$out/sweep_$name.log" 2>&1
echo "sweep exit $?"
build-device/arithlab sweep "experiments/lee_formats/$sweep" --out "runs/lee_$name" --list | tail -40
for f in summary.csv table.md accuracy_vs_train_size.png; do
    [ -f "runs/lee_$name/$f" ] && cp "runs/lee_$name/$f" "$out/${name}_$f"
done
tail -5 "$out/sweep_$name.log"
