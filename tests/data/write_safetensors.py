"""Writes a safetensors file with json, struct and numpy only (no safetensors package), for
tests/test_nn_serialize.cpp. Usage: write_safetensors.py OUT {mixed|linear}

mixed:  "weight" F32 [2, 3] = 0.25 k - 1;  "scale" F64 [] = pi;  "ids" I64 [4] = [-3, 0, 7, 2**40];
        "empty" F32 [0, 2]; plus __metadata__ {"format": "np"}.
linear: an nn::Linear(3, 2) state: "weight" F32 [2, 3] = 0.5 k - 1.25, "bias" F32 [2] = [0.125, -4].
"""
import json
import struct
import sys

import numpy as np


def write(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name, (code, array) in tensors.items():
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    out, mode = sys.argv[1], sys.argv[2]
    if mode == "mixed":
        write(out, {
            "weight": ("F32", (np.arange(6, dtype=np.float32) * 0.25 - 1).reshape(2, 3)),
            "scale": ("F64", np.array(np.pi, dtype=np.float64)),
            "ids": ("I64", np.array([-3, 0, 7, 2**40], dtype=np.int64)),
            "empty": ("F32", np.zeros((0, 2), dtype=np.float32)),
        }, {"format": "np"})
    elif mode == "linear":
        write(out, {
            "weight": ("F32", (np.arange(6, dtype=np.float32) * 0.5 - 1.25).reshape(2, 3)),
            "bias": ("F32", np.array([0.125, -4.0], dtype=np.float32)),
        })
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
