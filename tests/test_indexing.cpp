// libtorch's indexing API: Tensor::index / index_put_ with ag::indexing::{Slice, None, Ellipsis},
// the out-of-place index_put, masked_fill and masked_select. Expected values were produced with
// PyTorch 1.13 (/usr/bin/python3, torch) on x = torch.arange(24.).reshape(2, 3, 4).double(); the
// Python expression is in the comment above each.
#include "test_util.h"

using namespace ag;
using namespace ag::indexing;

namespace {

Tensor iota(const Shape& shape) {
  return arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, kFloat64).reshape(shape);
}

Tensor idx(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor(v, shape, kInt64); }
Tensor idx(const std::vector<std::int64_t>& v) { return idx(v, {static_cast<std::int64_t>(v.size())}); }

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

}  // namespace

TEST_CASE("index: integers, slices, None, Ellipsis and bools give views with PyTorch's values") {
  const Tensor x = iota({2, 3, 4});
  Tensor a = x.index({1});
  CHECK(a.shape() == Shape{3, 4});
  CHECK(shares_storage(a, x));
  agt::check_values(a, {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  // x[1:, :-1:2, -1]
  Tensor b = x.index({Slice(1, None), Slice(None, -1, 2), -1});
  CHECK(b.shape() == Shape{1, 1});
  CHECK(shares_storage(b, x));
  agt::check_values(b, {15});
  // x[..., ::2]
  Tensor c = x.index({Ellipsis, Slice(None, None, 2)});
  CHECK(c.shape() == Shape{2, 3, 2});
  agt::check_values(c, {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22});
  CHECK(x.index({"...", Slice(None, None, 2)}).to_vector<double>() == c.to_vector<double>());
  CHECK(x.index({None, 1, Ellipsis, None}).shape() == Shape{1, 3, 4, 1});
  CHECK(x.index({Slice(), None, 2}).shape() == Shape{2, 1, 4});
  CHECK(x.index({Ellipsis}).shape() == x.shape());
  Tensor leaf = agt::input({2});
  Tensor al = leaf.index({Ellipsis});
  CHECK(shares_storage(al, leaf));
  CHECK_FALSE(al.is_leaf());  // a new view (libtorch's alias), not the leaf's own handle
  CHECK(x.index({}).shape() == x.shape());
  CHECK(x.index({std::int64_t{-2}, Slice(), Slice(2)}).to_vector<double>() == std::vector<double>{2, 3, 6, 7, 10, 11});
  // x[True], x[False]
  CHECK(x.index({true}).shape() == Shape{1, 2, 3, 4});
  CHECK(x.index({false}).shape() == Shape{0, 2, 3, 4});
  CHECK(x.index({Slice(), false, 0}).shape() == Shape{2, 0, 4});
  // a 0-d int64 tensor selects, as an integer does in libtorch
  Tensor d = x.index({Slice(), tensor(std::int64_t{2})});
  CHECK(d.shape() == Shape{2, 4});
  CHECK(shares_storage(d, x));
  agt::check_values(d, {8, 9, 10, 11, 20, 21, 22, 23});
  // the vector overload and the free function
  std::vector<TensorIndex> v{Slice(), 1};
  CHECK(x.index(v).to_vector<double>() == ag::index(x, v).to_vector<double>());
}

TEST_CASE("index: writing into a basic index changes the base") {
  Tensor t = iota({3, 4});
  Tensor col = t.index({Slice(), 1});
  col.fill_(-1);
  agt::check_values(t, {0, -1, 2, 3, 4, -1, 6, 7, 8, -1, 10, 11});
  t.index({1, Slice(2, None)}).copy_(tensor({7.0, 9.0}, {2}, kFloat64));
  agt::check_values(t.index({1}), {4, -1, 7, 9});
  t.index({Ellipsis, None, -1}).add_(100.0);
  agt::check_values(t.index({Slice(), 3}), {103, 109, 111});
}

TEST_CASE("index: tensor indices gather as PyTorch's advanced indexing") {
  const Tensor x = iota({2, 3, 4});
  // x[:, [2,0,2]]
  Tensor a = x.index({Slice(), idx({2, 0, 2})});
  CHECK(a.shape() == Shape{2, 3, 4});
  CHECK_FALSE(shares_storage(a, x));
  agt::check_values(a, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 12, 13, 14, 15, 20, 21, 22, 23});
  // x[[1,0],1]
  Tensor b = x.index({idx({1, 0}), 1});
  CHECK(b.shape() == Shape{2, 4});
  agt::check_values(b, {16, 17, 18, 19, 4, 5, 6, 7});
  // x[:, [0,2], [1,3]]: adjacent tensor indices stay in place
  Tensor c = x.index({Slice(), idx({0, 2}), idx({1, 3})});
  CHECK(c.shape() == Shape{2, 2});
  agt::check_values(c, {1, 11, 13, 23});
  // x[[0,1], :, [1,3]]: separated tensor indices go first
  Tensor d = x.index({idx({0, 1}), Slice(), idx({1, 3})});
  CHECK(d.shape() == Shape{2, 3});
  agt::check_values(d, {1, 5, 9, 15, 19, 23});
  // x[0, :, [0,1]]: the integer selects first (libtorch), so [0,1] stays in place
  Tensor e = x.index({0, Slice(), idx({0, 1})});
  CHECK(e.shape() == Shape{3, 2});
  agt::check_values(e, {0, 1, 4, 5, 8, 9});
  // x[:, i2, 1:3] with a 2-D index i2 = [[0,2],[1,1]]
  Tensor f = x.index({Slice(), idx({0, 2, 1, 1}, {2, 2}), Slice(1, 3)});
  CHECK(f.shape() == Shape{2, 2, 2, 2});
  agt::check_values(f, {1, 2, 9, 10, 5, 6, 5, 6, 13, 14, 21, 22, 17, 18, 17, 18});
  // x[[[0],[1]], :, [1,2,3]]: index shapes [2,1] and [3] broadcast to [2,3]
  Tensor g = x.index({idx({0, 1}, {2, 1}), Slice(), idx({1, 2, 3})});
  CHECK(g.shape() == Shape{2, 3, 3});
  agt::check_values(g, {1, 5, 9, 2, 6, 10, 3, 7, 11, 13, 17, 21, 14, 18, 22, 15, 19, 23});
  // x[:, [-1, 0]]
  agt::check_values(x.index({Slice(), idx({-1, 0})}), {8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15});
  // x[-1, [-1], None, ::3]
  Tensor h = x.index({-1, idx({-1}), None, Slice(None, None, 3)});
  CHECK(h.shape() == Shape{1, 1, 2});
  agt::check_values(h, {20, 23});
  // a non-contiguous input: x.transpose(0, 2)[[3, 1], 1:]
  Tensor tr = x.transpose(0, 2).index({idx({3, 1}), Slice(1, None)});
  CHECK(tr.shape() == Shape{2, 2, 2});
  agt::check_values(tr, {7, 19, 11, 23, 5, 17, 9, 21});
  // x[[1,0], ..., [3,1]]: the ellipsis separates the tensor indices, so their dim comes first
  Tensor el = x.index({idx({1, 0}), Ellipsis, idx({3, 1})});
  CHECK(el.shape() == Shape{2, 3});
  agt::check_values(el, {15, 19, 23, 1, 5, 9});
  // empty index tensor
  CHECK(x.index({Slice(), idx({})}).shape() == Shape{2, 0, 4});
  // int64 input
  CHECK(x.to(kInt64).index({idx({1, 1}), 2, 3}).to_vector<std::int64_t>() == std::vector<std::int64_t>{23, 23});
}

TEST_CASE("index: floating 0/1 masks index like their nonzero positions") {
  const Tensor x = iota({2, 3, 4});
  // m = x.sum(-1) > 20; x[m]
  const Tensor m = gt(sum(x, -1), 20.0);
  agt::check_values(m, {0, 1, 1, 1, 1, 1});
  Tensor a = x.index({m});
  CHECK(a.shape() == Shape{5, 4});
  agt::check_values(a, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  // m2 = x[0] % 3 == 1; x[:, m2]
  const Tensor m2 = tensor({0.0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}, {3, 4}, kFloat64);
  Tensor b = x.index({Slice(), m2});
  CHECK(b.shape() == Shape{2, 4});
  agt::check_values(b, {1, 4, 7, 10, 13, 16, 19, 22});
  // x[[1,0,1,0], m2]: the mask's indices broadcast with the others
  agt::check_values(x.index({idx({1, 0, 1, 0}), m2}), {13, 4, 19, 10});
  // x[x > 17]
  Tensor c = x.index({x > 17.0});
  CHECK(c.shape() == Shape{6});
  agt::check_values(c, {18, 19, 20, 21, 22, 23});
  // a float32 mask works on a float64 tensor; a mask followed by a slice takes the dims after it
  Tensor d = x.index({m.to(kFloat32), Slice(1, 3)});
  CHECK(d.shape() == Shape{5, 2});
  agt::check_values(d, {5, 6, 9, 10, 13, 14, 17, 18, 21, 22});
}

TEST_CASE("index: errors name the op, the index, the dim and the shape") {
  const Tensor x = iota({2, 3, 4});
  auto msg = agt::error_message([&] { (void)x.index({Slice(), 3}); });
  CHECK(msg.find("index: index 3 is out of range for dim 1 of size 3 in float64[2, 3, 4]") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({-3}); });
  CHECK(msg.find("index -3 is out of range for dim 0 of size 2") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({Slice(), Slice(), idx({1, 4})}); });
  CHECK(msg.find("index: index 4 is out of range for dim 2 of size 4 in float64[2, 3, 4]") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({0, idx({-4})}); });
  CHECK(msg.find("index -4 is out of range for dim 1 of size 3") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({0, 0, 0, 0}); });
  CHECK(msg.find("too many indices for tensor of dimension 3") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({Ellipsis, 0, Ellipsis}); });
  CHECK(msg.find("single ellipsis") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({Slice(None, None, 0)}); });
  CHECK(msg.find("slice step must be positive") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({Slice(), idx({0, 1}), idx({0, 1, 2})}); });
  CHECK(msg.find("could not be broadcast") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({ones({3, 3}, kFloat64)}); });
  CHECK(msg.find("the shape of the mask float64[3, 3] does not match") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({full({2}, 2.0, kFloat64)}); });
  CHECK(msg.find("a mask must hold only 0 and 1") != std::string::npos);
  msg = agt::error_message([&] { (void)x.index({"..x"}); });
  CHECK(msg.find("TensorIndex") != std::string::npos);
  CHECK(agt::error_message([&] { (void)x.index({Tensor()}); }).find("index") != std::string::npos);
}

TEST_CASE("index_put_: basic indices write through the view, tensor indices scatter (PyTorch's values)") {
  // y[1, :, 1:3] = [[-1., -2.]]
  Tensor y = iota({2, 3, 4});
  y.index_put_({1, Slice(), Slice(1, 3)}, tensor({-1.0, -2.0}, {1, 2}, kFloat64));
  agt::check_values(y, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1, -2, 15, 16, -1, -2, 19, 20, -1, -2, 23});
  // y[x > 17] = 0
  y = iota({2, 3, 4});
  y.index_put_({y > 17.0}, 0.0);
  agt::check_values(y, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0, 0, 0, 0, 0, 0});
  // y[:, [2,0,2]] = -arange(8).reshape(2,1,4): broadcast values, repeated index
  y = iota({2, 3, 4});
  y.index_put_({Slice(), idx({2, 0, 2})}, iota({2, 1, 4}).neg());
  agt::check_values(y, {0, -1, -2, -3, 4, 5, 6, 7, 0, -1, -2, -3, -4, -5, -6, -7, 16, 17, 18, 19, -4, -5, -6, -7});
  // y[[0,0,1], [1,1,2], [3,3,0]] = [-1,-2,-3]: of the repeated (0,1,3), the last write wins
  y = iota({2, 3, 4});
  y.index_put_({idx({0, 0, 1}), idx({1, 1, 2}), idx({3, 3, 0})}, tensor({-1.0, -2.0, -3.0}, {3}, kFloat64));
  agt::check_values(y, {0, 1, 2, 3, 4, 5, 6, -2, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, -3, 21, 22, 23});
  // y[:, x[0] > 6] = [[-1.], [-2.]] (a mask over two dims, values broadcast; vector overload)
  y = iota({2, 3, 4});
  const std::vector<TensorIndex> mk{Slice(), gt(iota({3, 4}), 6.0)};
  y.index_put_(mk, tensor({-1.0, -2.0}, {2, 1}, kFloat64));
  agt::check_values(y, {0, 1, 2, 3, 4, 5, 6, -1, -1, -1, -1, -1, 12, 13, 14, 15, 16, 17, 18, -2, -2, -2, -2, -2});
  // a number through tensor indices, into a non-contiguous view (reaches its base)
  Tensor base = iota({3, 4});
  Tensor tv = base.t();
  tv.index_put_({idx({0, 3}), 2}, -9.0);
  agt::check_values(base, {0, 1, 2, 3, 4, 5, 6, 7, -9, 9, 10, -9});
  // int64 tensors, and float32 values converted to the tensor's dtype as copy_ does
  Tensor n = zeros({4}, kInt64);
  n.index_put_({idx({1, 3})}, 7.0);
  CHECK(n.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 7, 0, 7});
  Tensor f = zeros({2, 2}, kFloat64);
  f.index_put_({idx({1}), idx({0})}, tensor({2.5}, {1}, kFloat32));
  agt::check_values(f, {0, 0, 2.5, 0});
  // leading size-1 dims of the values are dropped, as libtorch's set_item does
  f.index_put_({0}, tensor({4.0, 5.0}, {1, 1, 2}, kFloat64));
  f.index_put_({idx({1}), Slice()}, tensor({6.0, 7.0}, {1, 1, 2}, kFloat64));
  agt::check_values(f, {4, 5, 6, 7});
  // the version counter moves
  const auto v0 = f.version();
  f.index_put_({Slice(), 0}, 1.0);
  CHECK(f.version() > v0);
  const auto v1 = f.version();
  f.index_put_({idx({0})}, 3.0);
  CHECK(f.version() > v1);
  // values that do not broadcast
  CHECK(agt::error_message([&] {
          f.index_put_({idx({0, 1})}, zeros({3}, kFloat64));
        }).find("index_put_: values float64[3] cannot be broadcast to the indexed shape [2, 2]") != std::string::npos);
  CHECK(agt::error_message([&] {
          f.index_put_({0}, zeros({3}, kFloat64));
        }).find("index_put_: values float64[3] cannot be broadcast to the indexed shape [2]") != std::string::npos);
  // an expanded view is refused
  Tensor e = zeros({1}, kFloat64).expand({3});
  CHECK(agt::error_message([&] { e.index_put_({idx({0})}, 1.0); }).find("single memory location") != std::string::npos);
}

TEST_CASE("index_put_: the grad-mode rules of the other in-place ops") {
  Tensor w = agt::input({3, 2});
  auto msg = agt::error_message([&] { w.index_put_({idx({0})}, 0.0); });
  CHECK(msg.find("index_put_: a leaf float64[3, 2] that requires grad") != std::string::npos);
  msg = agt::error_message([&] { w.index_put_({0}, 0.0); });
  CHECK(msg.find("index_put_") != std::string::npos);
  Tensor r = w * 2.0;
  CHECK(agt::error_message([&] {
          r.index_put_({Slice(), 1}, 0.0);
        }).find("a result recorded on the tape") != std::string::npos);
  Tensor plain = zeros({3, 2}, kFloat64);
  CHECK(agt::error_message([&] {
          plain.index_put_({idx({0})}, w.index({0}));
        }).find("requires grad, but an in-place op into") != std::string::npos);
  Tensor nv;
  {
    NoGradGuard ng;
    nv = w.index({0});  // a view of a tensor that requires grad, made with grad mode off
  }
  CHECK(agt::error_message([&] { nv.index_put_({idx({0})}, 1.0); }).find("made while grad mode was off") !=
        std::string::npos);
  {
    NoGradGuard ng;
    w.index_put_({idx({0, 2}), 1}, 5.0);
    w.index_put_({1}, tensor({-1.0, -2.0}, {2}, kFloat64));
  }
  CHECK(w.index({0, 1}).item<double>() == 5.0);
  CHECK(w.index({2, 1}).item<double>() == 5.0);
  agt::check_values(w.index({1}), {-1, -2});
}

TEST_CASE("index: gradients (repeats add up) and gradcheck/gradgradcheck of basic, advanced, mask and mixed") {
  // PyTorch: xg[:, [2,0,2]] * w with w = arange(1, 25).reshape(2,3,4): xg.grad
  Tensor xg = iota({2, 3, 4}).requires_grad_();
  const Tensor w = arange(1.0, 25.0, 1.0, kFloat64).reshape({2, 3, 4});
  sum(xg.index({Slice(), idx({2, 0, 2})}) * w).backward();
  agt::check_values(xg.grad(), {5, 6, 7, 8, 0, 0, 0, 0, 10, 12, 14, 16, 17, 18, 19, 20, 0, 0, 0, 0, 34, 36, 38, 40});

  const Tensor x = agt::input({2, 3, 4});
  const Tensor mask = tensor({0.0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1}, {3, 4}, kFloat64);
  const std::vector<std::vector<TensorIndex>> cases = {
      {1, Slice(None, None, 2)},                        // basic
      {None, Ellipsis, Slice(1, None), -1},             // basic with None and Ellipsis
      {Slice(), idx({2, 0, 2, 2})},                     // one tensor index, repeated
      {idx({1, 0, 1}), Slice(), idx({3, 0, 3})},        // separated tensor indices
      {Slice(), idx({0, 2}, {2, 1}), idx({1, 2, 1})},   // adjacent, broadcasting
      {Slice(), mask},                                  // mask
      {idx({1, 0, 1, 1, 0}), gt(mask, 0.5)},            // tensor and mask
      {-1, idx({0, 0, 2}, {3, 1}), None, Slice(1, 3)},  // mixed
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("case " << k);
    const auto ix = cases[k];
    agt::check_both_orders([ix](const std::vector<Tensor>& in) { return in[0].index(ix); }, {x});
  }
}

TEST_CASE("index_put: out of place and differentiable in self and values") {
  const Tensor x = agt::input({2, 3, 4});
  const Tensor v = agt::input({2, 1, 4}, 2.0);
  const std::vector<TensorIndex> adv{Slice(), idx({2, 0})};
  Tensor y = index_put(x, adv, v);
  CHECK_FALSE(shares_storage(y, x));
  agt::check_values(y.index({Slice(), 0}), v.index({Slice(), 0}).to_vector<double>());
  agt::check_values(y.index({Slice(), 1}), x.index({Slice(), 1}).to_vector<double>());
  agt::check_both_orders([adv](const std::vector<Tensor>& in) { return index_put(in[0], adv, in[1]); }, {x, v});
  const std::vector<TensorIndex> basic{1, Slice(), Slice(1, 3)};
  agt::check_both_orders([basic](const std::vector<Tensor>& in) { return index_put(in[0], basic, in[1]); },
                         {x, agt::input({3, 1}, 3.0)});
  // values with leading size-1 dims
  agt::check_both_orders(
      [](const std::vector<Tensor>& in) {
        return index_put(in[0], {idx({1, 0}), 0}, in[1]);
      },
      {x, agt::input({1, 1, 4}, 5.0)});
  // repeated indices: the last write wins, and every repeat gets the gradient, as in PyTorch:
  // v = ones(4); y = torch.index_put(zeros(2,3,4), ([1,1], 0), v); (y * arange(24.).reshape(2,3,4)).sum()
  // .backward() gives v.grad [24, 26, 28, 30] and x.grad[1, 0] zeros
  Tensor xz = zeros({2, 3, 4}, kFloat64).requires_grad_();
  Tensor v1 = ones({4}, kFloat64).requires_grad_();
  sum(index_put(xz, {idx({1, 1}), 0}, v1) * iota({2, 3, 4})).backward();
  agt::check_values(v1.grad(), {24, 26, 28, 30});
  agt::check_values(xz.grad().index({1, 0}), {0, 0, 0, 0});
  const Tensor mask = tensor({1.0, 0, 0, 1, 0, 1}, {2, 3}, kFloat64);
  agt::check_both_orders([mask](const std::vector<Tensor>& in) { return index_put(in[0], {mask}, in[1]); },
                         {x, agt::input({4}, 4.0)});
  CHECK(agt::error_message([&] { (void)index_put(x, adv, v.to(kFloat32)); }).find("index_put: dtype mismatch") !=
        std::string::npos);
}

TEST_CASE("masked_fill and masked_select: PyTorch's values, broadcasting, gradients") {
  const Tensor x = iota({2, 3, 4});
  const Tensor mf = tensor({1.0, 0, 1, 0}, {1, 4}, kFloat64);
  // x.masked_fill(mf, -5)
  agt::check_values(masked_fill(x, mf, -5.0),
                    {-5, 1, -5, 3, -5, 5, -5, 7, -5, 9, -5, 11, -5, 13, -5, 15, -5, 17, -5, 19, -5, 21, -5, 23});
  agt::check_values(masked_fill(x, mf.to(kInt64), scalar_tensor(-5.0, kFloat64)),
                    masked_fill(x, mf, -5.0).to_vector<double>());
  // x.masked_select(mf)
  agt::check_values(masked_select(x, mf), {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22});
  // torch.masked_select(x[0, :, 0:2], [[1, 0, 1]].T): the mask broadcasts along the last dim
  agt::check_values(masked_select(x.index({0, Slice(), Slice(0, 2)}), idx({1, 0, 1}, {3, 1})), {0, 1, 8, 9});
  CHECK(masked_select(x, zeros({4}, kFloat64)).shape() == Shape{0});
  CHECK(agt::error_message([&] {
          (void)masked_fill(x, ones({3, 3, 4}, kFloat64), 0.0);
        }).find("masked_fill: the mask float64[3, 3, 4] cannot be broadcast") != std::string::npos);
  CHECK(agt::error_message([&] { (void)masked_fill(x, full({4}, 0.5, kFloat64), 0.0); }).find("only 0 and 1") !=
        std::string::npos);
  CHECK(agt::error_message([&] { (void)masked_fill(x, mf, zeros({1}, kFloat64)); }).find("0-dimensional") !=
        std::string::npos);
  const Tensor xi = agt::input({3, 4});
  agt::check_both_orders([mf](const std::vector<Tensor>& in) { return masked_fill(in[0], mf, 2.0); }, {xi});
  agt::check_both_orders([mf](const std::vector<Tensor>& in) { return masked_fill(in[0], mf, in[1]); },
                         {xi, scalar_tensor(0.7, kFloat64).requires_grad_()});
  agt::check_both_orders([mf](const std::vector<Tensor>& in) { return masked_select(in[0], mf); }, {xi});
  agt::check_both_orders(
      [](const std::vector<Tensor>& in) {
        return masked_select(in[0], idx({0, 1, 1}, {3, 1}));
      },
      {agt::input({1, 4})});
}

TEST_CASE("indexing: a kBool mask indexes like a floating 0/1 mask") {
  const Tensor x = reshape(arange(0, 6, 1, kFloat64), {2, 3});
  const Tensor mf = tensor({1.0, 0.0, 1.0}, {3}, kFloat64);
  const Tensor mb = mf.to(kBool);
  CHECK(mb.dtype() == kBool);
  using namespace ag::indexing;
  CHECK(x.index({Slice(), mb}).to_vector<double>() == x.index({Slice(), mf}).to_vector<double>());
  CHECK(x.index({Slice(), mb}).to_vector<double>() == std::vector<double>{0, 2, 3, 5});
}
