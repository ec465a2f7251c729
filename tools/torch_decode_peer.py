#!/usr/bin/python3
"""torch_decode_peer: the PyTorch peer of `arithlab bench-decode`: greedy decoding of
the same problems with the same weights, with a KV cache of its own, in problems/s.

The problems come from `arithlab bench-decode --save-problems FILE` (one line each:
the prompt's token ids, ';', the expected completion's ids ending in <eos>); the
weights from the checkpoint, loaded by tools/arithlab_load.py into
tools/torch_reference.py's GPT. Decoding groups the problems by prompt length into
batches of --batch-size (as arithlab does), runs the prompt once through every
block keeping each layer's keys and values, then feeds one token per step against
the cache until every row has produced <eos> or one token more than the batch's
longest expected completion (arithlab's eval cap, so both do the same work). Exact match is the generated completion equal to the expected one;
with the same weights it should equal arithlab's count (a tie between two logits
can tip either way in float32, so a difference of a problem or two is rounding).

The cache covers what a decoder-only model with additive positions needs: token
embeddings plus learned absolute, sinusoidal or Abacus positions (or none), pre-LN
or post-LN blocks, one pass through the blocks (no looping); other schemes
(rope, alibi, t5, shaw, fire, looped models) are refused with their names.

    build/arithlab init --out /tmp/m --set model.position=abacus ...   (or a trained run)
    build/arithlab bench-decode --checkpoint /tmp/m/ckpt.safetensors --save-problems /tmp/p.txt
    /usr/bin/python3 tools/torch_decode_peer.py --checkpoint /tmp/m/ckpt.safetensors --problems /tmp/p.txt

It prints one line: problems,threads,problems_per_s,exact_match, then a comment line
with the torch version and the repeat times. The thread count is set through
torch.set_num_threads before anything runs.
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arithlab_load import load, LoadError  # noqa: E402
import torch_reference  # noqa: E402

ADDITIVE = {"absolute", "nope", "sinusoidal", "abacus"}


def read_problems(path):
    probs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if ";" not in line:
                sys.exit(f"torch_decode_peer: {path}:{n}: expected 'prompt ids ; completion ids', got {line[:60]!r}")
            p, c = line.split(";", 1)
            try:
                probs.append(([int(t) for t in p.split()], [int(t) for t in c.split()]))
            except ValueError:
                sys.exit(f"torch_decode_peer: {path}:{n}: token ids must be integers: {line[:60]!r}")
    if not probs:
        sys.exit(f"torch_decode_peer: {path}: no problems")
    return probs


def embed(model, idx, t0):
    """the input embeddings of idx (B,T), whose first column sits at position t0, given the whole
    sequence so far for the Abacus indices (idx holds it from position 0)."""
    tr, T = model.transformer, idx.shape[1]
    e = tr.wte(idx[:, t0:])
    pos = torch.arange(t0, T)
    if "wpe" in tr:
        e = e + tr.wpe(pos)
    if model.sinusoidal is not None:
        e = e + model.sinusoidal[t0:T].to(e.dtype)
    if "abacus" in tr:
        rows = torch_reference.abacus_rows(idx, 0, model.cfg["abacus_max"])
        e = e + tr.abacus(rows[:, t0:])
    return e


def block_step(block, x, cache):
    """x (B,t,C) through one block, attending to the cache's keys and values and extending it."""
    attn = block.attn
    B, t, C = x.shape
    nh, hs = attn.n_head, C // attn.n_head

    def attend(h):
        q, k, v = attn.c_attn(h).split(C, dim=2)
        q, k, v = (z.view(B, t, nh, hs).transpose(1, 2) for z in (q, k, v))
        if cache["k"] is not None:
            k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
        cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        if t > 1:   # the prompt: causal within it (the cache was empty)
            att = att.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, t, C)
        return attn.c_proj(y)
    if not block.norm:
        x = x + attend(x)
        return x + block.mlp(x)
    if block.post_ln:
        x = block.ln_1(x + attend(x))
        return block.ln_2(x + block.mlp(x))
    x = x + attend(block.ln_1(x))
    return x + block.mlp(block.ln_2(x))


@torch.no_grad()
def decode_batch(model, prompts, max_new, eos):
    idx = torch.tensor(prompts, dtype=torch.long)
    caches = [{"k": None, "v": None} for _ in model.transformer.h]
    ln_f = model.transformer.ln_f if model.cfg.get("norm", "layernorm") != "none" else (lambda h: h)
    t0, out = 0, []
    done = torch.zeros(idx.shape[0], dtype=torch.bool)
    for _ in range(max_new):
        x = embed(model, idx, t0)
        for block, cache in zip(model.transformer.h, caches):
            x = block_step(block, x, cache)
        nxt = model.lm_head(ln_f(x[:, -1])).argmax(-1)
        out.append(nxt)
        t0 = idx.shape[1]
        idx = torch.cat([idx, nxt[:, None]], 1)
        done |= nxt == eos
        if bool(done.all()):
            break
    return torch.stack(out, 1).tolist()


def batches(probs, batch):
    """the problems' indices in batches of at most `batch`, each of one prompt length (shortest first)."""
    by_len = {}
    for i, (p, _) in enumerate(probs):
        by_len.setdefault(len(p), []).append(i)
    for _, ids in sorted(by_len.items()):
        for s in range(0, len(ids), batch):
            yield ids[s:s + batch]


def decode_all(model, probs, batch, eos):
    ok = 0
    for chunk in batches(probs, batch):
        want = [probs[i][1] for i in chunk]
        # at most one token more than the longest expected completion, as arithlab's eval caps it
        got = decode_batch(model, [probs[i][0] for i in chunk], max(len(w) for w in want) + 1, eos)
        ok += sum(g[:len(w)] == w for g, w in zip(got, want))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--problems", required=True, help="the file arithlab bench-decode --save-problems wrote")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.batch_size < 1 or a.repeat < 1 or a.threads < 1:
        ap.error("--batch-size, --repeat and --threads must be at least 1")
    torch.set_num_threads(a.threads)
    try:
        model, vocab = load(a.checkpoint)
    except LoadError as e:
        sys.exit(f"torch_decode_peer: {e}")
    schemes = set(model.cfg["position"].split("+"))
    if not schemes <= ADDITIVE or model.cfg.get("n_loops", 1) != 1 or model.cfg.get("head", "lm") != "lm":
        sys.exit(f"torch_decode_peer: the KV cache here covers additive positions ({', '.join(sorted(ADDITIVE))}), "
                 f"one pass, the LM head; this checkpoint has position={model.cfg['position']}, "
                 f"n_loops={model.cfg.get('n_loops', 1)}, head={model.cfg.get('head', 'lm')}")
    model.eval()
    probs = read_problems(a.problems)
    eos = vocab.id("<eos>")
    decode_all(model, probs[: min(len(probs), a.batch_size)], a.batch_size, eos)   # warm-up
    times, ok = [], 0
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        ok = decode_all(model, probs, a.batch_size, eos)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"{len(probs)},{a.threads},{len(probs) / med:.1f},{ok / len(probs):.6f}")
    print(f"# torch {torch.__version__}, {a.threads} thread(s); passes " + ", ".join(f"{t:.2f}" for t in times) + " s")


if __name__ == "__main__":
    main()
