"""Reads a safetensors file written by ag::nn::save_safetensors with json, struct and numpy only,
prints its tensors and checks them against the values tests/test_nn_serialize.cpp wrote:
  "a" F32 [2, 3] = 0.25 k - 1;  "b" F64 [3] = [pi, -e, 1e-300];  "c" I64 [2, 2] = [-1, 0, 2**40, 7];
  "d" F64 [] = 2.5;  "e" F32 [0, 3];  __metadata__ {"format": "pt"}.
Exits with 0 when everything matches, 1 otherwise. Usage: read_safetensors.py FILE
"""
import json
import math
import struct
import sys

import numpy as np

CODES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8")}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", None)
    tensors, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, en = e["data_offsets"]
        assert b == end, f"{name}: hole or overlap at {b} (expected {end})"
        end = en
        dt = CODES[e["dtype"]]
        count = int(np.prod(e["shape"], dtype=np.int64))
        assert en - b == count * dt.itemsize, f"{name}: {en - b} bytes for shape {e['shape']}"
        tensors[name] = np.frombuffer(data[b:en], dtype=dt).reshape(e["shape"])
    assert end == len(data), f"data is {len(data)} bytes, tensors cover {end}"
    return tensors, metadata


def main():
    tensors, metadata = read(sys.argv[1])
    for name, t in tensors.items():
        print(name, t.dtype, list(t.shape), t.ravel().tolist())
    expected = {
        "a": (np.arange(6, dtype=np.float32) * np.float32(0.25) - np.float32(1)).reshape(2, 3),
        "b": np.array([math.pi, -math.e, 1e-300], dtype=np.float64),
        "c": np.array([[-1, 0], [2**40, 7]], dtype=np.int64),
        "d": np.array(2.5, dtype=np.float64),
        "e": np.zeros((0, 3), dtype=np.float32),
    }
    ok = metadata == {"format": "pt"} and sorted(tensors) == sorted(expected)
    if not ok:
        print("names or metadata differ:", sorted(tensors), metadata)
    for name, want in expected.items():
        got = tensors.get(name)
        if got is None or got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
            print("mismatch in", name, "got", got, "want", want)
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
