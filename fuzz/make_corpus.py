#!/usr/bin/env python3
"""Writes small seed corpora for the fuzz targets into DIR/{ops,safetensors}/ (default build/fuzz/corpus; reproducible)."""
import json
import os
import random
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "fuzz", "corpus")
rng = random.Random(1234)


def write(kind, name, data):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(entries, metadata=None, pad=True):
    header, blobs, off = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, payload) in entries.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(payload)]}
        blobs += payload
        off += len(payload)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blobs


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
f64 = lambda *v: struct.pack("<%dd" % len(v), *v)
i64 = lambda *v: struct.pack("<%dq" % len(v), *v)
write("safetensors", "empty", safetensors({}))
write("safetensors", "mlp", safetensors({"0.weight": ("F32", [2, 3], f32(*range(6))), "0.bias": ("F32", [2], f32(1, 2)),
                                          "steps": ("I64", [], i64(7))}, {"format": "pt"}))
write("safetensors", "f64_empty_dim", safetensors({"a": ("F64", [0, 3], b""), "b": ("F64", [1], f64(0.5))}))
write("safetensors", "bad_dtype", safetensors({"a": ("BF16", [2], b"\0" * 4)}))
write("safetensors", "truncated", safetensors({"a": ("F32", [4], f32(1, 2, 3, 4))})[:-3])
write("safetensors", "overlap", struct.pack("<Q", 88) + json.dumps(
    {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
     "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode().ljust(88) + f32(1))
# ops: random byte strings of a few lengths (the decoder gives every byte a meaning)
for k in range(12):
    write("ops", "seed%02d" % k, bytes(rng.randrange(256) for _ in range(rng.choice([16, 48, 128, 256]))))
