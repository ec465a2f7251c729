#!/usr/bin/python3
"""test_arithlab_cache: `arithlab cache` read back by tools/arithlab_cache.py (CTest `python_cache`).

Trains two tiny checkpoints (a plain 2-layer model, and a looped one: 1 block x 2 loops,
whose second pass is injected), caches 8 problems of each, and checks that
  - the loader returns every hook of index.json with its shape, and the tokens' strings
    are the vocabulary's strings of tokens.npy;
  - `--hooks` writes exactly the hooks it selects;
  - where PyTorch is there: the checkpoint built as a torch module
    (tools/arithlab_load.py) reproduces every cached hook it can hook
    (arithlab_load.run_with_hooks), max|c - t| / max|t| <= TOL.
Prints one line per check; exits 1 if any failed.

    /usr/bin/python3 tools/test_arithlab_cache.py --arithlab build/arithlab
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import arithlab_cache  # noqa: E402

try:
    import arithlab_load  # noqa: E402  (needs torch)
except ImportError as e:
    arithlab_load, NO_TORCH = None, str(e)

TOL = 1e-4
TRAIN = ["--set", "train.steps=10", "--set", "model.n_embd=32", "--set", "model.n_head=2", "--set", "train.threads=1",
         "--set", "train.eval_every=0", "--set", "eval.per_cell=1", "--set", "task.max_len=3"]
MODELS = {"plain": ["--set", "model.n_layer=2"],
          "looped": ["--set", "model.n_layer=1", "--set", "model.n_loops=2", "--set", "model.position=abacus"]}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arithlab", required=True)
    a = ap.parse_args()
    arithlab = os.path.abspath(a.arithlab)
    failed = 0

    def check(ok, what):
        nonlocal failed
        print(("ok    " if ok else "FAIL  ") + what)
        failed += not ok

    with tempfile.TemporaryDirectory(prefix="arithlab_cache_") as tmp:
        for name, extra in MODELS.items():
            rundir, cdir = os.path.join(tmp, name), os.path.join(tmp, name + "_cache")
            r = run([arithlab, "train", "--out", rundir] + TRAIN + extra)
            if r.returncode:
                check(False, f"{name}: arithlab train: {r.stdout[-1500:]}{r.stderr[-1500:]}")
                continue
            ckpt = os.path.join(rundir, "ckpt.safetensors")
            r = run([arithlab, "cache", "--checkpoint", ckpt, "--n", "8", "--out", cdir, "--threads", "1"])
            if r.returncode:
                check(False, f"{name}: arithlab cache: {r.stderr}")
                continue
            cache = arithlab_cache.load(cdir)
            with open(os.path.join(cdir, "index.json")) as f:
                index = json.load(f)
            shapes_ok = set(cache) == set(index["hooks"]) and all(
                list(cache[h].shape) == index["hooks"][h]["shape"] for h in cache)
            passes = index["model"]["n_passes"]
            check(shapes_ok and len(cache) == 3 + 6 * passes,
                  f"{name}: {len(cache)} hooks read with the index's shapes ({passes} passes)")
            vocab = index["vocab"]
            strings_ok = all(cache.strings[b][t] == vocab[cache.tokens[b, t]]
                             for b in range(cache.tokens.shape[0]) for t in range(cache.tokens.shape[1]))
            check(strings_ok and cache.tokens.shape == (8, index["n_pos"]),
                  f"{name}: tokens {cache.tokens.shape} and their strings agree with the vocabulary")
            if name == "looped":
                e = index["hooks"]["blocks.1.hook_resid_pre"]
                check(e["block"] == 0 and e["loop"] == 1 and e["injected"],
                      f"looped: blocks.1 is block {e['block']}, loop {e['loop']}, injected {e['injected']}")
            sub = os.path.join(tmp, name + "_sub")
            r = run([arithlab, "cache", "--checkpoint", ckpt, "--n", "3", "--out", sub, "--threads", "1",
                     "--hooks", "blocks.*.attn.hook_pattern,ln_final.hook_normalized"])
            got = sorted(f for f in os.listdir(sub)) if r.returncode == 0 else r.stderr
            want = sorted([f"blocks.{p}.attn.hook_pattern.npy" for p in range(passes)] +
                          ["ln_final.hook_normalized.npy", "tokens.npy", "index.json"])
            check(got == want, f"{name}: --hooks writes {got}")
            if arithlab_load is None:
                print(f"skip  {name}: torch comparison (no torch: {NO_TORCH})")
                continue
            model, _ = arithlab_load.load(ckpt)
            torch_acts = arithlab_load.run_with_hooks(model, cache.tokens)
            worst = max((float(np.abs(cache[h] - t).max() / max(np.abs(t).max(), 1e-6)), h) for h, t in torch_acts.items())
            check(set(torch_acts) <= set(cache) and worst[0] <= TOL,
                  f"{name}: torch reproduces {len(torch_acts)} cached hooks; worst {worst[1]} at {worst[0]:.2e} "
                  f"(tolerance {TOL:g})")
    print(f"{'FAILED' if failed else 'passed'}: {failed} check(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
