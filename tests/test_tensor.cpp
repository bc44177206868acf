// Tensor basics: creation, random numbers, accessors, sharing, printing, dtype conversion.
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <sstream>
#include <string>

#include "test_util.h"

using namespace ag;

namespace {
std::string printed(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}
}  // namespace

TEST_CASE("tensor() takes values, a shape and a dtype; a count mismatch is an error") {
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});
  CHECK(a.shape() == Shape{2, 3});
  CHECK(a.dim() == 2);
  CHECK(a.numel() == 6);
  CHECK(a.dtype() == kFloat32);
  CHECK(a.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});

  Tensor v = tensor({1.5, -2.5});
  CHECK(v.shape() == Shape{2});
  CHECK(v.dtype() == kFloat32);

  Tensor d = tensor({0.1, 0.2}, {2, 1}, kFloat64);
  CHECK(d.dtype() == kFloat64);
  CHECK(d.data<double>()[0] == 0.1);  // no float rounding on the way
  CHECK(d.data<double>()[1] == 0.2);

  Tensor l = tensor(std::vector<std::int64_t>{7, -8, 9});
  CHECK(l.dtype() == kInt64);
  CHECK(l.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, -8, 9});
  Tensor lf = tensor({2.0, 3.0}, {2}, kInt64);
  CHECK(lf.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 3});
  Tensor fv = tensor(std::vector<float>{0.5f, 0.25f}, {1, 2}, kFloat64);
  CHECK(fv.to_vector<double>() == std::vector<double>{0.5, 0.25});

  CHECK_THROWS_AS(tensor({1.0, 2.0, 3.0}, {2, 2}), Error);
  CHECK_THROWS_AS(tensor(std::vector<double>{1.0, 2.0}, {3}, kFloat64), Error);
  CHECK_THROWS_AS(tensor(std::vector<std::int64_t>{1, 2}, {1}), Error);
  try {
    tensor({1.0, 2.0, 3.0}, {2, 2});
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("tensor") != std::string::npos);
    CHECK(m.find("[2, 2]") != std::string::npos);
    CHECK(m.find('3') != std::string::npos);
  }
  // NaN or out-of-range values cannot become int64.
  CHECK_THROWS_AS(tensor({std::nan("")}, {1}, kInt64), Error);
  CHECK_THROWS_AS(tensor({1e300}, {1}, kInt64), Error);

  Tensor s = scalar_tensor(4.5, kFloat64);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.shape().empty());
  CHECK(s.item<double>() == 4.5);
}

TEST_CASE("zeros, ones, full, arange, *_like and from_buffer") {
  agt::check_values(zeros({2, 2}), {0, 0, 0, 0});
  CHECK(zeros({2, 2}).dtype() == kFloat32);
  agt::check_values(ones({3}, kFloat64), {1, 1, 1});
  CHECK(ones({3}, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1, 1});
  Tensor f = full({2, 1}, -2.5, kFloat64);
  CHECK(f.shape() == Shape{2, 1});
  agt::check_values(f, {-2.5, -2.5});
  CHECK(zeros({0, 3}).numel() == 0);
  CHECK(full({}, 3.0).dim() == 0);
  CHECK_THROWS_AS(zeros({2, -1}), Error);
  CHECK_THROWS_AS(full({1}, std::numeric_limits<double>::infinity(), kInt64), Error);

  agt::check_values(arange(5.0), {0, 1, 2, 3, 4});
  agt::check_values(arange(1.0, 2.0, 0.25, kFloat64), {1.0, 1.25, 1.5, 1.75});
  agt::check_values(arange(3.0, 0.0, -1.0), {3, 2, 1});
  CHECK(arange(0.0, 1.0, 0.3).numel() == 4);  // 0, 0.3, 0.6, 0.9
  CHECK(arange(2.0, 2.0).numel() == 0);
  CHECK(arange(4.0, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK_THROWS_AS(arange(0.0, 1.0, 0.0), Error);
  CHECK_THROWS_AS(arange(0.0, std::numeric_limits<double>::infinity()), Error);

  Tensor base = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2}, kFloat64);
  Tensor z = zeros_like(base), o = ones_like(base), fl = full_like(base, 7.0);
  CHECK(z.shape() == base.shape());
  CHECK(z.dtype() == kFloat64);
  agt::check_values(z, {0, 0, 0, 0, 0, 0});
  agt::check_values(o, {1, 1, 1, 1, 1, 1});
  agt::check_values(fl, {7, 7, 7, 7, 7, 7});
  CHECK(ones_like(ones({2}, kInt64)).dtype() == kInt64);

  double buf[4] = {1.5, 2.5, 3.5, 4.5};
  Tensor fb = from_buffer(buf, {2, 2}, kFloat64);
  CHECK(fb.shape() == Shape{2, 2});
  buf[0] = 100.0;  // a copy: the caller keeps its buffer
  agt::check_values(fb, {1.5, 2.5, 3.5, 4.5});
  const std::int64_t ibuf[3] = {4, 5, 6};
  CHECK(from_buffer(ibuf, {3}, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 5, 6});
  CHECK_THROWS_AS(from_buffer(nullptr, {2}, kFloat32), Error);
  CHECK(from_buffer(nullptr, {0}, kFloat32).numel() == 0);
}

TEST_CASE("rand and randn are reproducible after manual_seed and have the right moments") {
  manual_seed(42);
  const auto a = rand({64}).to_vector<float>();
  const auto an = randn({64}, kFloat64).to_vector<double>();
  manual_seed(42);
  const auto b = rand({64}).to_vector<float>();
  const auto bn = randn({64}, kFloat64).to_vector<double>();
  CHECK(a == b);
  CHECK(an == bn);
  manual_seed(43);
  CHECK(rand({64}).to_vector<float>() != a);
  for (float x : a) {
    CHECK(x >= 0.0f);
    CHECK(x < 1.0f);
  }

  manual_seed(7);
  const auto n = randn({10000}, kFloat64).to_vector<double>();
  double mean = 0;
  for (double x : n) mean += x;
  mean /= static_cast<double>(n.size());
  double var = 0;
  for (double x : n) var += (x - mean) * (x - mean);
  const double sd = std::sqrt(var / static_cast<double>(n.size() - 1));
  CHECK(std::abs(mean) < 0.04);  // 4 standard errors
  CHECK(sd == doctest::Approx(1.0).epsilon(0.03));

  manual_seed(7);
  const auto u = rand({10000}, kFloat64).to_vector<double>();
  double um = 0;
  for (double x : u) um += x;
  CHECK(um / 10000.0 == doctest::Approx(0.5).epsilon(0.02));

  manual_seed(1);
  const auto ri = randint(-2, 3, {1000}).to_vector<std::int64_t>();
  bool seen[5] = {};
  for (auto v : ri) {
    REQUIRE(v >= -2);
    REQUIRE(v < 3);
    seen[v + 2] = true;
  }
  for (bool s : seen) CHECK(s);
  CHECK_THROWS_AS(randint(3, 3, {2}), Error);
  CHECK_THROWS_AS(rand({2}, kInt64), Error);
  CHECK_THROWS_AS(randn({2}, kInt64), Error);
}

TEST_CASE("accessors: shape, dim, numel, dtype, item, to_vector, data<T>") {
  Tensor t = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {1, 2, 3}, kFloat64);
  CHECK(t.shape() == Shape{1, 2, 3});
  CHECK(t.sizes() == Shape{1, 2, 3});
  CHECK(t.size(1) == 2);
  CHECK(t.size(-1) == 3);
  CHECK_THROWS_AS(t.size(3), Error);
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 6);
  CHECK(t.dtype() == kFloat64);
  CHECK(t.scalar_type() == kFloat64);
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(t.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(t.data<double>()[4] == 5.0);
  CHECK_THROWS_AS(t.data<float>(), Error);
  CHECK_THROWS_AS(t.data<std::int64_t>(), Error);
  CHECK_THROWS_AS(ones({2}).data<double>(), Error);
  CHECK_THROWS_AS(t.item<double>(), Error);

  CHECK(scalar_tensor(2.75, kFloat32).item<float>() == 2.75f);
  CHECK(scalar_tensor(2.75, kFloat32).item<double>() == 2.75);
  CHECK(tensor({9.0}, {1, 1}, kInt64).item<std::int64_t>() == 9);
  CHECK(tensor({9.0}, {1}, kInt64).item<int>() == 9);

  Tensor u;
  CHECK_FALSE(u.defined());
  CHECK_THROWS_AS(u.shape(), Error);
  CHECK_THROWS_AS(u.numel(), Error);
  CHECK_THROWS_AS(u + u, Error);
}

TEST_CASE("copying a Tensor shares data; clone does not; reshape shares storage") {
  Tensor a = zeros({3});
  Tensor b = a;
  a.data<float>()[1] = 5.0f;
  CHECK(b.to_vector<float>() == std::vector<float>{0, 5, 0});
  b.data<float>()[2] = -1.0f;
  CHECK(a.to_vector<float>()[2] == -1.0f);

  Tensor c = a.clone();
  a.data<float>()[0] = 8.0f;
  CHECK(c.to_vector<float>() == std::vector<float>{0, 5, -1});
  CHECK(c.data<float>() != a.data<float>());

  Tensor r = a.reshape({3, 1});
  CHECK(r.shape() == Shape{3, 1});
  CHECK(r.data<float>() == a.data<float>());
  a.data<float>()[2] = 11.0f;
  CHECK(r.to_vector<float>()[2] == 11.0f);
  r.data<float>()[1] = 12.0f;
  CHECK(a.to_vector<float>()[1] == 12.0f);

  Tensor d = a.detach();
  CHECK(d.data<float>() == a.data<float>());
}

TEST_CASE("printing follows libtorch's layout") {
  CHECK(printed(tensor({1.5, 2.0, 3.0, 4.0}, {2, 2})) == " 1.5000  2.0000\n 3.0000  4.0000\n[ CPUFloatType{2,2} ]");
  CHECK(fmt::format("{}", tensor({1.5, 2.0, 3.0, 4.0}, {2, 2})) ==
        " 1.5000  2.0000\n 3.0000  4.0000\n[ CPUFloatType{2,2} ]");
  CHECK(printed(tensor(std::vector<std::int64_t>{1, 22, -3})) == "  1\n 22\n -3\n[ CPULongType{3} ]");
  CHECK(fmt::format("{}", tensor(std::vector<std::int64_t>{1, 22, -3})) == "  1\n 22\n -3\n[ CPULongType{3} ]");
  CHECK(printed(scalar_tensor(2.5, kFloat64)) == "2.5\n[ CPUDoubleType{} ]");
  CHECK(printed(scalar_tensor(1.0 / 3.0, kFloat64)) == "0.333333\n[ CPUDoubleType{} ]");
  CHECK(fmt::format("{}", scalar_tensor(-4.0, kInt64)) == "-4\n[ CPULongType{} ]");
  CHECK(printed(arange(8.0).reshape({2, 2, 2})) ==
        "(1,.,.) = \n  0  1\n  2  3\n\n(2,.,.) = \n  4  5\n  6  7\n[ CPUFloatType{2,2,2} ]");
  CHECK(fmt::format("{}", tensor({0.5, -1.25, 2.0, 3.0}, {2, 1, 2}, kFloat64)) ==
        "(1,.,.) = \n  0.5000 -1.2500\n\n(2,.,.) = \n  2  3\n[ CPUDoubleType{2,1,2} ]");
  // libtorch walks the batch indices with the first one fastest.
  CHECK(printed(arange(4.0).reshape({2, 2, 1, 1})) ==
        "(1,1,.,.) = \n  0\n\n(2,1,.,.) = \n  2\n\n(1,2,.,.) = \n  1\n\n(2,2,.,.) = \n  3\n[ CPUFloatType{2,2,1,1} ]");
  CHECK(printed(ones({2})) == " 1\n 1\n[ CPUFloatType{2} ]");
  CHECK(printed(tensor({0.5, 0.25})) == " 0.5000\n 0.2500\n[ CPUFloatType{2} ]");
  CHECK(printed(tensor({12.5, -3.0}, {1, 2}, kFloat64)) == " 12.5000  -3.0000\n[ CPUDoubleType{1,2} ]");
  // A common scale when every value is large, scientific notation when magnitudes differ widely.
  CHECK(printed(tensor({1000000.5, 2000000.0}, {2}, kFloat64)) == "1e+06 *\n 1.0000\n 2.0000\n[ CPUDoubleType{2} ]");
  CHECK(printed(tensor({1e-5, 1.0}, {2}, kFloat64)) == " 1.0000e-05\n 1.0000e+00\n[ CPUDoubleType{2} ]");
  CHECK(printed(tensor({std::nan(""), 1.5}, {2}, kFloat64)) == "    nan\n 1.5000\n[ CPUDoubleType{2} ]");
  CHECK(printed(zeros({0})) == "[ CPUFloatType{0} ]");
  CHECK(printed(zeros({2, 0})) == "[ CPUFloatType{2,0} ]");
  CHECK(printed(Tensor()) == "[ Tensor (undefined) ]");
  // Wide matrices are split into column blocks at 80 characters (26 columns of width 2 + 1).
  std::string wide = "Columns 1 to 26";
  for (int i = 0; i < 26; ++i) wide += i ? "  1" : " 1";
  wide += "\n\nColumns 27 to 30 1  1  1  1\n[ CPUFloatType{1,30} ]";
  CHECK(printed(ones({1, 30})) == wide);
  // The stream's own formatting state is left as it was.
  std::ostringstream os;
  os.precision(2);
  os << tensor({0.5}) << ' ' << 3.14159;
  CHECK(os.str() == " 0.5000\n[ CPUFloatType{1} ] 3.1");
}

TEST_CASE("to(dtype) converts, and is differentiable between float32 and float64") {
  Tensor x = tensor({1.5, -2.25, 3.0}, {3}, kFloat32).requires_grad_();
  Tensor y = x.to(kFloat64);
  CHECK(y.dtype() == kFloat64);
  agt::check_values(y, {1.5, -2.25, 3.0});
  CHECK(y.requires_grad());
  sum(y * y).backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().dtype() == kFloat32);
  agt::check_values(x.grad(), {3.0, -4.5, 6.0});

  Tensor w = tensor({0.5, 4.0}, {2}, kFloat64).requires_grad_();
  Tensor wf = w.to(kFloat32);
  CHECK(wf.dtype() == kFloat32);
  sum(wf * tensor({2.0, 3.0})).backward();
  CHECK(w.grad().dtype() == kFloat64);
  agt::check_values(w.grad(), {2.0, 3.0});

  CHECK(w.to(kFloat64).impl() == w.impl());  // same dtype: the tensor itself

  Tensor i = tensor({1.7, -2.7, 3.0}, {3}, kFloat64).to(kInt64);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 3});  // truncation, as libtorch
  CHECK_FALSE(w.to(kInt64).requires_grad());                                  // int64 cuts the graph
  agt::check_values(tensor(std::vector<std::int64_t>{4, -5}).to(kFloat32), {4.0, -5.0});
  CHECK_THROWS_AS(tensor({std::nan("")}, {1}, kFloat64).to(kInt64), Error);
  CHECK_THROWS_AS(tensor({1e30}, {1}, kFloat32).to(kInt64), Error);
}

TEST_CASE("requires_grad_ is for floating tensors only") {
  Tensor l = ones({2}, kInt64);
  CHECK_THROWS_AS(l.requires_grad_(), Error);
  CHECK_FALSE(l.requires_grad());
  l.requires_grad_(false);
  Tensor f = ones({2});
  f.requires_grad_();
  CHECK(f.requires_grad());
  CHECK(f.is_leaf());
  CHECK_FALSE(f.grad().defined());
  Tensor g = f * 2.0;
  CHECK_FALSE(g.is_leaf());
  CHECK_THROWS_AS(g.requires_grad_(false), Error);
}

namespace {
// The message of the ag::Error that f throws; "std::bad_alloc" when it throws that instead.
std::string allocation_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::bad_alloc&) {
    return "std::bad_alloc";
  }
  return "";
}
}  // namespace

TEST_CASE("an allocation that cannot be satisfied is an ag::Error naming the op, the shape and the bytes") {
  const Shape huge = {1000000, 1000000, 1000};  // 8e15 bytes in float64: more than any address space
  Tape& tape = Tape::current();
  const std::size_t nodes = tape.num_nodes();
  struct Case {
    std::string op;
    std::function<void()> f;
  };
  const std::vector<Case> cases = {
      {"zeros", [&] { zeros(huge, kFloat64); }},
      {"ones", [&] { ones(huge, kFloat64); }},
      {"full", [&] { full(huge, 2.0, kFloat64); }},
      {"randn", [&] { randn(huge, kFloat64); }},
      {"empty", [&] { empty(huge, kFloat64); }},
      // expand is a view (no allocation); making it contiguous allocates
      {"contiguous", [&] { expand(tensor({1.0}, {1}, kFloat64), huge).contiguous(); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.op);
    const std::string msg = allocation_error(c.f);
    CAPTURE(msg);
    CHECK(msg.rfind(c.op + ":", 0) == 0);
    CHECK(msg.find("can't allocate memory: you tried to allocate 8000000000000000 bytes") != std::string::npos);
    CHECK(msg.find("float64[1000000, 1000000, 1000]") != std::string::npos);
  }
  CHECK(tape.num_nodes() == nodes);  // nothing recorded

  // numel * itemsize past what size_t (or int64) can count: an ag::Error too, not a wrapped size
  for (const Shape& s : {Shape{std::int64_t(1) << 31, std::int64_t(1) << 31},
                         Shape{std::int64_t(1) << 40, std::int64_t(1) << 40}, Shape{std::int64_t(1) << 62, 3}}) {
    CAPTURE(shape_str(s));
    const std::string msg = allocation_error([&] { zeros(s, kFloat64); });
    CAPTURE(msg);
    CHECK(msg.rfind("zeros:", 0) == 0);
    CHECK(msg.find("can't allocate memory") != std::string::npos);
    CHECK(msg.find("float64" + shape_str(s)) != std::string::npos);
  }
}
