// unbind: the slices along a dim as one node with one output per slice (views of the input),
// gradchecked with unused outputs and an output used twice, and its errors.
#include "test_util.h"

using namespace ag;

TEST_CASE("unbind: values equal select along every dim; every slice is a view of the storage") {
  const Tensor x = agt::input({3, 2, 4}, 0.4, 1.0, 0.0, false);
  for (std::int64_t d : {0, 1, 2, -1, -3}) {
    CAPTURE(d);
    const std::vector<Tensor> ys = unbind(x, d);
    const auto dim = d < 0 ? d + 3 : d;
    REQUIRE(ys.size() == static_cast<std::size_t>(x.size(dim)));
    for (std::size_t i = 0; i < ys.size(); ++i) {
      const Tensor s = select(x, dim, static_cast<std::int64_t>(i));
      CHECK(ys[i].shape() == s.shape());
      CHECK(ys[i].to_vector<double>() == s.to_vector<double>());
    }
  }
  // dim 0: slice i starts at element i * 8 of x's buffer; a change of x in place shows in the slices
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {3, 2}, kFloat64);
  const std::vector<Tensor> rows = unbind(a, 0);
  CHECK(rows[2].data<double>() == a.data<double>() + 4);
  CHECK(rows[1].impl()->storage == a.impl()->storage);
  const std::vector<Tensor> cols = unbind(a, 1);
  a.add_(10.0);
  agt::check_values(rows[1], {13, 14});
  CHECK(rows[1].version() == a.version());
  agt::check_values(cols[1], {12, 14, 16});  // views too (strided), as libtorch's
  CHECK(cols[1].strides() == Shape{2});
  // an alias of an alias (reshape of a slice) and a slice of a reshaped alias keep the offsets
  agt::check_values(reshape(rows[2], {2, 1}), {15, 16});
  agt::check_values(unbind(unbind(reshape(a, {3, 1, 2}), 0)[1], 0)[0], {13, 14});
  // int64, and zero-size dims
  const std::vector<Tensor> ints = unbind(tensor({1, 2, 3, 4}, {2, 2}, kInt64), 1);
  CHECK(ints[1].to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 4});
  CHECK(unbind(zeros({0, 3}, kFloat64), 0).empty());
  const std::vector<Tensor> empties = unbind(zeros({2, 0}, kFloat64), 0);
  REQUIRE(empties.size() == 2);
  CHECK(empties[1].shape() == Shape{0});
  CHECK(unbind(zeros({4}, kFloat64))[3].shape() == Shape{});
}

TEST_CASE("unbind: one node with one output per slice; gradchecked with unused outputs and reuse") {
  const Tensor x = agt::input({3, 2, 4}, 0.7);
  const auto before = Tape::current().num_nodes();
  std::vector<Tensor> ys = unbind(x, 1);
  REQUIRE(Tape::current().num_nodes() == before + 1);
  CHECK(Tape::current().node(before)->name == std::string("unbind"));
  CHECK(Tape::current().node(before)->num_outputs == 2);
  for (std::int64_t d : {0, 1, 2}) {
    CAPTURE(d);
    // output 0 used once, output 1 unused (for dim 0 and 2) or used twice, the last one used twice
    const GradcheckFn fn = [d](const std::vector<Tensor>& v) {
      const std::vector<Tensor> s = unbind(v[0], d);
      Tensor y = s[0] * 2.0 + s.back() * s.back();
      if (d == 1) y = y + s[1] * s[1];
      return y;
    };
    agt::check_gradients(fn, {x});
    agt::check_second_gradients(fn, {x});
  }
  // the gradient is the stack of the slices' gradients, zeros for those that got none
  const Tensor w = agt::input({2, 3}, 0.2);
  const std::vector<Tensor> s = unbind(w, 0);
  sum(s[1] * 3.0).backward();
  agt::check_values(w.grad(), {0, 0, 0, 3, 3, 3});
  // grad() through a slice used by two ops (the other slices unused)
  const std::vector<Tensor> s2 = unbind(w, 1);
  const auto g = grad({sum(s2[2] * 2.0 + s2[2])}, {w});
  agt::check_values(g[0], {0, 0, 3, 0, 0, 3});
}

TEST_CASE("unbind: errors name the op and the shapes") {
  const Tensor x = zeros({2, 3}, kFloat64);
  CHECK_THROWS_AS(unbind(x, 2), Error);
  CHECK(agt::error_message([&] { unbind(x, 2); }).find("unbind") == 0);
  CHECK_THROWS_AS(unbind(x, -3), Error);
  CHECK_THROWS_AS(unbind(scalar_tensor(1.0, kFloat64)), Error);
  CHECK(agt::error_message([] {
          unbind(scalar_tensor(1.0, kFloat64));
        }).find("unbind: expects a tensor of rank >= 1, got float64[]") == 0);
  CHECK_THROWS_AS(unbind(Tensor()), Error);
}
