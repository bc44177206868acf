#!/usr/bin/python3
"""Generates tests/data/torch_reference.json: values and gradients computed by PyTorch in float64.

The parity tests read that file; they never run PyTorch:
  - tests/test_parity.cpp rebuilds every entry of "cases" from ag ops and checks the value and every
    gradient to 1e-10 relative (1e-12 absolute near zero);
  - tests/test_nn_rnn.cpp builds every entry of "modules" with nn::RNN / nn::LSTM / nn::GRU and checks
    the outputs, the loss and every parameter's gradient;
  - tests/test_math_parity.cpp rebuilds every entry of "math_cases" (the ops of autograd/ops/math.h and
    scan_sort.h; same layout and tolerances as "cases").

Usage (Debian 12: apt-get install python3-torch, which is PyTorch 1.13; run Debian's python3,
/usr/bin/python3, if another python3 comes first in PATH):

    python3 tests/data/make_reference.py            # rewrites tests/data/torch_reference.json
    python3 tests/data/make_reference.py --check    # writes nothing; compares with the committed file
    python3 tests/data/make_reference.py -o FILE    # writes elsewhere

--check prints the largest absolute and relative difference between the regenerated values and the
file's, and fails if the two files do not have the same cases, inputs, constants and shapes, or if a
value differs by more than --rtol (1e-12 relative).

Bit-for-bit: the products go through OpenBLAS, whose kernel set decides the last bits of the
matmul cases. OpenBLAS 0.3.21 does not recognise this project's Xeons and falls back to its generic
"Prescott" kernels; the committed file was made with OPENBLAS_CORETYPE=Haswell, as these machines
set it, and this script sets that too (when unset and the CPU has AVX2), so that it regenerates the
committed file byte for byte. With other kernels the matmul cases move by a few ulp (4e-16
absolute), far inside the tests' 1e-10 tolerance.

Inputs are deterministic (no random generator, so any PyTorch version and any machine give the same
inputs): element k, in row-major order, of an input named NAME is

    cos(0.53 * k + 2 * len(NAME)) * scale + shift

(agt::input in tests/test_util.h computes the same numbers). Module parameters are filled by the same
formula with their PyTorch names (weight_ih_l0, ...) and scale 0.4; a module's input is named "x".

Adding a case for a new op
--------------------------
1. Add a function below, decorated with @case(...): the case's name, a one-line expression saying
   what it computes (shown when the test fails), and one Input per tensor argument, named after the
   function's parameters. It returns a 0-d tensor. Pick inputs away from kinks and singularities
   (shift/scale them: `Input((3,), scale=0.5, shift=1.0)` lies in [0.5, 1.5]); the gradient is
   taken with respect to every input. Integer indices, labels and fixed targets go in `constants`
   (plain Python lists): the C++ side reads them from the JSON too.
2. Run this script, and look at the diff of torch_reference.json: only your case should be new.
3. Add a lambda with the same name to `cases()` in tests/test_parity.cpp computing the same
   expression with ag ops (the test fails for a JSON case without a lambda). Build and run
   `ctest --test-dir build/release -R parity`.
   A case for an op of autograd/ops/math.h or scan_sort.h is decorated with @math_case(...) instead
   (same arguments); its lambda goes to `math_cases()` in tests/test_math_parity.cpp.
The JSON's layout (json.dump with indent=0, keys in this script's order) is what the committed file
has, so a regenerated file differs from it only where a case was added or changed.
"""

import argparse
import json
import math
import os
import sys


def _cpu_has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


# Before torch loads OpenBLAS, which reads it once (see "Bit-for-bit" above).
if "OPENBLAS_CORETYPE" not in os.environ and _cpu_has_avx2():
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    sys.exit("make_reference.py needs PyTorch: apt-get install python3-torch (Debian 12)")

DTYPE = torch.float64
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUTPUT = os.path.join(HERE, "torch_reference.json")


# ---- deterministic inputs -------------------------------------------------------------------------

class Input:
    """A float64 input of `shape`; element k is cos(0.53 k + 2 len(name)) * scale + shift."""

    def __init__(self, shape, scale=1.0, shift=0.0):
        self.shape = tuple(shape)
        self.scale = float(scale)
        self.shift = float(shift)

    def make(self, name):
        return deterministic(name, self.shape, self.scale, self.shift).requires_grad_()

    def spec(self):
        return {"shape": list(self.shape), "scale": self.scale, "shift": self.shift}


def deterministic(name, shape, scale=1.0, shift=0.0):
    n = math.prod(shape)
    seed = 2 * len(name)
    values = [math.cos(0.53 * k + seed) * scale + shift for k in range(n)]
    return torch.tensor(values, dtype=DTYPE).reshape(shape)


def const(values, dtype=DTYPE):
    return torch.tensor(values, dtype=dtype)


# ---- the scalar cases: tests/test_parity.cpp has a lambda for each name --------------------------

CASES = []


def case(name, expression, constants=None, **inputs):
    """Registers fn(**tensors) -> 0-d tensor as the case `name`, with its inputs' specs."""

    def register(fn):
        CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


def run_case(name, expression, inputs, constants, fn):
    tensors = {arg: spec.make(arg) for arg, spec in inputs.items()}
    value = fn(**tensors)
    if value.numel() != 1:
        raise ValueError(f"case {name}: the expression must give a scalar, got shape {list(value.shape)}")
    grads = torch.autograd.grad(value, list(tensors.values()), allow_unused=True)
    return {
        "name": name,
        "expression": expression,
        "inputs": {arg: spec.spec() for arg, spec in inputs.items()},
        "constants": constants,
        "value": value.item(),
        "grads": {arg: (None if g is None else g.reshape(-1).tolist()) for arg, g in zip(tensors, grads)},
    }


# elementwise arithmetic and activations

@case("add_broadcast", "sum((a + b) * w), a[2,3], b[3]", a=Input((2, 3)), b=Input((3,)), w=Input((2, 3)))
def _(a, b, w):
    return ((a + b) * w).sum()


@case("sub_broadcast", "sum((a - b)^2), a[4,1], b[1,3]", a=Input((4, 1)), b=Input((1, 3)))
def _(a, b):
    return ((a - b) ** 2).sum()


@case("mul_scalar", "sum(2.5 * a * a)", a=Input((5,)))
def _(a):
    return (2.5 * a * a).sum()


@case("div", "sum(a / b), b in [1.5, 2.5]", a=Input((2, 2)), b=Input((2, 2), scale=0.5, shift=2.0))
def _(a, b):
    return (a / b).sum()


@case("neg_pow", "sum(-(a^3)) + sum(b^0.5), b > 0", a=Input((3,)), b=Input((3,), scale=0.5, shift=1.0))
def _(a, b):
    return (-(a ** 3)).sum() + (b ** 0.5).sum()


@case("exp_log", "sum(exp(a)) + sum(log(b)), b > 0", a=Input((4,)), b=Input((4,), scale=0.5, shift=1.0))
def _(a, b):
    return torch.exp(a).sum() + torch.log(b).sum()


@case("sqrt_abs", "sum(sqrt(b)) + sum(abs(a))", a=Input((6,)), b=Input((6,), scale=0.5, shift=1.0))
def _(a, b):
    return torch.sqrt(b).sum() + torch.abs(a).sum()


@case("clamp", "sum(clamp(a, -0.5, 0.6) * w)", a=Input((8,)), w=Input((8,)))
def _(a, w):
    return (torch.clamp(a, -0.5, 0.6) * w).sum()


@case("sigmoid", "sum(sigmoid(3a) * w)", a=Input((6,)), w=Input((6,)))
def _(a, w):
    return (torch.sigmoid(3 * a) * w).sum()


@case("tanh", "sum(tanh(2a) * w)", a=Input((6,)), w=Input((6,)))
def _(a, w):
    return (torch.tanh(2 * a) * w).sum()


@case("relu", "sum(relu(a) * w)", a=Input((7,)), w=Input((7,)))
def _(a, w):
    return (F.relu(a) * w).sum()


@case("leaky_relu", "sum(leaky_relu(a, 0.2) * w)", a=Input((7,)), w=Input((7,)))
def _(a, w):
    return (F.leaky_relu(a, 0.2) * w).sum()


@case("softplus", "sum(softplus(4a) * w)", a=Input((6,)), w=Input((6,)))
def _(a, w):
    return (F.softplus(4 * a) * w).sum()


@case("where", "sum(where(a > 0, a*b, b^2))", a=Input((6,)), b=Input((6,)))
def _(a, b):
    return torch.where(a > 0, a * b, b ** 2).sum()


# matrix products and shape ops

@case("matmul_2d", "sum(tanh(a @ b)), a[3,4], b[4,2]", a=Input((3, 4)), b=Input((4, 2)))
def _(a, b):
    return torch.tanh(a @ b).sum()


@case("matmul_vec", "sum((a @ v)^2), a[3,4], v[4]", a=Input((3, 4)), v=Input((4,)))
def _(a, v):
    return ((a @ v) ** 2).sum()


@case("matmul_batched_broadcast", "sum(sigmoid(a @ b)), a[2,3,4], b[4,5]", a=Input((2, 3, 4)), b=Input((4, 5)))
def _(a, b):
    return torch.sigmoid(a @ b).sum()


@case("transpose_reshape", "sum(reshape(transpose(a,0,1),[6]) * w)", a=Input((2, 3)), w=Input((6,)))
def _(a, w):
    return (torch.transpose(a, 0, 1).reshape(6) * w).sum()


@case("squeeze_unsqueeze_expand", "sum(expand(unsqueeze(a,1),[3,4]) * w)", a=Input((3,)), w=Input((3, 4)))
def _(a, w):
    return (a.unsqueeze(1).expand(3, 4) * w).sum()


# reductions and the softmax family

@case("sum_dim_keepdim", "sum(sum(a, 1, keepdim)^2)", a=Input((3, 4)))
def _(a):
    return (a.sum(dim=1, keepdim=True) ** 2).sum()


@case("mean_dim", "sum(mean(a, 0) * w)", a=Input((3, 4)), w=Input((4,)))
def _(a, w):
    return (a.mean(dim=0) * w).sum()


@case("max_min_dim", "sum(max(a,1).values) - sum(min(a,0).values)", a=Input((3, 4)))
def _(a):
    return torch.max(a, dim=1).values.sum() - torch.min(a, dim=0).values.sum()


@case("logsumexp", "sum(logsumexp(a * 50, 1))", a=Input((3, 4)))
def _(a):
    return torch.logsumexp(a * 50, dim=1).sum()


@case("softmax", "sum(softmax(a, 1) * w)", a=Input((3, 4), scale=3.0), w=Input((3, 4)))
def _(a, w):
    return (F.softmax(a, dim=1) * w).sum()


@case("log_softmax", "sum(log_softmax(a, 0) * w)", a=Input((3, 4), scale=3.0), w=Input((3, 4)))
def _(a, w):
    return (F.log_softmax(a, dim=0) * w).sum()


# indexing and joining

@case("select_slice", "sum(select(a,0,1)) + sum(slice(a,1,1,3)^2)", a=Input((3, 4)))
def _(a):
    return torch.select(a, 0, 1).sum() + (torch.narrow(a, 1, 1, 2) ** 2).sum()


INDEX_SELECT = [2, 0, 2]


@case("index_select", "sum(index_select(a, 0, [2,0,2]) * w)", {"index": INDEX_SELECT},
      a=Input((3, 2)), w=Input((3, 2)))
def _(a, w):
    return (torch.index_select(a, 0, const(INDEX_SELECT, torch.int64)) * w).sum()


GATHER_INDEX = [[1], [0], [3]]


@case("gather", "sum(gather(a, 1, [[1],[0],[3]]))", {"index": GATHER_INDEX}, a=Input((3, 4)))
def _(a):
    return torch.gather(a, 1, const(GATHER_INDEX, torch.int64)).sum()


@case("cat_stack", "sum(cat([a,b],1) * w) + sum(stack([a,b],0)^2)", a=Input((2, 2)), b=Input((2, 2)), w=Input((2, 4)))
def _(a, b, w):
    return (torch.cat([a, b], dim=1) * w).sum() + (torch.stack([a, b], dim=0) ** 2).sum()


# losses (mean reduction, PyTorch's defaults)

BINARY_TARGET = [1.0, 0.0, 0.0, 1.0, 1.0]


@case("mse_loss", "mse_loss(a, b)", a=Input((2, 3)), b=Input((2, 3), scale=0.5))
def _(a, b):
    return F.mse_loss(a, b)


@case("l1_loss", "l1_loss(a, b)", a=Input((2, 3)), b=Input((2, 3), scale=0.5))
def _(a, b):
    return F.l1_loss(a, b)


@case("bce", "binary_cross_entropy(sigmoid(z), y), y=[1,0,0,1,1]", {"y": BINARY_TARGET}, z=Input((5,), scale=2.0))
def _(z):
    return F.binary_cross_entropy(torch.sigmoid(z), const(BINARY_TARGET))


@case("bce_with_logits_large", "binary_cross_entropy_with_logits(z, y), |z| up to 500", {"y": BINARY_TARGET},
      z=Input((5,), scale=500.0))
def _(z):
    return F.binary_cross_entropy_with_logits(z, const(BINARY_TARGET))


CE_TARGET = [2, 0, 1]


@case("cross_entropy", "cross_entropy(z, [2,0,1]), z[3,4]", {"target": CE_TARGET}, z=Input((3, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, const(CE_TARGET, torch.int64))


NLL_TARGET = [3, 3, 0]


@case("nll_loss", "nll_loss(log_softmax(z,1), [3,3,0])", {"target": NLL_TARGET}, z=Input((3, 4)))
def _(z):
    return F.nll_loss(F.log_softmax(z, dim=1), const(NLL_TARGET, torch.int64))


# small networks: the seed tutorial's XOR net and an unrolled Elman RNN

XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [[0.0], [1.0], [1.0], [0.0]]


@case("seed_xor_net", "mse_loss(sigmoid(sigmoid(X@W1+b1)@W2+b2), Y), XOR data",
      W1=Input((2, 4), scale=0.3), b1=Input((1, 4), scale=0.1), W2=Input((4, 1), scale=0.3), b2=Input((1, 1), scale=0.1))
def _(W1, b1, W2, b2):
    hidden = torch.sigmoid(const(XOR_X) @ W1 + b1)
    return F.mse_loss(torch.sigmoid(hidden @ W2 + b2), const(XOR_Y))


@case("elman_rnn_T4", "h_t = tanh(x_t@Wx + h_{t-1}@Wh + b), h_0 = 0, loss = sum_t sum(h_t^2); x[4,2,2]",
      Wx=Input((2, 3), scale=0.7), Wh=Input((3, 3), scale=0.7), b=Input((3,), scale=0.2), x=Input((4, 2, 2)))
def _(Wx, Wh, b, x):
    h = torch.zeros(2, 3, dtype=DTYPE)
    loss = None
    for t in range(x.shape[0]):
        h = torch.tanh(x[t] @ Wx + h @ Wh + b)
        term = (h ** 2).sum()
        loss = term if loss is None else loss + term
    return loss


# ---- the math cases: tests/test_math_parity.cpp has a lambda for each name ------------------------
# The pointwise math set, the small products, scans, products, variance and sorting (autograd/ops/
# math.h and scan_sort.h). They go to the JSON's "math_cases" (same layout as "cases"), read by their
# own test file, so that tests/test_parity.cpp and its case count stay as they are.

MATH_CASES = []


def math_case(name, expression, constants=None, **inputs):
    """As @case, for the "math_cases" list."""

    def register(fn):
        MATH_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


@math_case("sin_cos_tan", "sum(sin(a) * w) + sum(cos(2a)) + sum(tan(b)), b in [-0.6, 0.6]",
           a=Input((6,), scale=2.0), w=Input((6,)), b=Input((6,), scale=0.6))
def _(a, w, b):
    return (torch.sin(a) * w).sum() + torch.cos(2 * a).sum() + torch.tan(b).sum()


@math_case("asin_acos_atan", "sum(asin(a) * w) + sum(acos(a)) + sum(atan(3b)), a in [-0.8, 0.8]",
           a=Input((6,), scale=0.8), w=Input((6,)), b=Input((6,)))
def _(a, w, b):
    return (torch.asin(a) * w).sum() + torch.acos(a).sum() + torch.atan(3 * b).sum()


@math_case("atan2_broadcast", "sum(atan2(a, b) * w), a[2,3], b[3]", a=Input((2, 3)), b=Input((3,)), w=Input((2, 3)))
def _(a, b, w):
    return (torch.atan2(a, b) * w).sum()


@math_case("sinh_cosh", "sum(sinh(2a) * w) + sum(cosh(a))", a=Input((6,)), w=Input((6,)))
def _(a, w):
    return (torch.sinh(2 * a) * w).sum() + torch.cosh(a).sum()


@math_case("erf_log1p_expm1", "sum(erf(2a) * w) + sum(log1p(b)) + sum(expm1(a) * w), b in [-0.5, 0.5]",
           a=Input((6,)), w=Input((6,)), b=Input((6,), scale=0.5))
def _(a, w, b):
    return (torch.erf(2 * a) * w).sum() + torch.log1p(b).sum() + (torch.expm1(a) * w).sum()


@math_case("log2_log10", "sum(log2(b) * w) + sum(log10(b)), b in [0.5, 1.5]",
           b=Input((6,), scale=0.5, shift=1.0), w=Input((6,)))
def _(b, w):
    return (torch.log2(b) * w).sum() + torch.log10(b).sum()


@math_case("rsqrt_reciprocal", "sum(rsqrt(b) * w) + sum(reciprocal(b)^2), b in [0.5, 1.5]",
           b=Input((6,), scale=0.5, shift=1.0), w=Input((6,)))
def _(b, w):
    return (torch.rsqrt(b) * w).sum() + (torch.reciprocal(b) ** 2).sum()


@math_case("rounding", "sum((floor(3a) + ceil(3a) + round(3a) + trunc(3a) + sign(a) + round(3a, 1)) * w)"
           " + sum(frac(3a) * w)", a=Input((8,)), w=Input((8,)))
def _(a, w):
    x = 3 * a
    steps = torch.floor(x) + torch.ceil(x) + torch.round(x) + torch.trunc(x) + torch.sign(a) + torch.round(x, decimals=1)
    return (steps * w).sum() + (torch.frac(x) * w).sum()


@math_case("fmod_remainder", "sum(fmod(a, b) * w) + sum(remainder(a, -b) * w) + sum(fmod(-a, 1.5))"
           " + sum(remainder(a, -1.5)), a[2,3] in [-5, 5], b[3] in [1.5, 2.5]",
           a=Input((2, 3), scale=5.0), b=Input((3,), scale=0.5, shift=2.0), w=Input((2, 3)))
def _(a, b, w):
    return ((torch.fmod(a, b) * w).sum() + (torch.remainder(a, -b) * w).sum() + torch.fmod(-a, 1.5).sum()
            + torch.remainder(a, -1.5).sum())


@math_case("maximum_minimum", "sum(maximum(a, b) * w) + sum(minimum(a, c)^2), a[2,3], b[2,3], c[3]",
           a=Input((2, 3)), b=Input((2, 3)), c=Input((3,)), w=Input((2, 3)))
def _(a, b, c, w):
    return (torch.maximum(a, b) * w).sum() + (torch.minimum(a, c) ** 2).sum()


@math_case("lerp", "sum(lerp(s, e, t) * w) + sum(lerp(s, e, 0.3)^2) + sum(lerp(e, s, 0.7)), s[2,3], e[3], t[2,3]",
           s=Input((2, 3)), e=Input((3,)), t=Input((2, 3)), w=Input((2, 3)))
def _(s, e, t, w):
    return (torch.lerp(s, e, t) * w).sum() + (torch.lerp(s, e, 0.3) ** 2).sum() + torch.lerp(e, s, 0.7).sum()


@math_case("addcmul_addcdiv", "sum(addcmul(s, a, b, 0.5) * w) + sum(addcdiv(s, a, c, 2)^2), s[3], a[2,3], b[2,1],"
           " c in [1.5, 2.5]", s=Input((3,)), a=Input((2, 3)), b=Input((2, 1)), c=Input((2, 3), scale=0.5, shift=2.0),
           w=Input((2, 3)))
def _(s, a, b, c, w):
    return (torch.addcmul(s, a, b, value=0.5) * w).sum() + (torch.addcdiv(s, a, c, value=2) ** 2).sum()


@math_case("bmm", "sum(tanh(bmm(a, b))), a[2,3,4], b[2,4,2]", a=Input((2, 3, 4)), b=Input((2, 4, 2)))
def _(a, b):
    return torch.tanh(torch.bmm(a, b)).sum()


@math_case("addmm", "sum(sigmoid(addmm(c, a, b, beta=0.5, alpha=2))) + sum(addmm(d, a, b)^2), c[3], d[2,3]",
           c=Input((3,)), d=Input((2, 3)), a=Input((2, 4)), b=Input((4, 3)))
def _(c, d, a, b):
    return torch.sigmoid(torch.addmm(c, a, b, beta=0.5, alpha=2)).sum() + (torch.addmm(d, a, b) ** 2).sum()


@math_case("outer_dot", "sum(outer(a, b) * w) + dot(a, c)^2, a[3], b[4], c[3]",
           a=Input((3,)), b=Input((4,)), c=Input((3,)), w=Input((3, 4)))
def _(a, b, c, w):
    return (torch.outer(a, b) * w).sum() + torch.dot(a, c) ** 2


@math_case("cumsum", "sum(cumsum(a, 1) * w) + sum(cumsum(a, 0)^2), a[3,4]", a=Input((3, 4)), w=Input((3, 4)))
def _(a, w):
    return (torch.cumsum(a, 1) * w).sum() + (torch.cumsum(a, 0) ** 2).sum()


CUMPROD_MASK = [[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]]


@math_case("cumprod", "sum(cumprod(a, 1) * w) + sum(cumprod(a * mask, 1) * w) + sum(cumprod(a, 0)^2),"
           " a[3,4] in [0.5, 1.5], mask: no zero / one zero / two zeros per row", {"mask": CUMPROD_MASK},
           a=Input((3, 4), scale=0.5, shift=1.0), w=Input((3, 4)))
def _(a, w):
    return ((torch.cumprod(a, 1) * w).sum() + (torch.cumprod(a * const(CUMPROD_MASK), 1) * w).sum()
            + (torch.cumprod(a, 0) ** 2).sum())


PROD_MASK = [[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]]
PROD_ONE_ZERO = [1.0, 1.0, 0.0, 1.0, 1.0]


@math_case("prod", "sum(prod(a, 1) * v) + sum(prod(a * mask, 1) * v) + sum(prod(a * mask, 0, keepdim)^2) + prod(b)"
           " + prod(b * one_zero), a[3,4], b[5] in [0.5, 1.5]", {"mask": PROD_MASK, "one_zero": PROD_ONE_ZERO},
           a=Input((3, 4), scale=0.5, shift=1.0), v=Input((3,)), b=Input((5,), scale=0.5, shift=1.0))
def _(a, v, b):
    m = const(PROD_MASK)
    return ((torch.prod(a, 1) * v).sum() + (torch.prod(a * m, 1) * v).sum()
            + (torch.prod(a * m, 0, keepdim=True) ** 2).sum() + torch.prod(b) + torch.prod(b * const(PROD_ONE_ZERO)))


@math_case("var_std", "sum(var(a, 1) * v) + var(a) + sum(std(a, 0, unbiased=False)^2) + std(a)"
           " + sum(var(a, 1, correction=0, keepdim) * u) + sum(std(a, 1, correction=2) * v), a[3,4]",
           a=Input((3, 4)), v=Input((3,)), u=Input((3, 1)))
def _(a, v, u):
    return ((torch.var(a, 1) * v).sum() + torch.var(a) + (torch.std(a, 0, unbiased=False) ** 2).sum() + torch.std(a)
            + (torch.var(a, 1, correction=0, keepdim=True) * u).sum() + (torch.std(a, 1, correction=2) * v).sum())


@math_case("sort_topk", "sum(sort(a, 1).values * w) + sum(sort(a, 0, descending).values^2) + sum(topk(a, 2).values * u)"
           " + sum(topk(a, 2, 0, largest=False).values^2) + sum(indices of each * w or u), a[3,4]",
           a=Input((3, 4)), w=Input((3, 4)), u=Input((3, 2)))
def _(a, w, u):
    s1, i1 = torch.sort(a, 1)
    s2, i2 = torch.sort(a, 0, descending=True)
    t1, j1 = torch.topk(a, 2)
    t2, j2 = torch.topk(a, 2, 0, largest=False)
    value = (s1 * w).sum() + (s2 ** 2).sum() + (t1 * u).sum() + (t2 ** 2).sum()
    index_terms = (i1.double() * w).sum() + (i2.double() * w).sum() + (j1.double() * u).sum() + (j2.double() ** 2).sum()
    return value + index_terms + (torch.argsort(a, 1, descending=True).double() * w).sum()


# ---- recurrent layers in PyTorch's layout: tests/test_nn_rnn.cpp ----------------------------------

PARAMETER_SCALE = 0.4
MODULES = [  # kind, input size, hidden size, T, batch
    ("RNN", 2, 3, 3, 2),
    ("LSTM", 2, 3, 3, 2),
    ("GRU", 2, 3, 3, 2),
]


def run_module(kind, input_size, hidden_size, T, B):
    layer = getattr(torch.nn, kind)(input_size, hidden_size).to(DTYPE)
    with torch.no_grad():
        for pname, p in layer.named_parameters():
            p.copy_(deterministic(pname, tuple(p.shape), PARAMETER_SCALE))
    x = deterministic("x", (T, B, input_size)).requires_grad_()
    output, state = layer(x)
    h = state[0] if kind == "LSTM" else state
    loss = (output ** 2).sum() + h.sum()
    params = dict(layer.named_parameters())
    grads = torch.autograd.grad(loss, [x] + list(params.values()))
    return {
        "kind": kind,
        "input_size": input_size,
        "hidden_size": hidden_size,
        "T": T,
        "B": B,
        "parameter_scale": PARAMETER_SCALE,
        "loss": "sum(output^2) + sum(final hidden state h)",
        "value": loss.item(),
        "output": output.reshape(-1).tolist(),
        "grad_x": grads[0].reshape(-1).tolist(),
        "grads": {pname: g.reshape(-1).tolist() for pname, g in zip(params, grads[1:])},
    }


def generate():
    return {
        "generator": f"PyTorch {torch.__version__}, float64",
        "cases": [run_case(*c) for c in CASES],
        "modules": [run_module(*m) for m in MODULES],
        "math_cases": [run_case(*c) for c in MATH_CASES],
        "conv_cases": [run_case(*c) for c in CONV_CASES],
    }


# --- convolution and pooling ---
# The ops of autograd/ops/conv.h and pool.h. They go to the JSON's "conv_cases" (same layout as
# "cases"), rebuilt by tests/test_conv_parity.cpp.

CONV_CASES = []


def conv_case(name, expression, constants=None, **inputs):
    """As @case, for the "conv_cases" list."""

    def register(fn):
        CONV_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


@conv_case("conv2d_basic", "sum(tanh(conv2d(x, w, b))), x[2,3,6,5], w[4,3,3,2]",
           x=Input((2, 3, 6, 5)), w=Input((4, 3, 3, 2), scale=0.5), b=Input((4,)))
def _(x, w, b):
    return torch.tanh(F.conv2d(x, w, b)).sum()


@conv_case("conv2d_stride_pad_dilation", "sum(tanh(conv2d(x, w, b, stride (2,1), padding (1,2), dilation (2,1))))",
           x=Input((1, 2, 7, 8)), w=Input((3, 2, 3, 3), scale=0.5), b=Input((3,)))
def _(x, w, b):
    return torch.tanh(F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1))).sum()


@conv_case("conv2d_groups_nobias", "sum(tanh(conv2d(x, w, groups 2, padding 1))), x[2,4,5,5], w[6,2,2,3]",
           x=Input((2, 4, 5, 5)), w=Input((6, 2, 2, 3), scale=0.5))
def _(x, w):
    return torch.tanh(F.conv2d(x, w, None, padding=1, groups=2)).sum()


@conv_case("conv2d_same", "sum(tanh(conv2d(x, w, b, padding 'same', dilation (1,2)))), w[2,2,4,3]",
           x=Input((1, 2, 5, 6)), w=Input((2, 2, 4, 3), scale=0.5), b=Input((2,)))
def _(x, w, b):
    return torch.tanh(F.conv2d(x, w, b, padding="same", dilation=(1, 2))).sum()


@conv_case("conv1d", "sum(tanh(conv1d(x, w, b, stride 2, padding 1, dilation 2))), x[2,3,9], w[4,3,3]",
           x=Input((2, 3, 9)), w=Input((4, 3, 3), scale=0.5), b=Input((4,)))
def _(x, w, b):
    return torch.tanh(F.conv1d(x, w, b, stride=2, padding=1, dilation=2)).sum()


@conv_case("conv1d_same_groups", "sum(tanh(conv1d(x, w, padding 'same', groups 2))), x[1,4,7], w[2,2,4]",
           x=Input((1, 4, 7)), w=Input((2, 2, 4), scale=0.5))
def _(x, w):
    return torch.tanh(F.conv1d(x, w, None, padding="same", groups=2)).sum()


@conv_case("unfold_fold", "sum(unfold(x, (2,3), padding 1, stride (2,1))^2) + sum(fold(c, (5,4), (2,2)) * w)",
           x=Input((2, 2, 4, 5)), c=Input((1, 8, 12)), w=Input((1, 2, 5, 4)))
def _(x, c, w):
    u = F.unfold(x, (2, 3), padding=1, stride=(2, 1))
    return (u ** 2).sum() + (F.fold(c, (5, 4), (2, 2)) * w).sum()


@conv_case("max_pool2d", "sum(max_pool2d(x, 3, stride 2, padding 1)^2), x[2,3,7,6]", x=Input((2, 3, 7, 6)))
def _(x):
    return (F.max_pool2d(x, 3, stride=2, padding=1) ** 2).sum()


@conv_case("max_pool2d_ceil_dilation", "sum(max_pool2d(x, (2,3), stride 2, padding 1, dilation (2,1), ceil)^2)",
           x=Input((1, 2, 8, 7)))
def _(x):
    return (F.max_pool2d(x, (2, 3), stride=2, padding=1, dilation=(2, 1), ceil_mode=True) ** 2).sum()


@conv_case("max_pool1d", "sum(max_pool1d(x, 3, stride 2, padding 1)^2), x[2,3,10]", x=Input((2, 3, 10)))
def _(x):
    return (F.max_pool1d(x, 3, stride=2, padding=1) ** 2).sum()


@conv_case("avg_pool2d_ceil_pad", "sum(avg_pool2d(x, 3, stride 2, padding 1, ceil)^2), x[2,2,7,6]",
           x=Input((2, 2, 7, 6)))
def _(x):
    return (F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) ** 2).sum()


@conv_case("avg_pool2d_exclude_pad", "sum(avg_pool2d(x, (3,2), stride (2,1), padding 1, ceil, "
           "count_include_pad false)^2)", x=Input((2, 2, 7, 6)))
def _(x):
    return (F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True, count_include_pad=False) ** 2).sum()


@conv_case("avg_pool1d", "sum(avg_pool1d(x, 4, stride 3, padding 2, ceil, count_include_pad false)^2)",
           x=Input((2, 3, 9)))
def _(x):
    return (F.avg_pool1d(x, 4, stride=3, padding=2, ceil_mode=True, count_include_pad=False) ** 2).sum()


@conv_case("adaptive_avg_pool2d", "sum(adaptive_avg_pool2d(x, (3,4))^2), x[2,3,7,5]", x=Input((2, 3, 7, 5)))
def _(x):
    return (F.adaptive_avg_pool2d(x, (3, 4)) ** 2).sum()


@conv_case("small_lenet", "conv(1->3, 5) relu maxpool 2 conv(3->4, 3) relu maxpool 2, flatten, "
           "sum(tanh(. @ v)), x[2,1,12,12]", x=Input((2, 1, 12, 12)), w1=Input((3, 1, 5, 5), scale=0.3),
           b1=Input((3,), scale=0.1), w2=Input((4, 3, 3, 3), scale=0.3), b2=Input((4,), scale=0.1),
           v=Input((4, 2)))
def _(x, w1, b1, w2, b2, v):
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
    return torch.tanh(h.reshape(2, -1) @ v).sum()


# ---- --check: the regenerated reference against a file -------------------------------------------

def compare(new, old, path="$", diff=None):
    """Walks both trees; numbers may differ (the largest differences are collected), nothing else."""
    if diff is None:
        diff = {"abs": 0.0, "rel": 0.0, "abs_at": None, "rel_at": None, "numbers": 0, "problems": []}
    number = (int, float)
    if isinstance(new, bool) or isinstance(old, bool) or not (isinstance(new, number) and isinstance(old, number)):
        if type(new) is not type(old):
            diff["problems"].append(f"{path}: {type(old).__name__} in the file, {type(new).__name__} regenerated")
        elif isinstance(new, dict):
            if list(new) != list(old):
                diff["problems"].append(f"{path}: keys {list(old)} in the file, {list(new)} regenerated")
            for k in new:
                if k in old:
                    compare(new[k], old[k], f"{path}.{k}", diff)
        elif isinstance(new, list):
            if len(new) != len(old):
                diff["problems"].append(f"{path}: {len(old)} elements in the file, {len(new)} regenerated")
            for i, (a, b) in enumerate(zip(new, old)):
                compare(a, b, f"{path}[{i}]", diff)
        elif new != old and path != "$.generator":
            diff["problems"].append(f"{path}: {old!r} in the file, {new!r} regenerated")
        return diff
    diff["numbers"] += 1
    d = abs(float(new) - float(old))
    rel = d / abs(float(old)) if old != 0 else (0.0 if d == 0 else math.inf)
    if d > diff["abs"]:
        diff["abs"], diff["abs_at"] = d, path
    if rel > diff["rel"]:
        diff["rel"], diff["rel_at"] = rel, path
    return diff


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, help="where to write (default: %(default)s)")
    parser.add_argument("--check", nargs="?", const=DEFAULT_OUTPUT, metavar="FILE",
                        help="write nothing; compare with FILE (default: the committed reference)")
    parser.add_argument("--rtol", type=float, default=1e-12, help="--check fails above this relative difference")
    args = parser.parse_args()

    data = generate()
    if args.check:
        with open(args.check) as f:
            old = json.load(f)
        d = compare(data, old)
        print(f"{args.check}: generator '{old.get('generator')}', regenerated with '{data['generator']}'"
              f" (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
        print(f"{len(data['cases'])} cases, {len(data['modules'])} modules, {len(data['math_cases'])} math cases,"
              f" {d['numbers']} numbers compared")
        print(f"max abs difference {d['abs']:.3g} at {d['abs_at']}")
        print(f"max rel difference {d['rel']:.3g} at {d['rel_at']}")
        for p in d["problems"]:
            print("structure:", p)
        ok = not d["problems"] and d["rel"] <= args.rtol
        print("equivalent" if ok else "NOT equivalent")
        return 0 if ok else 1

    with open(args.output, "w") as f:
        json.dump(data, f, indent=0)  # the committed file's layout: one value per line, no trailing newline
    print(f"wrote {args.output}: {len(data['cases'])} cases, {len(data['modules'])} modules,"
          f" {len(data['math_cases'])} math cases ({data['generator']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
