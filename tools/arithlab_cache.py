#!/usr/bin/python3
"""arithlab_cache: read a directory written by `arithlab cache` into a dict of numpy arrays.

    import sys; sys.path.insert(0, "tools")
    from arithlab_cache import load
    cache = load("runs/quickstart/cache")          # {hook name: np.ndarray}, TransformerLens's names
    cache["blocks.0.attn.hook_pattern"].shape     # (batch, head_index, query_pos, key_pos)
    cache.index["hooks"]["blocks.0.attn.hook_z"]["axes"]   # ['batch', 'pos', 'head_index', 'd_head']
    cache.tokens, cache.strings, cache.problems   # (batch, pos) int32 ids, their strings, the problems

    /usr/bin/python3 tools/arithlab_cache.py DIR      # list the hooks, shapes and axes

Only numpy is needed. Every array is checked against index.json (shape, dtype) as
it is read; a file that disagrees raises CacheError naming it. A looped model's
blocks.{p} is pass p (index["hooks"][name] gives its "block" and "loop").
With PyTorch (/usr/bin/python3, Debian's python3-torch), tools/arithlab_load.py
builds the checkpoint as a module, and arithlab_load.run_with_hooks(model, cache.tokens)
recomputes most of these hook points in torch under the same names.
"""
import json
import os
import sys

import numpy as np


class CacheError(ValueError):
    """A cache directory that is not what its index.json says."""


class ActivationCache(dict):
    """{hook name: array}, with .index (index.json), .tokens (batch, pos), .strings, .problems."""

    def __init__(self, arrays, index, tokens):
        super().__init__(arrays)
        self.index = index
        self.tokens = tokens
        self.strings = index.get("token_strings", [])
        self.problems = index.get("problems", [])
        self.n_tokens = index.get("n_tokens", [])


def _read(path, entry, name):
    if not os.path.isfile(path):
        raise CacheError(f"{path}: missing (index.json lists {name})")
    arr = np.load(path, allow_pickle=False)
    if list(arr.shape) != list(entry["shape"]) or arr.dtype != np.dtype(entry["dtype"]):
        raise CacheError(f"{path}: {arr.dtype} {list(arr.shape)}, index.json says {entry['dtype']} {entry['shape']}")
    return arr


def load(directory, hooks=None):
    """The cache in directory; hooks: an iterable of names to read (default every one in the index)."""
    index_path = os.path.join(directory, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except OSError as e:
        raise CacheError(f"{index_path}: cannot read: {e.strerror} (a directory written by arithlab cache holds it)") from None
    except json.JSONDecodeError as e:
        raise CacheError(f"{index_path}: not JSON: {e}") from None
    if index.get("format") != "arithlab activation cache":
        raise CacheError(f"{index_path}: format {index.get('format')!r}, not 'arithlab activation cache'")
    entries = index["hooks"]
    names = list(entries) if hooks is None else list(hooks)
    unknown = [n for n in names if n not in entries]
    if unknown:
        raise CacheError(f"{directory}: no hook {unknown}; it holds {list(entries)}")
    arrays = {n: _read(os.path.join(directory, entries[n]["file"]), entries[n], n) for n in names}
    tok = index["tokens"]
    tokens = _read(os.path.join(directory, tok["file"]), tok, "tokens")
    return ActivationCache(arrays, index, tokens)


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: arithlab_cache.py DIR   (a directory written by arithlab cache)", file=sys.stderr)
        return 2 if len(sys.argv) != 2 else 0
    try:
        cache = load(sys.argv[1])
    except CacheError as e:
        print(f"arithlab_cache: {e}", file=sys.stderr)
        return 2
    for name, arr in cache.items():
        axes = cache.index["hooks"][name]["axes"]
        print(f"{name:34s} {str(arr.dtype):8s} ({', '.join(f'{a}={s}' for a, s in zip(axes, arr.shape))})")
    print(f"tokens {cache.tokens.shape}; first problem {cache.problems[0]!r}: {''.join(cache.strings[0])!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
