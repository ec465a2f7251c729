#!/usr/bin/env python3
"""cascade_check.py: exact match of a trained addition model on cascading carries
(Quirke & Barez: a carry that must travel through columns summing to 9, as in
14455+25545 = 40000) against random problems of the same length.

    python3 tools/cascade_check.py --checkpoint runs/quirke_failures/run_seed1/ckpt.safetensors

Each problem is answered by `arithlab solve`; prints accuracy per kind and a few failures.
"""
import argparse
import random
import subprocess


def digits_to_int(ds):
    return int("".join(str(d) for d in reversed(ds)))   # ds[0] = units


def cascade(rng, n, length):
    """n-digit a, b: column c makes a carry, the next `length` columns sum to 9"""
    while True:
        c = rng.randrange(0, n - length)
        a, b = [0] * n, [0] * n
        for i in range(n):
            if i == c:
                a[i] = rng.randrange(1, 10)
                b[i] = rng.randrange(10 - a[i], 10)          # a + b >= 10
            elif c < i <= c + length:
                a[i] = rng.randrange(0, 10)
                b[i] = 9 - a[i]                               # passes the carry on
            else:
                a[i], b[i] = rng.randrange(0, 10), rng.randrange(0, 10)
        if a[-1] and b[-1]:
            return digits_to_int(a), digits_to_int(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--arithlab", default="build/arithlab")
    ap.add_argument("--digits", type=int, default=5)
    ap.add_argument("-n", type=int, default=100, help="problems per kind")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lo, hi = 10 ** (args.digits - 1), 10 ** args.digits - 1
    kinds = {"random": [(rng.randint(lo, hi), rng.randint(lo, hi)) for _ in range(args.n)]}
    for length in range(2, args.digits):
        kinds[f"cascade of {length}"] = [cascade(rng, args.digits, length) for _ in range(args.n)]
    for kind, problems in kinds.items():
        ok, wrong = 0, []
        for a, b in problems:
            out = subprocess.run([args.arithlab, "solve", "--threads", "1", "--checkpoint", args.checkpoint, f"{a}+{b}"],
                                 capture_output=True, text=True)
            if out.returncode != 0 and "--threads" in out.stderr:   # a binary without --threads
                out = subprocess.run([args.arithlab, "solve", "--checkpoint", args.checkpoint, f"{a}+{b}"],
                                     capture_output=True, text=True)
            line = out.stdout.strip()
            if out.returncode == 0 and "wrong" not in line:
                ok += 1
            else:
                wrong.append(line or out.stderr.strip())
        print(f"{kind:14s} {ok:4d}/{len(problems)} = {100.0 * ok / len(problems):5.1f}%   e.g. {wrong[0] if wrong else '-'}")


if __name__ == "__main__":
    main()
