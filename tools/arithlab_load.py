#!/usr/bin/python3
"""arithlab_load: an arithlab checkpoint as a nanoGPT-style PyTorch module, and greedy decoding.

The checkpoint (.safetensors) carries what another tool needs: the tensors under
nanoGPT's names, the model config (model.*), the vocabulary (metadata "vocab": a
JSON list, id -> string, the special tokens as "<pad>", "<bos>", "<eos>", "[NUM]")
and the GELU variant ("gelu_approximate": "tanh", PyTorch's nn.GELU(approximate='tanh')).
The module is tools/torch_reference.py's GPT (the same code the suite checks
arithlab's forward and backward against), imported, not rewritten.

    /usr/bin/python3 tools/arithlab_load.py run/ckpt.safetensors --prompt '<bos>$000012+000034='

    import sys; sys.path.insert(0, "tools")
    from arithlab_load import load, greedy
    model, vocab = load("run/ckpt.safetensors")
    ids = greedy(model, vocab.encode("<bos>$000012+000034="), stop=vocab.id("<eos>"))
    print(vocab.decode(ids))

The prompt is the text the model reads, as `arithlab solve --show-tokens` prints it
("model text: ..." up to and including the '='): the task's format (reversal,
padding, hints) is applied by arithlab, not here. Position schemes: every one of
torch_reference.REFERENCE_SCHEMES but FoNE (absolute, nope, sinusoidal, rope,
alibi, t5, shaw, fire, abacus, and their combinations, looped models too); a
checkpoint with another scheme, another GELU, or no vocabulary is refused with a
LoadError naming what it has and what is accepted. Needs Debian's python3-torch
(only under /usr/bin/python3) and numpy.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402
from safetensors_np import load as st_load  # noqa: E402

# FoNE reads a value per [NUM] token and answers through its digit head: decoding it needs
# arithlab's task code, so the loader leaves it out
SUPPORTED_SCHEMES = sorted(torch_reference.REFERENCE_SCHEMES - {"fone"})
SUPPORTED_GELU = ("tanh",)
SPECIALS = ("<pad>", "<bos>", "<eos>", "[NUM]")


class LoadError(ValueError):
    """A checkpoint this loader cannot turn into a module, with the reason."""


class Vocab:
    """The checkpoint's id -> string table; encode() reads the special tokens by their names."""

    def __init__(self, strings):
        self.strings = list(strings)
        self.ids = {s: i for i, s in enumerate(self.strings) if s != ""}

    def id(self, s):
        if s not in self.ids:
            raise LoadError(f"token {s!r} is not in the checkpoint's vocabulary")
        return self.ids[s]

    def encode(self, text):
        """text -> ids; "<bos>" etc. are one token each, every other character one token."""
        out, i = [], 0
        while i < len(text):
            special = next((s for s in SPECIALS if text.startswith(s, i) and s in self.ids), None)
            tok = special or text[i]
            if tok not in self.ids:
                raise LoadError(f"character {tok!r} at offset {i} of {text!r} is not in the vocabulary")
            out.append(self.ids[tok])
            i += len(tok)
        return out

    def decode(self, ids):
        return "".join(self.strings[i] for i in ids)


def read_metadata(path):
    """(tensors, metadata) of a checkpoint, with the metadata the loader needs checked."""
    try:
        tensors, meta = st_load(path)
    except OSError as e:
        raise LoadError(f"{path}: cannot read: {e.strerror}") from None
    if meta.get("format") != "arithlab":
        raise LoadError(f"{path}: metadata format is {meta.get('format')!r}, not 'arithlab'")
    if "vocab" not in meta:
        raise LoadError(f"{path}: no 'vocab' in the metadata (written before checkpoints carried their "
                        f"vocabulary); the token ids are those of core/vocab.h, but this loader reads them only from the file")
    try:
        strings = json.loads(meta["vocab"])
    except json.JSONDecodeError as e:
        raise LoadError(f"{path}: metadata 'vocab' is not a JSON list: {e}") from None
    if not isinstance(strings, list) or len(strings) != int(meta.get("model.vocab_size", -1)):
        raise LoadError(f"{path}: metadata 'vocab' is not a list of model.vocab_size = "
                        f"{meta.get('model.vocab_size')} strings")
    activation = meta.get("model.activation", "gelu")
    gelu = meta.get("gelu_approximate")
    if activation == "gelu" and gelu not in SUPPORTED_GELU:
        raise LoadError(f"{path}: gelu_approximate = {gelu!r}; this loader builds nn.GELU(approximate=...) "
                        f"only for {list(SUPPORTED_GELU)}")
    schemes = meta.get("model.position", "absolute").split("+")
    other = [s for s in schemes if s not in SUPPORTED_SCHEMES]
    if other:
        raise LoadError(f"{path}: model.position = {meta.get('model.position')!r}: {other} not supported; "
                        f"accepted: {SUPPORTED_SCHEMES} (and combinations joined by '+')")
    return tensors, meta, Vocab(strings)


def load(path, dtype=torch.float32):
    """(module in eval mode, Vocab) for the checkpoint at path; LoadError if it cannot be used."""
    tensors, meta, vocab = read_metadata(path)
    try:
        model = torch_reference.build_model(tensors, meta, dtype)
    except (KeyError, ValueError) as e:
        raise LoadError(f"{path}: {e}") from None
    model.eval()
    model.vocab = vocab
    return model, vocab


def logits(model, ids):
    """ids (B,T) ints -> logits (B,T,V) numpy float32, one forward outside training."""
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        return model(x)[0].float().numpy()


def run_with_hooks(model, ids):
    """The forward of ids (B,T) with its activations at TransformerLens's hook points, as `arithlab cache`
    names them ({name: numpy array}; blocks.{p} is pass p: a looped model's block l runs passes l,
    l + n_layer, ...): hook_embed, hook_pos_embed, blocks.{p}.hook_resid_pre (the block's input, the
    injection included), .attn.hook_z (B,T,NH,d_head), .hook_attn_out, .mlp.hook_post, .hook_resid_post,
    ln_final.hook_normalized. Not attn.hook_pattern: torch_reference's attention does not keep it."""
    L, NH = model.cfg["n_layer"], model.cfg["n_head"]
    out, handles = {}, []

    def keep(name_of, kind, transform=lambda t: t):
        calls = [0]

        def fn(value):
            out[name_of(calls[0]).format(kind)] = transform(value).detach().float().numpy().copy()
            calls[0] += 1
        return fn

    for l, block in enumerate(model.transformer.h):
        def pass_name(j, l=l):
            return "blocks.%d.{}" % (j * L + l)
        pre, post = keep(pass_name, "hook_resid_pre"), keep(pass_name, "hook_resid_post")
        attn_out, z = keep(pass_name, "hook_attn_out"), keep(pass_name, "attn.hook_z",
                                                              lambda t: t.view(t.shape[0], t.shape[1], NH, -1))
        mlp_post = keep(pass_name, "mlp.hook_post")
        handles += [block.register_forward_pre_hook(lambda mod, inp, f=pre: f(inp[0])),
                    block.register_forward_hook(lambda mod, inp, o, f=post: f(o)),
                    block.attn.register_forward_hook(lambda mod, inp, o, f=attn_out: f(o)),
                    block.attn.c_proj.register_forward_pre_hook(lambda mod, inp, f=z: f(inp[0])),
                    block.mlp.gelu.register_forward_hook(lambda mod, inp, o, f=mlp_post: f(o))]
    handles.append(model.transformer.wte.register_forward_hook(
        lambda mod, inp, o: out.__setitem__("hook_embed", o.detach().float().numpy().copy())))
    norm = model.cfg.get("norm", "layernorm") != "none"
    if norm:
        handles.append(model.transformer.ln_f.register_forward_hook(
            lambda mod, inp, o: out.__setitem__("ln_final.hook_normalized", o.detach().float().numpy().copy())))
    try:
        logits(model, ids)
    finally:
        for h in handles:
            h.remove()
    out["hook_pos_embed"] = out["blocks.0.hook_resid_pre"] - out["hook_embed"]
    if not norm:
        out["ln_final.hook_normalized"] = out["blocks.%d.hook_resid_post" % (L * model.cfg["n_loops"] - 1)]
    return out


def greedy(model, prompt_ids, stop=None, max_new=None):
    """Greedy decoding: prompt_ids then the argmax token, step by step, until `stop` (included) is
    generated, max_new tokens are, or the context (block_size) is full (the last token may be one past
    it, as arithlab's decoder: it is generated, never fed). Returns the whole sequence."""
    seq = list(prompt_ids)
    block = model.cfg["block_size"]
    limit = block + 1 - len(seq) if max_new is None else min(max_new, block + 1 - len(seq))
    for _ in range(max(limit, 0)):
        nxt = int(np.argmax(logits(model, [seq])[0, -1]))
        seq.append(nxt)
        if nxt == stop:
            break
    return seq


def main():
    ap = argparse.ArgumentParser(description="load an arithlab checkpoint into PyTorch and decode a prompt greedily")
    ap.add_argument("checkpoint", help="arithlab .safetensors checkpoint")
    ap.add_argument("--prompt", required=True,
                    help="the text the model reads, e.g. '<bos>$000012+000034=' (arithlab solve --show-tokens shows it)")
    ap.add_argument("--max-new", type=int, default=None, help="at most this many new tokens (default: to the context's end)")
    ap.add_argument("--logits-out", help="also write the logits (1,T,V) of the decoded sequence's forward as .npy")
    a = ap.parse_args()
    if a.max_new is not None and a.max_new < 1:
        ap.error(f"--max-new {a.max_new}: give a positive number of tokens")
    try:
        model, vocab = load(a.checkpoint)
        prompt = vocab.encode(a.prompt)
    except LoadError as e:
        print(f"arithlab_load: {e}", file=sys.stderr)
        return 2
    if len(prompt) > model.cfg["block_size"]:
        print(f"arithlab_load: --prompt has {len(prompt)} tokens, more than the context of "
              f"{model.cfg['block_size']} (model.block_size)", file=sys.stderr)
        return 2
    seq = greedy(model, prompt, stop=vocab.ids.get("<eos>"), max_new=a.max_new)
    print(vocab.decode(seq))
    if a.logits_out:
        np.save(a.logits_out, logits(model, [seq[:model.cfg["block_size"]]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
