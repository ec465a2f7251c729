#!/usr/bin/python3
"""torch_reference: check arithlab's forward, backward and AdamW against PyTorch.

For several small model configurations it asks the C engine to initialise a
checkpoint (`arithlab init`) and replay AdamW steps on a random batch
(`arithlab replay`), rebuilds the same model in PyTorch from that checkpoint,
repeats the steps, and compares tensor by tensor:

  - the first logits, every loss, and every parameter's first gradient;
  - the logits of `arithlab logits` (a forward outside training);
  - one clip + AdamW step applied by torch to arithlab's own first gradients
    (the optimizer alone, on exactly the input it saw);
  - every parameter and AdamW moment after 3 steps.

The position schemes of REFERENCE_SCHEMES are rebuilt here from their
definitions (embeddings/<name>.c), alone and in combinations. Abacus draws a random digit
offset per training batch from the model RNG, and a looped model with
model.loop_random = 1 draws how many loops run without gradient and how many
with it; the reference makes the same draws from the checkpoint's model.rng
(training_draws) and checks that the replay's final model.rng is where those
draws end.

The metric is relative to the tensor's scale, max|c - t| / max(max|t|, 1e-6)
(c = arithlab, t = torch float32); a tensor passes when it is <= --tol (1e-4).
After several AdamW steps float32 rounding alone can exceed that (see Verdict
and split_key_bias); such tensors are marked '~', listed, and refused under
--strict. Most cases start from weights redrawn at a larger scale
(widen_weights) so that GELU, softmax and LayerNorm are visibly nonlinear; two
start from arithlab's own init.

    /usr/bin/python3 tools/torch_reference.py --arithlab build/arithlab
    /usr/bin/python3 tools/torch_reference.py --arithlab build/arithlab --case tied -v

Prints one table per case and ends with the line `N passed, M failed`; exits
non-zero if any case failed. Needs Debian's python3-torch (only under
/usr/bin/python3) and numpy.

The model lives here too (GPT, build_optimizer, train_step) so that
torch_peer.py benchmarks exactly the same math.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import load as st_load, save as st_save  # noqa: E402

LN_EPS = 1e-5


# ---------------------------------------------------------------- the model

def config_from_metadata(meta):
    """The model config (ints, plus 'position') from a checkpoint's __metadata__."""
    cfg = {}
    for key in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "mlp_hidden", "tied", "post_ln"):
        full = "model." + key
        if full not in meta:
            raise KeyError(f"checkpoint metadata has no {full!r} (has: {sorted(meta)})")
        cfg[key] = int(meta[full])
    cfg["position"] = meta.get("model.position", "absolute")
    for key, (default, accepted) in ARCH_OPTIONS.items():
        cfg[key] = meta.get("model." + key, default)
        if cfg[key] not in accepted:
            raise ValueError(f"model.{key}={cfg[key]!r}: the reference implements only {accepted}")
    for key, default in POSITION_OPTIONS.items():
        cfg[key] = int(meta.get("model." + key, str(default)))
    if cfg["mlp_hidden"] == 0:
        cfg["mlp_hidden"] = 4 * cfg["n_embd"]
    unknown = set(cfg["position"].split("+")) - REFERENCE_SCHEMES
    if unknown:
        raise ValueError(f"model.position={cfg['position']!r}: the reference implements only "
                         f"{sorted(REFERENCE_SCHEMES)}, not {sorted(unknown)}")
    cfg["head"] = resolve_head(meta.get("model.head", "auto"), cfg["position"])
    if cfg["head"] not in REFERENCE_HEADS:
        raise ValueError(f"model.head={cfg['head']!r}: the reference implements only {sorted(REFERENCE_HEADS)}")
    return cfg


# output heads this reference implements, each from its model/head_<name>.c (model.head); a head
# that reads back per-token values goes with its input scheme, which model.head = auto picks it by
REFERENCE_HEADS = {"lm", "fone"}
HEAD_INPUT_SCHEME = {"fone": "fone"}


def resolve_head(head, position):
    """model.head as arithlab resolves it (model/head.c): auto is the head whose input scheme is in
    model.position, else lm."""
    if head != "auto":
        return head
    schemes = position.split("+")
    return next((h for h, s in HEAD_INPUT_SCHEME.items() if s in schemes), "lm")


# position schemes this reference implements, each from its embeddings/<name>.c; a checkpoint using another is refused
REFERENCE_SCHEMES = {"absolute", "nope", "sinusoidal", "rope", "alibi", "t5", "shaw", "fire", "abacus"}
# the model.* options besides the core sizes, with arithlab's defaults (model/model.c)
POSITION_OPTIONS = dict(n_loops=1, loop_random=0, rope_base=10000, abacus_k=100, abacus_max=256, rel_max=32, t5_buckets=32)
TOK_DIGIT0 = 4      # ids 4..13 are the digits '0'..'9' (core/vocab.h): Abacus numbers their runs
FIRE_HIDDEN = 32    # FIRE's MLP: 1 -> 32 -> NH with ReLU, no output bias (embeddings/fire.c)
FIRE_C0 = 0.1       # c = |FIRE_C0 + c_raw|
FIRE_EPS = 1e-6     # added to the normalizer log(c M + 1)
# FoNE (class Fone): the scheme, its options, and the [NUM] token that carries a value (core/vocab.h)
REFERENCE_SCHEMES.add("fone")
POSITION_OPTIONS.update(fone_places=0, fone_linear=0)
TOK_NUM = 3
# architecture options (model/config.c), with arithlab's defaults first; model.init only changes the
# initial draw, which the replay copies from the checkpoint
ARCH_OPTIONS = dict(norm=("layernorm", ("layernorm", "none")), activation=("gelu", ("gelu", "relu")))


def sinusoidal_table(T, C):
    """(T,C): columns 2i and 2i+1 hold sin and cos of t / 10000^(2i/C) (embeddings/sinusoidal.c)."""
    t = torch.arange(T, dtype=torch.float64)[:, None]
    c = torch.arange(C)
    angle = t * torch.pow(torch.tensor(10000.0, dtype=torch.float64), -(c - c % 2).double() / C)
    return torch.where(c % 2 == 1, torch.cos(angle), torch.sin(angle)).float()


def rope(x, base, positions=None):
    """x (B,NH,T,HS): pairs (2i, 2i+1) rotated by t * base^(-2i/HS) (embeddings/rope.c); t is the
    row's position, or positions (B,T) (masked packing: the position within each problem)."""
    T, HS = x.shape[-2], x.shape[-1]
    half = HS // 2
    i = torch.arange(half, dtype=torch.float64)
    t = torch.arange(T, dtype=torch.float64)[:, None] if positions is None else positions.double()[:, None, :, None]
    angle = t * torch.pow(torch.tensor(float(base), dtype=torch.float64), -2.0 * i / HS)
    c, s = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    a, b = x[..., 0:2 * half:2], x[..., 1:2 * half:2]
    out = x.clone()
    out[..., 0:2 * half:2] = a * c - b * s
    out[..., 1:2 * half:2] = a * s + b * c
    return out


def alibi_slopes(n):
    """Press et al.'s get_slopes: powers of 2^(-8/n); for n not a power of 2, the slopes of the
    power of 2 below, then every other slope of the power above (embeddings/alibi.c)."""
    def pow2(k):
        return [2.0 ** (-8.0 * (i + 1) / k) for i in range(k)]
    cp = 1 << (n.bit_length() - 1)
    return pow2(cp) + pow2(2 * cp)[0::2][: n - cp]


def distances(T):
    """(T,T) int64: i - j for query i and key j, 0 above the diagonal (masked anyway; keeps logs finite)."""
    pos = torch.arange(T)
    return (pos[:, None] - pos[None, :]).clamp(min=0)


def t5_bucket(d, num_buckets, max_distance):
    """Mesh TensorFlow's unidirectional _relative_position_bucket of distances d >= 0, as in
    Hugging Face's T5 (float32 log, truncation toward zero): d < nb/2 is its own bucket; larger d
    share nb/2 log-spaced buckets up to max_distance (model.rel_max), beyond it the last one."""
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(d.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.clamp(large, max=num_buckets - 1)
    return torch.where(d < max_exact, d, large)


def fire_bias(w1, b1, w2, c_raw, L_raw, T, block_size, positions=None):
    """FIRE's logit bias (NH,T,T) of one layer: f(psi(i-j) / psi(max(L, i+1))), psi(x) = log(c x + 1),
    f = w2 relu(w1 x + b1). c = |0.1 + c_raw|, L = |block_size (1 + L_raw)|; the normalizer gets
    +1e-6. Where L == i+1 the subgradient taken is the one through i+1 (L gets none), as in fire.c.
    positions (B,T): masked packing, the query's position within its problem replaces i: (B,NH,T,T)."""
    c = torch.abs(FIRE_C0 + c_raw)
    L = torch.abs(block_size * (1.0 + L_raw))
    if positions is None:
        qpos1 = torch.arange(1, T + 1, dtype=w1.dtype)[:, None]      # (T,1): i + 1
    else:
        qpos1 = (positions + 1).to(w1.dtype)[:, :, None]             # (B,T,1)
    M = torch.where(L > qpos1, L, qpos1)                              # progressive interpolation
    x = torch.log(c * distances(T).to(w1.dtype) + 1.0) / (torch.log(c * M + 1.0) + FIRE_EPS)  # ([B,]T,T)
    a = torch.relu(x[..., None] * w1 + b1)                            # ([B,]T,T,32)
    out = a @ w2.t()                                                  # ([B,]T,T,NH)
    return out.permute(2, 0, 1) if positions is None else out.permute(0, 3, 1, 2)


def abacus_rows(idx, offset, n_rows, positions=None):
    """(B,T) int64 table rows: the n-th digit of a run of digit tokens (n = 1, 2, ...) takes row
    n + offset, clamped to n_rows - 1; every other token row 0 (embeddings/abacus.c). With
    positions (masked packing) a run also ends where a problem starts (position 0)."""
    digit = (idx >= TOK_DIGIT0) & (idx < TOK_DIGIT0 + 10)
    run = torch.zeros_like(idx)
    n = torch.zeros_like(idx[:, 0])
    for t in range(idx.shape[1]):
        if positions is not None:
            n = torch.where(positions[:, t] == 0, torch.zeros_like(n), n)
        n = torch.where(digit[:, t], n + 1, torch.zeros_like(n))
        run[:, t] = n
    return torch.where(digit, torch.clamp(run + offset, max=n_rows - 1), torch.zeros_like(run))


# arithlab's model RNG (core/common.h): xorshift64*, its state saved as the checkpoint's model.rng
_U64 = (1 << 64) - 1


def rng_u32(state):
    """One xorshift64* draw: (new state, u32)."""
    state ^= state >> 12
    state ^= (state << 25) & _U64
    state ^= state >> 27
    return state, ((state * 0x2545F4914F6CDD1D) & _U64) >> 32


def training_draws(meta, n):
    """What the next n training forwards of the model in meta draw from the model RNG, and its
    state after them: ([(abacus offset, loops)] one per forward, state). In arithlab's order
    (model/model.c forward_chunk), with rng_int(n) = (u32 * n) >> 32: the position schemes' embed
    hooks first, where Abacus with model.abacus_k = K > 0 draws its offset rng_int(K + 1) (else
    offset 0, no draw); then a looped model with model.loop_random = 1 draws skip = rng_int(n_loops)
    and keep = 1 + rng_int(n_loops - skip): loops = (skip, keep) (else None, every loop, no draw)."""
    cfg = config_from_metadata(meta)
    state = int(meta["model.rng"])
    K = cfg["abacus_k"] if "abacus" in cfg["position"].split("+") else 0
    n_loops = cfg["n_loops"]

    def rng_int(bound):
        nonlocal state
        state, u = rng_u32(state)
        return (u * bound) >> 32
    draws = []
    for _ in range(n):
        offset = rng_int(K + 1) if K > 0 else 0
        loops = None
        if cfg["loop_random"] and n_loops > 1:
            skip = rng_int(n_loops)
            loops = (skip, 1 + rng_int(n_loops - skip))
        draws.append((offset, loops))
    return draws, state


class ParamSet(nn.Module):
    """A position scheme's parameter tensors, under their checkpoint names (zeros until loaded)."""

    def __init__(self, **shapes):
        super().__init__()
        for name, shape in shapes.items():
            self.register_parameter(name, nn.Parameter(torch.zeros(shape)))


class Fone(nn.Module):
    """FoNE (embeddings/fone.c, model/fone.c): a [NUM] token with value x adds cos and sin of
    2 pi (x mod 10^i) / 10^i, i = 1..P, to channels 2(i-1) and 2i-1 (fone_linear: W (C, 2P) times
    them, the parameter transformer.fone.weight). The digit head dots the final LayerNorm's channel
    pair of place i with the ten points (cos, sin of 2 pi j/10); the loss is the cross-entropy of
    the digits of [NUM] targets, the mean over places and targets. set_values gives the batch's
    values (B,T) of the input tokens and of the targets."""

    def __init__(self, cfg):
        super().__init__()
        self.P, self.C = cfg["fone_places"], cfg["n_embd"]
        if cfg["fone_linear"]:
            self.weight = nn.Parameter(torch.zeros(self.C, 2 * self.P))
        self.values = self.target_values = None

    def set_values(self, values, target_values):
        self.values = torch.from_numpy(np.asarray(values, dtype=np.int64))
        self.target_values = torch.from_numpy(np.asarray(target_values, dtype=np.int64))

    def forward(self, idx):
        """(B,T,C): what the [NUM] tokens of idx add to their embedding (angles in float64)."""
        mods = 10 ** torch.arange(1, self.P + 1, dtype=torch.int64)
        angle = 2.0 * math.pi * (self.values[..., None] % mods).double() / mods.double()      # (B,T,P)
        f = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1).flatten(-2)           # (B,T,2P)
        dtype = self.weight.dtype if hasattr(self, "weight") else torch.get_default_dtype()
        f = (f * (idx == TOK_NUM)[..., None]).to(dtype)
        return f @ self.weight.t() if hasattr(self, "weight") else F.pad(f, (0, self.C - 2 * self.P))

    def head(self, h, targets=None):
        """h (B,T,C) after ln_f -> digit logits (B,T,P,10) and, with targets, the digit loss."""
        j = torch.arange(10, dtype=torch.float64) * (2.0 * math.pi / 10.0)
        cs, sn = torch.cos(j).to(h.dtype), torch.sin(j).to(h.dtype)
        logits = h[..., 0:2 * self.P:2, None] * cs + h[..., 1:2 * self.P:2, None] * sn
        if targets is None:
            return logits, None
        digits = (self.target_values[..., None] // 10 ** torch.arange(self.P)) % 10                # (B,T,P)
        mask = targets == TOK_NUM
        return logits, F.cross_entropy(logits[mask].reshape(-1, 10), digits[mask].reshape(-1))


def set_fone_values(model, values, order):
    """Hand a FoNE model the (values, target_values) of the batch rows in `order`; None: not FoNE."""
    if values is not None:
        model.transformer.fone.set_values(values[0][order], values[1][order])


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.n_head = cfg["n_head"]
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        T = cfg["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)
        schemes = cfg["position"].split("+")
        self.rope_base = cfg.get("rope_base", 10000) if "rope" in schemes else None
        self.alibi = torch.tensor(alibi_slopes(self.n_head)) if "alibi" in schemes else None
        self.positions = None  # masked packing (GPT.positions): (B,T) positions within each problem

    def forward(self, x, layer=0, attn_bias=None):
        """x (B,T,C); attn_bias(q, layer) gives the learned logit biases for the rotated q (B,NH,T,hs)."""
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B,NH,T,hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        if self.rope_base is not None:
            q, k = rope(q, self.rope_base, self.positions), rope(k, self.rope_base, self.positions)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B,NH,T,T)
        if self.alibi is not None:
            att = att - self.alibi.to(att.dtype)[:, None, None] * distances(T).to(att.dtype)
        if attn_bias is not None:
            bias = attn_bias(q, layer)
            if bias is not None:
                att = att + bias
        mask = self.mask[:T, :T]
        if self.positions is not None:  # block-diagonal: query i sees keys i - pos[i] .. i, its own problem
            i = torch.arange(T)
            mask = mask & (i[None, None, :] >= (i[None, :] - self.positions)[:, :, None])[:, None]  # (B,1,T,T)
        att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg["n_embd"], cfg["mlp_hidden"])
        # model.activation: GELU's tanh form, or ReLU (Nanda et al.)
        self.gelu = nn.ReLU() if cfg.get("activation", "gelu") == "relu" else nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(cfg["mlp_hidden"], cfg["n_embd"])

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.post_ln = bool(cfg["post_ln"])
        self.norm = cfg.get("norm", "layernorm") != "none"  # model.norm = none: ln_1, ln_2 are not applied
        self.ln_1 = nn.LayerNorm(C, eps=LN_EPS)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(C, eps=LN_EPS)
        self.mlp = MLP(cfg)

    def forward(self, x, layer=0, attn_bias=None):
        if not self.norm:  # Nanda et al.'s block: no LayerNorm (arithlab refuses post_ln with it)
            x = x + self.attn(x, layer, attn_bias)
            return x + self.mlp(x)
        if self.post_ln:
            x = self.ln_1(x + self.attn(x, layer, attn_bias))
            return self.ln_2(x + self.mlp(x))
        x = x + self.attn(self.ln_1(x), layer, attn_bias)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's model with arithlab's options; parameter names match the checkpoints."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(POSITION_OPTIONS, **cfg)
        cfg = self.cfg
        C, V, NH, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_head"], cfg["n_layer"]
        schemes = cfg["position"].split("+")
        modules = dict(wte=nn.Embedding(V, C))
        if "absolute" in schemes:
            modules["wpe"] = nn.Embedding(cfg["block_size"], C)
        if "abacus" in schemes:
            modules["abacus"] = nn.Embedding(cfg["abacus_max"], C)
        if "fone" in schemes:
            modules["fone"] = Fone(cfg)
        pos = {}
        if "t5" in schemes:  # one (buckets, NH) table shared by the layers
            pos["t5"] = ParamSet(bias=(cfg["t5_buckets"], NH))
        if "shaw" in schemes:  # per layer, shared by its heads
            pos["shaw"] = ParamSet(rel_k=(L, cfg["rel_max"] + 1, C // NH))
        if "fire" in schemes:
            pos["fire"] = ParamSet(w1=(L, FIRE_HIDDEN), b1=(L, FIRE_HIDDEN), w2=(L, NH, FIRE_HIDDEN), c=(L,), L=(L,))
        if pos:
            modules["pos"] = nn.ModuleDict(pos)
        modules.update(h=nn.ModuleList([Block(cfg) for _ in range(L)]),
                       ln_f=nn.LayerNorm(C, eps=LN_EPS))
        self.transformer = nn.ModuleDict(modules)
        self.sinusoidal = sinusoidal_table(cfg["block_size"], C) if "sinusoidal" in schemes else None
        self.lm_head = nn.Linear(C, V, bias=False)
        if cfg["tied"]:
            self.lm_head.weight = self.transformer.wte.weight
        self.positions = None  # set_positions: masked packing

    def set_positions(self, positions):
        """Masked packing (train.packing = masked): positions (B,T) int64 tensor of each token's position
        within its problem (0 starts one), or None: the rows' own positions, one sequence per row."""
        self.positions = positions
        for block in self.transformer.h:
            block.attn.positions = positions

    def attn_bias(self, q, layer):
        """The learned logit biases of `layer` (t5, shaw, fire; alibi is the attention's own):
        (B or 1, NH, T, T) from q (B,NH,T,hs) after RoPE, as arithlab's hooks see it; or None."""
        if "pos" not in self.transformer:
            return None
        pos, T, hs = self.transformer.pos, q.shape[2], q.shape[3]
        bias = None

        def add(b):
            return b if bias is None else bias + b
        if "t5" in pos:
            rows = t5_bucket(distances(T), self.cfg["t5_buckets"], self.cfg["rel_max"])
            bias = add(pos.t5.bias[rows].permute(2, 0, 1)[None])                   # (1,NH,T,T)
        if "shaw" in pos:  # q_i . r[min(i-j, rel_max)] / sqrt(hs)
            r = pos.shaw.rel_k[layer][distances(T).clamp(max=self.cfg["rel_max"])]  # (T,T,hs)
            bias = add(torch.einsum("bhid,ijd->bhij", q, r) * (1.0 / math.sqrt(hs)))
        if "fire" in pos:
            f = pos.fire
            fb = fire_bias(f.w1[layer], f.b1[layer], f.w2[layer], f.c[layer], f.L[layer], T,
                           self.cfg["block_size"], self.positions)
            bias = add(fb[None] if self.positions is None else fb)
        return bias

    def forward(self, idx, targets=None, abacus_offset=0, loops=None):
        """idx (B,T) int64 -> logits (B,T,V); with targets also the mean loss over targets != -1.
        abacus_offset: the offset added to every digit index (arithlab draws one per training batch).
        loops: (skip, keep) for a looped model's random-depth training forward (model.loop_random):
        skip + keep loops run and the gradient follows only the last keep, the state entering loop
        skip cut off before the input is injected (the injection itself keeps its gradient)."""
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device) if self.positions is None else self.positions
        e = self.transformer.wte(idx)
        if "wpe" in self.transformer:
            e = e + self.transformer.wpe(pos)
        if self.sinusoidal is not None:
            e = e + self.sinusoidal[pos].to(e.dtype)
        if "abacus" in self.transformer:
            e = e + self.transformer.abacus(abacus_rows(idx, abacus_offset, self.cfg["abacus_max"], self.positions))
        if "fone" in self.transformer:
            e = e + self.transformer.fone(idx)
        # a looped model applies the blocks n_loops times (skip + keep when loops is given), adding the
        # embedded input before every loop but the first
        skip, keep = (0, self.cfg["n_loops"]) if loops is None else loops
        x = e
        for loop in range(skip + keep):
            if loop:
                x = (x.detach() if loop == skip else x) + e
            for layer, block in enumerate(self.transformer.h):
                x = block(x, layer, self.attn_bias)
        ln_f = self.transformer.ln_f if self.cfg.get("norm", "layernorm") != "none" else (lambda h: h)
        if self.cfg["head"] == "fone":  # the digit head; arithlab's LM head then gets a zero gradient (and decays)
            logits, loss = self.transformer.fone.head(ln_f(x), targets)
            return logits, None if loss is None else loss + 0.0 * self.lm_head.weight.sum() + self.unused_norms()
        logits = self.lm_head(ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss + self.unused_norms()

    def unused_norms(self):
        """model.norm = none: arithlab keeps the LayerNorm tensors, with zero gradients (and AdamW
        moments); 0 * their sum gives torch the same, so both sides list the same state."""
        if self.cfg.get("norm", "layernorm") != "none":
            return 0.0
        return sum(0.0 * p.sum() for n, p in self.named_parameters() if ".ln_" in n or n.startswith("transformer.ln_"))


def is_decayed(name):
    """arithlab's weight-decay rule: only the 2-D matmul weights decay (not wte/wpe, biases, LayerNorm)."""
    return name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")) or name == "lm_head.weight"


def build_model(tensors, meta, dtype=torch.float32):
    """A GPT (there is no dropout) with its parameters copied from a checkpoint's tensors."""
    model = GPT(config_from_metadata(meta)).to(dtype)
    params = dict(model.named_parameters())  # tied: lm_head.weight is not listed (shared with wte)
    missing = sorted(set(params) - set(tensors))
    if missing:
        raise KeyError(f"checkpoint lacks parameters {missing}")
    extra = sorted(n for n in tensors if not n.startswith("optim.") and n not in params)
    if extra:
        raise KeyError(f"checkpoint has tensors the model does not: {extra}")
    with torch.no_grad():
        for name, p in params.items():
            if tuple(tensors[name].shape) != tuple(p.shape):
                raise ValueError(f"{name}: checkpoint shape {tensors[name].shape}, model wants {tuple(p.shape)}")
            p.copy_(torch.from_numpy(tensors[name]).to(dtype))
    return model


def build_optimizer(model, lr, weight_decay, beta1=0.9, beta2=0.95, eps=1e-8):
    """torch AdamW with arithlab's two groups (decay: matmul weights; no decay: the rest)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if is_decayed(name) else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=eps)


def train_step(model, optimizer, x, y, clip):
    """One forward/backward/clip/AdamW step; returns the loss of the forward before it."""
    optimizer.zero_grad(set_to_none=True)
    _, loss = model(x, y)
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss


# ---------------------------------------------------------------- what `arithlab replay` should write

def model_state(model, opt):
    """{name: array} of the parameters and, where AdamW has state, optim.m./optim.v. moments."""
    out = {}
    for name, p in model.named_parameters():
        out[name] = p.detach().numpy().copy()
        st = opt.state.get(p, {})
        if st:
            out["optim.m." + name] = st["exp_avg"].numpy().copy()
            out["optim.v." + name] = st["exp_avg_sq"].numpy().copy()
    return out


def replay_torch(tensors, meta, tokens, targets, steps, hp, dtype=torch.float32, perm=None,
                 grad_noise=0.0, seed=0, values=None, positions=None):
    """`arithlab replay` computed by torch: hp has lr, weight_decay, beta1, beta2, eps, clip.

    Two knobs serve float_floor: perm reorders the batch rows (the same math, other rounding; the
    logits come back in the original order), and grad_noise > 0 adds to every gradient tensor,
    before the clip, Gaussian noise of std grad_noise * max|grad| / 3 (seeded by seed).
    Like the C replay, the logits come from a training forward of their own before the steps: with
    Abacus offsets or random loop depths drawn per training batch (model.abacus_k > 0,
    model.loop_random) it sees the first draws and step s the (s+2)-th (training_draws reproduces
    them from the checkpoint's model.rng).
    Returns dict: logits (B,T,V), losses (steps+1,), grads {name: array} of the first backward
    (before any noise), final {name: array} (parameters and moments after the steps).
    """
    model = build_model(tensors, meta, dtype)
    opt = build_optimizer(model, hp["lr"], hp["weight_decay"], hp["beta1"], hp["beta2"], hp["eps"])
    draws, _ = training_draws(meta, steps + 2)
    order = np.arange(tokens.shape[0]) if perm is None else np.asarray(perm)
    set_fone_values(model, values, order)
    if positions is not None:  # masked packing: positions within each problem (make_positions)
        model.set_positions(torch.from_numpy(positions[order].astype(np.int64)))
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(tokens[order].astype(np.int64))
    y = torch.from_numpy(targets[order].astype(np.int64))
    out = {"losses": []}
    with torch.no_grad():
        logits0 = model(x, abacus_offset=draws[0][0], loops=draws[0][1])[0].numpy()
    for step in range(steps + 1):
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y, abacus_offset=draws[step + 1][0], loops=draws[step + 1][1])
        out["losses"].append(loss.item())
        if step == steps:
            break
        loss.backward()
        if step == 0:
            out["grads"] = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
        if grad_noise > 0:
            for p in model.parameters():
                p.grad += torch.randn(p.shape, generator=gen, dtype=dtype) * (grad_noise * p.grad.abs().max() / 3)
        if hp["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp["clip"])
        opt.step()
    out["logits"] = np.empty_like(logits0)
    out["logits"][order] = logits0
    out["losses"] = np.array(out["losses"])
    out["final"] = model_state(model, opt)
    return out


def eval_logits(tensors, meta, tokens, dtype=torch.float32, values=None):
    """What `arithlab logits` should write: one forward outside training (Abacus offset 0)."""
    model = build_model(tensors, meta, dtype)
    set_fone_values(model, values, np.arange(tokens.shape[0]))
    with torch.no_grad():
        return model(torch.from_numpy(tokens.astype(np.int64)))[0].numpy()


def adamw_step_from(tensors, meta, grads, hp, dtype=torch.float64):
    """One clip + AdamW step from the checkpoint's parameters with the given gradients (arithlab's
    own), so that the optimizer is checked on exactly the input it saw. Returns {name: array}."""
    model = build_model(tensors, meta, dtype)
    opt = build_optimizer(model, hp["lr"], hp["weight_decay"], hp["beta1"], hp["beta2"], hp["eps"])
    for name, p in model.named_parameters():
        if name not in grads:
            raise KeyError(f"grads.safetensors has no {name}")
        p.grad = torch.from_numpy(grads[name]).to(dtype)
    if hp["clip"] > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["clip"])
    opt.step()
    return model_state(model, opt)


def float_floor(tensors, meta, tokens, targets, steps, hp, exact, n_runs, seed, grad_noise, values=None,
                positions=None):
    """How far float32 rounding alone moves each output from the exact (float64) replay.

    Two ensembles, n_runs each, and the max of rel_err(run, exact) over all of them:
    torch float32 replays with the batch rows reordered (which changes every summation order),
    and float64 replays whose gradients get noise of relative size grad_noise (arithlab's own
    measured first-gradient error): the scatter an implementation with that gradient accuracy
    should expect, however lucky torch's own rounding happens to be on the few ill-conditioned
    elements (see Verdict). Returns {"logits": x, "losses": x, "grad:<name>": x, "final:<name>": x}.
    """
    rng = np.random.default_rng(seed)
    floor = {}
    runs = [dict(dtype=torch.float32, perm=None if i == 0 else rng.permutation(tokens.shape[0]))
            for i in range(n_runs)]
    runs += [dict(dtype=torch.float64, grad_noise=grad_noise, seed=seed + i) for i in range(n_runs)]
    for run in runs:
        r = replay_torch(tensors, meta, tokens, targets, steps, hp, values=values, positions=positions, **run)
        pairs = [("logits", r["logits"], exact["logits"]), ("losses", r["losses"], exact["losses"])]
        pairs += [("grad:" + n, g, exact["grads"][n]) for n, g in r["grads"].items()]
        pairs += [("final:" + n, t, exact["final"][n]) for n, t in r["final"].items()]
        for key, a, b in pairs:
            floor[key] = max(floor.get(key, 0.0), rel_err(a, b))
    return floor


# ---------------------------------------------------------------- comparing

NOISE_FACTOR = 10.0  # see Verdict: how far beyond the float32 floor (float_floor) we still call noise


def rel_err(a, b):
    """max|a - b| / max(max|b|, 1e-6): the error relative to the reference tensor's scale."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)):
        return float("inf")
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6))


class Verdict:
    """One tensor: arithlab (c) against torch float32 (ref), torch float64 (exact) and the float32
    floor (float_floor: how far torch float32 itself lands from exact).

    ok      err = rel_err(c, ref) <= tol.
    noise   err > tol, but rel_err(c, exact) <= NOISE_FACTOR * floor: replays that differ from
            exact arithmetic only by float32-sized rounding scatter as much. This happens after AdamW steps when some gradient elements are
            within ~100x of eps=1e-8 (after a clip that divides by 10-50, or at arithlab's 0.02
            init): there the update lr*g/(|g|+eps) turns a rounding error of 1e-9 in g into ~1e-2
            lr in the parameter, and later steps spread that to every tensor. Shown per tensor
            with '~', counted, and refused under --strict.
    FAIL    anything else (or a missing tensor, a wrong shape, a non-finite value).
    """

    def __init__(self, c, ref, exact, floor, tol, strict):
        self.shape = tuple(np.shape(ref))
        self.scale = float(np.abs(ref).max()) if np.size(ref) else 0.0
        self.floor = floor
        if c is None:
            self.err, self.status = float("inf"), "MISSING"
            return
        self.err = rel_err(c, ref)
        self.err_exact = rel_err(c, exact)
        if self.err <= tol:
            self.status = "ok"
        elif np.shape(c) != self.shape:
            self.status = f"SHAPE {tuple(np.shape(c))}"
        elif not strict and self.err_exact <= NOISE_FACTOR * floor:
            self.status = "noise"
        else:
            self.status = "FAIL"

    @property
    def failed(self):
        return self.status not in ("ok", "noise")

    def mark(self):
        return {"ok": " ", "noise": "~"}.get(self.status, "!")


def split_key_bias(c, ref, exact, n_embd, bound):
    """Take the key third of a c_attn.bias out of the comparison after AdamW steps.

    The loss does not depend on the key bias (it adds q.b_k to every score of a softmax row), so
    its gradient is exactly zero in exact arithmetic and any implementation's is rounding noise
    (~1e-11). AdamW divides that by sqrt(v) + 1e-8 and moves the key bias by an arbitrary part of
    lr; no value is "right". So: compare the q and v thirds as usual (the returned arrays carry
    ref's k third), and only require that the k third is within `bound` (steps*lr) of ref.
    Returns (c, exact, message or "").
    """
    k = slice(n_embd, 2 * n_embd)
    moved = float(np.abs(c[k] - ref[k]).max()) if np.all(np.isfinite(c[k])) else float("inf")
    msg = f"key third differs from torch by {moved:.3e} > steps*lr = {bound:g}" if moved > bound else ""
    c, exact = c.copy(), exact.copy()
    c[k] = ref[k]
    exact[k] = ref[k]
    return c, exact, msg


def worst_element(name, c, ref, n_embd):
    """Where a failing tensor differs most, as text (for c_attn tensors also which of q, k, v)."""
    c, ref = np.asarray(c, np.float64), np.asarray(ref, np.float64)
    if c.shape != ref.shape or c.size == 0:
        return ""
    if not np.all(np.isfinite(c)):
        i = np.unravel_index(int(np.argmax(~np.isfinite(c))), c.shape)
        return f"non-finite at {i}: arithlab {c[i]}"
    i = np.unravel_index(int(np.argmax(np.abs(c - ref))), c.shape)
    part = f" [{'qkv'[i[0] // n_embd]} part]" if "c_attn" in name else ""
    return f"worst at {i}{part}: arithlab {c[i]:+.6e} torch {ref[i]:+.6e}"


# ---------------------------------------------------------------- the cases

def _case(name, B=4, T=16, clip=1.0, weights="wide", targets_dtype=np.int64, numbers=False, packed=False, **model):
    """One check: model.* settings (over a small pre-LN untied default), batch (B,T), clip, whether
    the replay starts from arithlab's own init ("init") or from widen_weights() ("wide"), whether
    the tokens are multi-digit numbers (numbers=True; Abacus indexes their digits) or uniform ids,
    and whether the rows are masked-packed (packed=True: several sequences per row, make_positions)."""
    cfg = dict(vocab_size=20, block_size=16, n_layer=2, n_head=4, n_embd=32, mlp_hidden=128, tied=0, post_ln=0,
               position="absolute")
    cfg.update(model)
    return dict(name=name, model=cfg, B=B, T=T, clip=clip, weights=weights, targets_dtype=targets_dtype,
                numbers=numbers, packed=packed)


CASES = [
    _case("pre_ln_untied"),
    _case("pre_ln_untied_raw_init", weights="init"),
    _case("tied", tied=1),
    _case("post_ln", post_ln=1),
    _case("mlp_hidden_72", mlp_hidden=72),
    _case("odd_sizes", vocab_size=13, block_size=20, n_layer=3, n_head=3, n_embd=24, mlp_hidden=40,
          B=3, T=11, targets_dtype=np.int32),
    _case("clip_bites", clip=0.05),
    _case("clip_off", clip=0.0),
    _case("post_ln_tied_odd_clip", vocab_size=17, block_size=12, n_layer=1, n_head=2, n_embd=18,
          mlp_hidden=50, tied=1, post_ln=1, B=5, T=7, clip=0.05),
    _case("nope", position="nope"),
    _case("sinusoidal", position="sinusoidal", T=12),
    _case("rope", position="rope", T=12),
    _case("alibi_6_heads", position="alibi", n_head=6, n_embd=24, mlp_hidden=96),
    _case("absolute_rope_alibi", position="absolute+rope+alibi"),
    _case("looped_3x1", n_layer=1, n_loops=3),
    # learned relative schemes, with distances past rel_max: T5's 4 exact and 4 log buckets (the last
    # shared from distance 10), Shaw's r[5] shared by distances >= 5 (and, with RoPE, fed rotated q)
    _case("t5", position="t5", t5_buckets=8, rel_max=12),
    _case("shaw", position="shaw", rel_max=5, T=12),
    _case("shaw_rope", position="shaw+rope", rel_max=5, T=12, n_head=2),
    # FIRE widened: thresholds L inside the batch (rows on both sides of max(L, i+1)), c < 0 in layer 1;
    # from arithlab's init: L = block_size = T, so the last row has L == i+1
    _case("fire", position="fire"),
    _case("fire_raw_init", position="fire", weights="init"),
    # Abacus on multi-digit numbers, abacus_max below the longest digit index (the last row shared):
    # no offset; then offsets drawn per training batch, reproduced from the checkpoint's model.rng
    _case("abacus_k0", position="abacus", abacus_k=0, abacus_max=6, numbers=True),
    _case("abacus_rope_offset", position="abacus+rope", abacus_k=5, abacus_max=10, numbers=True),
    _case("abacus_t5_looped_offset", position="abacus+t5", abacus_k=3, abacus_max=9, t5_buckets=6, rel_max=8,
          n_layer=1, n_loops=2, numbers=True),
    # FoNE: [NUM] tokens with values of up to P+2 digits, [NUM] targets read by the digit head; alone
    # (features in channels 0..5), and through the learned map with RoPE for the positions
    _case("fone", position="fone", fone_places=3),
    _case("fone_linear_rope", position="fone+rope", fone_places=4, fone_linear=1, T=12),
    _case("fone_raw_init", position="fone", fone_places=5, weights="init"),
    # looped models' random depth (model.loop_random), reproduced from model.rng: the first gradient's
    # forward skips loops and stops before n_loops (at the default --seed: (1, 1) of 5, post-LN; and
    # after an Abacus offset draw, (2, 1) of 4 loops of 2 layers); check_case insists on one such step
    # Nanda et al.'s architecture (model.norm = none, model.activation = relu), apart and together
    _case("norm_none", norm="none"),
    _case("relu", activation="relu"),
    _case("norm_none_relu_tied", norm="none", activation="relu", tied=1, n_layer=1),
    _case("looped_random_post_ln", n_layer=1, n_loops=5, loop_random=1, post_ln=1),
    _case("abacus_rope_looped_random", position="abacus+rope", abacus_k=5, abacus_max=10, n_layer=2, n_loops=4,
          loop_random=1, T=12, numbers=True),
    # model.head given explicitly (the cases above leave it at auto): each registered head. Last in
    # the list: a case's seed is --seed plus its index, and the looped cases above depend on theirs
    _case("head_lm_explicit", head="lm", n_layer=1),
    _case("head_fone_explicit", head="fone", position="fone+absolute", fone_places=3, n_layer=1),
    # masked packing (train.packing = masked, `arithlab replay --positions`): rows of several sequences,
    # each attending only to itself, positions restarting: absolute, RoPE and FIRE read them, ALiBi, T5
    # and Shaw see distances within a sequence, Abacus digit runs end where a sequence starts
    _case("packed_absolute_rope_alibi", position="absolute+rope+alibi", packed=True),
    _case("packed_sinusoidal_t5_shaw", position="sinusoidal+t5+shaw", t5_buckets=6, rel_max=4, packed=True),
    _case("packed_fire", position="fire", packed=True),
    _case("packed_abacus_looped", position="abacus", abacus_k=3, abacus_max=9, n_layer=1, n_loops=2,
          numbers=True, packed=True),
]
STEPS = 3
HYPER = dict(lr=1e-2, weight_decay=0.1, beta1=0.9, beta2=0.95, eps=1e-8)  # + the case's clip


def widen_weights(src, dst, seed):
    """Rewrite checkpoint src into dst with every parameter redrawn at a scale where the ops are
    visibly nonlinear, keeping src's metadata.

    arithlab's init (N(0, 0.02), zero biases, unit LayerNorm gains) keeps GELU near-linear and the
    attention near-uniform, so a wrong GELU variant or softmax scale hides below 1e-4. Here matmul
    weights are N(0, 1/fan_in) (pre-activations of order 1), biases and LayerNorm shifts N(0, 0.2),
    gains 1 + N(0, 0.2), embeddings (token, absolute, Abacus) N(0, 0.5). Position schemes: T5 biases
    N(0, 1) and Shaw's r N(0, 0.5) (logit terms of order 1); FIRE's w1 N(0, 2), w2 N(0, 0.5), c =
    |0.1 + c_raw| in [0.3, 0.8] with 0.1 + c_raw < 0 in odd layers (|.|'s other side), L in
    [0.3, 0.8] * block_size, and b1 = -w1 * U(0.1, 0.9): every ReLU's kink inside the range of the
    MLP's inputs ([0, 0.97) at T = 16). A unit active on all of them would add w2 b1 to every logit
    of a row, which softmax ignores: its b1 gradient would be rounding noise (like the key bias's in
    split_key_bias), which AdamW blows up to an arbitrary fraction of lr.
    """
    tensors, meta = st_load(src)
    rng = np.random.default_rng(seed)
    out = {}
    for name, t in tensors.items():
        if name.startswith("optim."):
            continue  # the replay starts AdamW fresh
        if name.endswith(("wte.weight", "wpe.weight", "abacus.weight")):
            w = rng.normal(0.0, 0.5, t.shape)
        elif name == "transformer.pos.t5.bias":
            w = rng.normal(0.0, 1.0, t.shape)
        elif name == "transformer.pos.shaw.rel_k":
            w = rng.normal(0.0, 0.5, t.shape)
        elif name.startswith("transformer.pos.fire."):
            part = name.rsplit(".", 1)[1]
            if part == "c":
                sign = np.where(np.arange(t.shape[0]) % 2 == 1, -1.0, 1.0)
                w = sign * rng.uniform(0.3, 0.8, t.shape) - FIRE_C0
            elif part == "L":
                w = rng.uniform(0.3, 0.8, t.shape) - 1.0
            elif part == "b1":
                w = np.zeros(t.shape)  # set from w1 below
            else:
                w = rng.normal(0.0, {"w1": 2.0, "w2": 0.5}[part], t.shape)
        elif ".ln_" in name and name.endswith(".weight"):
            w = 1.0 + rng.normal(0.0, 0.2, t.shape)
        elif name.endswith(".bias"):
            w = rng.normal(0.0, 0.2, t.shape)
        else:
            w = rng.normal(0.0, 1.0 / np.sqrt(t.shape[1]), t.shape)
        out[name] = w.astype(np.float32)
    if "transformer.pos.fire.w1" in out:
        w1 = out["transformer.pos.fire.w1"].astype(np.float64)
        out["transformer.pos.fire.b1"] = (-w1 * rng.uniform(0.1, 0.9, w1.shape)).astype(np.float32)
    st_save(dst, out, meta)


def number_row(rng, vocab_size, T):
    """T token ids: numbers of 1 to 7 digit tokens, each followed by one or two non-digit ids."""
    others = [i for i in range(vocab_size) if not TOK_DIGIT0 <= i < TOK_DIGIT0 + 10]
    row = [] if rng.random() < 0.5 else [int(rng.choice(others))]
    while len(row) < T:
        row += [int(d) for d in rng.integers(TOK_DIGIT0, TOK_DIGIT0 + 10, size=rng.integers(1, 8))]
        row += [int(o) for o in rng.choice(others, size=rng.integers(1, 3))]
    return row[:T]


def make_batch(vocab_size, B, T, seed, masked_fraction=0.3, dtype=np.int64, numbers=False):
    """Random tokens and targets (B,T); about masked_fraction of the targets are -1 (not counted).
    numbers: each row is multi-digit numbers between other tokens (number_row), not uniform ids."""
    rng = np.random.default_rng(seed)
    if numbers:
        tokens = np.array([number_row(rng, vocab_size, T) for _ in range(B)], dtype=dtype)
    else:
        tokens = rng.integers(0, vocab_size, size=(B, T)).astype(dtype)
    targets = rng.integers(0, vocab_size, size=(B, T)).astype(dtype)
    targets[rng.random((B, T)) < masked_fraction] = -1
    targets[0, -1] = rng.integers(0, vocab_size)  # at least one counted target
    return tokens, targets


def make_positions(case, seed, workdir):
    """For a packed case: (B,T) positions of sequences of 1 to 7 tokens packed into each row (0 starts
    one), saved as p.npy in workdir (packed_args passes it to arithlab); None for any other case."""
    if not case["packed"]:
        return None
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(case["B"]):
        row = []
        while len(row) < case["T"]:
            row += list(range(int(rng.integers(1, 8))))
        rows.append(row[:case["T"]])
    positions = np.array(rows, dtype=np.int64)
    np.save(os.path.join(workdir, "p.npy"), positions)
    return positions


def packed_args(x_path):
    """arithlab replay's --positions when make_positions saved them beside x_path."""
    p = os.path.join(os.path.dirname(x_path), "p.npy")
    return ["--positions", p] if os.path.exists(p) else []


def fone_batch(case, tokens, targets, seed, workdir):
    """For a FoNE case (position has fone): turn about a third of the tokens and of the counted
    targets into [NUM] (in place), draw their values (up to two digits more than the places, which
    the head must ignore), save them as v.npy and yv.npy in workdir (fone_args passes them to
    arithlab) and return (values, target_values); None for any other case."""
    if "fone" not in case["model"]["position"].split("+"):
        return None
    rng = np.random.default_rng(seed)
    P = case["model"]["fone_places"]
    shape = tokens.shape
    tokens[rng.random(shape) < 0.35] = TOK_NUM
    targets[(targets >= 0) & (rng.random(shape) < 0.4)] = TOK_NUM
    targets[0, -1] = TOK_NUM  # at least one counted target
    draw = lambda: (10 ** rng.integers(1, P + 3, size=shape) * rng.random(shape)).astype(np.int64)  # noqa: E731
    values = np.where(tokens == TOK_NUM, draw(), 0)
    target_values = np.where(targets == TOK_NUM, draw(), 0)
    np.save(os.path.join(workdir, "v.npy"), values)
    np.save(os.path.join(workdir, "yv.npy"), target_values)
    return values, target_values


def fone_args(x_path, targets=False):
    """arithlab's --values (and --target-values) when fone_batch saved them beside x_path."""
    d = os.path.dirname(x_path)
    if not os.path.exists(os.path.join(d, "v.npy")):
        return []
    return ["--values", os.path.join(d, "v.npy")] + (["--target-values", os.path.join(d, "yv.npy")] if targets else [])


# ---------------------------------------------------------------- running arithlab

def run_cli(args, what):
    """Run the arithlab binary; raise RuntimeError with its output when it fails."""
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{what}` exited with {proc.returncode}:\n  " + " ".join(args) + "\n"
                           + proc.stdout.rstrip())
    return proc.stdout


def arithlab_init(binary, case, workdir, seed):
    """`arithlab init` with the case's model settings (then widen_weights if asked); returns the path."""
    ckpt = os.path.join(workdir, "init.safetensors")
    cmd = [binary, "init", "--out", ckpt, "--seed", str(seed)]
    for key, value in case["model"].items():
        cmd += ["--set", f"model.{key}={value}"]
    run_cli(cmd, "arithlab init")
    if case["weights"] == "wide":
        widen_weights(ckpt, os.path.join(workdir, "wide.safetensors"), seed + 2000)
        ckpt = os.path.join(workdir, "wide.safetensors")
    return ckpt


def arithlab_replay(binary, ckpt, x_path, y_path, out, steps, hp, threads):
    """`arithlab replay`; returns its outputs as {logits, losses, grads, final, final_meta}."""
    run_cli([binary, "replay", "--checkpoint", ckpt, "--tokens", x_path, "--targets", y_path,
             "--out", out, "--steps", str(steps), "--lr", repr(hp["lr"]),
             "--weight-decay", repr(hp["weight_decay"]), "--beta1", repr(hp["beta1"]),
             "--beta2", repr(hp["beta2"]), "--eps", repr(hp["eps"]), "--clip", repr(hp["clip"]),
             "--threads", str(threads)] + fone_args(x_path, targets=True) + packed_args(x_path), "arithlab replay")
    final, final_meta = st_load(os.path.join(out, "final.safetensors"))
    return {
        "logits": np.load(os.path.join(out, "logits.npy")),
        "losses": np.load(os.path.join(out, "losses.npy")),
        "grads": st_load(os.path.join(out, "grads.safetensors"))[0],
        "final": final,
        "final_meta": final_meta,
    }


def arithlab_logits(binary, ckpt, x_path, out, threads):
    """`arithlab logits` (a forward outside training); returns the (B,T,V) logits."""
    run_cli([binary, "logits", "--checkpoint", ckpt, "--tokens", x_path, "--out", out,
             "--threads", str(threads)] + fone_args(x_path), "arithlab logits")
    return np.load(out)


# ---------------------------------------------------------------- one case

def describe(case):
    m = case["model"]
    opts = "".join(f" {k}={m[k]}" for k in POSITION_OPTIONS if k in m)
    return (f"V={m['vocab_size']} block={m['block_size']} L={m['n_layer']} NH={m['n_head']} C={m['n_embd']} "
            f"H={m['mlp_hidden']} tied={m['tied']} post_ln={m['post_ln']} | position={m['position']}{opts} "
            f"head={m.get('head', 'auto')} | "
            f"B={case['B']} T={case['T']} clip={case['clip']:g} weights={case['weights']}"
            + (" tokens=numbers" if case["numbers"] else "") + (" rows=masked-packed" if case["packed"] else ""))


def fmt_err(x):
    return "     inf" if not np.isfinite(x) else f"{x:8.1e}"


def check_case(case, binary, seed, opts):
    """Run one case end to end; print its tables; return True when every tensor passes."""
    print(f"\n=== {case['name']}: {describe(case)}")
    hp = dict(HYPER, clip=case["clip"])
    C = case["model"]["n_embd"]
    workdir = tempfile.mkdtemp(prefix=f"arithlab_ref_{case['name']}_")
    try:
        ckpt = arithlab_init(binary, case, workdir, seed)
        tokens, targets = make_batch(case["model"]["vocab_size"], case["B"], case["T"], seed + 1000,
                                     dtype=case["targets_dtype"], numbers=case["numbers"])
        values = fone_batch(case, tokens, targets, seed + 1001, workdir)
        positions = make_positions(case, seed + 1002, workdir)
        x_path, y_path = os.path.join(workdir, "x.npy"), os.path.join(workdir, "y.npy")
        np.save(x_path, tokens)
        np.save(y_path, targets)
        got = arithlab_replay(binary, ckpt, x_path, y_path, os.path.join(workdir, "replay"), STEPS, hp,
                              opts.threads)
        got1 = arithlab_replay(binary, ckpt, x_path, y_path, os.path.join(workdir, "replay1"), 1, hp,
                               opts.threads)
        got_eval = arithlab_logits(binary, ckpt, x_path, os.path.join(workdir, "eval_logits.npy"), opts.threads)
        tensors, meta = st_load(ckpt)
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print(f"  FAIL: {e}")
        print(f"  (files kept in {workdir})")
        return False
    if any(np.any(t != 0) for n, t in tensors.items() if n.startswith("optim.")):
        print("  FAIL: the initial checkpoint has nonzero AdamW moments; the reference starts AdamW fresh")
        return False

    ref = replay_torch(tensors, meta, tokens, targets, STEPS, hp, torch.float32, values=values, positions=positions)
    exact = replay_torch(tensors, meta, tokens, targets, STEPS, hp, torch.float64, values=values, positions=positions)
    grad_err = max(rel_err(got["grads"].get(n, np.inf), g) for n, g in exact["grads"].items())
    floor = float_floor(tensors, meta, tokens, targets, STEPS, hp, exact, opts.floor_runs, seed,
                        grad_noise=min(max(grad_err, 1e-7), opts.tol), values=values, positions=positions)
    failures, noisy = [], []

    def judge(kind, name, c, r, e, fl):
        v = Verdict(c, r, e, fl, opts.tol, opts.strict)
        label = f"{kind} {name}".strip()
        if v.failed:
            detail = worst_element(name, c, r, C) if c is not None else "not in arithlab's output"
            floor_text = f" (float32 floor {v.floor:.1e})" if v.floor > 0 else ""
            failures.append(f"{label}: {v.status} err {fmt_err(v.err)}{floor_text}; {detail}")
        elif v.status == "noise":
            noisy.append((label, v.err_exact / v.floor))
        return v

    # the first forward and the losses
    v = judge("logits", "", got["logits"], ref["logits"], exact["logits"], floor["logits"])
    print(f"  logits {str(v.shape):14s} max|t| {v.scale:8.2e}  err {fmt_err(v.err)}  floor {v.floor:8.1e}  {v.status}")
    v = judge("losses", "", got["losses"], ref["losses"], exact["losses"], floor["losses"])
    print(f"  losses arithlab {np.array2string(np.asarray(got['losses']), precision=6)}")
    print(f"         torch    {np.array2string(ref['losses'], precision=6)}  err {fmt_err(v.err)}  {v.status}")
    v = judge("eval logits", "", got_eval, eval_logits(tensors, meta, tokens, values=values),
              eval_logits(tensors, meta, tokens, torch.float64, values), floor["logits"])
    print(f"  eval logits (`arithlab logits`, no Abacus offset)  err {fmt_err(v.err)}  {v.status}")
    # the training draws: the model RNG must have advanced by exactly the draws the reference assumed
    draws, rng_after = training_draws(meta, STEPS + 2)
    cfg = config_from_metadata(meta)
    if "abacus" in case["model"]["position"].split("+"):
        rows = abacus_rows(torch.from_numpy(tokens.astype(np.int64)), 0, 1 << 30)
        print(f"  abacus: digit indices up to {int(rows.max())} (table rows {cfg['abacus_max']}); offsets drawn "
              f"(logits forward, then steps 0..{STEPS}): {[d[0] for d in draws]}")
    if draws[0][1] is not None:
        loops = [d[1] for d in draws]
        print(f"  random loop depth: (skip, keep) of n_loops={cfg['n_loops']} drawn (logits forward, then steps "
              f"0..{STEPS}): {loops}")
        # the truncated backward is only tested by a step whose gradient skips loops and stops early
        if not any(0 < skip and skip + keep < cfg["n_loops"] for skip, keep in loops[1:STEPS + 1]):
            failures.append(f"loop draws: no backward of steps 0..{STEPS - 1} has 0 < skip and skip + keep < "
                            f"n_loops ({loops[1:STEPS + 1]}), so the detached loops go unchecked; "
                            "choose another --seed")
    if got["final_meta"].get("model.rng") != str(rng_after):
        failures.append(f"model RNG: final.safetensors has model.rng = {got['final_meta'].get('model.rng')}, "
                        f"the reference expects {rng_after} (from {meta['model.rng']}, {STEPS + 2} training "
                        "forwards, each drawing an Abacus offset when abacus_k > 0 and then skip and keep when "
                        "loop_random = 1): the draws differ")
    norm = float(np.sqrt(sum(float((g ** 2).sum()) for g in exact["grads"].values())))
    bites = "off" if case["clip"] <= 0 else ("bites" if norm > case["clip"] else "does not bite")
    print(f"  first gradient norm {norm:.4f}; clip {case['clip']:g}: {bites}")

    # the first backward
    print(f"  {'gradient':44s} {'shape':14s} {'max|t|':>8s} {'err':>8s} {'floor':>8s}  status")
    for name, r in ref["grads"].items():
        v = judge("grad", name, got["grads"].get(name), r, exact["grads"][name], floor["grad:" + name])
        print(f"  {name:44s} {str(v.shape):14s} {v.scale:8.1e} {fmt_err(v.err)} {v.floor:8.1e}  {v.status}")
    extra = sorted(set(got["grads"]) - set(ref["grads"]))
    if extra:
        failures.append(f"grads.safetensors has tensors torch has no parameter for: {extra}")

    # one AdamW step from arithlab's own first gradients: the optimizer alone, well-conditioned
    try:
        step1 = adamw_step_from(tensors, meta, got1["grads"], hp)
        worst, worst_name = 0.0, ""
        for key, r in step1.items():
            v = judge("step 1 from arithlab's gradients:", key, got1["final"].get(key), r, r, 0.0)
            if v.err > worst:
                worst, worst_name = v.err, key
        print(f"  one AdamW step from arithlab's own gradients (torch float64): worst err {fmt_err(worst)} "
              f"({worst_name})")
    except KeyError as e:
        failures.append(f"step 1: {e}")

    # parameters and moments after the steps
    print(f"  after {STEPS} AdamW steps {'':20s} {'param':>9s} {'m':>9s} {'v':>9s}   "
          f"(err; ~ within float noise, ! fail)")
    for name in ref["grads"]:
        row = []
        for prefix in ("", "optim.m.", "optim.v."):
            key = prefix + name
            c, r, e = got["final"].get(key), ref["final"][key], exact["final"][key]
            if prefix == "" and name.endswith("attn.c_attn.bias") and c is not None and c.shape == r.shape:
                c, e, msg = split_key_bias(c, r, e, C, STEPS * hp["lr"])
                if msg:
                    failures.append(f"final {key}: {msg}")
            v = judge("final", key, c, r, e, floor["final:" + key])
            row.append(f"{fmt_err(v.err)}{v.mark()}" + (f"({v.floor:.0e})" if opts.verbose else ""))
        print(f"  {name:44s} " + " ".join(row))
    print("  (c_attn.bias params: the q and v thirds; the k third, whose gradient is exactly 0 in exact "
          "arithmetic, only within steps*lr: see split_key_bias)")
    extra = sorted(set(got["final"]) - set(ref["final"]))
    if extra:
        failures.append(f"final.safetensors has tensors torch does not: {extra}")

    if noisy:
        label, ratio = max(noisy, key=lambda lr: lr[1])
        print(f"  ~ {len(noisy)} tensor(s) above tol={opts.tol:g} but within {NOISE_FACTOR:g}x the float32 floor "
              f"(see Verdict); the closest to that limit: {label} at {ratio:.2f}x")
    for f in failures:
        print(f"  ! {f}")
    ok = not failures
    print(f"  -> {case['name']}: {'PASS' if ok else 'FAIL'}")
    if opts.keep or not ok:
        print(f"  (files kept in {workdir})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return ok


def registered_schemes(binary):
    """The position schemes of arithlab's registry (embeddings/pos_registry.c), from the last
    section of `arithlab train --help`."""
    out = subprocess.run([binary, "train", "--help"], capture_output=True, text=True).stdout
    tag = "position schemes (model.position):"
    lines = [l for l in out.splitlines() if l.startswith(tag)]
    return [n.strip() for n in lines[0][len(tag):].split(",") if n.strip()] if lines else []


def registered_heads(binary):
    """The output heads of arithlab's registry (model/head.c), from `arithlab train --help`
    ('auto' is a choice among them, not a head)."""
    out = subprocess.run([binary, "train", "--help"], capture_output=True, text=True).stdout
    tag = "output heads (model.head):"
    lines = [l for l in out.splitlines() if l.startswith(tag)]
    return [n.strip() for n in lines[0][len(tag):].split(",") if n.strip() not in ("", "auto")] if lines else []


def check_registry(binary):
    """Every registered scheme and head needs a reference implementation here and a case in CASES
    that uses it; one added to a registry without them fails this check. Returns the problems."""
    names = registered_schemes(binary)
    if not names:
        return ["`arithlab train --help` lists no position schemes (the line 'position schemes (model.position): ...')"]
    heads = registered_heads(binary)
    if not heads:
        return ["`arithlab train --help` lists no output heads (the line 'output heads (model.head): ...')"]
    used = {s for c in CASES for s in c["model"]["position"].split("+")}
    used_heads = {resolve_head(c["model"].get("head", "auto"), c["model"]["position"]) for c in CASES}
    explicit_heads = {c["model"]["head"] for c in CASES if "head" in c["model"]}
    return ([f"registered scheme '{n}' has no reference implementation (REFERENCE_SCHEMES)"
             for n in names if n not in REFERENCE_SCHEMES]
            + [f"registered scheme '{n}' has no case in CASES" for n in names if n not in used]
            + [f"registered head '{h}' has no reference implementation (REFERENCE_HEADS)"
               for h in heads if h not in REFERENCE_HEADS]
            + [f"registered head '{h}' has no case in CASES" for h in heads if h not in used_heads]
            + [f"registered head '{h}' has no case in CASES that sets model.head = {h}"
               for h in heads if h not in explicit_heads])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arithlab", required=True, help="path to the arithlab binary")
    ap.add_argument("--case", action="append", help="run only these cases (repeatable); names: "
                    + ", ".join(c["name"] for c in CASES))
    ap.add_argument("--seed", type=int, default=1234, help="base seed (case i uses seed+i)")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative-to-scale tolerance (default 1e-4)")
    ap.add_argument("--strict", action="store_true",
                    help="no float-noise allowance: every tensor must be within --tol of torch float32")
    ap.add_argument("--floor-runs", type=int, default=4,
                    help="replays per ensemble that estimate the float32 floor (see float_floor; default 4)")
    ap.add_argument("--threads", type=int, default=2, help="torch and arithlab threads (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep each case's temp dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print the float32 floor per moment")
    opts = ap.parse_args()

    torch.set_num_threads(opts.threads)
    binary = os.path.abspath(opts.arithlab)
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        print(f"--arithlab {opts.arithlab}: not an executable file "
              "(build it: cmake --build build --target arithlab)")
        print("0 passed, 1 failed")
        return 2
    cases = CASES
    if opts.case:
        unknown = sorted(set(opts.case) - {c["name"] for c in CASES})
        if unknown:
            ap.error(f"unknown case(s) {unknown}; known: {[c['name'] for c in CASES]}")
        cases = [c for c in CASES if c["name"] in opts.case]

    problems = check_registry(binary)
    for p in problems:
        print(f"FAIL registry: {p}")
    results = [check_case(c, binary, opts.seed + CASES.index(c), opts) for c in cases] + [not problems]
    n_pass = sum(results)
    print(f"\n{n_pass} passed, {len(results) - n_pass} failed")
    return 0 if n_pass == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
