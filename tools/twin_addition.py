#!/usr/bin/python3
"""twin_addition: an independent PyTorch twin of arithlab's length-generalization
recipe, to check that a recipe can show an effect before the lab spends compute
on it (and, run beside the lab on the same recipe, that both reach the same
outcome). It shares no code and no weights with arithlab: the data, the model,
the initialisation, the optimizer and the evaluation are written here again from
the recipe's description, so a recipe that fails in both is the recipe's fault.

The recipe (arithlab's experiments/schemes and its scaled-up successors):
  - addition, every number written least significant digit first with no
    padding (task.format = reverse_all): "<bos> 821 + 763 = 594 <eos>" for
    128 + 367 = 495 (the digits of a, b and the sum, each reversed);
  - operands drawn by length (task.sampling = lengths): (len a, len b) uniform
    over [min_len, max_len]^2, then with --balance-carries the carry count
    uniform over the counts possible for those lengths, then a problem uniform
    among those with that many carries (an exact count over the columns);
  - the loss on the answer digits and <eos> only (train.loss_on = answer);
  - a pre-LN GPT (GELU tanh, MLP 4d, biases, untied head) with positions
    absolute (learned), nope, rope, or abacus (a learned embedding of each
    digit's index within its number, 1 = least significant, 0 for non-digits;
    in training one offset k uniform in [0, abacus_k] is added to every index
    of a sequence, 0 at evaluation);
  - --init torch (PyTorch's module defaults: nn.Embedding N(0, 1), nn.Linear
    U(+-1/sqrt(fan_in)), LayerNorm 1/0) or gpt2 (N(0, 0.02), residual
    projections N(0, 0.02/sqrt(2 n_layer)), biases 0);
  - AdamW (betas 0.9/0.99, eps 1e-8, weight decay on matmul weights only),
    linear warmup then cosine to min_lr, gradient clipping at 1;
  - evaluation: greedy decoding of per-cell problems for every (len a, len b)
    up to --eval-max, exact match; with --balance-carries the grid draws
    carries balanced too.

Output: --out DIR gets accuracy_grid.csv (len_a,len_b,n,correct,accuracy,
in_distribution, as arithlab's eval/accuracy_grid.csv), metrics.csv (step,
loss) and summary.txt (accuracy by band of the longest operand).

    /usr/bin/python3 tools/twin_addition.py --position abacus --init torch \\
        --n-layer 4 --n-embd 128 --steps 5000 --batch-size 128 --max-len 10 \\
        --eval-max 20 --out /tmp/twin_abacus --threads 2
    /usr/bin/python3 tools/twin_addition.py --selftest     # the suite's check of its pieces
"""
import argparse
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# the vocabulary: digits 0-9, then the symbols, then the specials
DIGIT0, PLUS, EQ, BOS, EOS, PAD = 0, 10, 11, 12, 13, 14
VOCAB = 15


# ---------------------------------------------------------------- problems

def digits(length, col):
    """the digits column col of a length-digit number may hold (0 past its end, no leading zero)."""
    if col >= length:
        return [0]
    if col == length - 1 and length > 1:
        return list(range(1, 10))
    return list(range(10))


def carry_counts(la, lb):
    """ways[c][k]: the number of (a, b) with exactly la and lb digits whose columns
    from column i on, entered with carry c, make k carries; a list per column."""
    L = max(la, lb)

    # tables[col][c] = {k: ways} for columns col..L-1 entered with carry c
    tables = [None] * (L + 1)
    tables[L] = [{0: 1}, {0: 1}]           # the last carry out is a carry too: counted below
    for col in range(L - 1, -1, -1):
        t = [dict(), dict()]
        for c in (0, 1):
            for x in digits(la, col):
                for y in digits(lb, col):
                    out = (x + y + c) >= 10
                    for k, w in tables[col + 1][out].items():
                        t[c][k + out] = t[c].get(k + out, 0) + w
        tables[col] = t
    return tables


def draw_problem(rng, la, lb, k=None, tables=None):
    """a, b with la and lb digits (exactly k carries when k is given)."""
    if k is None:
        lo = lambda n: 0 if n == 1 else 10 ** (n - 1)
        return rng.randrange(lo(la), 10 ** la), rng.randrange(lo(lb), 10 ** lb)
    L = max(la, lb)
    a_digits, b_digits, c, left = [], [], 0, k

    for col in range(L):
        choices, weights = [], []
        for x in digits(la, col):
            for y in digits(lb, col):
                out = (x + y + c) >= 10
                w = tables[col + 1][out].get(left - out, 0) if left - out >= 0 else 0
                if w:
                    choices.append((x, y, out))
                    weights.append(w)
        x, y, out = rng.choices(choices, weights)[0]
        a_digits.append(x)
        b_digits.append(y)
        c, left = out, left - out
    a = sum(d * 10 ** i for i, d in enumerate(a_digits[:la]))
    b = sum(d * 10 ** i for i, d in enumerate(b_digits[:lb]))
    return a, b


class Sampler:
    def __init__(self, min_len, max_len, balance, seed):
        self.rng = random.Random(seed)
        self.min_len, self.max_len, self.balance = min_len, max_len, balance
        self.tables = {}

    def draw(self, la=None, lb=None):
        if la is None:
            la = self.rng.randint(self.min_len, self.max_len)
            lb = self.rng.randint(self.min_len, self.max_len)
        if not self.balance:
            return draw_problem(self.rng, la, lb)
        if (la, lb) not in self.tables:
            self.tables[(la, lb)] = carry_counts(la, lb)
        t = self.tables[(la, lb)]
        possible = [k for k, w in t[0][0].items() if w]
        return draw_problem(self.rng, la, lb, self.rng.choice(possible), t)


def rev_digits(n):
    return [DIGIT0 + int(ch) for ch in reversed(str(n))]


def encode(a, b):
    """prompt tokens and answer tokens of a + b, every number reversed."""
    prompt = [BOS] + rev_digits(a) + [PLUS] + rev_digits(b) + [EQ]
    return prompt, rev_digits(a + b) + [EOS]


def abacus_index(tokens):
    """each digit's index within its number (1 = first written = least significant), 0 elsewhere."""
    out, run = [], 0
    for t in tokens:
        run = run + 1 if t < 10 else 0
        out.append(run)
    return out


def make_batch(problems, T):
    B = len(problems)
    idx = torch.full((B, T), PAD, dtype=torch.long)
    tgt = torch.full((B, T), -1, dtype=torch.long)
    for i, (a, b) in enumerate(problems):
        p, ans = encode(a, b)
        seq = p + ans
        idx[i, :len(seq) - 1] = torch.tensor(seq[:-1])
        # the targets of the positions that predict the answer tokens
        tgt[i, len(p) - 1:len(seq) - 1] = torch.tensor(ans)
    return idx, tgt


# ---------------------------------------------------------------- the model

def rope_tables(T, hd, base, device=None):
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos[: x.shape[-2]], sin[: x.shape[-2]]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, d, nh, rope):
        super().__init__()
        self.qkv, self.proj, self.nh, self.rope = nn.Linear(d, 3 * d), nn.Linear(d, d), nh, rope

    def forward(self, x, rope_cs):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        if self.rope:
            q, k = apply_rope(q, *rope_cs), apply_rope(k, *rope_cs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.nh)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d, nh, rope):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, nh, rope)
        self.fc, self.fc_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, rope_cs):
        x = x + self.attn(self.ln1(x), rope_cs)
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.position, self.abacus_k = a.position, a.abacus_k
        d = a.n_embd
        self.wte = nn.Embedding(VOCAB, d)
        if a.position == 'absolute':
            self.wpe = nn.Embedding(a.block_size, d)
        if a.position == 'abacus':
            self.abacus = nn.Embedding(a.abacus_max, d)
        self.blocks = nn.ModuleList(Block(d, a.n_head, a.position == 'rope') for _ in range(a.n_layer))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB, bias=False)
        self.rope_cs = rope_tables(a.block_size, d // a.n_head, 10000.0) if a.position == 'rope' else None
        if a.init == 'gpt2':
            for name, p in self.named_parameters():
                if name.endswith('bias'):
                    nn.init.zeros_(p)
                elif 'ln' in name:
                    nn.init.ones_(p)
                elif name.endswith('proj.weight'):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * a.n_layer))
                else:
                    nn.init.normal_(p, 0.0, 0.02)
        # --init torch: the modules' own defaults, as constructed

    def forward(self, idx, offset=0):
        x = self.wte(idx)
        T = idx.shape[1]
        if self.position == 'absolute':
            x = x + self.wpe(torch.arange(T))
        if self.position == 'abacus':
            # index within the number, 1, 2, ... along each run of digits: the count of digits so
            # far less that count at the last non-digit
            digit = idx < 10
            c = digit.long().cumsum(1)
            run = c - torch.where(digit, torch.zeros_like(c), c).cummax(1).values
            pos = torch.where(digit, run + offset, torch.zeros_like(run))
            x = x + self.abacus(pos)
        for b in self.blocks:
            x = b(x, self.rope_cs)
        return self.head(self.ln_f(x))


def param_groups(model, wd):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and 'wte' not in n and 'wpe' not in n
             and 'abacus' not in n]
    rest = [p for n, p in model.named_parameters() if not any(p is q for q in decay)]
    return [{'params': decay, 'weight_decay': wd}, {'params': rest, 'weight_decay': 0.0}]


# ---------------------------------------------------------------- training and evaluation

def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def greedy(model, problems):
    """exact match of each problem, decoding the answer greedily (one batch of equal prompts' lengths)."""
    prompts = [encode(a, b) for a, b in problems]
    P = len(prompts[0][0])
    idx = torch.tensor([p for p, _ in prompts])
    want = max(len(ans) for _, ans in prompts)
    for _ in range(want):
        nxt = model(idx)[:, -1].argmax(-1, keepdim=True)
        idx = torch.cat([idx, nxt], dim=1)
    out = idx[:, P:].tolist()
    ok = 0
    for row, (_, ans) in zip(out, prompts):
        ok += row[:len(ans)] == ans
    return ok


def selftest():
    """the pieces a wrong twin would get wrong, checked against brute force (CTest: twin_addition)."""
    def carries(a, b):
        k, c = 0, 0
        while a or b or c:
            c = (a % 10 + b % 10 + c) >= 10
            k += c
            a, b = a // 10, b // 10
        return k
    lo = lambda n: 0 if n == 1 else 10 ** (n - 1)
    for la in (1, 2, 3):
        for lb in (1, 2, 3):
            want = {}
            for a in range(lo(la), 10 ** la):
                for b in range(lo(lb), 10 ** lb):
                    k = carries(a, b)
                    want[k] = want.get(k, 0) + 1
            got = {k: w for k, w in carry_counts(la, lb)[0][0].items() if w}
            assert got == want, f'carry counts of ({la},{lb}): {got} != {want}'
    s = Sampler(1, 3, 1, 1)
    for _ in range(300):
        a, b = s.draw(3, 2)
        assert 100 <= a < 1000 and 10 <= b < 100, (a, b)
    ks = [carries(*s.draw(3, 3)) for _ in range(4000)]
    for k in range(4):
        assert abs(ks.count(k) / 4000 - 0.25) < 0.04, f'{k} carries: {ks.count(k)} of 4000'
    p, ans = encode(128, 367)
    assert p == [BOS, 8, 2, 1, PLUS, 7, 6, 3, EQ] and ans == [5, 9, 4, EOS], (p, ans)
    assert abacus_index(p + ans) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0]
    cfg = argparse.Namespace(position='abacus', abacus_k=3, n_embd=16, block_size=32, abacus_max=40, n_layer=1,
                             n_head=2, init='torch')
    m = GPT(cfg)
    idx = torch.tensor([p + ans[:-1]])
    with torch.no_grad():
        # the model's abacus indices are abacus_index's: its embedding at offset 0 equals a lookup
        digit = idx < 10
        c = digit.long().cumsum(1)
        run = c - torch.where(digit, torch.zeros_like(c), c).cummax(1).values
        assert torch.where(digit, run, torch.zeros_like(run)).tolist()[0] == abacus_index(p + ans[:-1])
        assert m(idx).shape == (1, len(p) + len(ans) - 1, VOCAB)
    print('twin_addition selftest: carry counts, sampler, encoding, abacus indices ok')


def main():
    if sys.argv[1:] == ['--selftest']:
        return selftest()
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--position', choices=['absolute', 'nope', 'rope', 'abacus'], default='abacus')
    ap.add_argument('--init', choices=['torch', 'gpt2'], default='torch')
    ap.add_argument('--n-layer', type=int, default=4)
    ap.add_argument('--n-head', type=int, default=4)
    ap.add_argument('--n-embd', type=int, default=128)
    ap.add_argument('--abacus-k', type=int, default=100)
    ap.add_argument('--min-len', type=int, default=1)
    ap.add_argument('--max-len', type=int, default=10)
    ap.add_argument('--balance-carries', type=int, default=1)
    ap.add_argument('--steps', type=int, default=5000)
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--min-lr', type=float, default=1e-4)
    ap.add_argument('--warmup', type=int, default=200)
    ap.add_argument('--weight-decay', type=float, default=0.1)
    ap.add_argument('--eval-max', type=int, default=20)
    ap.add_argument('--per-cell', type=int, default=10)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--log-every', type=int, default=250)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    for name in ('n_layer', 'n_head', 'n_embd', 'max_len', 'min_len', 'steps', 'batch_size', 'eval_max',
                 'per_cell', 'threads'):
        if getattr(a, name) < 1:
            ap.error(f'--{name.replace("_", "-")} must be at least 1, not {getattr(a, name)}')
    if a.n_embd % a.n_head or (a.position == 'rope' and (a.n_embd // a.n_head) % 2):
        ap.error(f'--n-embd {a.n_embd} must split into --n-head {a.n_head} heads (of even size for rope)')
    if a.min_len > a.max_len:
        ap.error(f'--min-len {a.min_len} is larger than --max-len {a.max_len}')
    if os.path.exists(os.path.join(a.out, 'accuracy_grid.csv')):
        sys.exit(f'twin_addition: {a.out} already holds a result (accuracy_grid.csv); choose another --out')
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    L = max(a.max_len, a.eval_max)
    a.block_size = 2 * L + 1 + (L + 1) + 3
    a.abacus_max = L + 2 + a.abacus_k
    model = GPT(a)
    opt = torch.optim.AdamW(param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.99), eps=1e-8)
    data = Sampler(a.min_len, a.max_len, a.balance_carries, a.seed * 7919 + 1)
    offsets = random.Random(a.seed * 104729 + 3)
    T = 3 * a.max_len + 4   # <bos> a + b = c <eos> with c one digit longer, less the last token
    t0 = time.time()
    with open(os.path.join(a.out, 'metrics.csv'), 'w') as mf:
        mf.write('step,loss,lr\n')
        for step in range(a.steps):
            idx, tgt = make_batch([data.draw() for _ in range(a.batch_size)], T)
            k = offsets.randint(0, a.abacus_k) if a.position == 'abacus' else 0
            logits = model(idx, offset=k)
            loss = F.cross_entropy(logits.view(-1, VOCAB), tgt.view(-1), ignore_index=-1)
            lr = lr_at(step, a)
            for g in opt.param_groups:
                g['lr'] = lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if (step + 1) % a.log_every == 0 or step + 1 == a.steps:
                mf.write(f'{step + 1},{loss.item():.6g},{lr:.6g}\n')
                mf.flush()
                print(f'step {step + 1}/{a.steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)', flush=True)
    train_s = time.time() - t0
    model.eval()
    grid = Sampler(1, L, a.balance_carries, a.seed * 31 + 17)
    bands = {}
    with open(os.path.join(a.out, 'accuracy_grid.csv'), 'w') as gf:
        gf.write('len_a,len_b,n,correct,accuracy,in_distribution\n')
        for la in range(1, a.eval_max + 1):
            for lb in range(1, a.eval_max + 1):
                probs = [grid.draw(la, lb) for _ in range(a.per_cell)]
                ok = greedy(model, probs)
                inside = int(a.min_len <= la <= a.max_len and a.min_len <= lb <= a.max_len)
                gf.write(f'{la},{lb},{a.per_cell},{ok},{ok / a.per_cell:.4f},{inside}\n')
                band = (max(la, lb) - 1) // 5
                n0, k0 = bands.get(band, (0, 0))
                bands[band] = (n0 + a.per_cell, k0 + ok)
    with open(os.path.join(a.out, 'summary.txt'), 'w') as sf:
        sf.write(f'twin_addition {" ".join(sys.argv[1:])}\n')
        sf.write(f'torch {torch.__version__}, {a.threads} thread(s), training {train_s:.0f}s\n')
        for band in sorted(bands):
            n, k = bands[band]
            sf.write(f'lengths {5 * band + 1}-{5 * band + 5}: {100.0 * k / n:.1f}% of {n}\n')
    print(open(os.path.join(a.out, 'summary.txt')).read(), end='')


if __name__ == '__main__':
    main()
