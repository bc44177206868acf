// Indexing and joining: select, slice, narrow, index_select, gather, cat, stack.
#include "test_util.h"

using namespace ag;

namespace {

// 0, 1, ..., numel-1 in float64 with the given shape (no grad).
Tensor iota(const Shape& shape) {
  return arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, kFloat64).reshape(shape);
}

Tensor idx(const std::vector<std::int64_t>& v, const Shape& shape = {}) { return tensor(v, shape, kInt64); }

}  // namespace

TEST_CASE("select: forward values on every dim, negative index and dim") {
  const Tensor x = iota({2, 3, 4});
  Tensor a = select(x, 0, 1);
  CHECK(a.shape() == Shape{3, 4});
  agt::check_values(a, {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  Tensor b = select(x, 1, -1);
  CHECK(b.shape() == Shape{2, 4});
  agt::check_values(b, {8, 9, 10, 11, 20, 21, 22, 23});
  Tensor c = select(x, -1, 2);
  CHECK(c.shape() == Shape{2, 3});
  agt::check_values(c, {2, 6, 10, 14, 18, 22});
  Tensor d = select(iota({3}), 0, -3);
  CHECK(d.dim() == 0);
  CHECK(d.item<double>() == 0.0);
  CHECK(x.select(2, -4).to_vector<double>() == std::vector<double>{0, 4, 8, 12, 16, 20});
}

TEST_CASE("select: gradcheck on every dim with positive and negative indices") {
  const Tensor x = agt::input({2, 3, 4});
  for (std::int64_t dim = -3; dim < 3; ++dim)
    for (std::int64_t index : {0, -1}) {
      INFO("dim " << dim << " index " << index);
      agt::check_gradients([dim, index](const std::vector<Tensor>& in) { return select(in[0], dim, index); }, {x});
    }
  // the gradient is g placed at the selected slice, zeros elsewhere
  Tensor y = agt::input({2, 3});
  sum(select(y, 1, -2) * tensor({3.0, 5.0}, {2}, kFloat64)).backward();
  agt::check_values(y.grad(), {0, 3, 0, 0, 5, 0});
  // reuse: x[1] * x (broadcast) sends gradient through both paths
  agt::check_gradients([](const std::vector<Tensor>& in) { return select(in[0], 0, 1) * in[0]; }, {agt::input({2, 3})});
}

TEST_CASE("slice: steps and Python-style clamping of negative and out-of-range bounds") {
  const Tensor x = iota({10});
  agt::check_values(slice(x, 0, 1, 8, 3), {1, 4, 7});
  agt::check_values(slice(x, 0, -3, 100), {7, 8, 9});
  agt::check_values(slice(x, 0, -100, 2), {0, 1});
  agt::check_values(slice(x, 0, 0, 10, 4), {0, 4, 8});
  CHECK(slice(x, 0, 7, 3).shape() == Shape{0});
  CHECK(slice(x, 0, 12, 20).shape() == Shape{0});
  const Tensor m = iota({3, 4});
  Tensor s = slice(m, 1, -3, 4, 2);
  CHECK(s.shape() == Shape{3, 2});
  agt::check_values(s, {1, 3, 5, 7, 9, 11});
  Tensor r = slice(m, -2, 1, 50);
  CHECK(r.shape() == Shape{2, 4});
  agt::check_values(r, {4, 5, 6, 7, 8, 9, 10, 11});
}

TEST_CASE("slice: gradcheck with steps, negative and clamped bounds, on each dim") {
  const Tensor x = agt::input({4, 5, 3});
  struct Case {
    std::int64_t dim, start, end, step;
  };
  for (const Case k : {Case{0, 1, 4, 2}, Case{1, -4, 100, 2}, Case{2, -100, 2, 1}, Case{-1, 0, 3, 3}, Case{1, 0, 5, 1},
                       Case{-3, -2, -1, 1}}) {
    INFO("dim " << k.dim << " [" << k.start << ":" << k.end << ":" << k.step << "]");
    agt::check_gradients([k](const std::vector<Tensor>& in) { return slice(in[0], k.dim, k.start, k.end, k.step); },
                         {x});
  }
  Tensor y = agt::input({5});
  sum(slice(y, 0, -4, 5, 2)).backward();
  agt::check_values(y.grad(), {0, 1, 0, 1, 0});
  CHECK_THROWS_AS(slice(x, 0, 0, 2, 0), Error);
  CHECK_THROWS_AS(slice(x, 0, 0, 2, -1), Error);
  CHECK_THROWS_AS(slice(x, 3, 0, 2), Error);
  CHECK_THROWS_AS(slice(scalar_tensor(1.0), 0, 0, 1), Error);
}

TEST_CASE("narrow: values, gradcheck and range errors") {
  const Tensor m = iota({3, 4});
  agt::check_values(narrow(m, 1, 1, 2), {1, 2, 5, 6, 9, 10});
  agt::check_values(narrow(m, 0, -1, 1), {8, 9, 10, 11});
  CHECK(narrow(m, 0, 3, 0).shape() == Shape{0, 4});
  const Tensor x = agt::input({3, 4, 2});
  agt::check_gradients([](const std::vector<Tensor>& in) { return narrow(in[0], 1, 1, 3); }, {x});
  agt::check_gradients([](const std::vector<Tensor>& in) { return narrow(in[0], -1, 1, 1); }, {x});
  agt::check_gradients([](const std::vector<Tensor>& in) { return narrow(in[0], 0, -2, 2); }, {x});
  CHECK_THROWS_AS(narrow(m, 1, 2, 3), Error);
  CHECK_THROWS_AS(narrow(m, 1, -5, 1), Error);
  CHECK_THROWS_AS(narrow(m, 1, 0, -1), Error);
  CHECK_THROWS_AS(narrow(m, 2, 0, 1), Error);
}

TEST_CASE("index_select: forward values with repeated indices on each dim") {
  const Tensor m = iota({3, 4});
  Tensor a = index_select(m, 0, idx({2, 0, 2}));
  CHECK(a.shape() == Shape{3, 4});
  agt::check_values(a, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  Tensor b = index_select(m, -1, idx({3, 3, 1}));
  CHECK(b.shape() == Shape{3, 3});
  agt::check_values(b, {3, 3, 1, 7, 7, 5, 11, 11, 9});
  CHECK(index_select(m, 1, idx(std::vector<std::int64_t>{}, {0})).shape() == Shape{3, 0});
  Tensor c = index_select(tensor(std::vector<std::int64_t>{5, 6, 7}), 0, idx({1, 1}));
  CHECK(c.dtype() == kInt64);
  CHECK(c.to_vector<std::int64_t>() == std::vector<std::int64_t>{6, 6});
}

TEST_CASE("index_select: repeated rows add up in the gradient; gradcheck and gradgradcheck") {
  Tensor x = agt::input({3, 2});
  sum(index_select(x, 0, idx({0, 2, 0, 0}))).backward();
  agt::check_values(x.grad(), {3, 3, 0, 0, 1, 1});

  const Tensor y = agt::input({3, 4, 2});
  const Tensor rep = idx({1, 0, 1, 2});
  for (std::int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    const Tensor i = dim == -1 ? idx({1, 1, 0}) : rep;
    agt::check_gradients([dim, i](const std::vector<Tensor>& in) { return index_select(in[0], dim, i); }, {y});
  }
  // reuse: the selected rows multiply the input itself
  agt::check_gradients(
      [](const std::vector<Tensor>& in) {
        return index_select(in[0], 0, idx({2, 2, 0})) * in[0];
      },
      {agt::input({3, 2})});
  agt::check_second_gradients(
      [rep](const std::vector<Tensor>& in) { return tanh(index_select(in[0], 1, rep)) * index_select(in[0], 1, rep); },
      {y});
}

TEST_CASE("index_select: errors for bad indices are thrown before reading memory") {
  const Tensor m = iota({3, 4});
  CHECK_THROWS_AS(index_select(m, 0, idx({0, 3})), Error);
  CHECK_THROWS_AS(index_select(m, 1, idx({4})), Error);
  CHECK_THROWS_AS(index_select(m, 0, idx({-1})), Error);
  CHECK_THROWS_AS(index_select(m, 0, idx({1000000000})), Error);
  CHECK_THROWS_AS(index_select(m, 0, tensor({0.0, 1.0}, {2}, kFloat64)), Error);
  CHECK_THROWS_AS(index_select(m, 0, idx({0, 1}, {1, 2})), Error);
  CHECK_THROWS_AS(index_select(m, 0, scalar_tensor(0.0, kInt64)), Error);
  CHECK_THROWS_AS(index_select(m, 2, idx({0})), Error);
  CHECK_THROWS_AS(index_select(scalar_tensor(1.0), 0, idx({0})), Error);
  CHECK_THROWS_AS(index_select(m, 0, Tensor()), Error);
  try {
    index_select(m, 0, idx({1, -2}));
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("index_select") != std::string::npos);
    CHECK(msg.find("-2") != std::string::npos);
  }
}

TEST_CASE("gather: forward values on dims 0 and 1, index smaller than the input") {
  const Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  Tensor a = gather(x, 1, idx({2, 0, 1, 1}, {2, 2}));
  CHECK(a.shape() == Shape{2, 2});
  agt::check_values(a, {3, 1, 5, 5});
  Tensor b = gather(x, 0, idx({1, 0, 1}, {1, 3}));
  CHECK(b.shape() == Shape{1, 3});
  agt::check_values(b, {4, 2, 6});
  Tensor c = gather(x, 0, idx({1, 1, 0, 1}, {4, 1}));  // index longer than x along dim
  CHECK(c.shape() == Shape{4, 1});
  agt::check_values(c, {4, 4, 1, 4});
  Tensor d = gather(x, -1, idx({0}, {1, 1}));
  agt::check_values(d, {1});
  Tensor e = gather(scalar_tensor(7.0, kFloat64), 0, scalar_tensor(0.0, kInt64));
  CHECK(e.dim() == 0);
  CHECK(e.item<double>() == 7.0);
  const Tensor three = iota({2, 3, 2});
  agt::check_values(gather(three, 1, idx({2, 0, 1, 1}, {2, 1, 2})), {4, 1, 8, 9});
  Tensor li = gather(tensor(std::vector<std::int64_t>{10, 20, 30}), 0, idx({2, 2, 0}, {3}));
  CHECK(li.to_vector<std::int64_t>() == std::vector<std::int64_t>{30, 30, 10});
  CHECK(gather(x, 1, idx(std::vector<std::int64_t>{}, {2, 0})).shape() == Shape{2, 0});
}

TEST_CASE("gather: the gradient is a scatter-add (repeats add up); gradcheck and gradgradcheck") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64).requires_grad_();
  sum(gather(x, 1, idx({2, 0, 1, 1}, {2, 2})) * tensor({1.0, 10.0, 100.0, 1000.0}, {2, 2}, kFloat64)).backward();
  agt::check_values(x.grad(), {10, 0, 1, 0, 1100, 0});

  const Tensor y = agt::input({3, 4});
  const Tensor i0 = idx({2, 0, 1, 0, 0, 0, 2, 1}, {2, 4});
  const Tensor i1 = idx({3, 3, 0, 1, 2, 2}, {3, 2});
  agt::check_gradients([i0](const std::vector<Tensor>& in) { return gather(in[0], 0, i0); }, {y});
  agt::check_gradients([i1](const std::vector<Tensor>& in) { return gather(in[0], 1, i1); }, {y});
  agt::check_gradients([i1](const std::vector<Tensor>& in) { return gather(in[0], -1, i1); }, {y});
  const Tensor z = agt::input({2, 3, 4});
  const Tensor i3 = idx({0, 2, 2, 1, 1, 1, 0, 0}, {2, 2, 2});
  agt::check_gradients([i3](const std::vector<Tensor>& in) { return gather(in[0], 1, i3); }, {z});
  // reuse and a non-linear use, so the second derivative goes through gather and scatter_add
  agt::check_gradients(
      [i1](const std::vector<Tensor>& in) { return gather(in[0] * in[0], 1, i1) + gather(in[0], 1, i1); }, {y});
  agt::check_second_gradients(
      [i0](const std::vector<Tensor>& in) { return gather(in[0], 0, i0) * gather(in[0], 0, i0); }, {y});
  agt::check_second_gradients([i1](const std::vector<Tensor>& in) { return exp(gather(in[0], 1, i1)); }, {y});
}

TEST_CASE("gather: errors for bad index values, dtype, rank and sizes") {
  const Tensor x = iota({2, 3});
  CHECK_THROWS_AS(gather(x, 1, idx({3}, {1, 1})), Error);
  CHECK_THROWS_AS(gather(x, 1, idx({-1}, {1, 1})), Error);
  CHECK_THROWS_AS(gather(x, 0, idx({0, 2}, {2, 1})), Error);
  CHECK_THROWS_AS(gather(x, 1, tensor({0.0}, {1, 1}, kFloat64)), Error);
  CHECK_THROWS_AS(gather(x, 1, idx({0, 1}, {2})), Error);
  CHECK_THROWS_AS(gather(x, 1, idx({0}, {1, 1, 1})), Error);
  CHECK_THROWS_AS(gather(x, 1, idx({0, 0, 0}, {3, 1})), Error);  // index larger than x in dim 0
  CHECK_THROWS_AS(gather(x, 2, idx({0}, {1, 1})), Error);
  CHECK_THROWS_AS(gather(scalar_tensor(1.0), 0, idx({0}, {1})), Error);
  CHECK_THROWS_AS(gather(scalar_tensor(1.0), 0, scalar_tensor(1.0, kInt64)), Error);
  CHECK_THROWS_AS(gather(Tensor(), 0, idx({0}, {1})), Error);
}

TEST_CASE("select: errors for out-of-range index and dims") {
  const Tensor x = iota({2, 3});
  CHECK_THROWS_AS(select(x, 0, 2), Error);
  CHECK_THROWS_AS(select(x, 1, -4), Error);
  CHECK_THROWS_AS(select(x, 2, 0), Error);
  CHECK_THROWS_AS(select(x, -3, 0), Error);
  CHECK_THROWS_AS(select(scalar_tensor(1.0), 0, 0), Error);
}

TEST_CASE("cat: forward values on each dim, one input used twice") {
  const Tensor a = tensor({1, 2, 3, 4}, {2, 2}, kFloat64);
  const Tensor b = tensor({5, 6}, {1, 2}, kFloat64);
  Tensor r0 = cat({a, b, a}, 0);
  CHECK(r0.shape() == Shape{5, 2});
  agt::check_values(r0, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4});
  const Tensor c = tensor({7, 8}, {2, 1}, kFloat64);
  Tensor r1 = cat({a, c, a}, -1);
  CHECK(r1.shape() == Shape{2, 5});
  agt::check_values(r1, {1, 2, 7, 1, 2, 3, 4, 8, 3, 4});
  Tensor r2 = cat({tensor(std::vector<std::int64_t>{1, 2}), tensor(std::vector<std::int64_t>{3})});
  CHECK(r2.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3});
  CHECK(cat({a, zeros({0, 2}, kFloat64)}, 0).shape() == Shape{2, 2});
}

TEST_CASE("cat: gradcheck with three inputs on each dim (one reused) and gradgradcheck") {
  const Tensor a = agt::input({2, 3, 2}, 1.0);
  for (std::int64_t dim = 0; dim < 3; ++dim) {
    Shape bs = {2, 3, 2};
    bs[static_cast<std::size_t>(dim)] = 1;
    const Tensor b = agt::input(bs, 2.0);
    INFO("dim " << dim);
    agt::check_gradients([dim](const std::vector<Tensor>& in) { return cat({in[0], in[1], in[0]}, dim); }, {a, b});
    agt::check_gradients(
        [dim](const std::vector<Tensor>& in) {
          return cat({in[1], in[0], in[1] * 2.0}, dim - 3);
        },
        {a, b});
  }
  // reused input: its two slices of the gradient add up
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = tensor({3.0}, {1}, kFloat64).requires_grad_();
  sum(cat({x, y, x}) * tensor({1.0, 2.0, 3.0, 4.0, 5.0}, {5}, kFloat64)).backward();
  agt::check_values(x.grad(), {5, 7});
  agt::check_values(y.grad(), {3});
  const Tensor p = agt::input({2, 2}, 3.0), q = agt::input({1, 2}, 4.0);
  agt::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        const Tensor c = cat({in[0], in[1], in[0]}, 0);
        return c * c;
      },
      {p, q});
}

TEST_CASE("cat: errors for mismatched shapes, dtypes, ranks and an empty list") {
  const Tensor a = zeros({2, 3}, kFloat64);
  CHECK_THROWS_AS(cat({}, 0), Error);
  CHECK_THROWS_AS(cat({a, zeros({2, 4}, kFloat64)}, 0), Error);
  CHECK_THROWS_AS(cat({a, zeros({3, 3}, kFloat64)}, 1), Error);
  CHECK_THROWS_AS(cat({a, zeros({2, 3}, kFloat32)}, 0), Error);
  CHECK_THROWS_AS(cat({a, zeros({2, 3}, kInt64)}, 0), Error);
  CHECK_THROWS_AS(cat({a, zeros({6}, kFloat64)}, 0), Error);
  CHECK_THROWS_AS(cat({a, a}, 2), Error);
  CHECK_THROWS_AS(cat({scalar_tensor(1.0), scalar_tensor(2.0)}, 0), Error);
  CHECK_THROWS_AS(cat({a, Tensor()}, 0), Error);
}

TEST_CASE("stack: values and gradcheck on each dim including negative ones") {
  const Tensor a = tensor({1, 2, 3, 4}, {2, 2}, kFloat64);
  const Tensor b = tensor({5, 6, 7, 8}, {2, 2}, kFloat64);
  Tensor s0 = stack({a, b});
  CHECK(s0.shape() == Shape{2, 2, 2});
  agt::check_values(s0, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor s1 = stack({a, b}, 1);
  CHECK(s1.shape() == Shape{2, 2, 2});
  agt::check_values(s1, {1, 2, 5, 6, 3, 4, 7, 8});
  Tensor s2 = stack({a, b, a}, -1);
  CHECK(s2.shape() == Shape{2, 2, 3});
  agt::check_values(s2, {1, 5, 1, 2, 6, 2, 3, 7, 3, 4, 8, 4});
  Tensor s3 = stack({scalar_tensor(1.0, kFloat64), scalar_tensor(2.0, kFloat64)});
  CHECK(s3.shape() == Shape{2});
  agt::check_values(s3, {1, 2});

  const Tensor x = agt::input({2, 3}, 1.0), y = agt::input({2, 3}, 2.0);
  for (std::int64_t dim = -3; dim <= 2; ++dim) {
    INFO("dim " << dim);
    agt::check_gradients([dim](const std::vector<Tensor>& in) { return stack({in[0], in[1], in[0]}, dim); }, {x, y});
  }
}

TEST_CASE("stack: errors for mismatched shapes, dims and an empty list") {
  const Tensor a = zeros({2, 3}, kFloat64);
  CHECK_THROWS_AS(stack({}), Error);
  CHECK_THROWS_AS(stack({a, zeros({3, 2}, kFloat64)}), Error);
  CHECK_THROWS_AS(stack({a, zeros({2, 3, 1}, kFloat64)}), Error);
  CHECK_THROWS_AS(stack({a, zeros({2, 3}, kFloat32)}), Error);
  CHECK_THROWS_AS(stack({a, a}, 3), Error);
  CHECK_THROWS_AS(stack({a, a}, -4), Error);
}
