#!/usr/bin/python3
"""make_seeds.py: write the seed corpora of the fuzz targets (tests/fuzz/corpus/).

    /usr/bin/python3 tests/fuzz/make_seeds.py --arithlab build/arithlab   # Debian numpy

Seeds are small valid files plus a few near misses; libFuzzer mutates them.
The checkpoints come from `arithlab init` with the tiny config the fuzz target
fuzz_safetensors.c also builds (V=8, T=4, L=1, NH=2, C=8), so they load.
Run again after a format change; the files are committed.
"""
import argparse
import io
import json
import os
import struct
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = ["--set", "model.n_layer=1", "--set", "model.n_embd=8", "--set", "model.n_head=2",
        "--set", "model.vocab_size=8", "--set", "model.block_size=4"]


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- safetensors

def st_split(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def st_join(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds(arithlab):
    with tempfile.TemporaryDirectory() as tmp:
        def init(name, *extra):
            path = os.path.join(tmp, name)
            subprocess.run([arithlab, "init", "--out", path, *TINY, *extra], check=True)
            return open(path, "rb").read()

        tiny = init("tiny")
        put("safetensors", "tiny.safetensors", tiny)
        put("safetensors", "tiny_tied.safetensors", init("tied", "--set", "model.tied=1"))
        put("safetensors", "tiny_post_ln_loops.safetensors",
            init("pl", "--set", "model.post_ln=1", "--set", "model.n_loops=2"))
        for pos in ["rope", "t5", "shaw", "fire", "sinusoidal+alibi"]:
            put("safetensors", "tiny_%s.safetensors" % pos.replace("+", "_"),
                init(pos, "--set", "model.position=" + pos))
        put("safetensors", "tiny_abacus.safetensors",
            init("ab", "--set", "model.position=abacus+rope", "--set", "model.abacus_max=8", "--set", "model.abacus_k=4"))

    # the tiny model with AdamW moments and a training state, as `arithlab train` writes them
    header, data = st_split(tiny)
    meta = header.pop("__metadata__")
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    out, blob = {}, b""
    for prefix in ["", "optim.m.", "optim.v."]:
        for k in names:
            b, e = header[k]["data_offsets"]
            chunk = data[b:e] if not prefix else np.full((e - b) // 4, 1e-3 if "m." in prefix else 1e-6, "<f4").tobytes()
            out[prefix + k] = {"dtype": "F32", "shape": header[k]["shape"], "data_offsets": [len(blob), len(blob) + len(chunk)]}
            blob += chunk
    meta2 = dict(meta)
    meta2.update({"train.step": "20", "train.rng": "123456789", "train.data_rng": "987654321", "train.data_pos": "320",
                  "arithlab.config": "[train]\nsteps = 300\n\n[task]\ntask = add\n"})
    put("safetensors", "tiny_moments.safetensors", st_join({"__metadata__": meta2, **out}, blob))
    # near misses: no tensors at all; an empty header; one tensor and its bytes only
    put("safetensors", "config_only.safetensors", st_join({"__metadata__": meta}, b""))
    put("safetensors", "empty_header.safetensors", st_join({}, b""))
    put("safetensors", "one_tensor.safetensors",
        st_join({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8))


# ---------------------------------------------------------------- npy

def npy_bytes(a, version=None):
    f = io.BytesIO()
    if version:
        np.lib.format.write_array(f, a, version=version)
    else:
        np.save(f, a)
    return f.getvalue()


def npy_seeds():
    put("npy", "f32_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    put("npy", "tokens_i32_2x5.npy", npy_bytes(np.array([[1, 4, 5, 17, 6, 7], [1, 8, 9, 17, 10, 11]], "<i4")[:, :5].copy()))
    put("npy", "tokens_i64_4.npy", npy_bytes(np.array([1, 5, 14, 6], "<i8")))
    put("npy", "f32_scalar.npy", npy_bytes(np.array(2.5, "<f4")))
    put("npy", "i32_empty.npy", npy_bytes(np.zeros((0,), "<i4")))
    put("npy", "i32_8d.npy", npy_bytes(np.ones((1, 1, 1, 1, 1, 1, 1, 2), "<i4")))
    put("npy", "f32_v2.npy", npy_bytes(np.ones((2, 2), "<f4"), version=(2, 0)))
    put("npy", "f32_v3.npy", npy_bytes(np.ones((3,), "<f4"), version=(3, 0)))
    put("npy", "f32_fortran.npy", npy_bytes(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))))
    put("npy", "f32_big_endian.npy", npy_bytes(np.ones((2,), ">f4")))
    put("npy", "u8.npy", npy_bytes(np.ones((2,), "u1")))
    put("npy", "i64_out_of_int_range.npy", npy_bytes(np.array([1, 2**40], "<i8")))


# ---------------------------------------------------------------- ini

def ini_seeds(arithlab):
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        subprocess.run([arithlab, "train", "--out", run, "--set", "train.steps=1", "--set", "model.n_layer=1",
                        "--set", "model.n_embd=8", "--set", "model.n_head=2", "--set", "task.max_len=1",
                        "--set", "eval.per_cell=1", "--set", "eval.n_during_train=1", "--set", "train.threads=1"],
                       check=True, stdout=subprocess.DEVNULL)
        put("ini", "config.ini", open(os.path.join(run, "config.ini"), "rb").read())
    put("ini", "minimal.ini", "[train]\nsteps = 10\nlr = 3e-4\n")
    put("ini", "task_sort.ini", "[task]\ntask = sort\nformat = plain\nsort_count = 4\nspace_prob = 0.25\n")
    put("ini", "model.ini", "; a comment\n# another\n[model]\nposition = abacus+rope ; inline comment\nn_loops = 2\n"
                            "tied = 1\n\n[eval]\nmax_len = 8\n")
    put("ini", "sets.txt", "model.n_layer=2\ntrain.lr=0.01\ntask.format=reversed\ntrain.seed=18446744073709551615\n"
                           "task.index_hints=yes\n")
    put("ini", "errors.ini", "[nosuch]\nx = 1\n[train]\nsteps\n")


# ---------------------------------------------------------------- problems
# the first byte picks fuzz_problem.c's spec (index into SPECS) and mode (top bit)

ADD_PLAIN, ADD_REV, ADD_REV_ALL_HINTS, ADD_HINTS_SPACES, ADD_SIMPLE, ADD_DETAILED, SUB_REV, MUL_PAD, MUL_SCRATCH, \
    SORT_PLAIN, SORT_REV_ALL, MODADD, MODADD_BIG = range(13)
VOCAB = "0123456789+-*=,$%() \n:.[]<>/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tok_bytes(text):
    # mode 1 maps byte b to id (b % 88) - 2; ids: digits from 4, '+' 14 ... (core/vocab.h), <eos> = 2
    return bytes([4 + VOCAB.index(c) + 2 for c in text] + [2 + 2])


def problem_seeds():
    problems = [
        (ADD_PLAIN, "128+367"), (ADD_PLAIN, "999+1"), (ADD_PLAIN, "0+0"), (ADD_REV, "12345+67890"),
        (ADD_REV_ALL_HINTS, "128+367"), (ADD_HINTS_SPACES, "45+7"), (ADD_SIMPLE, "826+574"),
        (ADD_DETAILED, "128+367"), (SUB_REV, "367-128"), (MUL_PAD, "128*367"), (MUL_SCRATCH, "128*307"),
        (SORT_PLAIN, "A:12,B:7,C:9"), (SORT_REV_ALL, "C:100,A:7,B:7"), (MODADD, "60+50"), (MODADD_BIG, "99999+1"),
        (ADD_PLAIN, "1" * 100 + "+" + "9" * 100), (ADD_PLAIN, "01+2"), (SUB_REV, "3-5"), (SORT_PLAIN, "A:1,A:2"),
        (MUL_PAD, "12a*3"),
    ]
    for i, (spec, text) in enumerate(problems):
        put("problem", "p%02d" % i, bytes([spec]) + text.encode())
    answers = [
        (ADD_PLAIN, "495"), (ADD_REV, "594000$"), (ADD_REV_ALL_HINTS, "a5b9c4"), (SUB_REV, "932$"),
        (SORT_PLAIN, "B,C,A"), (MODADD, "13"),
        (ADD_SIMPLE, "A->5 , C->1\nA->9 , C->0\nA->4 , C->0.\n495"),
        (ADD_DETAILED, "<scratch>\n[] + [] , A=[4,9,5] C=0 , END\n</scratch>\n4 9 5"),
        (MUL_SCRATCH, "<scratch>\n128*7=896\n</scratch>\n896"),
    ]
    for i, (spec, text) in enumerate(answers):
        put("problem", "a%02d" % i, bytes([0x80 | spec]) + tok_bytes(text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arithlab", default=os.path.join(HERE, "..", "..", "build", "arithlab"))
    args = ap.parse_args()
    safetensors_seeds(args.arithlab)
    npy_seeds()
    ini_seeds(args.arithlab)
    problem_seeds()


if __name__ == "__main__":
    main()
