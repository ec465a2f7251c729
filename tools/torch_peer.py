#!/usr/bin/python3
"""torch_peer: the PyTorch peer of `arithlab bench`, for speed comparisons.

A nanoGPT-style model (learned absolute or Abacus positions, untied head
without bias, MLP 4C, pre-LayerNorm, float32) trained with torch.optim.AdamW
(lr 3e-4, weight decay 0.1 on the matmul weights, clip 1.0) on the bench
configurations, in each variant this PyTorch has:

    eager    nanoGPT's own attention: q k^T, causal mask, softmax, @ v
    sdpa     the same with F.scaled_dot_product_attention(is_causal=True)  (torch >= 2.0)
    compile  torch.compile(model) of the sdpa model, as nanoGPT trains   (torch >= 2.0)

A variant this PyTorch lacks is skipped with a '# <config> <variant>:
skipped: ...' line. For each variant run it prints one CSV line

    config,variant,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb,useful_tokens_per_s

ms_per_step is the median over the timed steps (after warm-up; compile's first
warm-up step compiles, its time is printed on stderr). gflops counts the FLOPs
of model_flops() (forward x 3, as `arithlab bench`); mfu = gflops /
peak_gflops, the best rate of a 2048^3 float32 torch.mm in the same process
after the training. peak_rss_mb is the process's high-water mark so far (the
variants run in order in one process: only the first is that variant's own).
useful_tokens_per_s counts the input tokens that are not padding.

tiny, small and base train on random tokens, as `arithlab bench` does. abacus
trains on the batches `arithlab bench --config abacus --save-batches DIR`
wrote (real problems, padded as arithlab pads them): pass --batches DIR.

torch 2.x wheels use MKL; Debian 12's torch 1.13 calls the system BLAS, BLIS
0.9, which reads its thread count and kernel set from the environment when it
loads. So the script re-executes itself with OMP_NUM_THREADS = MKL_NUM_THREADS
= BLIS_NUM_THREADS = --threads and BLIS_ARCH_TYPE set to the kernels arithlab
uses (--blis-arch): BLIS 0.9 does not know CPUs newer than Zen 3 and would
otherwise run its generic kernels, about 4x slower, which is no fair peer.
The first stderr line names the torch version, its BLAS and the CPUs used.

    /usr/bin/python3 tools/torch_peer.py --config tiny --threads 2
    build/arithlab bench --config abacus --steps 1 --save-batches /tmp/b
    /usr/bin/python3 tools/torch_peer.py --config abacus --batches /tmp/b --variants eager
"""
import argparse
import math
import os
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-5                # tools/torch_reference.py (arithlab's LayerNorm)
TOK_PAD, TOK_DIGIT0 = 0, 4   # core/vocab.h
TASK_VOCAB = 84              # core/vocab.h TASK_VOCAB_SIZE: the task configs' vocabulary

# the same table as `arithlab bench` (cli/bench.c); T of a task config comes from its batches
CONFIGS = {
    "tiny": dict(T=32, n_embd=128, n_layer=2, n_head=4, B=64, vocab=20, position="absolute"),
    "small": dict(T=64, n_embd=256, n_layer=4, n_head=8, B=64, vocab=20, position="absolute"),
    "base": dict(T=128, n_embd=384, n_layer=6, n_head=6, B=32, vocab=20, position="absolute"),
    "abacus": dict(T=None, n_embd=128, n_layer=4, n_head=4, B=128, vocab=TASK_VOCAB, position="abacus",
                   abacus_k=20, abacus_max=256),
}
VARIANTS = ("eager", "sdpa", "compile")
CSV_HEADER = "config,variant,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb,useful_tokens_per_s"

# BLIS 0.9's arch_t ids (Debian 12's libblas.so.3 is BLIS), for BLIS_ARCH_TYPE
BLIS09_ARCH_IDS = {"skx": 0, "haswell": 3, "zen3": 6, "generic": 15}


def missing_variants():
    """{variant: why this torch cannot run it} for the variants it lacks."""
    out = {}
    if not hasattr(F, "scaled_dot_product_attention"):
        out["sdpa"] = f"torch {torch.__version__} has no F.scaled_dot_product_attention (torch >= 2.0)"
    if not hasattr(torch, "compile"):
        out["compile"] = f"torch {torch.__version__} has no torch.compile (torch >= 2.0)"
    elif "sdpa" in out:
        out["compile"] = out["sdpa"]
    return out


def blas_description():
    """What torch's matmuls run in: BLAS_INFO from torch.__config__.show(), MKL's version line
    from parallel_info(), and the BLAS libraries mapped into this process."""
    show = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", show)
    info = m.group(1) if m else "unknown"
    mkl = next((line.strip() for line in torch.__config__.parallel_info().splitlines()
                if "Math Kernel Library" in line or "MKL not found" in line), "")
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if any(k in base for k in ("blis", "blas", "mkl", "openblas")):
                    libs.add(base)
    except OSError:
        pass
    return f"BLAS_INFO={info}; {mkl or 'no MKL line'}; libraries: {', '.join(sorted(libs)) or 'none mapped'}"


def blis_arch(choice):
    """The kernel set a BLIS under torch should use: arithlab's choice for 'auto' (model/ops.c does the
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


# ---------------------------------------------------------------- the model (nanoGPT's, with Abacus)

def abacus_rows(idx, offset, n_rows):
    """(B,T) rows of the Abacus table: the n-th digit of a run of digit tokens (n = 1, 2, ...) takes
    row n + offset, clamped to n_rows - 1; every other token row 0 (embeddings/abacus.c).
    Vectorised: n = t - (the last non-digit position at or before t)."""
    digit = (idx >= TOK_DIGIT0) & (idx < TOK_DIGIT0 + 10)
    t = torch.arange(idx.shape[1], device=idx.device).expand_as(idx)
    last_other = torch.where(digit, torch.full_like(t, -1), t).cummax(dim=1).values
    return torch.where(digit, torch.clamp(t - last_other + offset, max=n_rows - 1), torch.zeros_like(t))


class CausalSelfAttention(nn.Module):
    def __init__(self, C, n_head, T, sdpa):
        super().__init__()
        self.n_head, self.sdpa = n_head, sdpa
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        if not sdpa:
            self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B,NH,T,hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            att = att.masked_fill(~self.mask[:T, :T], float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, C, n_head, T, sdpa):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=LN_EPS)
        self.attn = CausalSelfAttention(C, n_head, T, sdpa)
        self.ln_2 = nn.LayerNorm(C, eps=LN_EPS)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c, T, sdpa):
        super().__init__()
        C = c["n_embd"]
        self.position = c["position"]
        self.abacus_max = c.get("abacus_max", 0)
        self.wte = nn.Embedding(c["vocab"], C)
        self.wpe = nn.Embedding(T, C) if self.position == "absolute" else None
        self.abacus = nn.Embedding(self.abacus_max, C) if self.position == "abacus" else None
        self.h = nn.ModuleList([Block(C, c["n_head"], T, sdpa) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(C, eps=LN_EPS)
        self.lm_head = nn.Linear(C, c["vocab"], bias=False)
        with torch.no_grad():  # GPT-2 style init; irrelevant to speed, keeps the loss sane
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.zero_()
                elif ".ln_" in name or name.startswith("ln_"):
                    p.fill_(1.0)
                else:
                    p.normal_(0.0, 0.02)

    def forward(self, idx, targets, abacus_offset):
        """idx, targets (B,T) int64 (targets -1: not trained on); abacus_offset a 0-d int64 tensor."""
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        if self.abacus is not None:
            x = x + self.abacus(abacus_rows(idx, abacus_offset, self.abacus_max))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def build_optimizer(model):
    """AdamW with arithlab's two groups: only the 2-D matmul weights decay."""
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(("wte", "wpe", "abacus"))]
    ids = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                             lr=3e-4, betas=(0.9, 0.95), eps=1e-8)


def model_flops(c, B, T):
    """FLOPs of one training step (forward x 3), counted as model/model.c's model_flops_forward:
    the matmuls as computed, attention over the full T x T."""
    C, L, V = c["n_embd"], c["n_layer"], c["vocab"]
    per_layer = 2.0 * B * T * (3 * C * C + C * C + 2 * C * 4 * C) + 2.0 * 2.0 * B * T * T * C
    return 3.0 * (L * per_layer + 2.0 * B * T * C * V)


def matmul_peak_gflops(n=2048, reps=5):
    """Best GFLOP/s of an n^3 float32 matmul (after one warm-up), with the current torch threads."""
    a, b, out = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


# ---------------------------------------------------------------- data and timing

def load_batches(name, c, batches_dir):
    """[(x, y)] int64 (B,T) batches: random tokens, or the task batches arithlab saved."""
    if c["T"] is not None:
        g = torch.Generator().manual_seed(0)
        return [(torch.randint(0, c["vocab"], (c["B"], c["T"]), generator=g),
                 torch.randint(0, c["vocab"], (c["B"], c["T"]), generator=g)) for _ in range(4)]
    if not batches_dir:
        raise SystemExit(f"torch_peer.py: --config {name} trains on arithlab's task batches: pass --batches DIR, "
                         f"written by `arithlab bench --config {name} --save-batches DIR`")
    import numpy as np
    arrays = []
    for part in ("inputs", "targets"):
        path = os.path.join(batches_dir, f"{name}_{part}.npy")
        try:
            a = np.load(path)
        except (OSError, ValueError) as e:
            raise SystemExit(f"torch_peer.py: --batches {batches_dir}: cannot read {path}: {e}")
        if a.ndim != 3 or a.shape[1] != c["B"]:
            raise SystemExit(f"torch_peer.py: --batches: {path} has shape {a.shape}; expected (batches, {c['B']}, T)")
        arrays.append(torch.from_numpy(a.astype("int64")))
    if arrays[0].shape != arrays[1].shape or int(arrays[0].max()) >= c["vocab"] or int(arrays[0].min()) < 0:
        raise SystemExit(f"torch_peer.py: --batches {batches_dir}: inputs/targets differ in shape or hold ids "
                         f"outside [0, {c['vocab']})")
    return list(zip(arrays[0].unbind(0), arrays[1].unbind(0)))


def bench_variant(c, batches, variant, steps, warmup, seed=0):
    """Train warmup + steps steps; returns (median ms of the timed steps, first step's ms, losses)."""
    torch.manual_seed(seed)
    T = batches[0][0].shape[1]
    model = GPT(c, T, sdpa=variant != "eager")
    opt = build_optimizer(model)
    fwd = torch.compile(model) if variant == "compile" else model
    g = torch.Generator().manual_seed(seed)
    K = c.get("abacus_k", 0)
    offsets = [torch.randint(0, K + 1, (), generator=g) for _ in range(warmup + steps)]  # one per batch, as arithlab
    times_ms, losses = [], []
    for step in range(warmup + steps):
        x, y = batches[step % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = fwd(x, y, offsets[step])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = (time.perf_counter() - t0) * 1e3
        losses.append(loss.item())
        times_ms.append(dt)
    return statistics.median(times_ms[warmup:]), times_ms[0], losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny", choices=sorted(CONFIGS) + ["all"],
                    help="bench config (default tiny); all = tiny, small, base (abacus needs --batches)")
    ap.add_argument("--variants", default="all",
                    help="comma-separated eager,sdpa,compile or all (default): those this torch lacks are skipped")
    ap.add_argument("--batches", help="directory of <config>_inputs.npy/_targets.npy from arithlab bench --save-batches")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3; compile compiles in the first)")
    ap.add_argument("--header", action="store_true", help="print the CSV header line first")
    ap.add_argument("--blis-arch", default="auto", choices=["auto", "system"] + sorted(BLIS09_ARCH_IDS),
                    help="BLIS kernels for a BLIS-backed torch (Debian's): auto = what arithlab picks "
                         "(ARITHLAB_BLIS_ARCH, else skx with AVX-512, haswell with AVX2); system = BLIS's own detection")
    args = ap.parse_args()
    variants = list(VARIANTS) if args.variants == "all" else [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        ap.error(f"--variants {args.variants!r}: unknown {bad or 'empty list'}; accepted: {','.join(VARIANTS)} or all")
    if args.threads < 1 or args.steps < 1 or args.warmup < 1:
        ap.error("--threads, --steps and --warmup must be >= 1")

    # torch's BLAS (Debian: BLIS) reads its thread count and kernel choice from the environment
    # when it loads; torch.set_num_threads does not reach it. So set them and run this script again.
    t = str(args.threads)
    env = dict(os.environ, BLIS_NUM_THREADS=t, OMP_NUM_THREADS=t, MKL_NUM_THREADS=t)
    arch = blis_arch(args.blis_arch)
    if arch == "system":
        env.pop("BLIS_ARCH_TYPE", None)
    else:
        env["BLIS_ARCH_TYPE"] = str(BLIS09_ARCH_IDS[arch])
    keys = ("BLIS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_ARCH_TYPE")
    if any(os.environ.get(k) != env.get(k) for k in keys):
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    print(f"# torch {torch.__version__}; {blas_description()}; {args.threads} thread(s) on CPUs "
          f"{','.join(map(str, cpus))}; BLIS_ARCH_TYPE={os.environ.get('BLIS_ARCH_TYPE', 'unset')} ({arch})",
          file=sys.stderr)
    names = ["tiny", "small", "base"] if args.config == "all" else [args.config]
    missing = missing_variants()

    rows = []
    for name in names:
        c = CONFIGS[name]
        batches = load_batches(name, c, args.batches)
        B, T = batches[0][0].shape
        useful = sum(int((x != TOK_PAD).sum()) for x, _ in batches) / len(batches)
        if c["T"] is not None:
            useful = B * T  # random tokens: every position is useful
        for v in variants:
            if v in missing:
                print(f"# {name} {v}: skipped: {missing[v]}")
                continue
            ms, first_ms, losses = bench_variant(c, batches, v, args.steps, args.warmup)
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
            rows.append((name, v, ms, B, T, useful, rss_mb, c))
            print(f"# {name} {v}: loss {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps; "
                  f"first step {first_ms:.0f} ms", file=sys.stderr)
    peak = matmul_peak_gflops()
    print(f"# torch.mm 2048^3 float32 peak {peak:.1f} GFLOP/s with {torch.get_num_threads()} thread(s)", file=sys.stderr)
    if args.header:
        print(CSV_HEADER)
    for name, v, ms, B, T, useful, rss_mb, c in rows:
        gflops = model_flops(c, B, T) / (ms / 1e3) / 1e9
        print(f"{name},{v},{ms:.2f},{B * T / (ms / 1e3):.0f},{gflops:.2f},{gflops / peak:.4f},{peak:.2f},"
              f"{rss_mb:.1f},{useful / (ms / 1e3):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
