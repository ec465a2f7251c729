#!/usr/bin/python3
"""bench_compare: arithlab's training speed side by side with PyTorch's on the same configs.

For each bench config it runs, --repeat times, interleaved, each in its own
process and with OMP_NUM_THREADS = BLIS_NUM_THREADS = MKL_NUM_THREADS = --threads,

    arithlab bench --config X --csv --threads N [--steps S]
    python tools/torch_peer.py --config X --threads N [--steps S] --variants all (or --variants)

torch_peer.py runs the nanoGPT-style peer in every variant the PyTorch has
(eager, eager + F.scaled_dot_product_attention, torch.compile) and names those
it lacks (Debian's torch 1.13 has neither SDPA nor compile: they are skipped,
and the output says so). The abacus config trains both sides on the same token
batches: arithlab writes them first (bench --save-batches) and the peer reads them.

It prints every run's raw CSV line, then per config the median ms/step of each
side and variant, the best PyTorch variant, the speed ratio (best torch ms /
arithlab ms: above 1 means arithlab is faster), useful (non-padding) tokens/s,
MFU against each side's own SGEMM peak, and the issue's targets. The first
lines name the PyTorch version and the BLAS it used, the CPU, the CPUs this
process may run on (pin both sides with `taskset -c 2,3 ...`: children
inherit it) and the load average.

    /usr/bin/python3 tools/bench_compare.py --arithlab build/arithlab
    taskset -c 2,3 python3 tools/bench_compare.py --arithlab build-device/arithlab --python python3 --threads 2
    /usr/bin/python3 tools/bench_compare.py --configs tiny,abacus --steps 5 --repeat 1

Timings are only meaningful on an otherwise idle machine. Exit status: 0, or 1
if a run failed (with --require-targets, also 1 if a target is missed).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = ("tiny", "small", "base", "abacus")
VARIANTS = ("eager", "sdpa", "compile")
A_FIELDS = ("config", "ms_per_step", "tokens_per_s", "gflops", "mfu", "peak_gflops", "peak_rss_mb", "useful_tokens_per_s")
T_FIELDS = ("config", "variant", "ms_per_step", "tokens_per_s", "gflops", "mfu", "peak_gflops", "peak_rss_mb",
            "useful_tokens_per_s")
# issue 14: arithlab / best PyTorch variant, same cores and threads
SPEEDUP_TARGETS = {"tiny": 2.0, "abacus": 2.0, "small": 1.3, "base": 1.0}
BASE_MFU_TARGET = 0.85


def parse_rows(text, fields, who):
    """The CSV rows of a bench's stdout with exactly `fields` (headers, '#' notes skipped)."""
    rows = []
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) != len(fields) or line.startswith("#"):
            continue
        try:
            rows.append({k: (v if k in ("config", "variant") else float(v)) for k, v in zip(fields, parts)})
        except ValueError:
            continue
    if not rows:
        raise ValueError(f"{who}: no CSV line with fields {','.join(fields)} in its output:\n{text}")
    return rows


def run(cmd, threads, who, timeout_s):
    t = str(threads)
    env = dict(os.environ, OMP_NUM_THREADS=t, BLIS_NUM_THREADS=t, MKL_NUM_THREADS=t)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"{who} exited with {proc.returncode}: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout, proc.stderr


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown CPU")
    except OSError:
        return "unknown CPU"


def median_row(rows):
    """Median ms/step over the repeats; throughputs from it; MFU against the best SGEMM peak seen."""
    ms = statistics.median(r["ms_per_step"] for r in rows)
    first = rows[0]
    peak = max(r["peak_gflops"] for r in rows)
    gflops = first["gflops"] * first["ms_per_step"] / ms
    return dict(ms=ms, spread=[r["ms_per_step"] for r in rows], peak=peak, gflops=gflops, mfu=gflops / peak,
                useful=first["useful_tokens_per_s"] * first["ms_per_step"] / ms,
                rss=max(r["peak_rss_mb"] for r in rows))


def print_table(results, skipped):
    head = ["config", "arithlab ms"] + [f"{v} ms" for v in VARIANTS] + \
           ["best torch", "arithlab speed", "useful tok/s arithlab", "useful tok/s torch", "MFU arithlab", "MFU torch"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for config, r in results.items():
        a = r["arithlab"]
        cells = [config, f"{a['ms']:.1f}"]
        for v in VARIANTS:
            cells.append(f"{r[v]['ms']:.1f}" if v in r else "skipped" if v in skipped else "-")
        best = min((v for v in VARIANTS if v in r), key=lambda v: r[v]["ms"])
        b = r[best]
        cells += [f"{b['ms']:.1f} ({best})", f"{b['ms'] / a['ms']:.2f}x", f"{a['useful']:.0f}", f"{b['useful']:.0f}",
                  f"{100 * a['mfu']:.1f}%", f"{100 * b['mfu']:.1f}%"]
        print("| " + " | ".join(cells) + " |")
    for v, why in skipped.items():
        print(f"  {v}: skipped: {why}")
    for config, r in results.items():
        spread = "; ".join(f"{who} " + "/".join(f"{x:.1f}" for x in r[who]["spread"]) for who in r)
        print(f"  {config} ms/step per repeat: {spread}")
        print(f"  {config} SGEMM peak: arithlab (BLIS) {r['arithlab']['peak']:.1f} GFLOP/s, "
              f"torch.mm 2048^3 {max(r[v]['peak'] for v in VARIANTS if v in r):.1f} GFLOP/s")


def check_targets(results):
    """Print each target with its value; return True when all that could be measured are met."""
    all_met = True
    print("targets (arithlab speed vs the best PyTorch variant):")
    for config, need in SPEEDUP_TARGETS.items():
        if config not in results:
            print(f"  {config:6s} >= {need:.1f}x: not measured")
            continue
        r = results[config]
        best = min(r[v]["ms"] for v in VARIANTS if v in r)
        got = best / r["arithlab"]["ms"]
        all_met &= got >= need
        print(f"  {config:6s} >= {need:.1f}x: {got:.2f}x  {'met' if got >= need else 'NOT MET'}")
    if "base" in results:
        mfu = results["base"]["arithlab"]["mfu"]
        all_met &= mfu >= BASE_MFU_TARGET
        print(f"  base   arithlab MFU >= {100 * BASE_MFU_TARGET:.0f}% of its SGEMM peak: {100 * mfu:.1f}%  "
              f"{'met' if mfu >= BASE_MFU_TARGET else 'NOT MET'}")
    return all_met


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arithlab", default=os.path.join(HERE, "..", "build", "arithlab"),
                    help="path to the arithlab binary (default build/arithlab)")
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter with torch (default /usr/bin/python3)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--steps", type=int, help="timed steps for both sides (default: each tool's own, 10)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per side and config, interleaved; medians are reported "
                                                          "(default 3)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per run (default 1800)")
    ap.add_argument("--variants", default="all",
                    help="peer variants, passed to torch_peer.py: comma-separated eager,sdpa,compile or all (default); "
                         "torch.compile compiles afresh in every peer process (35-75 s each on the 16-core host)")
    ap.add_argument("--require-targets", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--blis-arch", default="auto", choices=["auto", "skx", "haswell", "zen3", "generic", "system"],
                    help="BLIS kernels for both sides: auto = arithlab's own choice, which torch_peer copies for a "
                         "BLIS-backed torch; a name forces it on both (ARITHLAB_BLIS_ARCH, BLIS_ARCH_TYPE); "
                         "system = BLIS's own detection for torch (Debian's torch out of the box)")
    args = ap.parse_args()

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        ap.error(f"--configs: unknown {unknown or 'empty list'}; accepted: {','.join(CONFIGS)}")
    bad = [v for v in args.variants.split(",") if v.strip() not in VARIANTS] if args.variants != "all" else []
    if bad:
        ap.error(f"--variants {args.variants!r}: unknown {bad}; accepted: {','.join(VARIANTS)} or all")
    if args.repeat < 1 or args.threads < 1:
        ap.error("--repeat and --threads must be >= 1")
    binary = os.path.abspath(args.arithlab)
    if not os.access(binary, os.X_OK):
        ap.error(f"--arithlab {args.arithlab}: not an executable file")
    steps = ["--steps", str(args.steps)] if args.steps else []
    if args.blis_arch not in ("auto", "system"):
        os.environ["ARITHLAB_BLIS_ARCH"] = args.blis_arch

    load1, load5, _ = os.getloadavg()
    cpus = sorted(os.sched_getaffinity(0))
    print(f"{cpu_model()}; {os.cpu_count()} cores, this process may run on CPUs {','.join(map(str, cpus))}; "
          f"threads {args.threads}; load average {load1:.2f} (1 min), {load5:.2f} (5 min)"
          + ("  -- the machine is busy: timings will be noisy" if load1 > 0.5 * os.cpu_count() else ""))
    print(f"arithlab: {binary}; peer: {args.python} tools/torch_peer.py; BLIS kernels: {args.blis_arch}", flush=True)
    tmp = tempfile.TemporaryDirectory(prefix="bench_compare_")
    results, skipped, torch_line = {}, {}, None
    try:
        for config in configs:
            batches = []
            if config == "abacus":  # the task batches both sides train on
                run([binary, "bench", "--config", config, "--csv", "--steps", "1", "--threads", str(args.threads),
                     "--save-batches", tmp.name], args.threads, "arithlab bench --save-batches", args.timeout)
                batches = ["--batches", tmp.name]
            runs = {}
            for rep in range(args.repeat):  # interleaved, so that a burst of load hits both sides alike
                out, _ = run([binary, "bench", "--config", config, "--csv", "--threads", str(args.threads)] + steps,
                             args.threads, "arithlab bench", args.timeout)
                row = parse_rows(out, A_FIELDS, "arithlab bench")[0]
                runs.setdefault("arithlab", []).append(row)
                print(f"raw {config} repeat {rep + 1} arithlab: {out.strip()}", flush=True)
                out, err = run([args.python, os.path.join(HERE, "torch_peer.py"), "--config", config, "--threads",
                                str(args.threads), "--blis-arch", args.blis_arch, "--variants", args.variants] + steps + batches,
                               args.threads, "torch_peer.py", args.timeout)
                for line in err.splitlines():
                    if line.startswith("# torch ") and torch_line is None:
                        torch_line = line[2:]
                        print(f"peer: {torch_line}")
                for line in out.splitlines():
                    if line.startswith("# ") and ": skipped: " in line:
                        skipped[line.split()[2].rstrip(":")] = line.split(": skipped: ", 1)[1]
                for row in parse_rows(out, T_FIELDS, "torch_peer.py"):
                    runs.setdefault(row["variant"], []).append(row)
                print(f"raw {config} repeat {rep + 1} torch: " + " | ".join(
                    l for l in (out + err).splitlines() if l.strip()), flush=True)
            results[config] = {who: median_row(rows) for who, rows in runs.items()}
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}")
        if results:
            print_table(results, skipped)
        return 1
    print()
    print_table(results, skipped)
    print()
    met = check_targets(results)
    return 1 if (args.require_targets and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
