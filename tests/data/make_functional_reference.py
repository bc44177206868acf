#!/usr/bin/python3
"""Generates tests/data/functional_reference.json: torch.autograd.functional's vjp, jvp, jacobian,
hessian, hvp and vhp of a few functions, in float64, for tests/test_functional.cpp.

Usage (Debian 12: apt-get install python3-torch; run Debian's /usr/bin/python3):

    python3 tests/data/make_functional_reference.py          # rewrites tests/data/functional_reference.json

Inputs are deterministic, as in make_reference.py: element k of an input named NAME is
cos(0.53 * k + 2 * len(NAME)) * scale + shift (agt::input in tests/test_util.h). The C++ test
rebuilds the same functions with ag ops; keep the two in step (the function names are the keys).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import deterministic  # noqa: E402  (also pins OPENBLAS_CORETYPE as there)

import torch  # noqa: E402
import torch.autograd.functional as AF  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(ts):
    if isinstance(ts, torch.Tensor):
        return ts.detach().reshape(-1).tolist()
    return [flat(t) for t in ts]


# "pair": two inputs, two outputs (a matrix and a scalar)
def pair(x, y):
    return torch.tanh(x) * y, (x.unsqueeze(0) * y.exp()).sum()


# "energy": two inputs, one scalar output (hessian, hvp, vhp)
def energy(x, y):
    return (torch.tanh(x) * y.exp() * y).sum() + (x ** 3).sum() + (x.unsqueeze(0) * y).sum() ** 2


# "unary": one input, one output
def unary(x):
    return x.sin() * x.cumsum(0)


def unary_scalar(x):
    return (x.sin() * x.cumsum(0)).sum() + x.prod()


def generate():
    x = deterministic("x", (3,))
    y = deterministic("y", (2, 3), 0.5)
    vo = (deterministic("vout", (2, 3)), deterministic("vs", ()))
    vi = (deterministic("vx", (3,)), deterministic("vy", (2, 3)))
    u = deterministic("u", (4,), 0.8, 0.3)
    vu = deterministic("vu", (4,))
    out = {"generator": f"PyTorch {torch.__version__}, float64"}
    out["pair_vjp"] = flat(AF.vjp(pair, (x, y), vo)[1])
    out["pair_jvp"] = flat(AF.jvp(pair, (x, y), vi)[1])
    out["pair_jacobian"] = flat(AF.jacobian(pair, (x, y)))
    out["energy_hessian"] = flat(AF.hessian(energy, (x, y)))
    out["energy_hvp"] = flat(AF.hvp(energy, (x, y), vi)[1])
    out["energy_vhp"] = flat(AF.vhp(energy, (x, y), vi)[1])
    out["unary_jacobian"] = flat(AF.jacobian(unary, u))
    out["unary_jvp"] = flat(AF.jvp(unary, u, vu)[1])
    out["unary_hessian"] = flat(AF.hessian(unary_scalar, u))
    out["unary_hvp"] = flat(AF.hvp(unary_scalar, u, vu)[1])
    return out


if __name__ == "__main__":
    path = os.path.join(HERE, "functional_reference.json")
    with open(path, "w") as f:
        json.dump(generate(), f, indent=0)
    print("wrote", path)
