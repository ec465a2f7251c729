#!/usr/bin/python3
"""test_arithlab_load: tools/arithlab_load.py against arithlab itself (CTest `python_loader`).

For each position scheme in SCHEMES it trains a tiny checkpoint with `arithlab train`
(a few steps: the model only has to be some fixed function, not a good one), then
  - decodes a few problems greedily in PyTorch from the prompt `arithlab solve
    --show-tokens` shows, and checks the whole text equals arithlab's own;
  - runs those texts (padded to one batch) through `arithlab logits` and the torch
    module and checks the logits agree: max|c - t| / max|t| <= TOL;
and checks the refusals: a scheme the loader does not build, a checkpoint without a
vocabulary, another GELU (each a LoadError naming what is accepted, and exit 2 from
the command line). Prints one line per check; exits 1 if any failed.

    /usr/bin/python3 tools/test_arithlab_load.py --arithlab build/arithlab
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import arithlab_load  # noqa: E402
from safetensors_np import load as st_load, save as st_save  # noqa: E402

SCHEMES = ["absolute", "rope", "abacus"]
PROBLEMS = ["12+34", "7+5", "305+99", "1+0"]
TOL = 1e-4
TRAIN = ["--set", "train.steps=20", "--set", "model.n_layer=2", "--set", "model.n_embd=32", "--set", "model.n_head=2",
         "--set", "train.threads=1", "--set", "train.eval_every=0", "--set", "eval.per_cell=1",
         "--set", "task.max_len=3"]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), **kw)


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        self.failed += not ok


def arithlab_texts(arithlab, ckpt, tmp):
    """the model text arithlab's decoder writes for each of PROBLEMS (solve --show-tokens)"""
    path = os.path.join(tmp, "problems.txt")
    with open(path, "w") as f:
        f.write("\n".join(PROBLEMS) + "\n")
    r = run([arithlab, "solve", "--checkpoint", ckpt, "--show-tokens", "--threads", "1", "--file", path])
    texts = [ln[len("model text: "):] for ln in r.stdout.splitlines() if ln.startswith("model text: ")]
    if len(texts) != len(PROBLEMS):
        raise RuntimeError(f"arithlab solve printed {len(texts)} model texts for {len(PROBLEMS)} problems:\n"
                           f"{r.stdout}{r.stderr}")
    return texts


def check_scheme(c, arithlab, scheme, tmp):
    out = os.path.join(tmp, scheme.replace("+", "_"))
    r = run([arithlab, "train", "--out", out, "--set", f"model.position={scheme}"] + TRAIN)
    if r.returncode:
        c.check(False, f"{scheme}: arithlab train failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        return
    ckpt = os.path.join(out, "ckpt.safetensors")
    model, vocab = arithlab_load.load(ckpt)
    texts = arithlab_texts(arithlab, ckpt, tmp)
    eos = vocab.id("<eos>")
    for problem, text in zip(PROBLEMS, texts):
        prompt = text[:text.index("=") + 1]
        got = vocab.decode(arithlab_load.greedy(model, vocab.encode(prompt), stop=eos))
        c.check(got == text, f"{scheme}: {problem}: torch decodes {got!r}, arithlab {text!r}")
    # logits of every text but its last token, one padded batch
    seqs = [vocab.encode(t)[:-1] for t in texts]
    T = max(len(s) for s in seqs)
    tokens = np.full((len(seqs), T), vocab.id("<pad>"), dtype=np.int32)
    for b, s in enumerate(seqs):
        tokens[b, :len(s)] = s
    tok_path, log_path = os.path.join(tmp, "tokens.npy"), os.path.join(tmp, "logits.npy")
    np.save(tok_path, tokens)
    r = run([arithlab, "logits", "--checkpoint", ckpt, "--tokens", tok_path, "--out", log_path, "--threads", "1"])
    if r.returncode:
        c.check(False, f"{scheme}: arithlab logits failed: {r.stderr}")
        return
    ours, theirs = np.load(log_path), arithlab_load.logits(model, tokens)
    err = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-6))
    c.check(ours.shape == theirs.shape and err <= TOL,
            f"{scheme}: logits {ours.shape}, max rel. difference {err:.2e} (tolerance {TOL:g})")
    return ckpt


def refused(path, words):
    """the message of the LoadError that loading path raises, and whether it has every one of words"""
    try:
        arithlab_load.load(path)
    except arithlab_load.LoadError as e:
        return str(e), all(w in str(e) for w in words)
    return "no error", False


def check_refusals(c, ckpt, tmp):
    tensors, meta = st_load(ckpt)
    cases = [("model.position", "fone", ["model.position", "fone", "accepted", "absolute", "rope", "abacus"]),
             ("model.position", "absolute+bogus", ["bogus", "accepted"]),
             ("gelu_approximate", "none", ["gelu_approximate", "'none'", "tanh"]),
             ("vocab", None, ["no 'vocab'"])]
    for key, value, words in cases:
        m = dict(meta)
        if value is None:
            del m[key]
        else:
            m[key] = value
        path = os.path.join(tmp, "bad.safetensors")
        st_save(path, tensors, m)
        msg, ok = refused(path, words)
        c.check(ok, f"refuses {key}={value}: {msg}")
        r = run([sys.executable, os.path.join(HERE, "arithlab_load.py"), path, "--prompt", "<bos>1+2="])
        c.check(r.returncode == 2 and "arithlab_load:" in r.stderr,
                f"command line exits {r.returncode} (want 2) for {key}={value}: {r.stderr.strip()[:200]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arithlab", required=True, help="the arithlab binary")
    a = ap.parse_args()
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="arithlab_load_") as tmp:
        ckpt = None
        for scheme in SCHEMES:
            ckpt = check_scheme(c, os.path.abspath(a.arithlab), scheme, tmp) or ckpt
        if ckpt:
            check_refusals(c, ckpt, tmp)
    print(f"{'FAILED' if c.failed else 'passed'}: {c.failed} check(s) failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
