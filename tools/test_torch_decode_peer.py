#!/usr/bin/python3
"""test_torch_decode_peer: tools/torch_decode_peer.py's KV-cache decoder against the
uncached greedy decoder of tools/arithlab_load.py (CTest `decode_peer`), on the
problems `arithlab bench-decode --save-problems` writes.

For an Abacus and an absolute-position checkpoint (trained for a few steps: any
fixed function will do) it checks that the cached decoder generates, token for
token, what arithlab_load.greedy generates (arithlab_load's logits are checked
against arithlab's own by `python_loader`), that the exact-match count the peer
prints equals the one `arithlab bench-decode` prints, and that a RoPE checkpoint
and a malformed problems file are refused. Exits 1 if any check failed.

    /usr/bin/python3 tools/test_torch_decode_peer.py --arithlab build/arithlab
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import arithlab_load  # noqa: E402
import torch_decode_peer as peer  # noqa: E402

TRAIN = ["--set", "train.steps=30", "--set", "model.n_layer=2", "--set", "model.n_embd=32", "--set", "model.n_head=2",
         "--set", "train.threads=1", "--set", "train.eval_every=0", "--set", "eval.per_cell=1",
         "--set", "task.max_len=3", "--set", "task.pad_width=0", "--set", "task.format=reverse_all",
         "--set", "eval.max_len=4"]


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arithlab", required=True)
    a = ap.parse_args()
    failed = 0

    def check(ok, what):
        nonlocal failed
        print(("ok    " if ok else "FAIL  ") + what)
        failed += not ok

    with tempfile.TemporaryDirectory() as tmp:
        for scheme in ("abacus", "absolute", "rope"):
            d = os.path.join(tmp, scheme)
            r = run([a.arithlab, "train", "--out", d, "--set", f"model.position={scheme}"] + TRAIN)
            if r.returncode:
                sys.exit(f"arithlab train ({scheme}) failed:\n{r.stdout}{r.stderr}")
            ckpt, probs_path = os.path.join(d, "ckpt.safetensors"), os.path.join(d, "problems.txt")
            r = run([a.arithlab, "bench-decode", "--checkpoint", ckpt, "--max-len", "4", "--per-cell", "2",
                     "--repeat", "1", "--threads", "1", "--save-problems", probs_path])
            check(r.returncode == 0, f"{scheme}: arithlab bench-decode exits 0 ({r.stderr.strip()[:200]})")
            m = re.search(r"exact match [0-9.]+% \((\d+) of (\d+)", r.stdout)
            check(m is not None, f"{scheme}: bench-decode prints its exact match")
            rp = run(["/usr/bin/python3", os.path.join(HERE, "torch_decode_peer.py"), "--checkpoint", ckpt,
                      "--problems", probs_path, "--repeat", "1", "--batch-size", "7"])
            if scheme == "rope":
                check(rp.returncode != 0 and "additive positions" in rp.stderr and "rope" in rp.stderr,
                      f"rope: the peer refuses, naming the scheme ({rp.stderr.strip()[:120]})")
                continue
            check(rp.returncode == 0, f"{scheme}: the peer exits 0 ({rp.stderr.strip()[:200]})")
            line = rp.stdout.splitlines()[0].split(",") if rp.stdout else []
            check(len(line) == 4 and line[0] == m.group(2),
                  f"{scheme}: the peer decoded all {m.group(2) if m else '?'} problems: {rp.stdout.strip()[:80]}")
            if len(line) == 4 and m:
                got = round(float(line[3]) * int(line[0]))
                check(got == int(m.group(1)), f"{scheme}: exact match {got} (peer) == {m.group(1)} (arithlab)")
            # token for token against the uncached decoder, in batches of 7 (so batches mix and end short)
            model, vocab = arithlab_load.load(ckpt)
            probs = peer.read_problems(probs_path)
            eos = vocab.id("<eos>")
            same = 0
            for chunk in peer.batches(probs, 7):
                n_new = max(len(probs[i][1]) for i in chunk)
                cached = peer.decode_batch(model, [probs[i][0] for i in chunk], n_new, eos)
                for i, row in zip(chunk, cached):
                    ref = arithlab_load.greedy(model, probs[i][0], stop=eos, max_new=n_new)[len(probs[i][0]):]
                    same += row[:len(ref)] == ref
            check(same == len(probs), f"{scheme}: the cached decoder generates what the uncached one does "
                                      f"({same} of {len(probs)} problems)")
        bad = os.path.join(tmp, "bad.txt")
        with open(bad, "w") as f:
            f.write("1 4 5 14\n")
        rp = run(["/usr/bin/python3", os.path.join(HERE, "torch_decode_peer.py"), "--checkpoint",
                  os.path.join(tmp, "abacus", "ckpt.safetensors"), "--problems", bad])
        check(rp.returncode != 0 and "bad.txt:1" in rp.stderr, f"a line without ';' is refused naming file and line "
                                                                f"({rp.stderr.strip()[:120]})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
