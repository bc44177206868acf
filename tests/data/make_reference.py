#!/usr/bin/python3
"""Generates tests/data/torch_reference.json: values and gradients computed by PyTorch in float64.

The parity tests read that file; they never run PyTorch:
  - tests/test_parity.cpp rebuilds every entry of "cases" from ag ops and checks the value and every
    gradient to 1e-10 relative (1e-12 absolute near zero);
  - tests/test_nn_rnn.cpp builds every entry of "modules" with nn::RNN / nn::LSTM / nn::GRU and checks
    the outputs, the loss and every parameter's gradient;
  - tests/test_math_parity.cpp rebuilds every entry of "math_cases" (the ops of autograd/ops/math.h and
    scan_sort.h; same layout and tolerances as "cases").
  - tests/test_optim_parity.cpp reruns every entry of "optim": RMSprop, Adagrad and LBFGS parameter
    trajectories on small problems, and every scheduler's learning rates epoch by epoch.

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
        "loss_cases": [run_case(*c) for c in LOSS_CASES],
        "optim": optim_reference(),
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

# --- optimizers and schedulers: tests/test_optim_parity.cpp ----------------------------------------
# "optim" holds PyTorch's parameter trajectories for RMSprop, Adagrad and LBFGS on small float64
# problems, and every scheduler's learning rates (and OneCycleLR's momentum) epoch by epoch.

OPTIM_STEPS = 8


def _lsq_params():
    return [deterministic("w", (3, 2), 0.5).requires_grad_(), deterministic("b", (2,), 0.3).requires_grad_()]


def _lsq_loss(params):
    """sum((x w + b - y)^2) + 0.05 sum(w^4): x (4, 3), y (4, 2) deterministic."""
    w, b = params
    x = deterministic("x", (4, 3))
    y = deterministic("y", (4, 2), 0.5)
    return ((x @ w + b - y) ** 2).sum() + 0.05 * (w ** 4).sum()


def _rosenbrock_params():
    return [torch.tensor([-1.5], dtype=DTYPE, requires_grad=True), torch.tensor([2.0], dtype=DTYPE, requires_grad=True)]


def _rosenbrock_loss(params):
    """(1 - a)^2 + 100 (b - a^2)^2"""
    a, b = params
    return ((1 - a) ** 2 + 100 * (b - a * a) ** 2).sum()


OPTIM_PROBLEMS = {"lsq": (_lsq_params, _lsq_loss), "rosenbrock": (_rosenbrock_params, _rosenbrock_loss)}

OPTIMIZER_RUNS = [  # name, optimizer, options, problem
    ("rmsprop", "RMSprop", {"lr": 0.01}, "lsq"),
    ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9, "alpha": 0.9}, "lsq"),
    ("rmsprop_centered", "RMSprop", {"lr": 0.02, "centered": True, "eps": 1e-6}, "lsq"),
    ("rmsprop_centered_momentum_wd", "RMSprop",
     {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}, "lsq"),
    ("adagrad", "Adagrad", {"lr": 0.1}, "lsq"),
    ("adagrad_decay", "Adagrad",
     {"lr": 0.2, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.5, "eps": 1e-6}, "lsq"),
]

LBFGS_RUNS = [  # name, options, problem, steps
    ("rosenbrock_strong_wolfe", {"line_search_fn": "strong_wolfe"}, "rosenbrock", 3),
    ("rosenbrock_plain", {"lr": 0.01, "max_iter": 10}, "rosenbrock", 3),
    ("lsq_plain_history3", {"lr": 0.5, "max_iter": 6, "history_size": 3}, "lsq", 3),
    ("lsq_strong_wolfe_history2", {"line_search_fn": "strong_wolfe", "max_iter": 5, "history_size": 2}, "lsq", 3),
]


def _flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params]).tolist()


def run_optimizer(name, kind, options, problem):
    make, loss_fn = OPTIM_PROBLEMS[problem]
    params = make()
    opt = getattr(torch.optim, kind)(params, **options)
    trajectory = []
    for _ in range(OPTIM_STEPS):
        opt.zero_grad()
        loss_fn(params).backward()
        opt.step()
        trajectory.append(_flat(params))
    return {"name": name, "optimizer": kind, "options": options, "problem": problem, "steps": OPTIM_STEPS,
            "params": trajectory}


def run_lbfgs(name, options, problem, steps):
    make, loss_fn = OPTIM_PROBLEMS[problem]
    params = make()
    opt = torch.optim.LBFGS(params, **options)

    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss

    trajectory, losses = [], []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        trajectory.append(_flat(params))
    state = opt.state[params[0]]
    return {"name": name, "options": options, "problem": problem, "steps": steps, "params": trajectory,
            "losses": losses, "func_evals": state["func_evals"], "n_iter": state["n_iter"]}


SCHEDULER_LRS = [0.1, 0.05]  # two parameter groups
SCHEDULER_RUNS = [  # name, scheduler, arguments, epochs, optimizer
    ("step", "StepLR", {"step_size": 3, "gamma": 0.5}, 12, "SGD"),
    ("step_every_epoch", "StepLR", {"step_size": 1, "gamma": 0.9}, 10, "SGD"),
    ("multistep", "MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}, 12, "SGD"),
    ("multistep_unsorted_adam", "MultiStepLR", {"milestones": [6, 1, 3], "gamma": 0.5}, 8, "Adam"),
    ("exponential", "ExponentialLR", {"gamma": 0.95}, 15, "SGD"),
    ("exponential_half", "ExponentialLR", {"gamma": 0.5}, 6, "SGD"),
    ("cosine", "CosineAnnealingLR", {"T_max": 5, "eta_min": 0.001}, 23, "SGD"),
    ("cosine_long", "CosineAnnealingLR", {"T_max": 10}, 30, "SGD"),
    ("cosine_t1", "CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}, 7, "SGD"),
    ("one_cycle_cos_sgd", "OneCycleLR", {"max_lr": [0.5, 0.2], "total_steps": 20}, 19, "SGD"),
    ("one_cycle_linear_three_phase_adam", "OneCycleLR",
     {"max_lr": 0.3, "total_steps": 25, "anneal_strategy": "linear", "three_phase": True}, 24, "Adam"),
    ("one_cycle_cos_three_phase_adam", "OneCycleLR",
     {"max_lr": 0.01, "total_steps": 16, "three_phase": True, "pct_start": 0.4, "base_momentum": 0.8,
      "max_momentum": 0.9}, 15, "Adam"),
    ("one_cycle_no_momentum", "OneCycleLR",
     {"max_lr": 1.0, "total_steps": 12, "cycle_momentum": False, "pct_start": 0.25, "div_factor": 10.0,
      "final_div_factor": 100.0}, 11, "SGD"),
]
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.93, 0.9, 0.89999, 0.91, 0.85, 0.86, 0.87, 0.88, 0.84, 0.84, 0.9, 0.95, 0.96,
                   0.97, 0.5, 0.6, 0.7]
PLATEAU_RUNS = [  # name, arguments
    ("plateau_min_rel", {"mode": "min", "patience": 2, "cooldown": 1}),
    ("plateau_max_abs", {"mode": "max", "threshold": 0.02, "threshold_mode": "abs", "patience": 1, "factor": 0.5}),
    ("plateau_min_abs_min_lr", {"mode": "min", "threshold_mode": "abs", "patience": 0, "factor": 0.5,
                                "min_lr": [0.01, 0.02]}),
    ("plateau_max_rel_eps", {"mode": "max", "patience": 0, "factor": 0.7, "eps": 0.02, "cooldown": 2}),
]


def _scheduler_optimizer(kind):
    groups = [{"params": [torch.zeros(1, dtype=DTYPE, requires_grad=True)], "lr": lr} for lr in SCHEDULER_LRS]
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9) if kind == "SGD" else torch.optim.Adam(groups)


def _momentum(opt):
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g["momentum"]


def run_scheduler(name, kind, args, epochs, optimizer):
    import warnings
    opt = _scheduler_optimizer(optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scheduler.step() without optimizer.step()
        sched = getattr(torch.optim.lr_scheduler, kind)(opt, **args)
        lrs, momentum = [sched.get_last_lr()], [_momentum(opt)]
        for _ in range(epochs):
            sched.step()
            lrs.append(sched.get_last_lr())
            momentum.append(_momentum(opt))
    return {"name": name, "scheduler": kind, "args": args, "optimizer": optimizer, "group_lrs": SCHEDULER_LRS,
            "epochs": epochs, "lrs": lrs, "momentum": momentum}


def run_plateau(name, args):
    opt = _scheduler_optimizer("SGD")
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **args)
    lrs = []
    for m in PLATEAU_METRICS:
        sched.step(m)
        lrs.append([g["lr"] for g in opt.param_groups])
    return {"name": name, "args": args, "group_lrs": SCHEDULER_LRS, "metrics": PLATEAU_METRICS, "lrs": lrs}


def optim_reference():
    return {
        "optimizers": [run_optimizer(*r) for r in OPTIMIZER_RUNS],
        "lbfgs": [run_lbfgs(*r) for r in LBFGS_RUNS],
        "schedulers": [run_scheduler(*r) for r in SCHEDULER_RUNS],
        "plateau": [run_plateau(*r) for r in PLATEAU_RUNS],
    }


# --- losses ---
# The loss cases: tests/test_nn_loss_parity.cpp has a lambda for each name (JSON key "loss_cases").
# Reductions "none" are summed against an input w, so that every case is a scalar.

LOSS_CASES = []


def loss_case(name, expression, constants=None, **inputs):
    def register(fn):
        LOSS_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


LOSS_T = [2, 0, 1, 3, 1]            # class indices, no row ignored
LOSS_T_IGN = [2, -100, 1, 3, -100]  # two rows ignored (the default ignore_index)
LOSS_W = [0.5, 1.0, 2.0, 1.5]       # per-class weights
LOSS_Y = [1.0, -1.0, -1.0, 1.0, 1.0, -1.0]  # margin_ranking_loss targets
LOSS_P0 = [0.25, 0.0, 0.5, 0.0, 0.125, 0.125]  # kl_div target with zeros


def _lt(values):
    return const(values, torch.int64)


@loss_case("nll_weight_mean", "nll_loss(z, t, weight=W)", {"target": LOSS_T, "weight": LOSS_W}, z=Input((5, 4)))
def _(z):
    return F.nll_loss(z, _lt(LOSS_T), weight=const(LOSS_W))


@loss_case("nll_weight_ignore_mean", "nll_loss(z, t with -100, weight=W)", {"target": LOSS_T_IGN, "weight": LOSS_W},
           z=Input((5, 4)))
def _(z):
    return F.nll_loss(z, _lt(LOSS_T_IGN), weight=const(LOSS_W))


@loss_case("nll_ignore_index_1_sum", "nll_loss(log_softmax(z), t, ignore_index=1, sum)", {"target": LOSS_T},
           z=Input((5, 4)))
def _(z):
    return F.nll_loss(F.log_softmax(z, 1), _lt(LOSS_T), ignore_index=1, reduction="sum")


@loss_case("nll_weight_ignore_none", "sum(nll_loss(z, t with -100, weight=W, none) * w)",
           {"target": LOSS_T_IGN, "weight": LOSS_W}, z=Input((5, 4)), w=Input((5,)))
def _(z, w):
    return (F.nll_loss(z, _lt(LOSS_T_IGN), weight=const(LOSS_W), reduction="none") * w).sum()


@loss_case("nll_unbatched_weight", "nll_loss(z[4], t=2, weight=W)", {"target": 2, "weight": LOSS_W}, z=Input((4,)))
def _(z):
    return F.nll_loss(z, _lt(2), weight=const(LOSS_W))


@loss_case("ce_weight_mean", "cross_entropy(z, t, weight=W)", {"target": LOSS_T, "weight": LOSS_W},
           z=Input((5, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(LOSS_T), weight=const(LOSS_W))


@loss_case("ce_ignore_mean", "cross_entropy(z, t with -100)", {"target": LOSS_T_IGN}, z=Input((5, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(LOSS_T_IGN))


@loss_case("ce_smoothing_mean", "cross_entropy(z, t, label_smoothing=0.1)", {"target": LOSS_T},
           z=Input((5, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(LOSS_T), label_smoothing=0.1)


@loss_case("ce_smoothing_weight_ignore_mean", "cross_entropy(z, t with -100, weight=W, label_smoothing=0.2)",
           {"target": LOSS_T_IGN, "weight": LOSS_W}, z=Input((5, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(LOSS_T_IGN), weight=const(LOSS_W), label_smoothing=0.2)


@loss_case("ce_smoothing_weight_ignore_sum", "cross_entropy(z, t, weight=W, ignore_index=1, label_smoothing=0.3, sum)",
           {"target": LOSS_T, "weight": LOSS_W}, z=Input((5, 4), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(LOSS_T), weight=const(LOSS_W), ignore_index=1, label_smoothing=0.3,
                           reduction="sum")


@loss_case("ce_smoothing_weight_ignore_none", "sum(cross_entropy(z, t with -100, weight=W, label_smoothing=0.2, none) * w)",
           {"target": LOSS_T_IGN, "weight": LOSS_W}, z=Input((5, 4), scale=2.0), w=Input((5,)))
def _(z, w):
    return (F.cross_entropy(z, _lt(LOSS_T_IGN), weight=const(LOSS_W), label_smoothing=0.2, reduction="none") * w).sum()


@loss_case("ce_unbatched_smoothing_weight", "cross_entropy(z[4], t=3, weight=W, label_smoothing=0.15)",
           {"target": 3, "weight": LOSS_W}, z=Input((4,), scale=2.0))
def _(z):
    return F.cross_entropy(z, _lt(3), weight=const(LOSS_W), label_smoothing=0.15)


@loss_case("ce_probs_weight_smoothing_mean", "cross_entropy(z, p (probabilities), weight=W, label_smoothing=0.1)",
           {"weight": LOSS_W}, z=Input((5, 4), scale=2.0), p=Input((5, 4), scale=0.3, shift=0.5))
def _(z, p):
    return F.cross_entropy(z, p, weight=const(LOSS_W), label_smoothing=0.1)


@loss_case("ce_probs_sum", "cross_entropy(z, p (probabilities), sum)", {}, z=Input((5, 4), scale=2.0),
           p=Input((5, 4), scale=0.3, shift=0.5))
def _(z, p):
    return F.cross_entropy(z, p, reduction="sum")


@loss_case("smooth_l1_mean", "smooth_l1_loss(a, b)", {}, a=Input((3, 4), scale=2.0), b=Input((3, 4), shift=0.2))
def _(a, b):
    return F.smooth_l1_loss(a, b)


@loss_case("smooth_l1_beta_sum", "smooth_l1_loss(a, b, beta=0.5, sum)", {}, a=Input((3, 4), scale=2.0),
           b=Input((3, 4), shift=0.2))
def _(a, b):
    return F.smooth_l1_loss(a, b, beta=0.5, reduction="sum")


@loss_case("smooth_l1_beta_none", "sum(smooth_l1_loss(a, b, beta=1.7, none) * w)", {}, a=Input((3, 4), scale=2.0),
           b=Input((3, 4), shift=0.2), w=Input((3, 4)))
def _(a, b, w):
    return (F.smooth_l1_loss(a, b, beta=1.7, reduction="none") * w).sum()


@loss_case("smooth_l1_beta0", "smooth_l1_loss(a, b, beta=0) (= l1_loss)", {}, a=Input((3, 4), scale=2.0),
           b=Input((3, 4), shift=0.2))
def _(a, b):
    return F.smooth_l1_loss(a, b, beta=0.0)


@loss_case("huber_mean", "huber_loss(a, b)", {}, a=Input((3, 4), scale=2.0), b=Input((3, 4), shift=0.2))
def _(a, b):
    return F.huber_loss(a, b)


@loss_case("huber_delta_sum", "huber_loss(a, b, delta=0.6, sum)", {}, a=Input((3, 4), scale=2.0),
           b=Input((3, 4), shift=0.2))
def _(a, b):
    return F.huber_loss(a, b, delta=0.6, reduction="sum")


@loss_case("huber_delta_none", "sum(huber_loss(a, b, delta=1.5, none) * w)", {}, a=Input((3, 4), scale=2.0),
           b=Input((3, 4), shift=0.2), w=Input((3, 4)))
def _(a, b, w):
    return (F.huber_loss(a, b, delta=1.5, reduction="none") * w).sum()


@loss_case("kl_div_mean", "kl_div(x, p)", {}, x=Input((3, 4), shift=-1.5), p=Input((3, 4), scale=0.4, shift=0.5))
def _(x, p):
    return F.kl_div(x, p, reduction="mean")


@loss_case("kl_div_batchmean", "kl_div(x, p, batchmean)", {}, x=Input((3, 4), shift=-1.5),
           p=Input((3, 4), scale=0.4, shift=0.5))
def _(x, p):
    return F.kl_div(x, p, reduction="batchmean")


@loss_case("kl_div_sum", "kl_div(x, p, sum)", {}, x=Input((3, 4), shift=-1.5), p=Input((3, 4), scale=0.4, shift=0.5))
def _(x, p):
    return F.kl_div(x, p, reduction="sum")


@loss_case("kl_div_none", "sum(kl_div(x, p, none) * w)", {}, x=Input((3, 4), shift=-1.5),
           p=Input((3, 4), scale=0.4, shift=0.5), w=Input((3, 4)))
def _(x, p, w):
    return (F.kl_div(x, p, reduction="none") * w).sum()


@loss_case("kl_div_log_target_batchmean", "kl_div(x, q, batchmean, log_target=True)", {},
           x=Input((3, 4), shift=-1.5), q=Input((3, 4), scale=0.5, shift=-1.0))
def _(x, q):
    return F.kl_div(x, q, reduction="batchmean", log_target=True)


@loss_case("kl_div_zero_target", "kl_div(x, p0 with zeros, sum), p0 constant", {"p0": LOSS_P0},
           x=Input((2, 3), shift=-1.5))
def _(x):
    return F.kl_div(x, const(LOSS_P0).reshape(2, 3), reduction="sum")


@loss_case("margin_ranking_mean", "margin_ranking_loss(a, b, y, margin=0.3)", {"y": LOSS_Y}, a=Input((6,)),
           b=Input((6,), scale=0.7, shift=0.1))
def _(a, b):
    return F.margin_ranking_loss(a, b, const(LOSS_Y), margin=0.3)


@loss_case("margin_ranking_sum", "margin_ranking_loss(a, b, y, sum)", {"y": LOSS_Y}, a=Input((6,)),
           b=Input((6,), scale=0.7, shift=0.1))
def _(a, b):
    return F.margin_ranking_loss(a, b, const(LOSS_Y), reduction="sum")


@loss_case("margin_ranking_none", "sum(margin_ranking_loss(a, b, y, margin=-0.2, none) * w)", {"y": LOSS_Y},
           a=Input((6,)), b=Input((6,), scale=0.7, shift=0.1), w=Input((6,)))
def _(a, b, w):
    return (F.margin_ranking_loss(a, b, const(LOSS_Y), margin=-0.2, reduction="none") * w).sum()


@loss_case("cosine_similarity_dim1", "sum(cosine_similarity(a, b) * w)", {}, a=Input((3, 4)),
           b=Input((3, 4), shift=0.3), w=Input((3,)))
def _(a, b, w):
    return (F.cosine_similarity(a, b) * w).sum()


@loss_case("cosine_similarity_dim0_broadcast", "sum(cosine_similarity(a[3,4], v[4], dim=0) * w)", {},
           a=Input((3, 4)), v=Input((4,), shift=0.3), w=Input((4,)))
def _(a, v, w):
    return (F.cosine_similarity(a, v, dim=0) * w).sum()


@loss_case("cosine_similarity_eps", "sum(cosine_similarity(a, b, dim=-1, eps=1.2) * w), some norms below eps", {},
           a=Input((3, 2), scale=0.5), b=Input((3, 2), scale=2.0), w=Input((3,)))
def _(a, b, w):
    return (F.cosine_similarity(a, b, dim=-1, eps=1.2) * w).sum()


# --- normalisation and embedding layers (tests/test_nn_norm.cpp) ---
# The JSON's "norm_cases" (the layout of "cases", plus "buffers": a module's running statistics after
# the case ran), rebuilt by tests/test_nn_norm.cpp with nn::functional and nn modules (embedding,
# embedding_bag, layer_norm, group_norm, batch_norm, BatchNorm1d / 2d).

NORM_CASES = []
_NORM_BUFFERS = {}


def norm_case(name, expression, constants=None, **inputs):
    """As @case, for the "norm_cases" list."""

    def register(fn):
        NORM_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


def run_norm_case(name, expression, inputs, constants, fn):
    _NORM_BUFFERS.clear()
    out = run_case(name, expression, inputs, constants, fn)
    out["buffers"] = {k: (v.reshape(-1).tolist() if v.dtype == DTYPE else [int(v)]) for k, v in _NORM_BUFFERS.items()}
    return out


@norm_case("embedding_padding", "sum(embedding(idx, w, padding_idx=1) * u), idx [2,3] holding the padding row",
           constants={"idx": [[0, 1, 4], [1, 3, 0]]}, w=Input((5, 3)), u=Input((2, 3, 3)))
def _(w, u):
    idx = const([[0, 1, 4], [1, 3, 0]], torch.int64)
    return (F.embedding(idx, w, padding_idx=1) * u).sum()


@norm_case("embedding_0d_repeats", "sum(embedding(2, w) * u) + sum(embedding([3,3,3], w)^2)",
           w=Input((4, 2)), u=Input((2,)))
def _(w, u):
    return (F.embedding(const(2, torch.int64), w) * u).sum() + (F.embedding(const([3, 3, 3], torch.int64), w) ** 2).sum()


@norm_case("embedding_bag_sum_offsets", "sum(embedding_bag(idx, w, offsets, mode=sum, per_sample_weights=p) * u)",
           constants={"idx": [0, 2, 2, 4, 1, 3], "offsets": [0, 2, 2, 5]},
           w=Input((5, 3)), p=Input((6,), shift=0.5), u=Input((4, 3)))
def _(w, p, u):
    out = F.embedding_bag(const([0, 2, 2, 4, 1, 3], torch.int64), w, const([0, 2, 2, 5], torch.int64), mode="sum",
                          per_sample_weights=p)
    return (out * u).sum()


@norm_case("embedding_bag_mean_2d_padding", "sum(embedding_bag(idx [3,3], w, mode=mean, padding_idx=0) * u)",
           constants={"idx": [[1, 0, 2], [0, 0, 0], [3, 3, 1]]}, w=Input((4, 2)), u=Input((3, 2)))
def _(w, u):
    out = F.embedding_bag(const([[1, 0, 2], [0, 0, 0], [3, 3, 1]], torch.int64), w, mode="mean", padding_idx=0)
    return (out * u).sum()


@norm_case("embedding_bag_max_last_offset", "sum(embedding_bag(idx, w, offsets, mode=max, include_last_offset) * u)",
           constants={"idx": [4, 0, 1, 2, 3, 1], "offsets": [0, 3, 3, 6]}, w=Input((5, 3)), u=Input((3, 3)))
def _(w, u):
    out = F.embedding_bag(const([4, 0, 1, 2, 3, 1], torch.int64), w, const([0, 3, 3, 6], torch.int64), mode="max",
                          include_last_offset=True)
    return (out * u).sum()


@norm_case("layer_norm_affine", "sum(layer_norm(x [3,4,5], (4,5), weight, bias) * u)",
           x=Input((3, 4, 5), scale=2.0, shift=0.3), weight=Input((4, 5), shift=1.0), bias=Input((4, 5)),
           u=Input((3, 4, 5)))
def _(x, weight, bias, u):
    return (F.layer_norm(x, (4, 5), weight, bias) * u).sum()


@norm_case("layer_norm_plain_eps", "sum(layer_norm(x [2,6], (6,), eps=1e-3)^3 * u)", x=Input((2, 6)),
           u=Input((2, 6)))
def _(x, u):
    return (F.layer_norm(x, (6,), eps=1e-3) ** 3 * u).sum()


@norm_case("group_norm_affine", "sum(group_norm(x [2,6,3], 3 groups, weight, bias) * u)",
           x=Input((2, 6, 3), scale=1.5), weight=Input((6,), shift=1.0), bias=Input((6,)), u=Input((2, 6, 3)))
def _(x, weight, bias, u):
    return (F.group_norm(x, 3, weight, bias) * u).sum()


@norm_case("group_norm_4d", "sum(group_norm(x [2,4,2,3], 2 groups, eps=1e-2)^2 * u)", x=Input((2, 4, 2, 3)),
           u=Input((2, 4, 2, 3)))
def _(x, u):
    return (F.group_norm(x, 2, eps=1e-2) ** 2 * u).sum()


@norm_case("batch_norm_training", "sum(batch_norm(x [4,3,2,2], rm, rv, weight, bias, training, momentum 0.2) * u)",
           constants={"running_mean": [0.1, -0.2, 0.3], "running_var": [1.5, 0.5, 2.0]},
           x=Input((4, 3, 2, 2), scale=2.0, shift=0.1), weight=Input((3,), shift=1.0), bias=Input((3,)),
           u=Input((4, 3, 2, 2)))
def _(x, weight, bias, u):
    rm, rv = const([0.1, -0.2, 0.3]), const([1.5, 0.5, 2.0])
    y = F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=0.2)
    _NORM_BUFFERS.update(running_mean=rm, running_var=rv)
    return (y * u).sum()


@norm_case("batch_norm_eval", "sum(batch_norm(x [5,3], rm, rv, weight, bias, eps 1e-3) * u)",
           constants={"running_mean": [0.1, -0.2, 0.3], "running_var": [1.5, 0.5, 2.0]},
           x=Input((5, 3)), weight=Input((3,), shift=1.0), bias=Input((3,)), u=Input((5, 3)))
def _(x, weight, bias, u):
    y = F.batch_norm(x, const([0.1, -0.2, 0.3]), const([1.5, 0.5, 2.0]), weight, bias, eps=1e-3)
    return (y * u).sum()


@norm_case("batchnorm1d_module_cumulative", "BatchNorm1d(3, momentum=None) [N,C,L]: train on x and 2x+1, "
           "then eval on x; sum((y1 + y2 + y3) * u)", x=Input((4, 3, 2)), u=Input((4, 3, 2)))
def _(x, u):
    m = torch.nn.BatchNorm1d(3, momentum=None).to(DTYPE)
    y1, y2 = m(x), m(2 * x + 1)
    m.eval()
    y3 = m(x)
    _NORM_BUFFERS.update(running_mean=m.running_mean, running_var=m.running_var,
                         num_batches_tracked=m.num_batches_tracked)
    return ((y1 + y2 + y3) * u).sum()


@norm_case("batchnorm2d_module", "BatchNorm2d(2): train on x [3,2,2,2] and x^2, then eval on x; "
           "sum((y1 + y2 + y3) * u)", x=Input((3, 2, 2, 2), scale=1.5), u=Input((3, 2, 2, 2)))
def _(x, u):
    m = torch.nn.BatchNorm2d(2).to(DTYPE)
    y1, y2 = m(x), m(x * x)
    m.eval()
    y3 = m(x)
    _NORM_BUFFERS.update(running_mean=m.running_mean, running_var=m.running_var,
                         num_batches_tracked=m.num_batches_tracked)
    return ((y1 + y2 + y3) * u).sum()


_generate_before_norm = generate


def generate():  # noqa: F811 (extends the generate() above with the "norm_cases" list)
    data = _generate_before_norm()
    data["norm_cases"] = [run_norm_case(*c) for c in NORM_CASES]
    return data


# --- embedding options ---
# The JSON's "embedding_option_cases" (the layout of "norm_cases": "buffers" holds the weight after
# the case ran, which max_norm renormalises in place), rebuilt by tests/test_embedding_options.cpp
# with nn::functional::embedding's max_norm, norm_type and scale_grad_by_freq.

EMBEDDING_OPTION_CASES = []


def embedding_option_case(name, expression, constants=None, **inputs):
    """As @case, for the "embedding_option_cases" list; the function returns (value, weight after)."""

    def register(fn):
        EMBEDDING_OPTION_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


# --- nll_loss ND ---
# nll_loss and cross_entropy on [N, C, d1, ..., dk] with targets [N, d1, ..., dk] (class-index targets as
# a flat list in "target", shaped by "shape"): the JSON's "loss_nd_cases" (the layout of "cases"), rebuilt
# by tests/test_nn_loss_nd.cpp. Reductions "none" are summed against an input w.

LOSS_ND_CASES = []


def loss_nd_case(name, expression, constants=None, **inputs):
    """As @case, for the "loss_nd_cases" list."""

    def register(fn):
        LOSS_ND_CASES.append((name, expression, inputs, constants or {}, fn))
        return fn

    return register


def run_embedding_option_case(name, expression, inputs, constants, fn):
    after = {}

    def value_only(**tensors):
        value, w = fn(**tensors)
        after["weight"] = w.detach().clone()
        return value

    out = run_case(name, expression, inputs, constants, value_only)
    out["buffers"] = {"weight": after["weight"].reshape(-1).tolist()}
    return out


@embedding_option_case("embedding_max_norm", "sum(embedding(idx, w, max_norm=1.5) * u); rows 0,1,2,4 read, 3 not",
                       constants={"idx": [[0, 2, 4], [2, 1, 0]]}, w=Input((5, 3), scale=2.0), u=Input((2, 3, 3)))
def _(w, u):
    return (F.embedding(const([[0, 2, 4], [2, 1, 0]], torch.int64), w, max_norm=1.5) * u).sum(), w


@embedding_option_case("embedding_max_norm_p1_padding",
                       "sum(embedding(idx, w, padding_idx=1, max_norm=2, norm_type=1)^2 * u)",
                       constants={"idx": [3, 1, 0, 3, 2]}, w=Input((4, 2), scale=1.5, shift=0.2), u=Input((5, 2)))
def _(w, u):
    out = F.embedding(const([3, 1, 0, 3, 2], torch.int64), w, padding_idx=1, max_norm=2.0, norm_type=1.0)
    return (out ** 2 * u).sum(), w


@embedding_option_case("embedding_max_norm_inf", "sum(embedding(idx, w, max_norm=0.8, norm_type=inf) * u)",
                       constants={"idx": [0, 2, 0]}, w=Input((5, 4), scale=1.2), u=Input((3, 4)))
def _(w, u):
    return (F.embedding(const([0, 2, 0], torch.int64), w, max_norm=0.8, norm_type=float("inf")) * u).sum(), w


@embedding_option_case("embedding_max_norm_p3", "sum(embedding(idx [2,2], w, max_norm=0.5, norm_type=3) * u)",
                       constants={"idx": [[1, 2], [4, 4]]}, w=Input((5, 4), scale=1.2), u=Input((2, 2, 4)))
def _(w, u):
    return (F.embedding(const([[1, 2], [4, 4]], torch.int64), w, max_norm=0.5, norm_type=3.0) * u).sum(), w


@embedding_option_case("embedding_scale_grad_by_freq", "sum(embedding(idx, w, scale_grad_by_freq)^2 * u), repeats",
                       constants={"idx": [[1, 3, 1], [1, 0, 3]]}, w=Input((5, 3)), u=Input((2, 3, 3)))
def _(w, u):
    out = F.embedding(const([[1, 3, 1], [1, 0, 3]], torch.int64), w, scale_grad_by_freq=True)
    return (out ** 2 * u).sum(), w


@embedding_option_case("embedding_scale_grad_by_freq_padding_max_norm",
                       "sum(embedding(idx, w, padding_idx=-1, max_norm=1, scale_grad_by_freq) * u)",
                       constants={"idx": [2, 3, 2, 0, 3, 2]}, w=Input((4, 3), scale=1.5), u=Input((6, 3)))
def _(w, u):
    out = F.embedding(const([2, 3, 2, 0, 3, 2], torch.int64), w, padding_idx=-1, max_norm=1.0, scale_grad_by_freq=True)
    return (out * u).sum(), w


@embedding_option_case("embedding_bag_sum_max_norm_freq_psw",
                       "sum(embedding_bag(idx, w, offsets, sum, per_sample_weights=p, max_norm=1, scale_grad_by_freq) * u)",
                       constants={"idx": [4, 2, 0, 4, 1, 3, 4], "offsets": [0, 3, 5]}, w=Input((5, 3), scale=1.5),
                       p=Input((7,), shift=0.5), u=Input((3, 3)))
def _(w, p, u):
    out = F.embedding_bag(const([4, 2, 0, 4, 1, 3, 4], torch.int64), w, const([0, 3, 5], torch.int64), mode="sum",
                          per_sample_weights=p, max_norm=1.0, scale_grad_by_freq=True)
    return (out * u).sum(), w


@embedding_option_case("embedding_bag_mean_2d_padding_freq", "sum(embedding_bag(idx [2,3], w, mean, padding_idx=0, "
                       "scale_grad_by_freq)^2 * u)", constants={"idx": [[3, 0, 3], [1, 3, 2]]}, w=Input((4, 2)),
                       u=Input((2, 2)))
def _(w, u):
    out = F.embedding_bag(const([[3, 0, 3], [1, 3, 2]], torch.int64), w, mode="mean", padding_idx=0,
                          scale_grad_by_freq=True)
    return (out ** 2 * u).sum(), w


@embedding_option_case("embedding_bag_max_max_norm_p1", "sum(embedding_bag(idx [2,3], w, max, max_norm=1.5, "
                       "norm_type=1) * u)",
                       constants={"idx": [[4, 0, 4], [2, 1, 2]]}, w=Input((5, 2), scale=1.3), u=Input((2, 2)))
def _(w, u):
    out = F.embedding_bag(const([[4, 0, 4], [2, 1, 2]], torch.int64), w, mode="max", max_norm=1.5, norm_type=1.0)
    return (out * u).sum(), w


# (Only the largest index repeats in the two embedding_bag cases with scale_grad_by_freq: PyTorch 1.13's
# embedding_bag backward divides the gradient of the k-th distinct index, in sorted order, by the
# count of the k-th smallest entry of the input rather than by its own count, which is the same
# only then; functional::embedding_bag divides by each row's own count, as embedding does.)
_generate_before_embedding_options = generate


def generate():  # noqa: F811 (extends the generate() above with the "embedding_option_cases" list)
    data = _generate_before_embedding_options()
    data["embedding_option_cases"] = [run_embedding_option_case(*c) for c in EMBEDDING_OPTION_CASES]
    return data


ND_S = [2, 2, 3]                                         # targets [2, 2, 3] for inputs [2, 4, 2, 3]
ND_T = [2, 0, 1, 3, 1, 2, 0, 3, 3, 1, 2, 0]              # no element ignored
ND_T_IGN = [2, -100, 1, 3, 1, -100, 0, 3, -100, 1, 2, 0]  # three ignored (the default ignore_index)
ND_S3 = [2, 2, 2, 2]                                      # three spatial dims: inputs [2, 3, 2, 2, 2]
ND_T3 = [0, 1, 2, 1, 1, 0, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0]
ND_S1 = [3, 5]                                            # one spatial dim: inputs [3, 4, 5]
ND_T1 = [3, 0, 1, 2, 2, 1, 1, 0, 3, 3, 0, 2, 1, 3, -100]


def _nd(values, shape):
    return const(values, torch.int64).reshape(shape)


@loss_nd_case("nd_nll_weight_mean", "nll_loss(z [2,4,2,3], t [2,2,3], weight=W)", {"target": ND_T, "shape": ND_S,
              "weight": LOSS_W}, z=Input((2, 4, 2, 3)))
def _(z):
    return F.nll_loss(z, _nd(ND_T, ND_S), weight=const(LOSS_W))


@loss_nd_case("nd_nll_ignore_sum", "nll_loss(log_softmax(z, 1), t with -100, sum)", {"target": ND_T_IGN,
              "shape": ND_S}, z=Input((2, 4, 2, 3)))
def _(z):
    return F.nll_loss(F.log_softmax(z, 1), _nd(ND_T_IGN, ND_S), reduction="sum")


@loss_nd_case("nd_nll_weight_ignore_mean", "nll_loss(z, t with -100, weight=W)", {"target": ND_T_IGN,
              "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3)))
def _(z):
    return F.nll_loss(z, _nd(ND_T_IGN, ND_S), weight=const(LOSS_W))


@loss_nd_case("nd_nll_weight_ignore_none", "sum(nll_loss(z, t with -100, weight=W, none) * w)",
              {"target": ND_T_IGN, "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3)), w=Input((2, 2, 3)))
def _(z, w):
    return (F.nll_loss(z, _nd(ND_T_IGN, ND_S), weight=const(LOSS_W), reduction="none") * w).sum()


@loss_nd_case("nd_nll_3d_ignore_index_1_mean", "nll_loss(z [2,3,2,2,2], t [2,2,2,2], ignore_index=1)",
              {"target": ND_T3, "shape": ND_S3}, z=Input((2, 3, 2, 2, 2)))
def _(z):
    return F.nll_loss(z, _nd(ND_T3, ND_S3), ignore_index=1)


@loss_nd_case("nd_nll_1d_none", "sum(nll_loss(z [3,4,5], t [3,5] with -100, none) * w)",
              {"target": ND_T1, "shape": ND_S1}, z=Input((3, 4, 5)), w=Input((3, 5)))
def _(z, w):
    return (F.nll_loss(z, _nd(ND_T1, ND_S1), reduction="none") * w).sum()


@loss_nd_case("nd_ce_mean", "cross_entropy(z [2,4,2,3], t [2,2,3])", {"target": ND_T, "shape": ND_S},
              z=Input((2, 4, 2, 3), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T, ND_S))


@loss_nd_case("nd_ce_none", "sum(cross_entropy(z, t, none) * w)", {"target": ND_T, "shape": ND_S},
              z=Input((2, 4, 2, 3), scale=2.0), w=Input((2, 2, 3)))
def _(z, w):
    return (F.cross_entropy(z, _nd(ND_T, ND_S), reduction="none") * w).sum()


@loss_nd_case("nd_ce_3d_sum", "cross_entropy(z [2,3,2,2,2], t [2,2,2,2], sum)", {"target": ND_T3, "shape": ND_S3},
              z=Input((2, 3, 2, 2, 2), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T3, ND_S3), reduction="sum")


@loss_nd_case("nd_ce_weight_ignore_mean", "cross_entropy(z, t with -100, weight=W)",
              {"target": ND_T_IGN, "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T_IGN, ND_S), weight=const(LOSS_W))


@loss_nd_case("nd_ce_smoothing_ignore_mean", "cross_entropy(z, t with -100, label_smoothing=0.1)",
              {"target": ND_T_IGN, "shape": ND_S}, z=Input((2, 4, 2, 3), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T_IGN, ND_S), label_smoothing=0.1)


@loss_nd_case("nd_ce_smoothing_weight_ignore_mean", "cross_entropy(z, t with -100, weight=W, label_smoothing=0.2)",
              {"target": ND_T_IGN, "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T_IGN, ND_S), weight=const(LOSS_W), label_smoothing=0.2)


@loss_nd_case("nd_ce_smoothing_weight_ignore_1_sum",
              "cross_entropy(z, t, weight=W, ignore_index=1, label_smoothing=0.3, sum)",
              {"target": ND_T, "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3), scale=2.0))
def _(z):
    return F.cross_entropy(z, _nd(ND_T, ND_S), weight=const(LOSS_W), ignore_index=1, label_smoothing=0.3,
                           reduction="sum")


@loss_nd_case("nd_ce_smoothing_weight_ignore_none",
              "sum(cross_entropy(z, t with -100, weight=W, label_smoothing=0.2, none) * w)",
              {"target": ND_T_IGN, "shape": ND_S, "weight": LOSS_W}, z=Input((2, 4, 2, 3), scale=2.0),
              w=Input((2, 2, 3)))
def _(z, w):
    return (F.cross_entropy(z, _nd(ND_T_IGN, ND_S), weight=const(LOSS_W), label_smoothing=0.2, reduction="none")
            * w).sum()


@loss_nd_case("nd_ce_1d_smoothing_none", "sum(cross_entropy(z [3,4,5], t [3,5] with -100, label_smoothing=0.25, "
              "none) * w)", {"target": ND_T1, "shape": ND_S1}, z=Input((3, 4, 5), scale=2.0), w=Input((3, 5)))
def _(z, w):
    return (F.cross_entropy(z, _nd(ND_T1, ND_S1), label_smoothing=0.25, reduction="none") * w).sum()


@loss_nd_case("nd_ce_probs_weight_smoothing_mean", "cross_entropy(z [2,4,2,3], p (probabilities), weight=W, "
              "label_smoothing=0.1)", {"weight": LOSS_W}, z=Input((2, 4, 2, 3), scale=2.0),
              p=Input((2, 4, 2, 3), scale=0.3, shift=0.5))
def _(z, p):
    return F.cross_entropy(z, p, weight=const(LOSS_W), label_smoothing=0.1)


@loss_nd_case("nd_ce_probs_none", "sum(cross_entropy(z [2,4,2,3], p (probabilities), none) * w)", {},
              z=Input((2, 4, 2, 3), scale=2.0), p=Input((2, 4, 2, 3), scale=0.3, shift=0.5), w=Input((2, 2, 3)))
def _(z, p, w):
    return (F.cross_entropy(z, p, reduction="none") * w).sum()


_generate_before_loss_nd = generate


def generate():  # noqa: F811 (extends the generate() above with the "loss_nd_cases" list)
    data = _generate_before_loss_nd()
    data["loss_nd_cases"] = [run_case(*c) for c in LOSS_ND_CASES]
    return data


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
