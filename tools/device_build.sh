#!/usr/bin/env bash
# device_build.sh: build the arithlab binary natively (-march=native) on a machine
# that has a C compiler with OpenMP but none of Debian's packages and no network
# (the lent 16-core device host), from a kit of libraries made here.
#
#   tools/device_build.sh kit     # here (Debian 12 with libblis-dev libcjson-dev libinih-dev libstb-dev):
#                                 # fill devkit/ (gitignored, about 16 MiB) with what the binary links
#   tools/device_build.sh build   # there: compile into build-device/arithlab (needs devkit/)
#
# devkit/ holds BLIS's static library (the OpenMP flavour, so model/ops.c can pick
# its AVX-512/AVX2 kernels) and blis.h; inih's and stb's static libraries; cJSON's
# shared object (Debian ships no static one: the binary finds it through its rpath,
# $ORIGIN/../devkit/lib); and the headers the sources include (ini.h, cJSON.h,
# stb_image_write.h, stb_truetype.h). Criterion is not carried: the tests are not
# built there. The flags are CMakeLists.txt's Release ones with ARITHLAB_NATIVE=ON.
# Plotting compiles in but needs a font file there (fonts-dejavu-core) to draw text;
# a Cairo+Pango plot/ would add libcairo, libpango, glib, harfbuzz, fontconfig and
# freetype shared objects (and fonts) to the kit, or a build option without plots.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=devkit
ARCH_LIB=/usr/lib/x86_64-linux-gnu

kit() {
    rm -rf "$KIT"
    mkdir -p "$KIT/include" "$KIT/lib"
    cp "$ARCH_LIB/blis-openmp/libblis.a" "$KIT/lib/"
    cp /usr/include/x86_64-linux-gnu/blis-openmp/blis.h "$KIT/include/"
    cp "$ARCH_LIB/libinih.a" "$ARCH_LIB/libstb.a" "$KIT/lib/"
    cp "$(readlink -f "$ARCH_LIB/libcjson.so.1")" "$KIT/lib/libcjson.so.1"   # a file, not a link: links do not travel
    cp /usr/include/ini.h /usr/include/cjson/cJSON.h /usr/include/stb/stb_image_write.h \
       /usr/include/stb/stb_truetype.h "$KIT/include/"
    du -sh "$KIT"
}

build() {
    [ -f "$KIT/lib/libblis.a" ] || { echo "device_build.sh: $KIT/ is missing: run 'tools/device_build.sh kit' where the Debian packages are, and carry $KIT" >&2; exit 1; }
    local cc=${CC:-cc} out=build-device
    mkdir -p "$out/obj"
    local flags="-std=gnu11 -O3 -march=native -fno-math-errno -fno-trapping-math -DNDEBUG -fopenmp -Wall -Wextra -Wno-unused-parameter"
    local srcs=(core/*.c embeddings/*.c model/*.c tasks/*.c eval/*.c run/*.c plot/*.c probes/*.c sweep/*.c cli/*.c)
    local objs=() pids=() jobs=${JOBS:-$(nproc)}
    for s in "${srcs[@]}"; do
        local o="$out/obj/${s//\//_}.o"
        objs+=("$o")
        $cc $flags -I. -isystem "$KIT/include" -c "$s" -o "$o" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    done
    for p in "${pids[@]}"; do wait "$p"; done
    $cc -fopenmp -o "$out/arithlab" "${objs[@]}" "$KIT/lib/libblis.a" "$KIT/lib/libinih.a" "$KIT/lib/libstb.a" \
        "$KIT/lib/libcjson.so.1" -Wl,-rpath,'$ORIGIN/../'"$KIT"'/lib' -lpthread -lm
    echo "built $out/arithlab with $($cc --version | head -1), -march=native on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

case "${1:-}" in
    kit) kit ;;
    build) build ;;
    *) echo "usage: tools/device_build.sh kit|build" >&2; exit 2 ;;
esac
