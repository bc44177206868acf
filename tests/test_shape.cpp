// Shape ops: reshape/view/flatten/squeeze/unsqueeze (sharing storage), transpose/t/permute/expand
// (copies), broadcast_to and sum_to; values, gradients and errors.
#include "test_util.h"

using namespace ag;

namespace {

void check_both(const GradcheckFn& fn, const Tensor& x) {
  agt::check_gradients(fn, {x});
  agt::check_second_gradients(fn, {x});
}

// A function of in[0] whose output is not a plain copy of the input, so that the gradient
// of the shape op is checked against non-trivial upstream gradients.
template <class Op>
GradcheckFn through(Op op) {
  return [op](const std::vector<Tensor>& in) { return op(in[0]) * op(in[0]); };
}

std::vector<double> iota(int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace

TEST_CASE("reshape and view: -1 inference, shared storage, errors") {
  Tensor x = arange(6.0, kFloat64);
  Tensor r = reshape(x, {2, 3});
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.data<double>() == x.data<double>());
  CHECK(reshape(x, {-1, 2}).shape() == Shape{3, 2});
  CHECK(reshape(x, {3, -1}).shape() == Shape{3, 2});
  CHECK(reshape(x, {1, -1, 1}).shape() == Shape{1, 6, 1});
  CHECK(x.view({2, 1, 3}).shape() == Shape{2, 1, 3});
  CHECK(view(x, {6}).data<double>() == x.data<double>());
  CHECK(reshape(tensor({5.0}), {}).dim() == 0);
  CHECK(reshape(scalar_tensor(5.0), {1, 1}).shape() == Shape{1, 1});
  CHECK(reshape(zeros({0, 3}), {3, 0}).shape() == Shape{3, 0});
  agt::check_values(reshape(x, {3, 2}), iota(6));

  CHECK_THROWS_AS(reshape(x, {4}), Error);
  CHECK_THROWS_AS(reshape(x, {-1, -1}), Error);
  CHECK_THROWS_AS(reshape(x, {-1, 4}), Error);
  CHECK_THROWS_AS(reshape(x, {-2, 3}), Error);
  CHECK_THROWS_AS(reshape(x, {-1, 0}), Error);
  CHECK_THROWS_AS(view(x, {5}), Error);
  try {
    reshape(x, {4});
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("reshape") != std::string::npos);
    CHECK(m.find("[4]") != std::string::npos);
    CHECK(m.find("[6]") != std::string::npos);
  }

  const Tensor in = agt::input({2, 3});
  check_both(through([](const Tensor& t) { return reshape(t, {3, -1}); }), in);
  check_both(through([](const Tensor& t) { return view(t, {6}); }), in);
  check_both(through([](const Tensor& t) { return reshape(t, {}); }), agt::input({1, 1}));
}

TEST_CASE("flatten over ranges of dims") {
  Tensor x = zeros({2, 3, 4, 5});
  CHECK(flatten(x).shape() == Shape{120});
  CHECK(x.flatten(1).shape() == Shape{2, 60});
  CHECK(flatten(x, 1, 2).shape() == Shape{2, 12, 5});
  CHECK(flatten(x, 0, 1).shape() == Shape{6, 4, 5});
  CHECK(flatten(x, -2, -1).shape() == Shape{2, 3, 20});
  CHECK(flatten(x, 2, 2).shape() == Shape{2, 3, 4, 5});
  CHECK(flatten(scalar_tensor(1.0)).shape() == Shape{1});
  CHECK(flatten(x, 1).data<float>() == x.data<float>());
  CHECK_THROWS_AS(flatten(x, 2, 1), Error);
  CHECK_THROWS_AS(flatten(x, 0, 4), Error);
  CHECK_THROWS_AS(flatten(x, -5), Error);

  check_both(through([](const Tensor& t) { return flatten(t, 1, 2); }), agt::input({2, 2, 3}));
  check_both(through([](const Tensor& t) { return flatten(t); }), agt::input({2, 3}));
}

TEST_CASE("squeeze and unsqueeze, negative dims, errors") {
  Tensor x = zeros({1, 3, 1, 2});
  CHECK(squeeze(x).shape() == Shape{3, 2});
  CHECK(x.squeeze(0).shape() == Shape{3, 1, 2});
  CHECK(squeeze(x, 2).shape() == Shape{1, 3, 2});
  CHECK(squeeze(x, -2).shape() == Shape{1, 3, 2});
  CHECK(squeeze(x, 1).shape() == Shape{1, 3, 1, 2});  // size 3: unchanged
  CHECK(squeeze(ones({1, 1})).dim() == 0);
  CHECK(squeeze(scalar_tensor(2.0), 0).dim() == 0);
  CHECK(squeeze(x).data<float>() == x.data<float>());
  CHECK_THROWS_AS(squeeze(x, 4), Error);
  CHECK_THROWS_AS(squeeze(x, -5), Error);

  Tensor y = zeros({2, 3});
  CHECK(unsqueeze(y, 0).shape() == Shape{1, 2, 3});
  CHECK(y.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(unsqueeze(y, 2).shape() == Shape{2, 3, 1});
  CHECK(unsqueeze(y, -1).shape() == Shape{2, 3, 1});
  CHECK(unsqueeze(y, -3).shape() == Shape{1, 2, 3});
  CHECK(unsqueeze(scalar_tensor(1.0), 0).shape() == Shape{1});
  CHECK(unsqueeze(y, 0).data<float>() == y.data<float>());
  CHECK_THROWS_AS(unsqueeze(y, 3), Error);
  CHECK_THROWS_AS(unsqueeze(y, -4), Error);

  check_both(through([](const Tensor& t) { return squeeze(t); }), agt::input({1, 3, 1}));
  check_both(through([](const Tensor& t) { return squeeze(t, -1); }), agt::input({2, 1}));
  check_both(through([](const Tensor& t) { return unsqueeze(t, -2); }), agt::input({2, 3}));
}

TEST_CASE("transpose (3-D, negative dims), t() and permute") {
  Tensor x = arange(24.0, kFloat64).reshape({2, 3, 4});
  Tensor y = transpose(x, 0, 2);
  CHECK(y.shape() == Shape{4, 3, 2});
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k)
        CHECK(yv[static_cast<std::size_t>((i * 3 + j) * 2 + k)] == xv[static_cast<std::size_t>((k * 3 + j) * 4 + i)]);
  CHECK(transpose(x, -1, -3).to_vector<double>() == yv);
  Tensor z = x.transpose(1, -1);
  CHECK(z.shape() == Shape{2, 4, 3});
  CHECK(z.to_vector<double>()[1] == 4.0);  // z[0][0][1] = x[0][1][0]
  CHECK(transpose(x, 1, 1).to_vector<double>() == xv);
  CHECK(transpose(scalar_tensor(1.0), 0, -1).dim() == 0);
  CHECK_THROWS_AS(transpose(x, 0, 3), Error);
  CHECK_THROWS_AS(transpose(x, -4, 0), Error);
  CHECK_THROWS_AS(transpose(scalar_tensor(1.0), 0, 1), Error);

  Tensor m = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(t(m).shape() == Shape{3, 2});
  agt::check_values(m.t(), {1, 4, 2, 5, 3, 6});
  CHECK(t(arange(3.0)).shape() == Shape{3});
  CHECK(t(scalar_tensor(1.0)).dim() == 0);
  CHECK_THROWS_AS(t(x), Error);

  Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  const auto pv = p.to_vector<double>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k)
        CHECK(pv[static_cast<std::size_t>((i * 2 + j) * 3 + k)] == xv[static_cast<std::size_t>((j * 3 + k) * 4 + i)]);
  CHECK(permute(x, {-1, 0, -2}).to_vector<double>() == pv);
  CHECK(permute(x, {0, 1, 2}).to_vector<double>() == xv);
  CHECK(permute(ones({2, 3}, kInt64), {1, 0}).shape() == Shape{3, 2});
  CHECK_THROWS_AS(permute(x, {0, 1}), Error);
  CHECK_THROWS_AS(permute(x, {0, 1, 1}), Error);
  CHECK_THROWS_AS(permute(x, {0, 1, 3}), Error);

  const Tensor in = agt::input({2, 3, 4});
  check_both(through([](const Tensor& v) { return transpose(v, 0, 2); }), in);
  check_both(through([](const Tensor& v) { return transpose(v, -1, 1); }), in);
  check_both(through([](const Tensor& v) { return t(v); }), agt::input({2, 3}));
  check_both(through([](const Tensor& v) { return permute(v, {1, 2, 0}); }), in);
  check_both(through([](const Tensor& v) { return permute(v, {2, 0, 1}); }), in);
}

TEST_CASE("expand and broadcast_to: -1, new leading dims, errors") {
  Tensor x = tensor({1, 2, 3}, {3, 1}, kFloat64);
  Tensor e = expand(x, {3, 2});
  CHECK(e.shape() == Shape{3, 2});
  agt::check_values(e, {1, 1, 2, 2, 3, 3});
  Tensor f = x.expand({2, -1, 4});
  CHECK(f.shape() == Shape{2, 3, 4});
  const auto fv = f.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(fv[static_cast<std::size_t>((i * 3 + j) * 4 + k)] == j + 1);
  CHECK(expand(x, {-1, -1}).shape() == Shape{3, 1});
  CHECK(expand(scalar_tensor(7.0), {2, 2}).to_vector<double>() == std::vector<double>{7, 7, 7, 7});
  CHECK(expand(x, {3, 0}).shape() == Shape{3, 0});
  CHECK_THROWS_AS(expand(x, {4, 2}), Error);
  CHECK_THROWS_AS(expand(x, {2}), Error);
  CHECK_THROWS_AS(expand(x, {-1, 3, 2}), Error);
  CHECK_THROWS_AS(expand(x, {3, -2}), Error);

  Tensor b = broadcast_to(tensor({1, 2, 3}, {3}, kFloat64), {2, 3});
  agt::check_values(b, {1, 2, 3, 1, 2, 3});
  CHECK_THROWS_AS(broadcast_to(x, {3, -1}), Error);
  CHECK_THROWS_AS(broadcast_to(x, {3, 2, 2}), Error);

  check_both(through([](const Tensor& v) { return expand(v, {2, -1, 4}); }), agt::input({3, 1}));
  check_both(through([](const Tensor& v) { return expand(v, {2, 3}); }), agt::input({}));
  check_both(through([](const Tensor& v) { return broadcast_to(v, {4, 2, 3}); }), agt::input({2, 1}));
}

TEST_CASE("sum_to undoes broadcasting") {
  Tensor g = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  agt::check_values(sum_to(g, {3}), {5, 7, 9});
  agt::check_values(sum_to(g, {1, 3}), {5, 7, 9});
  agt::check_values(sum_to(g, {2, 1}), {6, 15});
  CHECK(sum_to(g, {}).dim() == 0);
  CHECK(sum_to(g, {}).item<double>() == 21.0);
  CHECK(sum_to(g, {2, 3}).impl() == g.impl());  // same shape: x itself
  Tensor h = arange(24.0, kFloat64).reshape({2, 3, 4});
  agt::check_values(sum_to(h, {3, 1}), {0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                        8 + 9 + 10 + 11 + 20 + 21 + 22 + 23});
  CHECK_THROWS_AS(sum_to(g, {4}), Error);
  CHECK_THROWS_AS(sum_to(g, {2}), Error);
  CHECK_THROWS_AS(sum_to(g, {1, 2, 3}), Error);

  check_both(through([](const Tensor& v) { return sum_to(v, {3}); }), agt::input({2, 3}));
  check_both(through([](const Tensor& v) { return sum_to(v, {2, 1, 4}); }), agt::input({2, 3, 4}));
  check_both(through([](const Tensor& v) { return sum_to(v, {}); }), agt::input({2, 2}));
}
