// Property test: random computation graphs over the op set, each gradchecked in float64 in reverse
// and forward mode (check_forward_ad: the JVP rules against finite differences and against J from
// the tape).
// Seeded and reproducible; a failure prints the seed and the smallest failing graph (ops dropped
// one at a time while the check still fails). Rerun one graph with AG_GRAPH_SEED=<seed>.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>

#include "test_util.h"

using namespace ag;

namespace {

enum class Op {
  Neg,
  Exp,
  LogSoftplus,
  SqrtSq,
  Abs,
  Relu,
  LeakyRelu,
  Clamp,
  Sigmoid,
  Tanh,
  Softplus,
  Cube,
  Square,
  Recip,
  AddScalar,
  MulScalar,
  RSubScalar,
  Add,
  Sub,
  Mul,
  Div,
  Where,
  SumAll,
  Sum,
  Mean,
  MaxDim,
  Amax,
  MaxAll,
  Logsumexp,
  Softmax,
  LogSoftmax,
  Transpose,
  Permute,
  Flatten,
  Unsqueeze,
  Squeeze,
  Expand,
  Select,
  Slice,
  Narrow,
  Diagonal,
  Unfold,
  Cat,
  Stack,
  IndexSelect,
  Gather,
  Matmul,
  MatmulSelf,
  Rnn,
  Conv,
  MaxPool,
  AvgPool,
  Count,
  BuggyCube  // never generated: a deliberately wrong VJP for testing the shrinker
};

const char* const kOpNames[] = {"neg",
                                "exp",
                                "log(softplus)",
                                "sqrt(x*x+0.5)",
                                "abs",
                                "relu",
                                "leaky_relu",
                                "clamp",
                                "sigmoid",
                                "tanh",
                                "softplus",
                                "pow3",
                                "square",
                                "1/x",
                                "add_scalar",
                                "mul_scalar",
                                "rsub_scalar",
                                "add",
                                "sub",
                                "mul",
                                "div",
                                "where(a>0,a,b)",
                                "sum",
                                "sum_dim",
                                "mean_dim",
                                "max_dim",
                                "amax",
                                "max",
                                "logsumexp",
                                "softmax",
                                "log_softmax",
                                "transpose",
                                "permute",
                                "flatten",
                                "unsqueeze",
                                "squeeze",
                                "expand",
                                "select",
                                "slice",
                                "narrow",
                                "diagonal",
                                "unfold",
                                "cat",
                                "stack",
                                "index_select",
                                "gather",
                                "matmul(a,W)",
                                "matmul(a,a^T)",
                                "rnn(h,W,X)",
                                "conv(a,W[,b])",
                                "max_pool",
                                "avg_pool",
                                "-",
                                "buggy_cube"};

/// x^3 with the derivative 2.9 x^2 instead of 3 x^2.
struct BuggyCube : Function<BuggyCube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {g[0] * 2.9 * x * x};
  }
};

/// A reference to a value: >= 0 is the result of node `r`, < 0 is leaf `-1 - r`.
using Ref = int;

struct GNode {
  Op op = Op::Neg;
  Ref a = 0, b = 0, c = 0;
  std::int64_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
  bool keep = false;
  double s = 0;
  Shape sh;
  std::vector<std::int64_t> idx;
};

struct Graph {
  std::vector<Shape> leaf_shapes;
  std::vector<std::vector<double>> leaf_data;
  std::vector<GNode> nodes;
};

/// Thrown when a graph would sit on a kink, a singularity or a huge value: not a valid sample.
struct Invalid {};

constexpr double kMargin = 1e-2;
constexpr double kMaxAbs = 1e3;
constexpr std::int64_t kMaxNumel = 24;

void away_from(const Tensor& t, double point, bool check) {
  if (!check) return;
  for (double v : t.to_vector<double>())
    if (std::abs(v - point) < kMargin) throw Invalid{};
}

/// Max reductions need a clear winner in every slice (no ties within the margin).
void clear_max(const Tensor& x, std::int64_t dim, bool check) {
  if (!check) return;
  const Tensor top = amax(x, dim, true);
  const Tensor gap = x - top;
  std::vector<double> g = gap.to_vector<double>();
  const Tensor near = gt(gap, -kMargin);
  if (sum(near, dim).to_vector<double>() != std::vector<double>(static_cast<std::size_t>(top.numel()), 1.0))
    throw Invalid{};
}

/// Max pooling needs a clear winner in every window: the input viewed as [planes, h, w] (a 1-D pool
/// has h = 1), kernel k, stride st, padding p, dilation d per dim and the output size o per dim.
void clear_window_max(const Tensor& x, int spatial, std::int64_t k, std::int64_t st, std::int64_t p, std::int64_t d,
                      bool check) {
  if (!check) return;
  const std::vector<double> v = x.to_vector<double>();
  const std::int64_t w = x.size(-1), h = spatial == 2 ? x.size(-2) : 1;
  const std::int64_t planes = x.numel() / (h * w);
  const std::int64_t kh = spatial == 2 ? k : 1, ph = spatial == 2 ? p : 0, sh = spatial == 2 ? st : 1;
  const auto out = [&](std::int64_t in, std::int64_t kk, std::int64_t ss, std::int64_t pp) {
    return (in + 2 * pp - d * (kk - 1) - 1 + ss - 1) / ss + 1;  // ceil_mode's count: covers both modes
  };
  const std::int64_t oh = out(h, kh, sh, ph), ow = out(w, k, st, p);
  for (std::int64_t q = 0; q < planes; ++q)
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        double best = -INFINITY, second = -INFINITY;
        for (std::int64_t a = 0; a < kh; ++a)
          for (std::int64_t b = 0; b < k; ++b) {
            const std::int64_t r = i * sh - ph + a * d, c = j * st - p + b * d;
            if (r < 0 || r >= h || c < 0 || c >= w) continue;
            const double e = v[static_cast<std::size_t>((q * h + r) * w + c)];
            if (e > best) {
              second = best;
              best = e;
            } else if (e > second) {
              second = e;
            }
          }
        if (best - second < kMargin) throw Invalid{};
      }
}

/// tensor() reads an empty shape as "1-D of all values": make 0-d leaves explicitly.
Tensor leaf_tensor(const std::vector<double>& v, const Shape& shape) {
  Tensor t = tensor(v, shape, kFloat64);
  if (shape.empty()) t = reshape(t, {});
  return t.requires_grad_();
}

Tensor index_tensor(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor(v, shape, kInt64); }

Tensor apply(const GNode& n, const std::vector<Tensor>& vals, const std::vector<Tensor>& leaves, bool check) {
  auto get = [&](Ref r) -> const Tensor& {
    return r < 0 ? leaves[static_cast<std::size_t>(-1 - r)] : vals[static_cast<std::size_t>(r)];
  };
  const Tensor& a = get(n.a);
  switch (n.op) {
    case Op::Neg:
      return -a;
    case Op::Exp:
      return exp(a);
    case Op::LogSoftplus:
      return log(softplus(a));
    case Op::SqrtSq:
      return sqrt(a * a + 0.5);
    case Op::Abs:
      away_from(a, 0.0, check);
      return abs(a);
    case Op::Relu:
      away_from(a, 0.0, check);
      return relu(a);
    case Op::LeakyRelu:
      away_from(a, 0.0, check);
      return leaky_relu(a, 0.1);
    case Op::Clamp:
      away_from(a, -0.5, check);
      away_from(a, 0.8, check);
      return clamp(a, -0.5, 0.8);
    case Op::Sigmoid:
      return sigmoid(a);
    case Op::Tanh:
      return tanh(a);
    case Op::Softplus:
      return softplus(a);
    case Op::Cube:
      return pow(a, 3.0);
    case Op::Square:
      return square(a);
    case Op::Recip:
      if (check)
        for (double v : a.to_vector<double>())
          if (std::abs(v) < 0.3) throw Invalid{};
      return 1.0 / a;
    case Op::AddScalar:
      return a + n.s;
    case Op::MulScalar:
      return a * n.s;
    case Op::RSubScalar:
      return n.s - a;
    case Op::Add:
      return a + get(n.b);
    case Op::Sub:
      return a - get(n.b);
    case Op::Mul:
      return a * get(n.b);
    case Op::Div:
      if (check)
        for (double v : get(n.b).to_vector<double>())
          if (std::abs(v) < 0.3) throw Invalid{};
      return a / get(n.b);
    case Op::Where:
      away_from(a, 0.0, check);
      return where(gt(a, 0.0), a, get(n.b));
    case Op::SumAll:
      return sum(a);
    case Op::Sum:
      return sum(a, n.i0, n.keep);
    case Op::Mean:
      return mean(a, n.i0, n.keep);
    case Op::MaxDim:
      clear_max(a, n.i0, check);
      return max(a, n.i0, n.keep).values;
    case Op::Amax:
      clear_max(a, n.i0, check);
      return amax(a, n.i0, n.keep);
    case Op::MaxAll:
      clear_max(reshape(a, {-1}), 0, check);
      return max(a);
    case Op::Logsumexp:
      return logsumexp(a, n.i0, n.keep);
    case Op::Softmax:
      return softmax(a, n.i0);
    case Op::LogSoftmax:
      return log_softmax(a, n.i0);
    case Op::Transpose:
      return transpose(a, n.i0, n.i1);
    case Op::Permute:
      return permute(a, n.sh);
    case Op::Flatten:
      return flatten(a, n.i0, n.i1);
    case Op::Unsqueeze:
      return unsqueeze(a, n.i0);
    case Op::Squeeze:
      return squeeze(a, n.i0);
    case Op::Expand:
      return expand(a, n.sh);
    case Op::Select:
      return select(a, n.i0, n.i1);
    case Op::Slice:
      return slice(a, n.i0, n.i1, n.i2, n.i3);
    case Op::Narrow:
      return narrow(a, n.i0, n.i1, n.i2);
    case Op::Diagonal:
      return diagonal(a, n.i2, n.i0, n.i1);
    case Op::Unfold:
      return unfold(a, n.i0, n.i1, n.i2);
    case Op::Cat:
      return cat({a, get(n.b)}, n.i0);
    case Op::Stack:
      return stack({a, get(n.b)}, n.i0);
    case Op::IndexSelect:
      return index_select(a, n.i0, index_tensor(n.idx, {static_cast<std::int64_t>(n.idx.size())}));
    case Op::Gather:
      return gather(a, n.i0, index_tensor(n.idx, n.sh));
    case Op::Matmul:
      return matmul(a, get(n.b));
    case Op::MatmulSelf:
      return matmul(a, transpose(a, -1, -2));
    case Op::Rnn: {
      Tensor h = a;
      const Tensor& w = get(n.b);
      const Tensor& x = get(n.c);
      for (std::int64_t t = 0; t < x.size(0); ++t) h = tanh(matmul(h, w) * 0.5 + select(x, 0, t));
      return h;
    }
    case Op::Conv: {
      const Tensor bias = n.keep ? get(n.c) : Tensor();
      if (n.i0 == 1) return conv1d(a, get(n.b), bias, n.i1, n.i2, n.i3);
      return conv2d(a, get(n.b), bias, n.i1, n.i2, n.i3);
    }
    case Op::MaxPool: {
      const auto dil = static_cast<std::int64_t>(n.s);
      clear_window_max(a, static_cast<int>(n.i0), n.i1, n.i2, n.i3, dil, check);
      if (n.i0 == 1) return max_pool1d(a, n.i1, n.i2, n.i3, dil, n.keep);
      return max_pool2d(a, n.i1, n.i2, n.i3, dil, n.keep);
    }
    case Op::AvgPool:
      if (n.i0 == 1) return avg_pool1d(a, n.i1, n.i2, n.i3, n.keep, n.s != 0);
      return avg_pool2d(a, n.i1, n.i2, n.i3, n.keep, n.s != 0);
    case Op::BuggyCube:
      return BuggyCube::apply(a);
    case Op::Count:
      break;
  }
  throw Invalid{};
}

void check_magnitude(const Tensor& t) {
  if (t.numel() > kMaxNumel) throw Invalid{};
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v) || std::abs(v) > kMaxAbs) throw Invalid{};
}

std::vector<Tensor> make_leaves(const Graph& g) {
  std::vector<Tensor> leaves;
  for (std::size_t i = 0; i < g.leaf_shapes.size(); ++i)
    leaves.push_back(leaf_tensor(g.leaf_data[i], g.leaf_shapes[i]));
  return leaves;
}

/// Runs the graph; returns the last value (the first leaf when there is no node).
Tensor run(const Graph& g, const std::vector<Tensor>& leaves, bool check) {
  std::vector<Tensor> vals;
  for (const GNode& n : g.nodes) {
    vals.push_back(apply(n, vals, leaves, check));
    if (check) check_magnitude(vals.back());
  }
  return vals.empty() ? leaves[0] : vals.back();
}

std::string ref_str(Ref r) { return r < 0 ? fmt::format("L{}", -1 - r) : fmt::format("v{}", r); }

std::string graph_str(const Graph& g) {
  std::ostringstream os;
  for (std::size_t i = 0; i < g.leaf_shapes.size(); ++i) {
    os << "  L" << i << " = tensor({";
    for (std::size_t k = 0; k < g.leaf_data[i].size(); ++k)
      os << (k ? ", " : "") << fmt::format("{:.17g}", g.leaf_data[i][k]);
    os << "}, " << shape_str(g.leaf_shapes[i]) << ")\n";
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const GNode& n = g.nodes[i];
    os << "  v" << i << " = " << kOpNames[static_cast<int>(n.op)] << "(" << ref_str(n.a);
    if (n.op == Op::Add || n.op == Op::Sub || n.op == Op::Mul || n.op == Op::Div || n.op == Op::Where ||
        n.op == Op::Cat || n.op == Op::Stack || n.op == Op::Matmul || n.op == Op::Rnn || n.op == Op::Conv)
      os << ", " << ref_str(n.b);
    if (n.op == Op::Rnn || (n.op == Op::Conv && n.keep)) os << ", " << ref_str(n.c);
    os << fmt::format("; i={},{},{},{} keep={} s={} sh={} idx=[{}])\n", n.i0, n.i1, n.i2, n.i3, n.keep, n.s,
                      shape_str(n.sh), fmt::join(n.idx, ","));
  }
  return os.str();
}

struct Outcome {
  std::int64_t entries = 0;
  bool valid = false;
  bool ok = true;
  std::string report;
};

Outcome check_graph(const Graph& g) {
  Outcome o;
  std::vector<Tensor> leaves = make_leaves(g);
  try {
    NoGradGuard ng;
    run(g, leaves, true);
  } catch (const Invalid&) {
    return o;
  } catch (const Error&) {
    return o;
  }
  o.valid = true;
  try {
    // reverse and forward mode: the JVP rules against the finite differences and the tape's Jacobian
    const GradcheckReport r = gradcheck([&g](const std::vector<Tensor>& in) { return run(g, in, false); }, leaves,
                                        GradcheckOptions().set_check_forward_ad(true));
    o.ok = r.ok;
    o.entries = r.entries;
    o.report = r.str();
  } catch (const Error& e) {
    o.ok = false;
    o.report = std::string("ag::Error: ") + e.what();
  }
  return o;
}

/// Drops node i: its users read its first input instead.
Graph drop_node(const Graph& g, std::size_t i) {
  Graph out = g;
  out.nodes.erase(out.nodes.begin() + static_cast<std::ptrdiff_t>(i));
  const Ref dropped = static_cast<Ref>(i), repl = g.nodes[i].a;
  for (std::size_t j = i; j < out.nodes.size(); ++j)
    for (Ref* r : {&out.nodes[j].a, &out.nodes[j].b, &out.nodes[j].c}) {
      if (*r == dropped) *r = repl;
      else if (*r > dropped) --*r;
    }
  return out;
}

Graph shrink(Graph g) {
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t i = g.nodes.size(); i-- > 0;) {
      Graph c = drop_node(g, i);
      const Outcome o = check_graph(c);
      if (o.valid && !o.ok) {
        g = std::move(c);
        progress = true;
      }
    }
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// Generation

struct Gen {
  std::mt19937_64 rng;
  Graph g;
  std::vector<Tensor> leaves, vals;

  explicit Gen(std::uint64_t seed) : rng(seed) {}

  std::int64_t uni(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  bool coin(double p = 0.5) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  Shape random_shape(std::int64_t max_rank = 3) {
    Shape s;
    const auto r = uni(0, max_rank);
    for (std::int64_t d = 0; d < r; ++d) s.push_back(uni(1, 3));
    return s;
  }

  Ref add_leaf(const Shape& s, double scale = 1.0) {
    std::normal_distribution<double> nd(0.0, scale);
    std::vector<double> v(static_cast<std::size_t>(shape_numel(s)));
    for (double& x : v) x = nd(rng);
    g.leaf_shapes.push_back(s);
    g.leaf_data.push_back(v);
    leaves.push_back(leaf_tensor(v, s));
    return -static_cast<Ref>(leaves.size());
  }

  const Tensor& get(Ref r) const {
    return r < 0 ? leaves[static_cast<std::size_t>(-1 - r)] : vals[static_cast<std::size_t>(r)];
  }

  /// A value, biased toward recent results (so graphs get deep), sometimes a leaf.
  Ref pick() {
    if (vals.empty() || coin(0.15)) return -1 - static_cast<Ref>(uni(0, static_cast<std::int64_t>(leaves.size()) - 1));
    const auto n = static_cast<std::int64_t>(vals.size());
    return static_cast<Ref>(coin(0.6) ? n - 1 : uni(0, n - 1));
  }

  /// A second operand that broadcasts with shape s: s itself (reuse), a value of a compatible shape,
  /// or a new leaf with leading dims dropped and some dims set to 1.
  Ref partner(Ref a) {
    const Shape s = get(a).shape();
    if (coin(0.2)) return a;
    if (coin(0.4)) {
      std::vector<Ref> ok;
      for (std::size_t i = 0; i < vals.size(); ++i)
        if (broadcasts(vals[i].shape(), s)) ok.push_back(static_cast<Ref>(i));
      for (std::size_t i = 0; i < leaves.size(); ++i)
        if (broadcasts(leaves[i].shape(), s)) ok.push_back(-1 - static_cast<Ref>(i));
      if (!ok.empty()) return ok[static_cast<std::size_t>(uni(0, static_cast<std::int64_t>(ok.size()) - 1))];
    }
    Shape t(s.begin() + uni(0, static_cast<std::int64_t>(s.size())), s.end());
    for (auto& d : t)
      if (coin(0.3)) d = 1;
    if (coin(0.2)) t.insert(t.begin(), 1);  // the result grows a leading size-1 dim
    return add_leaf(t);
  }

  static bool broadcasts(const Shape& x, const Shape& y) {
    for (std::size_t k = 1; k <= std::min(x.size(), y.size()); ++k) {
      const auto p = x[x.size() - k], q = y[y.size() - k];
      if (p != q && p != 1 && q != 1) return false;
    }
    return true;
  }

  /// Fills a node of kind `op` on input a; false when a's shape does not suit the op.
  bool build(GNode& n) {
    const Shape s = get(n.a).shape();
    const auto r = static_cast<std::int64_t>(s.size());
    auto dim = [&] { return r == 0 ? 0 : uni(-r, r - 1); };
    switch (n.op) {
      case Op::AddScalar:
      case Op::MulScalar:
      case Op::RSubScalar:
        n.s = std::round(std::normal_distribution<double>(0, 1.5)(rng) * 4) / 4;
        return true;
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Where:
        n.b = partner(n.a);
        if (coin(0.3) && n.op != Op::Where) std::swap(n.a, n.b);
        return true;
      case Op::Sum:
      case Op::Mean:
      case Op::MaxDim:
      case Op::Amax:
      case Op::Logsumexp:
        n.i0 = dim();
        n.keep = coin();
        return true;
      case Op::Softmax:
      case Op::LogSoftmax:
        n.i0 = dim();
        return true;
      case Op::Transpose:
        if (r < 2) return false;
        n.i0 = uni(0, r - 1);
        n.i1 = uni(-r, r - 1);
        return true;
      case Op::Permute: {
        if (r < 2) return false;
        n.sh.resize(static_cast<std::size_t>(r));
        for (std::int64_t d = 0; d < r; ++d) n.sh[static_cast<std::size_t>(d)] = d;
        std::shuffle(n.sh.begin(), n.sh.end(), rng);
        return true;
      }
      case Op::Flatten:
        if (r < 2) return false;
        n.i0 = uni(0, r - 2);
        n.i1 = uni(n.i0 + 1, r - 1);
        return true;
      case Op::Unsqueeze:
        if (r >= 4) return false;
        n.i0 = uni(-r - 1, r);
        return true;
      case Op::Squeeze: {
        std::vector<std::int64_t> ones;
        for (std::int64_t d = 0; d < r; ++d)
          if (s[static_cast<std::size_t>(d)] == 1) ones.push_back(d);
        if (ones.empty()) return false;
        n.i0 = ones[static_cast<std::size_t>(uni(0, static_cast<std::int64_t>(ones.size()) - 1))];
        return true;
      }
      case Op::Expand: {
        n.sh = s;
        bool any = false;
        for (auto& d : n.sh)
          if (d == 1 && coin(0.7)) {
            d = uni(2, 3);
            any = true;
          }
        if (coin(0.3) && r < 3) {
          n.sh.insert(n.sh.begin(), uni(1, 2));
          any = true;
        }
        if (!any) return false;
        if (coin(0.3))
          for (std::size_t k = 0; k < s.size(); ++k)
            if (s[k] == n.sh[n.sh.size() - s.size() + k] && coin()) n.sh[n.sh.size() - s.size() + k] = -1;
        return true;
      }
      case Op::Select:
        if (r == 0) return false;
        n.i0 = dim();
        n.i1 = uni(-s[static_cast<std::size_t>(n.i0 < 0 ? n.i0 + r : n.i0)],
                   s[static_cast<std::size_t>(n.i0 < 0 ? n.i0 + r : n.i0)] - 1);
        return true;
      case Op::Diagonal:
        if (r < 2) return false;
        n.i0 = uni(0, r - 1);
        n.i1 = (n.i0 + uni(1, r - 1)) % r;
        // an offset that leaves at least one element on the diagonal (the generator makes no empty tensors)
        n.i2 = uni(std::max<std::int64_t>(-1, 1 - s[static_cast<std::size_t>(n.i0)]),
                   std::min<std::int64_t>(1, s[static_cast<std::size_t>(n.i1)] - 1));
        return true;
      case Op::Unfold:
        if (r == 0) return false;
        n.i0 = uni(0, r - 1);
        n.i1 = uni(1, s[static_cast<std::size_t>(n.i0)]);
        n.i2 = uni(1, 2);
        return true;
      case Op::Slice:
      case Op::Narrow: {
        if (r == 0) return false;
        n.i0 = uni(0, r - 1);
        const auto len = s[static_cast<std::size_t>(n.i0)];
        n.i1 = uni(0, len - 1);
        if (n.op == Op::Slice) {
          n.i2 = uni(n.i1 + 1, len + 1);
          n.i3 = uni(1, 2);
        } else {
          n.i2 = uni(1, len - n.i1);
        }
        return true;
      }
      case Op::Cat:
      case Op::Stack: {
        if (n.op == Op::Cat && r == 0) return false;
        n.i0 = n.op == Op::Cat ? uni(0, r - 1) : uni(0, r);
        if (coin(0.4)) {
          n.b = n.a;
        } else {
          Shape t = s;
          if (n.op == Op::Cat) t[static_cast<std::size_t>(n.i0)] = uni(1, 2);
          n.b = add_leaf(t);
        }
        return true;
      }
      case Op::IndexSelect: {
        if (r == 0) return false;
        n.i0 = uni(0, r - 1);
        const auto len = s[static_cast<std::size_t>(n.i0)];
        n.idx.resize(static_cast<std::size_t>(uni(1, 4)));
        for (auto& k : n.idx) k = uni(0, len - 1);  // repeats add up in backward
        return true;
      }
      case Op::Gather: {
        if (r == 0) return false;
        n.i0 = uni(0, r - 1);
        n.sh = s;
        n.sh[static_cast<std::size_t>(n.i0)] = uni(1, 3);
        n.idx.resize(static_cast<std::size_t>(shape_numel(n.sh)));
        for (auto& k : n.idx) k = uni(0, s[static_cast<std::size_t>(n.i0)] - 1);
        return true;
      }
      case Op::Matmul: {
        if (r == 0) return false;
        Shape w{s.back(), uni(1, 3)};
        if (coin(0.2) && r >= 2) w.insert(w.begin(), 1);  // broadcast batch dim
        n.b = add_leaf(w, 0.7);
        return true;
      }
      case Op::MatmulSelf:
        return r >= 2;
      case Op::Rnn: {
        if (r != 1 && r != 2) return false;
        const auto h = s.back();
        n.b = add_leaf({h, h}, 0.7);
        const auto steps = uni(2, 4);
        n.c = add_leaf(r == 1 ? Shape{steps, h} : Shape{steps, 1, h});
        return true;
      }
      case Op::Conv: {
        // conv1d over [N, C, L] or [C, L], conv2d over [N, C, H, W] or [C, H, W]
        if (r < 2 || r > 4) return false;
        n.i0 = r == 2 ? 1 : r == 4 ? 2 : uni(1, 2);
        const auto ch = s[static_cast<std::size_t>(r - 1 - n.i0)];
        n.i1 = uni(1, 2);  // stride
        n.i2 = uni(0, 1);  // padding
        n.i3 = uni(1, 2);  // dilation
        Shape w{uni(1, 2), ch};
        for (std::int64_t d = 0; d < n.i0; ++d) {
          const auto in = s[static_cast<std::size_t>(r - n.i0 + d)];
          const auto k = uni(1, 3);
          if (n.i3 * (k - 1) + 1 > in + 2 * n.i2) return false;
          w.push_back(k);
        }
        n.b = add_leaf(w, 0.7);
        n.keep = coin();
        if (n.keep) n.c = add_leaf({w[0]});
        return true;
      }
      case Op::MaxPool:
      case Op::AvgPool: {
        // over the last 1 or 2 dims of [N, C, L] / [C, L] or [N, C, H, W] / [C, H, W]
        if (r < 2 || r > 4) return false;
        n.i0 = r == 2 ? 1 : r == 4 ? 2 : uni(1, 2);
        n.i1 = uni(1, 3);         // kernel
        n.i2 = uni(1, 2);         // stride
        n.i3 = uni(0, n.i1 / 2);  // padding, at most half the kernel
        n.keep = coin();          // ceil_mode
        n.s = n.op == Op::MaxPool ? static_cast<double>(uni(1, 2)) : static_cast<double>(uni(0, 1));
        const auto span = (n.op == Op::MaxPool ? static_cast<std::int64_t>(n.s) : 1) * (n.i1 - 1) + 1;
        for (std::int64_t d = 0; d < n.i0; ++d)
          if (span > s[static_cast<std::size_t>(r - 1 - d)] + 2 * n.i3) return false;
        return true;
      }
      default:
        return true;
    }
  }

  Graph generate(int n_ops, std::int64_t& errors, std::string& first_error) {
    add_leaf(random_shape());
    if (coin()) add_leaf(random_shape());
    NoGradGuard ng;
    for (int attempt = 0; attempt < 40 * n_ops && static_cast<int>(g.nodes.size()) < n_ops; ++attempt) {
      const std::size_t n_leaves = leaves.size();
      GNode n;
      n.op = static_cast<Op>(uni(0, static_cast<std::int64_t>(Op::Count) - 1));
      n.a = pick();
      if (!build(n)) {
        g.leaf_shapes.resize(n_leaves);
        g.leaf_data.resize(n_leaves);
        leaves.resize(n_leaves);
        continue;
      }
      try {
        Tensor v = apply(n, vals, leaves, true);
        check_magnitude(v);
        vals.push_back(v);
        g.nodes.push_back(n);
        continue;
      } catch (const Invalid&) {
      } catch (const Error& e) {
        // the shapes were built to be valid: an error here is a bug in an op
        if (errors++ == 0)
          first_error = fmt::format("{} on {}: {}", kOpNames[static_cast<int>(n.op)], describe(get(n.a)), e.what());
      }
      g.leaf_shapes.resize(n_leaves);
      g.leaf_data.resize(n_leaves);
      leaves.resize(n_leaves);
    }
    return g;
  }
};

Graph generate_graph(std::uint64_t seed, std::int64_t& errors, std::string& first_error) {
  Gen gen(seed);
  const int n_ops = static_cast<int>(gen.uni(1, 12));
  return gen.generate(n_ops, errors, first_error);
}

}  // namespace

TEST_CASE("random graphs: 400 seeded graphs over the op set pass gradcheck in float64") {
  std::uint64_t first = 1, count = 400;
  if (const char* s = std::getenv("AG_GRAPH_SEED")) {
    first = std::strtoull(s, nullptr, 10);
    count = 1;
  }
  std::int64_t checked = 0, nodes = 0, errors = 0, entries = 0;
  std::vector<int> op_use(static_cast<std::size_t>(Op::Count), 0);
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    std::string first_error;
    const Graph g = generate_graph(seed, errors, first_error);
    INFO("seed " << seed);
    CHECK_MESSAGE(first_error.empty(), "an op threw ag::Error on shapes built to be valid: " << first_error);
    if (g.nodes.empty()) continue;
    const Outcome o = check_graph(g);
    REQUIRE(o.valid);
    ++checked;
    entries += o.entries;
    nodes += static_cast<std::int64_t>(g.nodes.size());
    for (const GNode& n : g.nodes) ++op_use[static_cast<std::size_t>(n.op)];
    if (!o.ok) {
      const Graph small = shrink(g);
      const Outcome so = check_graph(small);
      FAIL_CHECK("gradcheck failed for seed " << seed << " (rerun with AG_GRAPH_SEED=" << seed << ")\n"
                                              << "smallest failing graph (" << small.nodes.size() << " of "
                                              << g.nodes.size() << " ops):\n"
                                              << graph_str(small) << so.report << "\nfull graph:\n"
                                              << graph_str(g));
    }
  }
  MESSAGE("random graphs checked: " << checked << ", ops: " << nodes << ", Jacobian entries compared: " << entries);
  CHECK(errors == 0);
  if (count > 1) {
    CHECK(checked >= 390);
    for (std::size_t k = 0; k < op_use.size(); ++k) {
      INFO("op " << kOpNames[k]);
      CHECK(op_use[k] > 0);  // every op kind appears in some graph
    }
  }
}

TEST_CASE("random graphs: a wrong VJP is caught and shrunk to the op that has it") {
  Graph g;
  g.leaf_shapes = {{2, 3}, {3}};
  g.leaf_data = {{0.3, -0.2, 0.5, 0.9, -0.7, 0.1}, {0.4, 1.1, -0.6}};
  auto node = [](Op op, Ref a, Ref b = 0, std::int64_t i0 = 0) {
    GNode n;
    n.op = op;
    n.a = a;
    n.b = b;
    n.i0 = i0;
    return n;
  };
  g.nodes = {node(Op::Tanh, -1),     node(Op::Mul, 0, -2),       node(Op::Abs, 1),
             node(Op::BuggyCube, 2), node(Op::Softmax, 3, 0, 1), node(Op::Sum, 4, 0, 0)};
  const Outcome o = check_graph(g);
  REQUIRE(o.valid);
  CHECK_FALSE(o.ok);
  const Graph small = shrink(g);
  REQUIRE(small.nodes.size() == 1);
  CHECK(small.nodes[0].op == Op::BuggyCube);
  CHECK(small.nodes[0].a == -1);
  CHECK_FALSE(check_graph(small).ok);
  CHECK(graph_str(small).find("v0 = buggy_cube(L0") != std::string::npos);
  // the same graph with a correct op passes; at a kink of abs it is not a valid sample
  g.nodes[3].op = Op::Cube;
  CHECK(check_graph(g).ok);
  Graph kink = g;
  kink.leaf_data[0][0] = 0.0;
  CHECK_FALSE(check_graph(kink).valid);
}
