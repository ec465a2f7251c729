#!/usr/bin/python3
"""bench_compare: arithlab's training speed side by side with PyTorch's on the same configs.

For each bench config it runs, each in its own process (so peak RSS is per
config) and with OMP_NUM_THREADS = BLIS_NUM_THREADS = --threads for both,

    arithlab bench --config X --csv --threads N [--steps S]
    /usr/bin/python3 tools/torch_peer.py --config X --threads N [--steps S]

--repeat times, interleaved, keeping each side's fastest run (and its best
SGEMM peak for MFU); then prints
ms/step, the speed ratio (torch ms / arithlab ms: above 1 means
arithlab is faster), each side's MFU against its own measured SGEMM peak, and
peak RSS, followed by the project's targets and whether each is met.

    /usr/bin/python3 tools/bench_compare.py --arithlab build/arithlab
    /usr/bin/python3 tools/bench_compare.py --arithlab build/arithlab --configs tiny --steps 5

Both sides use BLIS: arithlab links it, Debian's torch calls it as its system
BLAS. By default torch_peer gives torch's BLIS the same kernels arithlab picks
(see torch_peer.py); --blis-arch system shows Debian's torch out of the box.
Timings are only meaningful on an otherwise idle machine; the load average is
printed before the runs. Exit status: 0, or 1 if a run failed (with
--require-targets, also 1 if a target is missed).
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = ("tiny", "small", "base")
FIELDS = ("config", "ms_per_step", "tokens_per_s", "gflops", "mfu", "peak_gflops", "peak_rss_mb")
SPEEDUP_TARGETS = {"tiny": 2.5, "small": 1.3, "base": 1.3}
BASE_MFU_TARGET = 0.70


def parse_csv_line(text, config, who):
    """The row for config from a bench's stdout (other lines, e.g. headers or notes, are skipped)."""
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) == len(FIELDS) and parts[0] == config:
            try:
                return {k: (v if k == "config" else float(v)) for k, v in zip(FIELDS, parts)}
            except ValueError:
                continue
    raise ValueError(f"{who}: no CSV line '{config},...' with fields {','.join(FIELDS)} in its output:\n{text}")


def run_bench(cmd, threads, who, config, timeout_s, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), BLIS_NUM_THREADS=str(threads), **(extra_env or {}))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"{who} exited with {proc.returncode}: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return parse_csv_line(proc.stdout, config, who)


def best_row(rows):
    """The fastest run, with MFU taken against the best SGEMM peak any run measured (one run's
    peak alone is as noisy as its timing)."""
    row = dict(min(rows, key=lambda r: r["ms_per_step"]))
    row["peak_gflops"] = max(r["peak_gflops"] for r in rows)
    row["mfu"] = row["gflops"] / row["peak_gflops"]
    return row


def fmt_pct(x):
    return f"{100.0 * x:5.1f}%"


def print_table(results):
    cols = ("config", "arithlab ms", "torch ms", "speed-up", "MFU arithlab", "MFU torch",
            "RSS arithlab", "RSS torch")
    print("  ".join(f"{c:>12s}" for c in cols))
    for config, r in results.items():
        a, t = r["arithlab"], r["torch"]
        cells = (config, f"{a['ms_per_step']:.1f}", f"{t['ms_per_step']:.1f}",
                 f"{t['ms_per_step'] / a['ms_per_step']:.2f}x", fmt_pct(a["mfu"]), fmt_pct(t["mfu"]),
                 f"{a['peak_rss_mb']:.0f} MB", f"{t['peak_rss_mb']:.0f} MB")
        print("  ".join(f"{c:>12s}" for c in cells))
    for config, r in results.items():
        print(f"  {config}: SGEMM peak arithlab (BLIS) {r['arithlab']['peak_gflops']:.1f} GFLOP/s, "
              f"torch (torch.mm 2048^3) {r['torch']['peak_gflops']:.1f} GFLOP/s; "
              f"achieved {r['arithlab']['gflops']:.1f} vs {r['torch']['gflops']:.1f} GFLOP/s")


def check_targets(results):
    """Print each target with its value; return True when all that could be measured are met."""
    all_met = True
    print("targets:")
    for config, need in SPEEDUP_TARGETS.items():
        if config not in results:
            print(f"  {config:5s} speed-up >= {need:.1f}x: not measured")
            continue
        r = results[config]
        got = r["torch"]["ms_per_step"] / r["arithlab"]["ms_per_step"]
        met = got >= need
        all_met &= met
        print(f"  {config:5s} speed-up >= {need:.1f}x: {got:.2f}x  {'met' if met else 'NOT MET'}")
    if "base" in results:
        mfu = results["base"]["arithlab"]["mfu"]
        met = mfu >= BASE_MFU_TARGET
        all_met &= met
        print(f"  base  arithlab MFU >= {100 * BASE_MFU_TARGET:.0f}%: {fmt_pct(mfu).strip()}  "
              f"{'met' if met else 'NOT MET'}")
    else:
        print(f"  base  arithlab MFU >= {100 * BASE_MFU_TARGET:.0f}%: not measured")
    return all_met


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arithlab", default=os.path.join(HERE, "..", "build", "arithlab"),
                    help="path to the arithlab binary (default build/arithlab)")
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter with torch (default /usr/bin/python3)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--steps", type=int, help="timed steps for both sides (default: each tool's own, 10)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of tiny,small,base")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per side and config, interleaved; the fastest is reported (default 3)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per run (default 1800)")
    ap.add_argument("--require-targets", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--blis-arch", default="auto", choices=["auto", "skx", "haswell", "zen3", "generic", "system"],
                    help="BLIS kernels for both sides: auto = arithlab's own choice, which torch_peer copies; "
                         "a name forces it on both (ARITHLAB_BLIS_ARCH, BLIS_ARCH_TYPE); system = arithlab "
                         "auto, torch with BLIS's own detection (Debian's torch out of the box)")
    args = ap.parse_args()

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        ap.error(f"--configs: unknown {unknown}; accepted: {','.join(CONFIGS)}")
    binary = os.path.abspath(args.arithlab)
    if not os.access(binary, os.X_OK):
        ap.error(f"--arithlab {args.arithlab}: not an executable file")
    steps = ["--steps", str(args.steps)] if args.steps else []

    arithlab_env = {} if args.blis_arch in ("auto", "system") else {"ARITHLAB_BLIS_ARCH": args.blis_arch}
    print(f"BLIS kernels: {args.blis_arch} (see torch_peer.py --help)")
    load1, load5, _ = os.getloadavg()
    print(f"threads {args.threads}; load average {load1:.2f} (1 min), {load5:.2f} (5 min) on {os.cpu_count()} cores"
          + ("  -- the machine is busy: timings will be noisy" if load1 > 0.5 else ""))
    results = {}
    try:
        for config in configs:
            runs = {"arithlab": [], "torch": []}
            for _ in range(args.repeat):  # interleaved, so that a burst of load hits both sides alike
                runs["arithlab"].append(run_bench(
                    [binary, "bench", "--config", config, "--csv", "--threads", str(args.threads)] + steps,
                    args.threads, "arithlab bench", config, args.timeout, arithlab_env))
                runs["torch"].append(run_bench(
                    [args.python, os.path.join(HERE, "torch_peer.py"), "--config", config,
                     "--threads", str(args.threads), "--blis-arch", args.blis_arch] + steps,
                    args.threads, "torch_peer.py", config, args.timeout))
            results[config] = {who: best_row(rows) for who, rows in runs.items()}
            spread = ", ".join(f"{who} " + "/".join(f"{r['ms_per_step']:.1f}" for r in rows)
                               for who, rows in runs.items())
            print(f"  {config}: ms/step per run: {spread}", flush=True)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}")
        if results:
            print_table(results)
        return 1
    print()
    print_table(results)
    print()
    met = check_targets(results)
    return 1 if (args.require_targets and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
