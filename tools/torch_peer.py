#!/usr/bin/python3
"""torch_peer: the PyTorch peer of `arithlab bench`, for speed comparisons.

Trains the bench configurations (the model of torch_reference.py: learned
absolute positions, untied head, MLP 4C, float32) on random tokens with
torch.optim.AdamW (lr 3e-4, weight decay 0.1 on the matmul weights, clip 1.0)
and prints, like `arithlab bench --csv`, one line per configuration:

    config,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb

ms_per_step is the median over the timed steps (after warm-up); gflops counts
the FLOPs of model_flops() (forward x 3); mfu = gflops / peak_gflops, where
peak_gflops is the best rate of a 2048^3 float32 torch matmul measured in the
same process after the training steps (so it does not raise peak RSS).
peak_rss_mb is the process's high-water mark, so run one config per process
when comparing memory (bench_compare.py does).

torch's matmuls run in the system BLAS, on Debian 12 BLIS 0.9, which reads
its thread count and kernel set from the environment when it loads. So the
script re-executes itself with BLIS_NUM_THREADS = OMP_NUM_THREADS = --threads
and BLIS_ARCH_TYPE set to the kernels arithlab uses (--blis-arch): BLIS 0.9
does not know CPUs newer than Zen 3 and would otherwise run its generic
kernels, about 4x slower, which is no fair peer.

    /usr/bin/python3 tools/torch_peer.py --config tiny --threads 2
    /usr/bin/python3 tools/torch_peer.py --config all --steps 5
"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import GPT, build_optimizer, train_step  # noqa: E402

# the same table as `arithlab bench` (vocab 20, MLP 4C, untied, absolute positions)
CONFIGS = {
    "tiny": dict(T=32, n_embd=128, n_layer=2, n_head=4, B=64),
    "small": dict(T=64, n_embd=256, n_layer=4, n_head=8, B=64),
    "base": dict(T=128, n_embd=384, n_layer=6, n_head=6, B=32),
}
VOCAB = 20
CSV_HEADER = "config,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb"


# BLIS 0.9's arch_t ids (Debian 12's libblas.so.3 is BLIS), for BLIS_ARCH_TYPE
BLIS09_ARCH_IDS = {"skx": 0, "haswell": 3, "zen3": 6, "generic": 15}


def blis_arch(choice):
    """The kernel set torch's BLIS should use: arithlab's choice for 'auto' (model/ops.c does the
    same: BLIS 0.9 does not know CPUs newer than Zen 3 and falls back to its generic kernels)."""
    if choice != "auto":
        return choice
    forced = os.environ.get("ARITHLAB_BLIS_ARCH")
    if forced in BLIS09_ARCH_IDS:
        return forced
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "system"
    if all(x in flags for x in ("avx512f", "avx512dq", "avx512bw", "avx512vl")):
        return "skx"
    if "avx2" in flags and "fma" in flags:
        return "haswell"
    return "generic"


def model_config(name):
    c = CONFIGS[name]
    return dict(vocab_size=VOCAB, block_size=c["T"], n_layer=c["n_layer"], n_head=c["n_head"],
                n_embd=c["n_embd"], mlp_hidden=4 * c["n_embd"], tied=0, post_ln=0, position="absolute")


def model_flops(cfg, B, T):
    """FLOPs of one training step (forward x 3): the matmuls as computed, attention over full T x T."""
    C, H, L, V, NH = cfg["n_embd"], cfg["mlp_hidden"], cfg["n_layer"], cfg["vocab_size"], cfg["n_head"]
    hs = C // NH
    per_layer = C * 3 * C + C * C + 2 * C * H
    forward = 2 * per_layer * B * T * L + 2 * B * T * C * V + 2 * 2 * B * NH * T * T * hs * L
    return 3 * forward


def matmul_peak_gflops(n=2048, reps=5):
    """Best GFLOP/s of an n^3 float32 matmul (after one warm-up), with the current torch threads."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def bench_config(name, steps, warmup, seed=0):
    """Train `steps` timed steps after `warmup` ones; returns (ms_per_step median, losses)."""
    torch.manual_seed(seed)
    cfg = model_config(name)
    B, T = CONFIGS[name]["B"], CONFIGS[name]["T"]
    model = GPT(cfg)
    with torch.no_grad():  # GPT-2 style init; irrelevant to speed, keeps the loss sane
        for pname, p in model.named_parameters():
            if pname.endswith("bias"):
                p.zero_()
            elif ".ln_" in pname:
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    opt = build_optimizer(model, lr=3e-4, weight_decay=0.1, beta1=0.9, beta2=0.95, eps=1e-8)
    # a few distinct random batches, made before timing
    batches = [(torch.randint(0, VOCAB, (B, T)), torch.randint(0, VOCAB, (B, T))) for _ in range(4)]
    times_ms, losses = [], []
    for step in range(warmup + steps):
        x, y = batches[step % len(batches)]
        t0 = time.perf_counter()
        loss = train_step(model, opt, x, y, clip=1.0)
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if step >= warmup:
            times_ms.append(dt * 1e3)
    return statistics.median(times_ms), losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="all", choices=sorted(CONFIGS) + ["all"])
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--header", action="store_true", help="print the CSV header line first")
    ap.add_argument("--blis-arch", default="auto", choices=["auto", "system"] + sorted(BLIS09_ARCH_IDS),
                    help="BLIS kernels for torch's matmuls: auto = what arithlab picks (ARITHLAB_BLIS_ARCH, "
                         "else skx with AVX-512, haswell with AVX2); system = BLIS's own detection")
    args = ap.parse_args()

    # torch's matmuls go through the system BLAS (Debian: BLIS), which reads its thread count and
    # kernel choice from the environment when it loads; torch.set_num_threads does not reach it.
    # So set them and run this script again.
    env = dict(os.environ, BLIS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    arch = blis_arch(args.blis_arch)
    if arch == "system":
        env.pop("BLIS_ARCH_TYPE", None)
    else:
        env["BLIS_ARCH_TYPE"] = str(BLIS09_ARCH_IDS[arch])
    if any(os.environ.get(k) != env.get(k) for k in ("BLIS_NUM_THREADS", "OMP_NUM_THREADS", "BLIS_ARCH_TYPE")):
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    names = list(CONFIGS) if args.config == "all" else [args.config]

    results = []
    for name in names:
        ms, losses = bench_config(name, args.steps, args.warmup)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
        results.append((name, ms, losses, rss_mb))
        print(f"# {name}: loss {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps", file=sys.stderr)
    peak = matmul_peak_gflops()
    print(f"# torch {torch.__version__}: 2048^3 float32 matmul peak {peak:.1f} GFLOP/s "
          f"with {torch.get_num_threads()} thread(s), BLIS kernels {arch} "
          f"(BLIS_ARCH_TYPE={os.environ.get('BLIS_ARCH_TYPE', 'unset')})", file=sys.stderr)

    if args.header:
        print(CSV_HEADER)
    for name, ms, _, rss_mb in results:
        c = CONFIGS[name]
        gflops = model_flops(model_config(name), c["B"], c["T"]) / (ms / 1e3) / 1e9
        tokens_per_s = c["B"] * c["T"] / (ms / 1e3)
        print(f"{name},{ms:.2f},{tokens_per_s:.0f},{gflops:.2f},{gflops / peak:.4f},{peak:.2f},{rss_mb:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
