#!/usr/bin/env bash
# device_build.sh: build the arithlab binary natively (-march=native) on a machine
# that has a C compiler with OpenMP but none of Debian's packages and no network
# (the lent 16-core device host), from a kit of libraries made here.
#
#   tools/device_build.sh kit     # here, after tools/setup.sh built build/arithlab (Debian 12):
#                                 # fill devkit/ (gitignored, about 35 MiB) with what the binary links
#   tools/device_build.sh build   # there: compile into build-device/arithlab (needs devkit/)
#
# devkit/ holds BLIS's static library (the OpenMP flavour, so model/ops.c can pick
# its AVX-512/AVX2 kernels) and blis.h; inih's static library; the headers the
# sources include (ini.h, cJSON.h). Figures: plot/ draws with Cairo and Pango, whose
# headers pull in glib's, so plot/*.c is compiled here (-march=x86-64-v3: it is not
# the hot path, and that runs on both hosts) into devkit/obj/, and every shared object
# the local binary loads but a bare host may lack (cairo, pango, glib, harfbuzz,
# fontconfig, freetype, pixman, cJSON and their dependencies; not libc, libm, libgomp)
# is copied, as files, into devkit/lib/; the binary finds them through its rpath
# ($ORIGIN/../devkit/lib, as DT_RPATH so that it also holds for their own dependencies). Fonts: DejaVu Sans and a fonts.conf that names the folder
# relative to itself; run with FONTCONFIG_FILE=$PWD/devkit/fonts/fonts.conf (the
# build prints the line). Criterion is not carried: the tests are not built there.
# The flags are CMakeLists.txt's Release ones with ARITHLAB_NATIVE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=devkit
ARCH_LIB=/usr/lib/x86_64-linux-gnu

kit() {
    [ -x build/arithlab ] || { echo "device_build.sh: build/arithlab is missing: build here first (tools/setup.sh); its shared objects are what the kit carries" >&2; exit 1; }
    rm -rf "$KIT"
    mkdir -p "$KIT/include" "$KIT/lib" "$KIT/obj" "$KIT/fonts"
    cp "$ARCH_LIB/blis-openmp/libblis.a" "$KIT/lib/"
    cp /usr/include/x86_64-linux-gnu/blis-openmp/blis.h "$KIT/include/"
    cp "$ARCH_LIB/libinih.a" "$KIT/lib/"
    cp /usr/include/ini.h /usr/include/cjson/cJSON.h "$KIT/include/"
    local so
    for so in $(ldd build/arithlab | awk '$3 ~ /^\// {print $1 "=" $3}'); do
        case ${so%%=*} in libc.so*|libm.so*|libgomp.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) continue ;; esac
        cp "$(readlink -f "${so#*=}")" "$KIT/lib/${so%%=*}"   # a file, not a link: links do not travel
    done
    local f
    for f in plot/*.c; do
        cc -std=gnu11 -O2 -march=x86-64-v3 -fopenmp -DNDEBUG -I. $(pkg-config --cflags pangocairo cairo fontconfig) \
            -c "$f" -o "$KIT/obj/$(basename "${f%.c}").o"
    done
    cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf "$KIT/fonts/"
    cat > "$KIT/fonts/fonts.conf" <<'CONF'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir prefix="relative">.</dir>
  <cachedir>/tmp/arithlab-fontconfig-cache</cachedir>
</fontconfig>
CONF
    du -sh "$KIT"
}

build() {
    [ -f "$KIT/lib/libblis.a" ] || { echo "device_build.sh: $KIT/ is missing: run 'tools/device_build.sh kit' where the Debian packages are, and carry $KIT" >&2; exit 1; }
    local cc=${CC:-cc} out=build-device
    mkdir -p "$out/obj"
    local flags="-std=gnu11 -O3 -march=native -fno-math-errno -fno-trapping-math -DNDEBUG -fopenmp -Wall -Wextra -Wno-unused-parameter"
    local srcs=(core/*.c embeddings/*.c model/*.c tasks/*.c eval/*.c run/*.c probes/*.c sweep/*.c cli/*.c)
    local objs=("$KIT"/obj/*.o) pids=() jobs=${JOBS:-$(nproc)}
    for s in "${srcs[@]}"; do
        local o="$out/obj/${s//\//_}.o"
        objs+=("$o")
        $cc $flags -I. -isystem "$KIT/include" -c "$s" -o "$o" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    done
    for p in "${pids[@]}"; do wait "$p"; done
    # the shared objects by file (no -l: the kit has no unversioned .so links)
    local libs=()
    for so in cairo pangocairo-1.0 pango-1.0 gobject-2.0 glib-2.0 fontconfig cjson; do
        libs+=("$(ls "$KIT"/lib/lib$so.so.* | head -1)")
    done
    $cc -fopenmp -Wl,--disable-new-dtags -o "$out/arithlab" "${objs[@]}" "$KIT/lib/libblis.a" "$KIT/lib/libinih.a" "${libs[@]}" \
        -Wl,-rpath,'$ORIGIN/../'"$KIT"'/lib' -Wl,-rpath-link,"$KIT/lib" -lpthread -lm
    echo "figures: export FONTCONFIG_FILE=$PWD/$KIT/fonts/fonts.conf"
    echo "built $out/arithlab with $($cc --version | head -1), -march=native on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

case "${1:-}" in
    kit) kit ;;
    build) build ;;
    *) echo "usage: tools/device_build.sh kit|build" >&2; exit 2 ;;
esac
