"""safetensors_np: read and write .safetensors files with only json + numpy.

The format: an 8-byte little-endian u64 N, then N bytes of JSON header
{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [b, e]}},
then the raw little-endian tensor data; offsets are relative to the data start.
Only F32 (and the integer dtypes below) are handled: that is all arithlab writes.

    from safetensors_np import load, save
    tensors, meta = load("ckpt.safetensors")   # {name: np.ndarray}, {str: str}
    save("out.safetensors", tensors, meta)
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


class SafetensorsError(ValueError):
    """A file that is not a well-formed safetensors file."""


def load(path):
    """Return ({name: array}, metadata) for the safetensors file at path.

    Arrays are copies (writable, native float32 for F32). Every offset is
    checked against the file size, so a truncated file raises SafetensorsError.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsError(f"{path}: {len(blob)} bytes, shorter than the 8-byte header length")
    (n_header,) = struct.unpack("<Q", blob[:8])
    if 8 + n_header > len(blob):
        raise SafetensorsError(f"{path}: header length {n_header} runs past the end of the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + n_header].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not JSON: {e}") from None
    data = memoryview(blob)[8 + n_header:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            raise SafetensorsError(f"{path}: tensor {name}: dtype {dtype!r}, accepted: {sorted(_DTYPES)}")
        shape = [int(s) for s in info["shape"]]
        b, e = (int(o) for o in info["data_offsets"])
        np_dtype = np.dtype(_DTYPES[dtype])
        want = int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize
        if not (0 <= b <= e <= len(data)) or e - b != want:
            raise SafetensorsError(f"{path}: tensor {name}: data_offsets [{b},{e}] do not fit shape {shape} "
                                   f"({want} bytes) in {len(data)} data bytes")
        arr = np.frombuffer(data[b:e], dtype=np_dtype).reshape(shape)
        tensors[name] = arr.astype(np_dtype.newbyteorder("="), copy=True)
    return tensors, meta


def save(path, tensors, metadata=None):
    """Write {name: array} (and string metadata) to path, tensors in name order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        if arr.dtype.newbyteorder("<") not in _NAMES:
            raise SafetensorsError(f"{name}: dtype {arr.dtype} not supported, accepted: {sorted(_DTYPES)}")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[arr.dtype.newbyteorder("<")], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)  # pad so the data starts 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for c in chunks:
            f.write(c)
