// Strided views (Note: views in tensor.h): sharing storage, strides as libtorch's, in-place writes
// through views reaching the base, the version counter shared, the errors that keep a write from
// bypassing a recorded graph, gradients through every view op, and every op given non-contiguous
// inputs computing what it computes on contiguous ones.
#include <limits>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {
Tensor arange_f64(std::int64_t n, const Shape& shape) { return reshape(arange(0, n, 1, kFloat64), shape); }
bool shares(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }
}  // namespace

TEST_CASE("views: every view op shares storage and has libtorch's sizes, strides and offset") {
  const Tensor m = arange_f64(24, {2, 3, 4});
  CHECK(m.strides() == Shape{12, 4, 1});
  CHECK(m.is_contiguous());
  struct Case {
    const char* name;
    Tensor v;
    Shape sizes, strides;
    std::int64_t offset;
    bool contiguous;
  };
  const std::vector<Case> cases = {
      {"transpose", m.transpose(0, 2), {4, 3, 2}, {1, 4, 12}, 0, false},
      {"permute", m.permute({1, 2, 0}), {3, 4, 2}, {4, 1, 12}, 0, false},
      {"select", m.select(1, 2), {2, 4}, {12, 1}, 8, false},
      {"select dim 0", m[1], {3, 4}, {4, 1}, 12, true},
      {"slice step", m.slice(2, 1, 4, 2), {2, 3, 2}, {12, 4, 2}, 1, false},
      {"narrow", m.narrow(1, 1, 2), {2, 2, 4}, {12, 4, 1}, 4, false},
      {"expand", m.select(2, 0).unsqueeze(0).expand({5, 2, 3}), {5, 2, 3}, {0, 12, 4}, 0, false},
      {"diagonal", m.diagonal(1, 1, 2), {2, 3}, {12, 5}, 1, false},
      {"unfold", m.select(0, 0).select(0, 0).unfold(0, 2, 1), {3, 2}, {1, 1}, 0, false},
      {"as_strided", m.as_strided({2, 2}, {3, 1}, 5), {2, 2}, {3, 1}, 5, false},
      {"unsqueeze", m.unsqueeze(1), {2, 1, 3, 4}, {12, 12, 4, 1}, 0, true},
      {"view", m.view({6, 4}), {6, 4}, {4, 1}, 0, true},
      {"view of a narrow", m.narrow(2, 0, 2).view({2, 3, 2}), {2, 3, 2}, {12, 4, 1}, 0, false},
      {"squeeze", m.select(1, 0).unsqueeze(1).squeeze(1), {2, 4}, {12, 1}, 0, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(shares(c.v, m));
    CHECK(c.v.sizes() == c.sizes);
    CHECK(c.v.strides() == c.strides);
    CHECK(c.v.storage_offset() == c.offset);
    CHECK(c.v.is_contiguous() == c.contiguous);
    // the values are those of the strided positions
    const auto v = c.v.to_vector<double>();
    const Tensor flat = c.v.contiguous();
    CHECK(flat.is_contiguous());
    CHECK(flat.to_vector<double>() == v);
    std::int64_t k = 0;
    const Shape st = c.v.strides();
    std::vector<std::int64_t> idx(c.sizes.size(), 0);
    for (; k < c.v.numel(); ++k) {
      std::int64_t pos = c.offset;
      for (std::size_t d = 0; d < idx.size(); ++d) pos += idx[d] * st[d];
      CHECK(v[static_cast<std::size_t>(k)] == static_cast<double>(pos));  // m holds 0..23
      for (std::size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < c.sizes[d]) break;
        idx[d] = 0;
      }
    }
  }
  CHECK(m.detach().strides() == Shape{12, 4, 1});
  CHECK(m.transpose(0, 1).detach().strides() == Shape{4, 12, 1});
  CHECK(m.transpose(0, 1).stride(-1) == 1);
  CHECK(m.contiguous().impl() == m.impl());  // already contiguous: the same tensor, as libtorch
}

TEST_CASE("views: in-place writes through a view reach the base (the issue's examples)") {
  Tensor m = zeros({3, 4}, kFloat64);
  m.select(0, 1).fill_(5);
  agt::check_values(m, {0, 0, 0, 0, 5, 5, 5, 5, 0, 0, 0, 0});
  m.t().select(0, 2).add_(1.0);  // column 2, through a non-contiguous view
  agt::check_values(m, {0, 0, 1, 0, 5, 5, 6, 5, 0, 0, 1, 0});
  m.narrow(1, 0, 2).mul_(2.0);
  agt::check_values(m, {0, 0, 1, 0, 10, 10, 6, 5, 0, 0, 1, 0});
  m.diagonal().zero_();
  agt::check_values(m, {0, 0, 1, 0, 10, 0, 6, 5, 0, 0, 0, 0});
  m.slice(1, 1, 4, 2).copy_(tensor({7.0, 8.0}, {1, 2}, kFloat64));  // broadcast into a strided view
  agt::check_values(m, {0, 7, 1, 8, 10, 7, 6, 8, 0, 7, 0, 8});
  m.permute({1, 0})[3].sub_(0.0);  // operator[] of a view, then a no-op write
  m[2][0].add_(3.0);
  CHECK(m[2][0].item<double>() == 3.0);
  m.t().sub_(ones({4, 3}, kFloat64));
  CHECK(m.sum().item<double>() == doctest::Approx(0 + 7 + 1 + 8 + 10 + 7 + 6 + 8 + 3 + 7 + 0 + 8 - 12));
  // a tensor operand that is a view of the target itself is read before anything is written
  Tensor s = arange_f64(4, {2, 2});
  s.copy_(s.t());
  agt::check_values(s, {0, 2, 1, 3});
  Tensor u = arange_f64(4, {2, 2});
  u.add_(u.t());
  agt::check_values(u, {0, 3, 3, 6});
  // normal_ / uniform_ into a non-contiguous view fill only the view
  Tensor w = zeros({3, 3}, kFloat64);
  uniform_(w.t().select(0, 1), 1.0, 2.0);  // column 1
  for (std::int64_t i = 0; i < 3; ++i) {
    CHECK(w[i][0].item<double>() == 0.0);
    CHECK(w[i][1].item<double>() >= 1.0);
    CHECK(w[i][2].item<double>() == 0.0);
  }
}

TEST_CASE("views: the LSTM forget-gate bias idiom under NoGradGuard changes the parameter") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4));
  Tensor b = lstm->named_parameters()["bias_ih_l0"];
  {
    NoGradGuard g;
    b.narrow(0, 4, 4).fill_(1.0);
  }
  const auto v = b.to_vector<double>();
  for (std::size_t i = 4; i < 8; ++i) CHECK(v[i] == 1.0);
  CHECK(b.requires_grad());
  CHECK(b.is_leaf());
}

TEST_CASE("views: base and views share one version counter; a saved tensor changed through a view is caught") {
  Tensor x = agt::input({2, 3});
  Tensor y = exp(x);  // saves its output
  Tensor loss = y.sum();
  const auto v0 = x.version();
  {
    NoGradGuard g;
    Tensor yv = y.detach().t();
    yv.select(0, 1).mul_(2.0);  // writes into y's storage through a non-contiguous view
    CHECK(y.version() == yv.version());
  }
  CHECK(x.version() == v0);
  const std::string msg = agt::error_message([&] { loss.backward(); });
  CHECK(msg.find("modified by an in-place operation") != std::string::npos);
  CHECK(!x.grad().defined());
}

TEST_CASE("views: in-place ops that would bypass the tape or write one element twice throw, changing nothing") {
  Tensor leaf = agt::input({2, 3});
  const auto before = leaf.to_vector<double>();
  // a view recorded on the tape (grad mode on, base requires grad)
  CHECK(agt::error_message([&] { leaf.t().fill_(0.0); }).find("recorded on the tape") != std::string::npos);
  // a view made under NoGradGuard of a tensor requiring grad, written with grad mode on
  Tensor v;
  {
    NoGradGuard g;
    v = leaf.select(0, 1);
  }
  std::string msg = agt::error_message([&] { v.add_(1.0); });
  CHECK(msg.find("add_: ") == 0);
  CHECK(msg.find("made while grad mode was off") != std::string::npos);
  CHECK(agt::error_message([&] { normal_(v); }).find("grad mode was off") != std::string::npos);
  CHECK(leaf.to_vector<double>() == before);
  {
    NoGradGuard g;
    v.add_(1.0);  // allowed without grad mode, as libtorch
  }
  CHECK(leaf.to_vector<double>()[3] == doctest::Approx(before[3] + 1.0));
  // detach() is not such a view, even under NoGradGuard (libtorch): writing into it is allowed
  Tensor d;
  {
    NoGradGuard g;
    d = leaf.detach();
  }
  d.select(0, 0).fill_(2.0);
  CHECK(leaf.to_vector<double>()[0] == 2.0);
  // an expanded view: more than one element refers to one memory location
  Tensor c = zeros({3}, kFloat64);
  Tensor e = c.unsqueeze(0).expand({2, 3});
  msg = agt::error_message([&] { e.fill_(1.0); });
  CHECK(msg.find("fill_: unsupported operation: more than one element") == 0);
  CHECK(c.to_vector<double>() == std::vector<double>{0, 0, 0});
  // view() that no strides can express names reshape
  msg = agt::error_message([&] { arange_f64(6, {2, 3}).t().view({6}); });
  CHECK(msg.find("view: size [6] is not compatible") == 0);
  CHECK(msg.find("reshape") != std::string::npos);
  // data<T>() refuses a non-contiguous view; data_ptr<T>() is the first element, as libtorch
  const Tensor m = arange_f64(6, {2, 3});
  CHECK(agt::error_message([&] { (void)m.t().data<double>(); }).find("non-contiguous view") != std::string::npos);
  CHECK(m.t().data_ptr<double>() == m.data<double>());
  CHECK(m[1].data<double>() == m.data<double>() + 3);
  // as_strided past the storage
  CHECK(agt::error_message([&] {
          (void)m.as_strided({2, 2}, {3, 1}, 3);
        }).find("outside the storage") != std::string::npos);
}

TEST_CASE("views: reshape is a view when the strides allow, else a copy; the cached copy follows writes") {
  const Tensor m = arange_f64(24, {2, 3, 4});
  const Tensor n = m.narrow(2, 0, 2);         // [2, 3, 2], strides [12, 4, 1]
  CHECK(shares(n.reshape({2, 3, 2, 1}), m));  // a size-1 dim: a view
  CHECK(shares(m.transpose(0, 1).reshape({3, 2, 4}), m));
  CHECK(!shares(m.transpose(1, 2).reshape({2, 12}), m));  // must copy
  agt::check_values(m.transpose(1, 2).reshape({2, 12}).select(0, 0), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(shares(m.permute({2, 0, 1}).flatten(1), m));  // dims 1, 2 of [4, 2, 3] / [1, 12, 4] stay one run
  CHECK(!shares(m.permute({2, 0, 1}).flatten(0, 1), m));
  CHECK(shares(m.select(2, 1).unsqueeze(0), m));
  // reading a view, writing its base, reading again: the values follow
  Tensor base = arange_f64(6, {2, 3});
  const Tensor vt = base.t();
  CHECK(exp(vt).to_vector<double>()[1] == doctest::Approx(std::exp(3.0)));
  base.add_(1.0);
  CHECK(exp(vt).to_vector<double>()[1] == doctest::Approx(std::exp(4.0)));
  agt::check_values(vt, {1, 4, 2, 5, 3, 6});
}

TEST_CASE("views: matmul reads a transposed view through the GEMM's transpose flag, without a copy") {
  const Tensor a = agt::input({3, 5}, 0.2, 1.0, 0.0, false), b = agt::input({4, 5}, 0.7, 1.0, 0.0, false);
  const Tensor bt = b.t();
  const Tensor y = matmul(a, bt);
  CHECK(bt.impl()->view->dense == nullptr);  // never laid out contiguously
  agt::check_values(y, matmul(a, bt.contiguous()).to_vector<double>(), 1e-14);
  const Tensor at = a.t();
  const Tensor z = mm(at.t(), bt);
  CHECK(at.impl()->view->dense == nullptr);
  agt::check_values(z, y.to_vector<double>(), 1e-14);
  // batched: transpose of the last two dims
  const Tensor p = agt::input({2, 3, 4}, 0.1, 1.0, 0.0, false), q = agt::input({2, 5, 4}, 0.3, 1.0, 0.0, false);
  const Tensor qt = q.transpose(1, 2);
  const Tensor r = matmul(p, qt);
  CHECK(qt.impl()->view->dense == nullptr);
  agt::check_values(r, matmul(p, qt.contiguous()).to_vector<double>(), 1e-14);
  // gradients through the flagged path
  agt::check_both_orders([](const std::vector<Tensor>& x) { return matmul(x[0], x[1].t()).tanh().sum(); },
                         {agt::input({3, 5}, 0.2), agt::input({4, 5}, 0.7)});
}

TEST_CASE("views: gradients through every view op, to second order") {
  const Tensor x = agt::input({3, 4}, 0.3);
  const std::vector<std::pair<const char*, agt::TensorFn>> fns = {
      {"t", [](const std::vector<Tensor>& v) { return (v[0].t() * v[0].t()).exp().sum(); }},
      {"permute",
       [](const std::vector<Tensor>& v) {
         return v[0].unsqueeze(0).permute({2, 0, 1}).tanh().sum();
       }},
      {"select",
       [](const std::vector<Tensor>& v) { return (v[0].select(1, 2) * v[0].select(0, 1).narrow(0, 0, 3)).sum(); }},
      {"slice", [](const std::vector<Tensor>& v) { return v[0].slice(1, 0, 4, 3).exp().sum(); }},
      {"narrow", [](const std::vector<Tensor>& v) { return v[0].narrow(0, 1, 2).pow(3.0).sum(); }},
      {"expand",
       [](const std::vector<Tensor>& v) {
         return (v[0].select(0, 0).expand({2, 4}) * v[0].narrow(0, 0, 2)).sum();
       }},
      {"diagonal",
       [](const std::vector<Tensor>& v) {
         return sin(v[0].diagonal(1)).sum() + square(v[0].diagonal(-1, 1, 0)).sum();
       }},
      {"unfold", [](const std::vector<Tensor>& v) { return v[0].unfold(1, 3, 1).tanh().sum(); }},
      {"as_strided",
       [](const std::vector<Tensor>& v) {
         return square(v[0].as_strided({3, 3}, {1, 2}, 1)).sum();
       }},
      {"unbind", [](const std::vector<Tensor>& v) { return (unbind(v[0].t(), 0)[1] * unbind(v[0], 1)[2]).sum(); }},
      {"view of t", [](const std::vector<Tensor>& v) { return sin(cumsum(v[0].t().reshape({12}), 0)).sum(); }},
      {"operator[]", [](const std::vector<Tensor>& v) { return (v[0][1] * v[0][2]).sum(); }},
      {"contiguous", [](const std::vector<Tensor>& v) { return v[0].t().contiguous().exp().sum(); }},
  };
  for (const auto& [name, fn] : fns) {
    CAPTURE(name);
    agt::check_both_orders(fn, {x});
  }
}

TEST_CASE("views: every op computes on a non-contiguous input what it computes on its contiguous copy") {
  // x is [3, 4] transposed from a [4, 3] leaf; y a [3, 4] strided slice of a [3, 8] leaf
  const Tensor bx = agt::input({4, 3}, 0.4, 0.8, 0.1), by = agt::input({3, 8}, 0.9, 0.8, 1.6);
  using F = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::pair<const char*, F>> ops = {
      {"add", [](auto& a, auto& b) { return add(a, b); }},
      {"sub", [](auto& a, auto& b) { return sub(a, b); }},
      {"mul", [](auto& a, auto& b) { return mul(a, b); }},
      {"div", [](auto& a, auto& b) { return div(a, b); }},
      {"pow", [](auto& a, auto& b) { return pow(b, 2.5) * a; }},
      {"exp log sqrt", [](auto& a, auto& b) { return exp(a) + log(b) + sqrt(b); }},
      {"tanh sigmoid relu abs", [](auto& a, auto&) { return tanh(a) + sigmoid(a) + relu(a) + abs(a); }},
      {"trig", [](auto& a, auto& b) { return sin(a) + cos(b) + atan2(a, b) + erf(a) + log1p(b) + rsqrt(b); }},
      {"clamp", [](auto& a, auto&) { return clamp(a, -0.3, 0.4); }},
      {"minimum maximum", [](auto& a, auto& b) { return minimum(a, b) + maximum(a, b); }},
      {"lerp addcmul", [](auto& a, auto& b) { return lerp(a, b, 0.3) + addcmul(a, a, b, 0.5); }},
      {"sum dim", [](auto& a, auto&) { return sum(a, 1); }},
      {"mean", [](auto& a, auto& b) { return mean(a, 0) + mean(b); }},
      {"max dim", [](auto& a, auto&) { return max(a, 1).values; }},
      {"amax", [](auto& a, auto&) { return amax(a, 0); }},
      {"var std", [](auto& a, auto&) { return var(a, 1) + ag::std(a, 1); }},
      {"prod cumsum", [](auto& a, auto& b) { return prod(b, 1) + cumsum(a, 1).sum(1); }},
      {"cumprod", [](auto& a, auto&) { return cumprod(a, 0); }},
      {"sort", [](auto& a, auto&) { return std::get<0>(sort(a, 1)); }},
      {"topk", [](auto& a, auto&) { return std::get<0>(topk(a, 2, 1)); }},
      {"softmax", [](auto& a, auto&) { return softmax(a, 1) + log_softmax(a, 0); }},
      {"logsumexp", [](auto& a, auto&) { return logsumexp(a, 1); }},
      {"matmul", [](auto& a, auto& b) { return matmul(a, b.t()); }},
      {"linear", [](auto& a, auto& b) { return linear(a, b, b.select(1, 0)); }},
      {"outer dot", [](auto& a, auto& b) { return outer(a.select(1, 1), b.select(1, 2)) * dot(a[0], b[1]); }},
      {"cat stack",
       [](auto& a, auto& b) {
         return cat({a, b}, 1).sum(1) + stack({a, b}, 0).sum(0).sum(1);
       }},
      {"index_select",
       [](auto& a, auto&) {
         return index_select(a, 1, tensor({3, 0, 3}, {3}, kInt64));
       }},
      {"gather",
       [](auto& a, auto&) {
         return gather(a, 1, tensor({0, 1, 2, 3, 3, 2}, {3, 2}, kInt64));
       }},
      {"where", [](auto& a, auto& b) { return where(gt(a, b), a, b); }},
      {"to float32 and back", [](auto& a, auto&) { return a.to(kFloat32).to(kFloat64); }},
      {"clone", [](auto& a, auto&) { return a.clone(); }},
      {"softmax_cross_entropy",
       [](auto& a, auto&) {
         return softmax_cross_entropy(a, tensor({1, 0, 3}, {3}, kInt64));
       }},
      {"rnn_tanh_cell",
       [](auto& a, auto& b) {
         return rnn_tanh_cell(a, a.narrow(1, 0, 3), b.narrow(0, 0, 3), b.t().narrow(0, 0, 3), Tensor(), Tensor());
       }},
  };
  for (const auto& [name, op] : ops) {
    CAPTURE(name);
    agt::check_same_function(
        // (+ 0 * sum(by): every input takes part in the graph, for ops that read only one)
        [&](const std::vector<Tensor>& v) { return op(v[0].t(), v[1].slice(1, 1, 8, 2)) + v[1].sum() * 0.0; },
        [&](const std::vector<Tensor>& v) {
          return op(v[0].t().contiguous(), v[1].slice(1, 1, 8, 2).contiguous()) + v[1].sum() * 0.0;
        },
        {bx, by}, 1e-13);
  }
}

TEST_CASE("views: as_strided refuses a storage offset past the storage, even for an empty view (fuzz finding)") {
  const Tensor m = zeros({2, 3}, kFloat64);
  const std::string msg =
      agt::error_message([&] { (void)m.as_strided({0}, {1}, std::numeric_limits<std::int64_t>::max()); });
  CHECK(msg.find("as_strided: ") == 0);
  CHECK(msg.find("outside the storage") != std::string::npos);
  CHECK(m.as_strided({0}, {1}, 6).numel() == 0);  // at the end of the storage: allowed, as libtorch
}

TEST_CASE("clone of a contiguous tensor at an offset (narrow) copies from the offset") {
  Tensor b = arange(6, TensorOptions().dtype(kFloat64));
  CHECK(b.narrow(0, 2, 4).clone().to_vector<double>() == std::vector<double>{2, 3, 4, 5});
  CHECK(b.narrow(0, 2, 4).view({2, 2}).clone().to_vector<double>() == std::vector<double>{2, 3, 4, 5});
  Tensor f = arange(6, TensorOptions().dtype(kFloat32));
  CHECK(f.narrow(0, 1, 2).clone().to_vector<float>() == std::vector<float>{1, 2});
}

namespace {
// Element (i, j, ...) of any view, read through its strides from the storage (the reference for copies).
template <class T>
std::vector<T> read_through_strides(const Tensor& v) {
  const Shape sizes = v.shape(), st = v.strides();
  std::vector<T> out;
  std::vector<std::int64_t> idx(sizes.size(), 0);
  for (std::int64_t n = 0; n < v.numel(); ++n) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < sizes.size(); ++d) off += idx[d] * st[d];
    out.push_back(v.data_ptr<T>()[off]);
    for (std::size_t d = sizes.size(); d-- > 0;) {
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
}  // namespace

TEST_CASE("views: contiguous() of a view with its last two dims transposed copies every element (tiled copy)") {
  // kernels::transposed_copy: tiles of 16, edges, leading dims with their own strides, an offset,
  // stride 0, float32 and float64, one thread and two
  for (int threads : {1, 2}) {
    const int saved = get_num_threads();
    set_num_threads(threads);
    for (std::int64_t r : {16, 17, 31, 64, 100, 1024})
      for (std::int64_t c : {16, 33, 256}) {
        INFO("threads ", threads, ", ", r, "x", c);
        const Tensor m = arange_f64(r * c, {c, r});
        const Tensor t = m.t();  // [r, c], strides [1, r]
        CHECK(t.contiguous().to_vector<double>() == read_through_strides<double>(t));
        const Tensor f = m.to(kFloat32).t();
        CHECK(f.contiguous().to_vector<float>() == read_through_strides<float>(f));
        const Tensor part = t.narrow(0, 1, r - 1).narrow(1, 2, c - 2);  // an offset, edges not multiples of 16
        CHECK(part.contiguous().to_vector<double>() == read_through_strides<double>(part));
      }
    const Tensor b = arange_f64(5 * 40 * 3 * 24, {5, 40, 3, 24});
    const Tensor p = b.permute({0, 2, 3, 1});  // [5, 3, 24, 40], strides [2880, 24, 1, 72]
    CHECK(p.strides() == Shape{2880, 24, 1, 72});
    CHECK(p.contiguous().to_vector<double>() == read_through_strides<double>(p));
    const Tensor col = arange_f64(40, {40, 1}).expand({40, 20});  // strides [1, 0]
    CHECK(col.contiguous().to_vector<double>() == read_through_strides<double>(col));
    set_num_threads(saved);
  }
}
