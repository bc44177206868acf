// Tiny tensors and their fast paths: the inline Shape container, one-element elementwise ops
// (0-d, [1], [1, 1] mixed), buffers stored inside the Storage, the pool's size classes, and long
// chains of ops on one-element tensors with gradients checked against closed forms.
#include <cstdint>
#include <stdexcept>

#include "test_util.h"

using namespace ag;

TEST_CASE("Shape keeps small ranks inline and behaves as a vector of int64 beyond") {
  Shape s{2, 3};
  CHECK(s.size() == 2);
  CHECK(s.capacity() == Shape::kInline);
  CHECK(s == std::vector<std::int64_t>{2, 3});
  CHECK(std::vector<std::int64_t>{2, 3} == s);
  CHECK(s != Shape{3, 2});
  CHECK(Shape{1, 2} < Shape{1, 3});
  CHECK(Shape{1} < Shape{1, 0});
  CHECK(Shape() == Shape{});
  CHECK(Shape(3) == Shape{0, 0, 0});
  CHECK(Shape(2, 7) == Shape{7, 7});

  for (std::int64_t d = 4; d <= 9; ++d) s.push_back(d);  // past kInline: moves to the heap
  CHECK(s.size() == 8);
  CHECK(s.capacity() >= 8);
  CHECK(s == Shape{2, 3, 4, 5, 6, 7, 8, 9});
  const Shape copy = s;
  Shape moved = std::move(s);
  CHECK(moved == copy);
  CHECK(s.empty());  // NOLINT: a moved-from Shape is empty and usable
  s.push_back(1);
  CHECK(s == Shape{1});

  Shape small{5, 6};
  Shape small_moved = std::move(small);
  CHECK(small_moved == Shape{5, 6});
  small_moved = copy;
  CHECK(small_moved == copy);
  small_moved = Shape{4};
  CHECK(small_moved == Shape{4});

  Shape e{1, 2, 3};
  CHECK(*e.insert(e.begin() + 1, 9) == 9);
  CHECK(e == Shape{1, 9, 2, 3});
  e.insert(e.end(), e.begin(), e.end());  // a range from itself
  CHECK(e == Shape{1, 9, 2, 3, 1, 9, 2, 3});
  e.erase(e.begin() + 1);
  CHECK(e == Shape{1, 2, 3, 1, 9, 2, 3});
  e.erase(e.begin() + 3, e.end());
  CHECK(e == Shape{1, 2, 3});
  e.insert(e.begin(), {7, 8});
  CHECK(e == Shape{7, 8, 1, 2, 3});
  e.pop_back();
  e.resize(6, 4);
  CHECK(e == Shape{7, 8, 1, 2, 4, 4});
  CHECK(e.front() == 7);
  CHECK(e.back() == 4);
  CHECK(e.at(1) == 8);
  CHECK_THROWS_AS(e.at(6), std::out_of_range);
  const std::vector<std::int64_t> v = e;
  CHECK(v == std::vector<std::int64_t>{7, 8, 1, 2, 4, 4});
  CHECK(Shape(v.begin() + 1, v.end() - 1) == Shape{8, 1, 2, 4});
  CHECK(shape_str(e) == "[7, 8, 1, 2, 4, 4]");
  CHECK(shape_numel(e) == 7 * 8 * 2 * 16);
}

TEST_CASE("one-element elementwise ops broadcast 0-d, [1] and [1, 1] as the general path does") {
  const Tensor s = scalar_tensor(3.0, kFloat64), one = tensor({2.0}, {1}, kFloat64),
               two = tensor({5.0}, {1, 1}, kFloat64);
  CHECK((s + one).shape() == Shape{1});
  CHECK((one + s).shape() == Shape{1});
  CHECK((one * two).shape() == Shape{1, 1});
  CHECK((two * one).shape() == Shape{1, 1});
  CHECK((s - two).shape() == Shape{1, 1});
  CHECK((s * s).dim() == 0);
  CHECK((s + one).item<double>() == 5.0);
  CHECK((one * two).item<double>() == 10.0);
  CHECK((s - two).item<double>() == -2.0);
  CHECK((two / one).item<double>() == 2.5);
  CHECK((-one).item<double>() == -2.0);
  CHECK((one * 4.0).shape() == Shape{1});
  CHECK((full({1}, 1.5) + full({1}, 2.0)).item<float>() == 3.5f);

  CHECK_THROWS_AS(s + scalar_tensor(1.0, kFloat32), Error);
  CHECK(agt::error_message([&] { (void)(one * full({1}, 1.0)); }).find("mul") != std::string::npos);
  CHECK_THROWS_AS(tensor(std::vector<std::int64_t>{1}, {1}) + tensor(std::vector<std::int64_t>{2}, {1}), Error);
  CHECK_THROWS_AS(s + Tensor(), Error);

  for (const Shape& sa : {Shape{}, Shape{1}, Shape{1, 1}})
    for (const Shape& sb : {Shape{}, Shape{1}, Shape{1, 1}}) {
      const Tensor a = agt::input(sa, 1.0, 1.0, 2.0), b = agt::input(sb, 2.0, 1.0, 2.0);
      auto fn = [](const std::vector<Tensor>& in) { return (in[0] + in[1]) * in[1] - in[0] / in[1]; };
      agt::check_gradients(fn, {a, b});
      agt::check_second_gradients(fn, {a, b});
    }
}

TEST_CASE("small buffers live in the Storage; larger ones in the pool; both copy and alias correctly") {
  for (std::int64_t n : {1, 4, 5, 8, 9, 100}) {  // 4 doubles = 32 bytes, the inline limit
    Tensor x = arange(static_cast<double>(n), kFloat64);
    Tensor c = x.clone();
    Tensor r = x.reshape({n, 1});
    CHECK(r.data<double>() == x.data<double>());
    CHECK(c.data<double>() != x.data<double>());
    x.data<double>()[n - 1] = -1.0;
    x.bump_version();
    CHECK(r.data<double>()[n - 1] == -1.0);
    CHECK(c.to_vector<double>()[static_cast<std::size_t>(n - 1)] == static_cast<double>(n - 1));
    CHECK(r.version() == 1);
  }
  const PoolStats before = pool_stats();
  for (int i = 0; i < 10; ++i) (void)empty({100}, kFloat64);
  CHECK(pool_stats().hits >= before.hits + 9);  // the same block, reused
  for (std::size_t bytes = 1; bytes <= 3000; bytes += 7) {
    void* p = pool_allocate(bytes);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    static_cast<unsigned char*>(p)[bytes - 1] = 1;
    pool_free(p, bytes);
  }
}

TEST_CASE("a long add/mul chain on one-element tensors: values and gradients in closed form") {
  // y = x; then k times y = (y + a) * b: y = x b^k + a (b + ... + b^k)
  const std::int64_t k = 500;
  const double xv = 0.5, av = 0.001, bv = 0.999;
  double bk = 1, sum = 0, dsum = 0;  // b^k, sum_j b^j, sum_j j b^(j-1)
  for (std::int64_t j = 1; j <= k; ++j) {
    dsum += static_cast<double>(j) * bk;
    bk *= bv;
    sum += bk;
  }
  for (const Shape& shape : {Shape{}, Shape{1}}) {
    for (int round = 0; round < 2; ++round) {  // the second round reuses pooled blocks
      Tensor x = full(shape, xv, kFloat64).requires_grad_(), a = full(shape, av, kFloat64).requires_grad_(),
             b = full(shape, bv, kFloat64).requires_grad_();
      Tensor y = x;
      for (std::int64_t i = 0; i < 2 * k; ++i) y = (i % 2 == 0) ? y + a : y * b;
      CHECK(y.shape() == shape);
      CHECK(y.item<double>() == doctest::Approx(xv * bk + av * sum).epsilon(1e-12));
      y.backward();
      CHECK(x.grad().shape() == shape);
      CHECK(x.grad().item<double>() == doctest::Approx(bk).epsilon(1e-12));
      CHECK(a.grad().item<double>() == doctest::Approx(sum).epsilon(1e-12));
      CHECK(b.grad().item<double>() ==
            doctest::Approx(static_cast<double>(k) * xv * bk / bv + av * dsum).epsilon(1e-12));
      CHECK(Tape::current().num_nodes() == 0);  // consumed and rewound
    }
  }
}
