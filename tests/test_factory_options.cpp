// Creation with libtorch's options: ag::TensorOptions, ag::dtype, ag::requires_grad on every factory;
// ag::tensor from (nested) braced lists with libtorch's dtype inference; linspace, logspace, eye, randperm,
// multinomial and the in-place normal_/uniform_. Expected values marked "PyTorch" were printed by Debian's
// PyTorch 1.13 (/usr/bin/python3), e.g.
//   /usr/bin/python3 -c "import torch; print(torch.logspace(0.5, -1.5, 5, base=2.5).tolist())"
// and the libtorch behaviours (dtype inference, randint/randperm defaults, error texts) were checked with a
// small program against Debian's libtorch-dev.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nn/init.h"
#include "test_util.h"

using namespace ag;

namespace {

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no ag::Error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class T>
void check_exact(const Tensor& t, const std::vector<T>& expected) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
  const std::vector<T> got = t.to_vector<T>();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == expected[i]);
  }
}

}  // namespace

TEST_CASE("TensorOptions: chainable setters, getters with libtorch's defaults, free helpers") {
  const TensorOptions none;
  CHECK(none.dtype() == kFloat32);  // libtorch's default dtype
  CHECK_FALSE(none.has_dtype());
  CHECK_FALSE(none.requires_grad());
  CHECK_FALSE(none.has_requires_grad());

  const TensorOptions o = TensorOptions().dtype(kFloat64).requires_grad(true);
  CHECK(o.dtype() == kFloat64);
  CHECK(o.has_dtype());
  CHECK(o.dtype_opt() == kFloat64);
  CHECK(o.requires_grad());
  CHECK(o.requires_grad_opt() == true);
  // setters copy: the original is unchanged
  const TensorOptions base = ag::dtype(kFloat64);
  const TensorOptions derived = base.requires_grad(true);
  CHECK_FALSE(base.requires_grad());
  CHECK(derived.requires_grad());
  CHECK(derived.dtype() == kFloat64);

  CHECK(ag::dtype(kFloat64) == TensorOptions().dtype(kFloat64));
  CHECK(ag::dtype<double>() == ag::dtype(kFloat64));
  CHECK(ag::dtype<std::int64_t>().dtype() == kInt64);
  CHECK(TensorOptions().dtype<float>().dtype() == kFloat32);
  CHECK(ag::requires_grad() == TensorOptions().requires_grad(true));
  CHECK(ag::requires_grad(false).has_requires_grad());
  CHECK_FALSE(ag::requires_grad(false).requires_grad());
  CHECK(ag::requires_grad().dtype(kFloat64) == ag::dtype(kFloat64).requires_grad(true));

  const TensorOptions from_dtype = kFloat64;  // implicit, as from a libtorch ScalarType
  CHECK(from_dtype == ag::dtype(kFloat64));
  CHECK(TensorOptions(kInt64).dtype() == kInt64);
  CHECK(o.dtype(std::nullopt).dtype_opt() == std::nullopt);
  CHECK(o.requires_grad(std::nullopt).requires_grad_opt() == std::nullopt);

  // merge_in: the fields set in the argument win
  CHECK(ag::dtype(kFloat64).merge_in(ag::requires_grad()) == ag::dtype(kFloat64).requires_grad(true));
  CHECK(ag::dtype(kFloat64).merge_in(ag::dtype(kInt64)).dtype() == kInt64);
  CHECK(ag::dtype(kFloat64).merge_in(TensorOptions()).dtype() == kFloat64);

  // libtorch's dtype aliases
  CHECK(kFloat == kFloat32);
  CHECK(kDouble == kFloat64);
  CHECK(kLong == kInt64);

  std::ostringstream os;
  os << ag::dtype(kFloat64).requires_grad(true);
  CHECK(os.str() == "TensorOptions(dtype=float64, requires_grad=true)");
}

TEST_CASE("factories take options: the dtype, and requires_grad making a leaf that requires grad") {
  const Tensor a = ones({2, 2}, ag::requires_grad());
  CHECK(a.dtype() == kFloat32);
  CHECK(a.requires_grad());
  CHECK(a.is_leaf());
  CHECK(a.to_vector<float>() == std::vector<float>(4, 1.0f));

  const Tensor b = zeros({3}, TensorOptions().dtype(kFloat64).requires_grad(true));
  CHECK(b.dtype() == kFloat64);
  CHECK(b.requires_grad());
  CHECK(b.to_vector<double>() == std::vector<double>(3, 0.0));

  // a leaf made so takes part in backward like any other
  (a * a).sum().backward();
  REQUIRE(a.grad().defined());
  CHECK(a.grad().to_vector<float>() == std::vector<float>(4, 2.0f));

  CHECK(full({2}, 1.5, ag::dtype(kFloat64)).to_vector<double>() == std::vector<double>{1.5, 1.5});
  CHECK(full({2}, 1.5, ag::requires_grad()).requires_grad());
  CHECK(empty({2, 3}, ag::dtype(kFloat64).requires_grad(true)).shape() == Shape{2, 3});
  CHECK(empty({2, 3}, ag::requires_grad()).requires_grad());
  CHECK(scalar_tensor(2.5, ag::dtype(kFloat64).requires_grad(true)).dim() == 0);
  CHECK(scalar_tensor(2.5, ag::requires_grad()).requires_grad());
  CHECK(scalar_tensor(3.0, kInt64).item<std::int64_t>() == 3);
  CHECK(rand({4}, ag::requires_grad()).requires_grad());
  CHECK(randn({4}, ag::dtype(kFloat64)).dtype() == kFloat64);
  CHECK(arange(3.0, ag::requires_grad()).requires_grad());
  CHECK(arange(1.0, 4.0, ag::dtype(kFloat64)).to_vector<double>() == std::vector<double>{1, 2, 3});
  CHECK(arange(0.0, 1.0, 0.5, ag::dtype(kFloat64).requires_grad(true)).requires_grad());
  CHECK(arange(3.0, kInt64).dtype() == kInt64);
  CHECK(linspace(0, 1, 3, ag::requires_grad()).requires_grad());
  CHECK(logspace(0, 1, 3, 10.0, ag::dtype(kFloat64)).dtype() == kFloat64);
  CHECK(eye(2, ag::requires_grad()).requires_grad());

  // options without requires_grad leave it off; requires_grad(false) too
  CHECK_FALSE(zeros({2}, kFloat64).requires_grad());
  CHECK_FALSE(zeros({2}, ag::requires_grad(false)).requires_grad());

  // only floating dtypes may require grad (libtorch's message), and nothing is made or drawn first
  const std::string m = message_of([] { zeros({3}, ag::dtype(kInt64).requires_grad(true)); });
  CHECK(contains(m, "zeros"));
  CHECK(contains(m, "Only Tensors of floating point dtype can require gradients"));
  CHECK(contains(m, "int64"));
  CHECK_THROWS_AS(ones({2}, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK_THROWS_AS(full({2}, 1.0, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK_THROWS_AS(empty({2}, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK_THROWS_AS(arange(3.0, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK_THROWS_AS(tensor({1, 2}, ag::requires_grad()), Error);  // int64 by inference
  CHECK(contains(message_of([] { tensor({1, 2}, ag::requires_grad()); }), "tensor"));
  CHECK(contains(message_of([] { randperm(3, ag::requires_grad()); }), "randperm"));
  CHECK(contains(message_of([] { eye(2, ag::dtype(kInt64).requires_grad(true)); }), "eye"));
  manual_seed(7);
  const std::string before = rng_state();
  CHECK_THROWS_AS(randint(0, 5, {3}, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK(rng_state() == before);
}

TEST_CASE("*_like: t's shape, the options' dtype when set else t's, requires_grad only from the options") {
  const Tensor t = ones({2, 3}, kFloat64).requires_grad_();
  const Tensor z = zeros_like(t);
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat64);
  CHECK_FALSE(z.requires_grad());  // as libtorch: not inherited
  CHECK(zeros_like(t, kFloat32).dtype() == kFloat32);
  CHECK(zeros_like(t, ag::requires_grad()).requires_grad());
  CHECK(zeros_like(t, ag::requires_grad()).dtype() == kFloat64);
  CHECK(ones_like(t, ag::dtype(kInt64)).to_vector<std::int64_t>() == std::vector<std::int64_t>(6, 1));
  CHECK(full_like(t, 2.5).to_vector<double>() == std::vector<double>(6, 2.5));
  CHECK(full_like(t, 2.5, ag::dtype(kFloat32).requires_grad(true)).requires_grad());
  CHECK(empty_like(t).shape() == Shape{2, 3});
  CHECK(empty_like(t, kInt64).dtype() == kInt64);
  const Tensor r = rand_like(t);
  CHECK(r.dtype() == kFloat64);
  for (double v : r.to_vector<double>()) CHECK((v >= 0.0 && v < 1.0));
  CHECK(randn_like(t, kFloat32).dtype() == kFloat32);
  const Tensor ri = randint_like(t, 3);
  CHECK(ri.dtype() == kFloat64);  // t's dtype, as libtorch
  for (double v : ri.to_vector<double>()) CHECK((v == 0 || v == 1 || v == 2));
  for (std::int64_t v : randint_like(t, 5, 7, kInt64).to_vector<std::int64_t>()) CHECK((v == 5 || v == 6));
  CHECK_THROWS_AS(zeros_like(t, ag::dtype(kInt64).requires_grad(true)), Error);
  CHECK_THROWS_AS(rand_like(tensor({1, 2})), Error);  // int64: rand needs a floating dtype
  CHECK_THROWS_AS(zeros_like(Tensor()), Error);
}

TEST_CASE("randint and randperm default to int64 as libtorch; randint with options but no dtype is float32") {
  CHECK(randint(0, 10, {3}).dtype() == kInt64);
  CHECK(randint(10, {3}).dtype() == kInt64);
  CHECK(randint(10, {3}, kFloat64).dtype() == kFloat64);
  CHECK(randint(0, 10, {3}, kFloat32).dtype() == kFloat32);
  // libtorch: torch::randint(10, {3}, torch::requires_grad(false)) is Float (its default argument is kLong,
  // options given without a dtype mean the default dtype); torch::randperm(5, requires_grad(false)) is Long.
  CHECK(randint(10, {3}, ag::requires_grad(false)).dtype() == kFloat32);
  CHECK(randperm(5, ag::requires_grad(false)).dtype() == kInt64);
  for (std::int64_t v : randint(3, {50}).to_vector<std::int64_t>()) CHECK((v >= 0 && v < 3));
  CHECK_THROWS_AS(randint(0, {3}), Error);  // empty range
  CHECK(contains(message_of([] { randint(5, 5, {3}); }), "randint"));
}

TEST_CASE("tensor(): braced lists and vectors infer the dtype as libtorch's torch::tensor") {
  const Tensor d = tensor({1.0, 2.0});
  CHECK(d.dtype() == kFloat32);  // floating values: the default dtype
  CHECK(d.shape() == Shape{2});
  CHECK(d.to_vector<float>() == std::vector<float>{1, 2});

  const Tensor i = tensor({1, 2, 3});
  CHECK(i.dtype() == kInt64);  // integers: kLong
  CHECK(i.shape() == Shape{3});
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3});

  const Tensor n = tensor({{1.0, 2.0}, {3.0, 4.0}});
  CHECK(n.dtype() == kFloat32);
  CHECK(n.shape() == Shape{2, 2});
  CHECK(n.to_vector<float>() == std::vector<float>{1, 2, 3, 4});

  const Tensor n3 = tensor({{{1, 2, 3}}, {{4, 5, 6}}});
  CHECK(n3.dtype() == kInt64);
  CHECK(n3.shape() == Shape{2, 1, 3});
  CHECK(n3.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});

  const Tensor col = tensor({{1.5}, {2.5}, {3.5}});
  CHECK(col.shape() == Shape{3, 1});

  const Tensor s = tensor(2.5);
  CHECK(s.dim() == 0);
  CHECK(s.dtype() == kFloat32);
  CHECK(s.item<float>() == 2.5f);
  CHECK(tensor(7).dtype() == kInt64);
  CHECK(tensor(7).dim() == 0);
  CHECK(tensor({2.5}).shape() == Shape{1});

  const Tensor e = tensor({});
  CHECK(e.shape() == Shape{0});
  CHECK(e.dtype() == kFloat32);
  CHECK(tensor({{}, {}}).shape() == Shape{2, 0});

  // mixing integers and floating values: floating (libtorch refuses the mix; Python's torch.tensor does this)
  const Tensor mixed = tensor({1, 2.5, -3});
  CHECK(mixed.dtype() == kFloat32);
  CHECK(mixed.to_vector<float>() == std::vector<float>{1, 2.5f, -3});
  CHECK(tensor({{1, 2}, {3.5, 4}}).dtype() == kFloat32);

  // the options' dtype converts (floating to int64 truncates, as libtorch)
  CHECK(tensor({1, 2}, kFloat64).to_vector<double>() == std::vector<double>{1, 2});
  CHECK(tensor({1.5, -2.7}, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2});
  CHECK(tensor({{1.0, 2.0}}, ag::dtype(kFloat64)).shape() == Shape{1, 2});
  const Tensor g = tensor({1.0, 2.0}, ag::requires_grad());
  CHECK(g.requires_grad());
  CHECK(g.is_leaf());
  CHECK(tensor({0.1, 0.2}, kFloat64).to_vector<double>() == std::vector<double>{0.1, 0.2});  // no float rounding

  // vectors of any number type
  CHECK(tensor(std::vector<double>{1, 2}).dtype() == kFloat32);
  CHECK(tensor(std::vector<float>{1, 2}).dtype() == kFloat32);
  CHECK(tensor(std::vector<int>{1, 2}).dtype() == kInt64);
  CHECK(tensor(std::vector<std::int64_t>{1, 2}).dtype() == kInt64);
  CHECK(tensor(std::vector<std::int64_t>{1, 2}, kFloat64).dtype() == kFloat64);
  CHECK(tensor({std::vector<double>{1, 2}, std::vector<double>{3, 4}}).shape() == Shape{2, 2});

  // int64 holds the full range; values it cannot hold are errors
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  CHECK(tensor({big, -big}).to_vector<std::int64_t>() == std::vector<std::int64_t>{big, -big});
  CHECK(tensor({std::uint64_t{5}}).to_vector<std::int64_t>() == std::vector<std::int64_t>{5});
  CHECK_THROWS_AS(tensor({std::numeric_limits<std::uint64_t>::max()}), Error);
  CHECK_THROWS_AS(tensor({1e300}, kInt64), Error);
  CHECK_THROWS_AS(tensor({std::nan("")}, kInt64), Error);

  // sub-lists of different sizes
  const std::string m = message_of([] { tensor({{1.0, 2.0}, {3.0}}); });
  CHECK(contains(m, "tensor"));
  CHECK(contains(m, "[2]"));
  CHECK(contains(m, "[1]"));
  CHECK_THROWS_AS(tensor({{1, 2}, {3, 4, 5}}), Error);
  CHECK_THROWS_AS(tensor({{{1}}, {2}}), Error);
}

TEST_CASE("tensor(values, shape, dtype): the old form keeps its defaults (a braced list is float32)") {
  const Tensor a = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});  // the README's XOR inputs
  CHECK(a.dtype() == kFloat32);
  CHECK(a.shape() == Shape{4, 2});
  CHECK(tensor({1, 2, 3, 4}, {2, 2}, kInt64).dtype() == kInt64);
  CHECK(tensor({1.0, 2.0}, {2, 1}, kFloat64).shape() == Shape{2, 1});
  CHECK(tensor(std::vector<std::int64_t>{1, 2}, {2}).dtype() == kInt64);
  CHECK(tensor(std::vector<double>{1, 2}, {1, 2}).dtype() == kFloat32);
  CHECK(tensor(std::vector<double>{1, 2}, {}, kFloat64).shape() == Shape{2});  // empty shape: 1-d
  CHECK(tensor({{1.0, 2.0}, {3.0, 4.0}}, {4}).shape() == Shape{4});            // values row-major into the shape
  CHECK(tensor({1.0, 2.0}, {2}, ag::dtype(kFloat64).requires_grad(true)).requires_grad());
  const std::string m = message_of([] { tensor({1.0, 2.0, 3.0}, {2, 2}); });
  CHECK(contains(m, "tensor"));
  CHECK(contains(m, "[2, 2]"));
  CHECK(contains(m, "3 values"));
}

TEST_CASE("linspace: PyTorch's values; exact where PyTorch's are independent of its vectorisation") {
  // PyTorch: torch.linspace(0, 1, 5), (-1, 1, 9), (-2, 6, 17), (2.5, -4.75, 33) in float32 and float64
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    check_exact<double>(linspace(0, 1, 5, dt), {0.0, 0.25, 0.5, 0.75, 1.0});
    check_exact<double>(linspace(-1, 1, 9, dt), {-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1});
    std::vector<double> e17(17), e33(33);
    for (int i = 0; i < 17; ++i) e17[i] = -2 + 0.5 * i;
    for (int i = 0; i < 33; ++i) e33[i] = i < 16 ? 2.5 - 0.2265625 * i : -4.75 + 0.2265625 * (32 - i);
    check_exact<double>(linspace(-2, 6, 17, dt), e17);
    check_exact<double>(linspace(2.5, -4.75, 33, dt), e33);
  }
  // PyTorch: torch.linspace(3, 10, 4, dtype=torch.int64), (0, 10, 7), and torch::linspace(5.7, -2.2, 4, kLong)
  check_exact<std::int64_t>(linspace(3, 10, 4, kInt64), {3, 5, 7, 10});
  check_exact<std::int64_t>(linspace(0, 10, 7, kInt64), {0, 1, 3, 5, 6, 8, 10});
  check_exact<std::int64_t>(linspace(5.7, -2.2, 4, kInt64), {5, 2, 0, -2});

  // PyTorch's CPU kernel vectorises (with FMA where the CPU has it), so some of its values differ in the last
  // bits from the scalar formula; within a few ulps of the range
  const std::vector<double> p10 = {0.0,
                                   0.1111111119389534,
                                   0.2222222238779068,
                                   0.3333333432674408,
                                   0.4444444477558136,
                                   0.5555555820465088,
                                   0.6666666865348816,
                                   0.7777777910232544,
                                   0.8888888955116272,
                                   1.0};
  const std::vector<float> l10 = linspace(0, 1, 10).to_vector<float>();
  for (std::size_t i = 0; i < p10.size(); ++i) CHECK(std::abs(l10[i] - p10[i]) <= 4 * 1.2e-7);
  const std::vector<double> p7 = {
      -1.0, -0.6666666666666667, -0.33333333333333337, 5.551115123125783e-17, 0.33333333333333337, 0.6666666666666667,
      1.0};
  const std::vector<double> l7 = linspace(-1, 1, 7, kFloat64).to_vector<double>();
  for (std::size_t i = 0; i < p7.size(); ++i) CHECK(std::abs(l7[i] - p7[i]) <= 4 * 2.3e-16);
  CHECK(l7.front() == -1.0);
  CHECK(l7.back() == 1.0);  // both ends exact

  CHECK(linspace(0, 1, 5).dtype() == kFloat32);
  CHECK(linspace(2, 5, 0).shape() == Shape{0});
  check_exact<float>(linspace(2, 5, 1), {2.0f});  // steps == 1: start
  CHECK(linspace(0, 1, 1, kInt64).item<std::int64_t>() == 0);

  const std::string m = message_of([] { linspace(0, 1, -1); });
  CHECK(contains(m, "linspace"));
  CHECK(contains(m, "steps"));
  CHECK(contains(m, "-1"));
  CHECK_THROWS_AS(linspace(std::nan(""), 1, 3, kInt64), Error);
  CHECK_THROWS_AS(linspace(0, 1e300, 3, kInt64), Error);
}

TEST_CASE("logspace: PyTorch's values, exactly") {
  // PyTorch: torch.logspace(-2, 2, 5)
  check_exact<float>(logspace(-2, 2, 5), {0.009999999776482582f, 0.10000000149011612f, 1.0f, 10.0f, 100.0f});
  check_exact<double>(logspace(-2, 2, 5, 10.0, kFloat64), {0.01, 0.1, 1.0, 10.0, 100.0});
  // torch.logspace(0, 1, 4, dtype=torch.float64)
  check_exact<double>(logspace(0, 1, 4, 10.0, kFloat64), {1.0, 2.154434690031884, 4.641588833612779, 10.0});
  // torch.logspace(0, 3, 4, base=2)
  check_exact<float>(logspace(0, 3, 4, 2.0), {1, 2, 4, 8});
  // torch.logspace(0.5, -1.5, 5, base=2.5) in float32 and float64
  check_exact<float>(logspace(0.5, -1.5, 5, 2.5),
                     {1.5811388492584229f, 1.0f, 0.6324555277824402f, 0.4000000059604645f, 0.2529821991920471f});
  check_exact<double>(logspace(0.5, -1.5, 5, 2.5, kFloat64),
                      {1.5811388300841898, 1.0, 0.6324555320336759, 0.4, 0.25298221281347033});
  // torch.logspace(0, 10, 5, dtype=torch.int64), torch.logspace(1, 3, 3, base=3, dtype=torch.int64)
  check_exact<std::int64_t>(logspace(0, 10, 5, 10.0, kInt64), {1, 316, 100000, 31622776, 10000000000});
  check_exact<std::int64_t>(logspace(1, 3, 3, 3.0, kInt64), {3, 9, 27});
  check_exact<float>(logspace(1, 2, 1), {10.0f});  // steps == 1: base ** start
  CHECK(logspace(1, 2, 0).numel() == 0);
  CHECK(contains(message_of([] { logspace(0, 1, -2); }), "logspace"));
  CHECK_THROWS_AS(logspace(0, 30, 2, 10.0, kInt64), Error);  // 1e30 does not fit
}

TEST_CASE("eye: the identity, square or not, of any dtype") {
  check_exact<float>(eye(3), {1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(eye(3).shape() == Shape{3, 3});
  const Tensor r = eye(2, 3);
  CHECK(r.shape() == Shape{2, 3});
  check_exact<float>(r, {1, 0, 0, 0, 1, 0});
  const Tensor c = eye(3, 2, kInt64);  // PyTorch: torch.eye(3, 2, dtype=torch.int64)
  CHECK(c.dtype() == kInt64);
  check_exact<std::int64_t>(c, {1, 0, 0, 1, 0, 0});
  CHECK(eye(2, ag::dtype(kFloat64)).dtype() == kFloat64);
  CHECK(eye(0).shape() == Shape{0, 0});
  CHECK(eye(2, 0).shape() == Shape{2, 0});
  const std::string m = message_of([] { eye(-1); });
  CHECK(contains(m, "eye"));
  CHECK(contains(m, "-1"));
  CHECK_THROWS_AS(eye(2, -3), Error);
}

TEST_CASE("randperm: a permutation of 0..n-1, reproducible under manual_seed") {
  manual_seed(123);
  const std::vector<std::int64_t> a = randperm(100).to_vector<std::int64_t>();
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> iota(100);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(sorted == iota);
  CHECK(a != iota);  // shuffled (100! to 1 against)

  manual_seed(123);
  CHECK(randperm(100).to_vector<std::int64_t>() == a);
  manual_seed(124);
  CHECK(randperm(100).to_vector<std::int64_t>() != a);

  CHECK(randperm(100).dtype() == kInt64);
  const Tensor f = randperm(10, kFloat64);
  CHECK(f.dtype() == kFloat64);
  std::vector<double> fs = f.to_vector<double>();
  std::sort(fs.begin(), fs.end());
  for (int i = 0; i < 10; ++i) CHECK(fs[i] == i);
  CHECK(randperm(0).shape() == Shape{0});
  CHECK(randperm(1).to_vector<std::int64_t>() == std::vector<std::int64_t>{0});
  CHECK(randperm(5, ag::dtype(kFloat32).requires_grad(true)).requires_grad());

  // every position takes every value about equally often
  manual_seed(5);
  std::vector<int> first(4, 0);
  for (int k = 0; k < 8000; ++k) ++first[static_cast<std::size_t>(randperm(4).to_vector<std::int64_t>()[0])];
  for (int c : first) CHECK(std::abs(c - 2000) < 200);

  const std::string m = message_of([] { randperm(-3); });
  CHECK(contains(m, "randperm"));
  CHECK(contains(m, "-3"));
  CHECK_THROWS_AS(randperm((std::int64_t(1) << 24) + 1, kFloat32), Error);  // not all exact in float32
}

TEST_CASE("multinomial: frequencies follow the weights; without replacement each category at most once") {
  manual_seed(2024);
  const Tensor p = tensor({1.0, 2.0, 3.0, 4.0, 0.0});  // unnormalised weights, as PyTorch
  const std::int64_t n = 200000;
  const Tensor s = multinomial(p, n, /*replacement=*/true);
  CHECK(s.dtype() == kInt64);
  CHECK(s.shape() == Shape{n});
  std::vector<double> freq(5, 0.0);
  for (std::int64_t v : s.to_vector<std::int64_t>()) freq[static_cast<std::size_t>(v)] += 1.0 / static_cast<double>(n);
  CHECK(std::abs(freq[0] - 0.1) < 0.005);
  CHECK(std::abs(freq[1] - 0.2) < 0.005);
  CHECK(std::abs(freq[2] - 0.3) < 0.005);
  CHECK(std::abs(freq[3] - 0.4) < 0.005);
  CHECK(freq[4] == 0.0);  // weight 0: never

  // reproducible
  manual_seed(9);
  const std::vector<std::int64_t> r1 = multinomial(p, 50, true).to_vector<std::int64_t>();
  manual_seed(9);
  CHECK(multinomial(p, 50, true).to_vector<std::int64_t>() == r1);

  // without replacement: distinct categories of non-zero weight; the first draw follows the weights
  manual_seed(11);
  std::vector<double> first(5, 0.0);
  const int trials = 40000;
  for (int k = 0; k < trials; ++k) {
    const std::vector<std::int64_t> d = multinomial(p, 4).to_vector<std::int64_t>();
    REQUIRE(d.size() == 4);
    CHECK(std::set<std::int64_t>(d.begin(), d.end()).size() == 4);
    for (std::int64_t v : d) CHECK(v != 4);
    first[static_cast<std::size_t>(d[0])] += 1.0 / trials;
  }
  CHECK(std::abs(first[0] - 0.1) < 0.01);
  CHECK(std::abs(first[3] - 0.4) < 0.01);
  // the second draw follows the weights left: P(second = 0) = sum_j p_j * p_0 / (1 - p_j) over j != 0
  // (checked on a 2-category case where it is exact: {1, 3} -> always both, first is 1 with 3/4)
  manual_seed(12);
  int first_is_1 = 0;
  for (int k = 0; k < 20000; ++k) first_is_1 += multinomial(tensor({1.0, 3.0}), 2).to_vector<std::int64_t>()[0] == 1;
  CHECK(std::abs(first_is_1 / 20000.0 - 0.75) < 0.015);

  // 2-d: a row per distribution
  const Tensor rows = tensor({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}, kFloat64);
  const Tensor s2 = multinomial(rows, 3, true);
  CHECK(s2.shape() == Shape{2, 3});
  CHECK(s2.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1, 1, 0, 0, 0});
  CHECK(multinomial(ones({3, 4}), 2).shape() == Shape{3, 2});
  // huge weights do not overflow
  CHECK(multinomial(tensor({1e308, 1e308}, kFloat64), 2).numel() == 2);
  // a weight tensor that requires grad is read, not recorded
  CHECK_FALSE(multinomial(ones({3}, ag::requires_grad()), 2).requires_grad());

  // misuse
  const std::string neg = message_of([] { multinomial(tensor({0.5, -0.1}), 1); });
  CHECK(contains(neg, "multinomial"));
  CHECK(contains(neg, "-0.1"));
  CHECK_THROWS_AS(multinomial(tensor({0.5, std::nan("")}), 1), Error);
  CHECK_THROWS_AS(multinomial(tensor({0.5, std::numeric_limits<double>::infinity()}, kFloat64), 1), Error);
  const std::string too_many = message_of([] { multinomial(tensor({0.5, 0.5}), 3); });
  CHECK(contains(too_many, "multinomial"));
  CHECK(contains(too_many, "num_samples=3"));
  CHECK(contains(too_many, "without replacement"));
  CHECK(multinomial(tensor({0.5, 0.5}), 3, true).numel() == 3);  // with replacement it may
  CHECK_THROWS_AS(multinomial(tensor({0.5, 0.0}), 2), Error);    // only one category with a weight
  CHECK(contains(message_of([] { multinomial(tensor({0.5, 0.5}), 0); }), "num_samples=0"));
  CHECK_THROWS_AS(multinomial(tensor({0.0, 0.0}), 1, true), Error);  // sums to 0
  CHECK_THROWS_AS(multinomial(tensor({{1.0}, {0.0}}), 1), Error);    // the second row sums to 0
  CHECK_THROWS_AS(multinomial(tensor({1, 2}), 1), Error);            // int64 weights
  CHECK_THROWS_AS(multinomial(ones({2, 2, 2}), 1), Error);           // 3-d
  CHECK_THROWS_AS(multinomial(tensor(1.0), 1), Error);               // 0-d
  CHECK_THROWS_AS(multinomial(Tensor(), 1), Error);
  manual_seed(3);
  const std::string state = rng_state();
  CHECK_THROWS_AS(multinomial(tensor({{1.0, 1.0}, {1.0, -1.0}}), 1), Error);
  CHECK(rng_state() == state);  // checked before anything is drawn
}

TEST_CASE("normal_ and uniform_ fill in place from the seeded generator") {
  manual_seed(31);
  Tensor t = empty({100000}, kFloat64);
  const std::uint64_t v0 = t.version();
  const Tensor same = normal_(t, 2.0, 0.5);
  CHECK(same.impl() == t.impl());  // returns the tensor itself
  CHECK(t.version() > v0);         // in place: the version is bumped
  const std::vector<double> x = t.to_vector<double>();
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size());
  CHECK(std::abs(mean - 2.0) < 0.01);
  CHECK(std::abs(std::sqrt(var) - 0.5) < 0.01);

  manual_seed(31);
  Tensor t2 = empty({100000}, kFloat64);
  normal_(t2, 2.0, 0.5);
  CHECK(t2.to_vector<double>() == x);  // reproducible

  Tensor u = empty({50000});
  uniform_(u, -2.0, 3.0);
  const std::vector<float> uv = u.to_vector<float>();
  const float lo = *std::min_element(uv.begin(), uv.end());
  const float hi = *std::max_element(uv.begin(), uv.end());
  CHECK(lo >= -2.0f);
  CHECK(hi < 3.0f);
  CHECK(lo < -1.99f);
  CHECK(hi > 2.99f);
  CHECK(std::abs(std::accumulate(uv.begin(), uv.end(), 0.0) / uv.size() - 0.5) < 0.03);
  uniform_(u);  // defaults: [0, 1)
  for (float v : u.to_vector<float>()) CHECK((v >= 0.0f && v < 1.0f));
  normal_(u);             // defaults: N(0, 1)
  uniform_(u, 1.5, 1.5);  // from == to: all from
  CHECK(u.to_vector<float>() == std::vector<float>(50000, 1.5f));
  CHECK(uniform_(empty({3}), 0.0, 1.0).numel() == 3);  // a temporary works too

  // in place on a leaf that requires grad: refused while grad mode is on, as libtorch
  Tensor w = zeros({3}, ag::requires_grad());
  const std::string m = message_of([&] { normal_(w); });
  CHECK(contains(m, "normal_"));
  CHECK(contains(m, "in-place"));
  CHECK_THROWS_AS(uniform_(w), Error);
  {
    NoGradGuard ng;
    normal_(w, 0.0, 1.0);
    uniform_(w, 0.0, 1.0);
  }
  CHECK(w.requires_grad());
  CHECK_THROWS_AS(normal_(w * 2), Error);  // a recorded result

  // misuse
  Tensor f = empty({3}, kFloat64);
  CHECK(contains(message_of([&] { normal_(f, 0.0, -1.0); }), "std"));
  CHECK(contains(message_of([&] { uniform_(f, 2.0, 1.0); }), "uniform_"));
  CHECK_THROWS_AS(uniform_(f, 0.0, std::numeric_limits<double>::infinity()), Error);
  CHECK_THROWS_AS(uniform_(f, -1e308, 1e308), Error);  // to - from overflows
  Tensor l = zeros({3}, kInt64);
  CHECK(contains(message_of([&] { normal_(l); }), "normal_"));
  CHECK_THROWS_AS(uniform_(l), Error);
  CHECK_THROWS_AS(normal_(Tensor()), Error);
}

TEST_CASE("nn::init's normal_/uniform_ stay callable next to ag's (no ambiguity)") {
  Tensor t = empty({4, 3});
  nn::init::normal_(t, 0.0, 1.0);
  nn::init::uniform_(t, -1.0, 1.0);
  {
    using namespace ag::nn::init;
    normal_(t, 0.0, 0.1);  // nn::init's, preferred: it works under grad mode on a parameter too
    uniform_(t);
  }
  Tensor p = zeros({4, 3}, ag::requires_grad());
  nn::init::normal_(p);  // nn::init's uses NoGradGuard itself
  CHECK(p.requires_grad());
}

namespace {
// A program's own eye next to `using namespace ag` is preferred over ag::eye instead of being ambiguous
// (tests/test_fused.cpp has one).
Tensor eye(std::int64_t n) { return full({n}, 7.0); }
}  // namespace

TEST_CASE("compile-level: every older call form of the factories still compiles and means the same") {
  CHECK(eye(2).shape() == Shape{2});  // the local one above
  CHECK(ag::eye(2).shape() == Shape{2, 2});

  const Shape s{2, 3};
  const Dtype dt = kFloat64;
  CHECK(zeros({2, 3}).dtype() == kFloat32);
  CHECK(zeros(s, dt).dtype() == kFloat64);
  CHECK(zeros({}).dim() == 0);
  CHECK(ones({2}, kInt64).dtype() == kInt64);
  CHECK(ones(s).numel() == 6);
  CHECK(full({2}, 1.5).dtype() == kFloat32);
  CHECK(full({2}, 3, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 3});
  CHECK(full(s, -1.0, dt).dtype() == kFloat64);
  CHECK(empty({2}).dtype() == kFloat32);
  CHECK(empty({2}, kFloat64).dtype() == kFloat64);
  CHECK(empty({2}, kFloat64, "my_op").dtype() == kFloat64);
  CHECK(rand({2}).dtype() == kFloat32);
  CHECK(rand(s, dt).dtype() == kFloat64);
  CHECK(randn({2}, kFloat64).dtype() == kFloat64);
  CHECK(randint(0, 10, {3}).dtype() == kInt64);
  CHECK(randint(0, 10, s, kFloat32).dtype() == kFloat32);
  CHECK(arange(5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(arange(5, kInt64).dtype() == kInt64);
  CHECK(arange(0, 2, 0.5).numel() == 4);
  CHECK(arange(0, 5, 1, kFloat64).dtype() == kFloat64);
  CHECK(arange(1, 3).to_vector<float>() == std::vector<float>{1, 2});
  CHECK(zeros_like(ones({2}, kFloat64)).dtype() == kFloat64);
  CHECK(ones_like(ones({2})).numel() == 2);
  CHECK(full_like(ones({2}), 2).to_vector<float>() == std::vector<float>{2, 2});
  CHECK(scalar_tensor(1.0).dtype() == kFloat32);
  CHECK(scalar_tensor(1.0, kFloat64).dtype() == kFloat64);
  CHECK(from_buffer(std::vector<double>{1, 2}.data(), {2}, kFloat64).numel() == 2);

  // tensor(): every form the repository uses
  CHECK(tensor({1.0, 2.0}).dtype() == kFloat32);
  CHECK(tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}).shape() == Shape{2, 2});
  CHECK(tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64).dtype() == kFloat64);
  CHECK(tensor({2, 0.5, -1}, {1, 3}, kFloat64).to_vector<double>() == std::vector<double>{2, 0.5, -1});
  CHECK(tensor({1, 2, 3, 4}, {2, 2}, kInt64).dtype() == kInt64);
  const double v = 0.25;
  CHECK(tensor({v}, {1, 1}, kFloat64).shape() == Shape{1, 1});
  const std::initializer_list<double> il = {1.0, 2.0, 3.0};
  CHECK(tensor(il, {static_cast<std::int64_t>(il.size())}, kFloat64).numel() == 3);
  const std::vector<double> vd = {1, 2, 3, 4, 5, 6};
  CHECK(tensor(vd, s, kFloat64).shape() == s);
  CHECK(tensor(vd, {6}).dtype() == kFloat32);
  CHECK(tensor(vd).shape() == Shape{6});
  CHECK(tensor(vd, {}, kFloat64).shape() == Shape{6});
  const std::vector<std::int64_t> vl = {1, 2};
  CHECK(tensor(vl).dtype() == kInt64);
  CHECK(tensor(vl, {2}).dtype() == kInt64);
  CHECK(tensor(vl, {2}, kInt64).dtype() == kInt64);
  CHECK(tensor(vl, {2}, kFloat32).dtype() == kFloat32);
  CHECK(tensor(std::vector<std::int64_t>{1, 2}, {1, 2}).shape() == Shape{1, 2});
  const std::vector<float> vf = {0.5f, 0.25f};
  CHECK(tensor(vf).dtype() == kFloat32);
  CHECK(tensor(vf, {1, 2}, kFloat64).dtype() == kFloat64);
  const std::vector<std::int64_t> shape_vec = {2, 3};
  CHECK(tensor(vd, shape_vec, dt).shape() == Shape{2, 3});  // a std::vector shape
  const std::int64_t rows = 3, cols = 2;
  CHECK(tensor(vd, {rows, cols}).shape() == Shape{3, 2});
  CHECK(tensor({std::nan(""), 1.0}, {2}).numel() == 2);
  CHECK(tensor(vd, {}).shape() == Shape{6});  // {}: the empty shape (1-d), as before
  CHECK(tensor({1.0, 2.0}, {}).shape() == Shape{2});
  CHECK(tensor({1, 2}, {}).dtype() == kFloat32);  // the shape form: a braced list is float32
  CHECK(tensor({1, 2}, TensorOptions()).dtype() == kInt64);
}

TEST_CASE("factories take a single integer size as a 1-D shape, as libtorch's IntArrayRef") {
  CHECK(ag::zeros(3).sizes() == ag::Shape{3});
  CHECK(ag::ones(2, ag::kFloat64).to_vector<double>() == std::vector<double>{1, 1});
  CHECK(ag::full(4, 2.5).to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f});
  CHECK(ag::empty(5, ag::kInt64).sizes() == ag::Shape{5});
  const ag::Tensor r = ag::randn(3, ag::requires_grad());
  CHECK(r.sizes() == ag::Shape{3});
  CHECK(r.requires_grad());
  CHECK(ag::rand(std::int64_t{2}, ag::kFloat64).dtype() == ag::kFloat64);
  CHECK(ag::zeros({3}).sizes() == ag::Shape{3});  // a braced list is still a shape
  CHECK(ag::zeros({2, 3}).sizes() == ag::Shape{2, 3});
}
