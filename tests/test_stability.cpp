// Numerical stability at +-1e3 and +-1e30 for what test_unary.cpp and test_softmax.cpp do not cover:
// logsumexp/log_softmax of equal huge entries, binary_cross_entropy_with_logits at +-1e30, and
// cross_entropy (class indices and probabilities) at +-1e3 and +-1e30, in float64 and float32; and
// NaN propagation (values and gradients at NaN inputs) op by op against PyTorch's.
#include <limits>
#include <string>

#include "test_util.h"

#include "nn/loss.h"

using namespace ag;
using nn::Reduction;

namespace {

void check_all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>()) CHECK(std::isfinite(v));
}

/// Exact comparison in float64; float32 rounds the huge values, so compare with a relative tolerance.
void check_exactish(const Tensor& t, const std::vector<double>& expected, Dtype dt) {
  check_all_finite(t);
  agt::check_values(t, expected, dt == kFloat32 ? 1e-4 : 1e-14);
}

}  // namespace

TEST_CASE("logsumexp and log_softmax of equal entries at +-1e3 and +-1e30: the shift keeps log(n)") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    for (double big : {1e3, -1e3, 1e30, -1e30}) {
      CAPTURE(big);
      Tensor x = full({2, 4}, big, dt).requires_grad_();
      Tensor lse = logsumexp(x, 1);
      // log(4 e^big) = big + log 4: exact at 1e3, and rounds to big at 1e30
      const double e = static_cast<double>(dt == kFloat32 ? static_cast<float>(big) : big) + std::log(4.0);
      check_exactish(lse, {e, e}, dt);
      lse.backward(ones({2}, dt));
      check_exactish(x.grad(), std::vector<double>(8, 0.25), dt);

      Tensor y = full({4}, big, dt).requires_grad_();
      Tensor ls = log_softmax(y, 0);
      check_exactish(ls, std::vector<double>(4, -std::log(4.0)), dt);
      sum(ls * tensor({1.0, 2.0, 3.0, 4.0}, {4}, dt)).backward();
      // g - softmax * sum(g) = g - 10/4
      check_exactish(y.grad(), {1.0 - 2.5, 2.0 - 2.5, 3.0 - 2.5, 4.0 - 2.5}, dt);
    }
  }
}

TEST_CASE("binary_cross_entropy_with_logits at +-1e30: finite losses, gradients sigmoid(z) - y and -z") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double big = dt == kFloat32 ? static_cast<double>(1e30f) : 1e30;
    Tensor z = tensor({1e30, 1e30, -1e30, -1e30, 1e30, -1e30}, {6}, dt).requires_grad_();
    Tensor y = tensor({0.0, 1.0, 0.0, 1.0, 0.5, 0.5}, {6}, dt).requires_grad_();
    Tensor l = nn::binary_cross_entropy_with_logits(z, y, Reduction::None);
    check_exactish(l, {big, 0.0, 0.0, big, 0.5 * big, 0.5 * big}, dt);
    sum(l).backward();
    check_exactish(z.grad(), {1.0, 0.0, 0.0, -1.0, 0.5, -0.5}, dt);
    check_exactish(y.grad(), {-big, -big, big, big, -big, big}, dt);
    // mean reduction stays finite too
    const Tensor m = nn::binary_cross_entropy_with_logits(z, y);
    check_all_finite(m);
    CHECK(m.item<double>() == doctest::Approx(3.0 * big / 6.0).epsilon(1e-6));
  }
}

TEST_CASE("cross_entropy with class indices at +-1e3 and +-1e30: loss = lse - logit, grad = softmax - onehot") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double big = dt == kFloat32 ? static_cast<double>(1e30f) : 1e30;
    Tensor logits = tensor({1e30, -1e30, 0.0,   // target 0: the winner, loss 0
                            1e30, -1e30, 0.0,   // target 1: loss 2e30
                            1e3, -1e3, 0.0,     // target 1: loss 2000
                            -1e3, -1e3, -1e3},  // target 2: three-way tie, loss log 3
                           {4, 3}, dt)
                        .requires_grad_();
    Tensor target = tensor(std::vector<std::int64_t>{0, 1, 1, 2}, {4});
    Tensor l = nn::cross_entropy(logits, target, Reduction::None);
    check_exactish(l, {0.0, 2 * big, 2000.0, std::log(3.0)}, dt);
    sum(l).backward();
    const double third = 1.0 / 3.0;
    check_exactish(logits.grad(), {0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, third, third, third - 1.0}, dt);
    logits.set_grad(Tensor());
    Tensor mean_loss = nn::cross_entropy(logits, target);
    check_all_finite(mean_loss);
    mean_loss.backward();
    check_all_finite(logits.grad());
    // a 1-D input with a 0-d target
    Tensor one = tensor({-1e30, 1e30}, {2}, dt).requires_grad_();
    Tensor l1 = nn::cross_entropy(one, reshape(tensor(std::vector<std::int64_t>{0}, {1}), {}));
    check_exactish(l1, {2 * big}, dt);
    l1.backward();
    check_exactish(one.grad(), {-1.0, 1.0}, dt);
  }
}

TEST_CASE("cross_entropy with class probabilities at +-1e3 and +-1e30: no 0 * inf, grad = softmax * sum(t) - t") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double big = dt == kFloat32 ? static_cast<double>(1e30f) : 1e30;
    Tensor logits = tensor({1e30, -1e30, 0.0, 1e3, -1e3, 1e3}, {2, 3}, dt).requires_grad_();
    Tensor probs = tensor({0.0, 1.0, 0.0, 0.25, 0.25, 0.5}, {2, 3}, dt).requires_grad_();
    Tensor l = nn::cross_entropy(logits, probs, Reduction::None);
    // row 1: lse = 1e3 + log 2; loss = -(0.25 (-log 2) + 0.25 (-2000 - log 2) + 0.5 (-log 2)) = 500 + log 2
    check_exactish(l, {2 * big, 500.0 + std::log(2.0)}, dt);
    sum(l).backward();
    check_exactish(logits.grad(), {1.0, -1.0, 0.0, 0.5 - 0.25, -0.25, 0.5 - 0.5}, dt);
    // d/dt = -log_softmax: finite even where log_softmax is -2e30
    check_exactish(probs.grad(), {0.0, 2 * big, big, std::log(2.0), 2000.0 + std::log(2.0), std::log(2.0)}, dt);
  }
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Same NaN positions, the other values equal to PyTorch's within the dtype's precision.
void check_nan_aware(const std::vector<double>& got, const std::vector<double>& want, Dtype dt,
                     const std::string& what) {
  CAPTURE(what);
  REQUIRE(got.size() == want.size());
  const double tol = dt == kFloat32 ? 1e-6 : 1e-12;
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CAPTURE(got[i]);
    CAPTURE(want[i]);
    if (std::isnan(want[i])) CHECK(std::isnan(got[i]));
    else CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
  }
}

struct NanCase {
  std::string name;
  Tensor (*f)(const Tensor&);
  std::vector<double> x, y, grad;  // PyTorch 2.x: y = f(x), grad = d sum(y) / dx (float64)
};

}  // namespace

// The table was made with Debian's python3-torch: for each row, x = torch.tensor(x, float64,
// requires_grad=True); y = f(x); y.sum().backward(); print(y, x.grad).
TEST_CASE("NaN propagation: forward values and gradients at NaN match PyTorch's, op by op") {
  const std::vector<NanCase> cases = {
      {"exp",
       [](const Tensor& x) { return exp(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.36787944117144233, 7.38905609893065},
       {kNaN, 0.36787944117144233, 7.38905609893065}},
      {"log",
       [](const Tensor& x) { return log(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, kNaN, 0.6931471805599453},
       {kNaN, -1.0, 0.5}},
      {"sqrt",
       [](const Tensor& x) { return sqrt(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, kNaN, 1.4142135623730951},
       {kNaN, kNaN, 0.35355339059327373}},
      {"abs", [](const Tensor& x) { return abs(x); }, {kNaN, -1.0, 2.0}, {kNaN, 1.0, 2.0}, {0.0, -1.0, 1.0}},
      {"sigmoid",
       [](const Tensor& x) { return sigmoid(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.2689414213699951, 0.8807970779778823},
       {kNaN, 0.19661193324148185, 0.10499358540350662}},
      {"tanh",
       [](const Tensor& x) { return tanh(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, -0.7615941559557649, 0.9640275800758169},
       {kNaN, 0.41997434161402614, 0.07065082485316443}},
      {"relu", [](const Tensor& x) { return relu(x); }, {kNaN, -1.0, 2.0}, {kNaN, 0.0, 2.0}, {1.0, 0.0, 1.0}},
      {"leaky_relu",
       [](const Tensor& x) { return leaky_relu(x, 0.01); },
       {kNaN, -1.0, 2.0},
       {kNaN, -0.01, 2.0},
       {0.01, 0.01, 1.0}},
      {"softplus",
       [](const Tensor& x) { return softplus(x); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.31326168751822286, 2.1269280110429727},
       {kNaN, 0.2689414213699951, 0.8807970779778824}},
      {"softplus(beta 2, threshold 1)",
       [](const Tensor& x) { return softplus(x, 2.0, 1.0); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.06346400552148625, 2.0},
       {kNaN, 0.11920292202211755, 1.0}},
      {"clamp(0, 1)",
       [](const Tensor& x) { return clamp(x, 0.0, 1.0); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.0, 1.0},
       {0.0, 0.0, 0.0}},
      {"clamp_min(0)",
       [](const Tensor& x) { return clamp_min(x, 0.0); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.0, 2.0},
       {0.0, 0.0, 1.0}},
      {"clamp_max(0)",
       [](const Tensor& x) { return clamp_max(x, 0.0); },
       {kNaN, -1.0, 2.0},
       {kNaN, -1.0, 0.0},
       {0.0, 1.0, 0.0}},
      {"clamp(1, 0)",
       [](const Tensor& x) { return clamp(x, 1.0, 0.0); },
       {kNaN, -1.0, 2.0},
       {kNaN, 0.0, 0.0},
       {0.0, 0.0, 0.0}},
      {"neg", [](const Tensor& x) { return neg(x); }, {kNaN, -1.0, 2.0}, {kNaN, 1.0, -2.0}, {-1.0, -1.0, -1.0}},
      {"pow 2", [](const Tensor& x) { return pow(x, 2.0); }, {kNaN, -1.0, 2.0}, {kNaN, 1.0, 4.0}, {kNaN, -2.0, 4.0}},
      {"pow 0", [](const Tensor& x) { return pow(x, 0.0); }, {kNaN, -1.0, 2.0}, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0}},
      {"pow 0.5",
       [](const Tensor& x) { return pow(x, 0.5); },
       {kNaN, -1.0, 2.0},
       {kNaN, kNaN, 1.4142135623730951},
       {kNaN, kNaN, 0.35355339059327373}},
      {"square", [](const Tensor& x) { return square(x); }, {kNaN, -1.0, 2.0}, {kNaN, 1.0, 4.0}, {kNaN, -2.0, 4.0}},
      {"x + 1", [](const Tensor& x) { return x + 1.0; }, {kNaN, -1.0, 2.0}, {kNaN, 0.0, 3.0}, {1.0, 1.0, 1.0}},
      {"x - 1", [](const Tensor& x) { return x - 1.0; }, {kNaN, -1.0, 2.0}, {kNaN, -2.0, 1.0}, {1.0, 1.0, 1.0}},
      {"1 - x", [](const Tensor& x) { return 1.0 - x; }, {kNaN, -1.0, 2.0}, {kNaN, 2.0, -1.0}, {-1.0, -1.0, -1.0}},
      {"x * 2", [](const Tensor& x) { return x * 2.0; }, {kNaN, -1.0, 2.0}, {kNaN, -2.0, 4.0}, {2.0, 2.0, 2.0}},
      {"x * 0", [](const Tensor& x) { return x * 0.0; }, {kNaN, -1.0, 2.0}, {kNaN, -0.0, 0.0}, {0.0, 0.0, 0.0}},
      {"x / 2", [](const Tensor& x) { return x / 2.0; }, {kNaN, -1.0, 2.0}, {kNaN, -0.5, 1.0}, {0.5, 0.5, 0.5}},
      {"2 / x", [](const Tensor& x) { return 2.0 / x; }, {kNaN, -1.0, 2.0}, {kNaN, -2.0, 1.0}, {kNaN, -2.0, -0.5}},
      {"sum", [](const Tensor& x) { return sum(x); }, {kNaN, -1.0, 2.0}, {kNaN}, {1.0, 1.0, 1.0}},
      {"sum", [](const Tensor& x) { return sum(x); }, {1.0, 5.0, kNaN}, {kNaN}, {1.0, 1.0, 1.0}},
      {"sum", [](const Tensor& x) { return sum(x); }, {kNaN, 1.0, kNaN}, {kNaN}, {1.0, 1.0, 1.0}},
      {"mean",
       [](const Tensor& x) { return mean(x); },
       {kNaN, -1.0, 2.0},
       {kNaN},
       {0.3333333333333333, 0.3333333333333333, 0.3333333333333333}},
      {"mean",
       [](const Tensor& x) { return mean(x); },
       {1.0, 5.0, kNaN},
       {kNaN},
       {0.3333333333333333, 0.3333333333333333, 0.3333333333333333}},
      {"mean",
       [](const Tensor& x) { return mean(x); },
       {kNaN, 1.0, kNaN},
       {kNaN},
       {0.3333333333333333, 0.3333333333333333, 0.3333333333333333}},
      {"max", [](const Tensor& x) { return max(x); }, {kNaN, -1.0, 2.0}, {kNaN}, {1.0, 0.0, 0.0}},
      {"max", [](const Tensor& x) { return max(x); }, {1.0, 5.0, kNaN}, {kNaN}, {0.0, 0.0, 1.0}},
      {"max", [](const Tensor& x) { return max(x); }, {kNaN, 1.0, kNaN}, {kNaN}, {0.5, 0.0, 0.5}},
      {"min", [](const Tensor& x) { return min(x); }, {kNaN, -1.0, 2.0}, {kNaN}, {1.0, 0.0, 0.0}},
      {"min", [](const Tensor& x) { return min(x); }, {1.0, 5.0, kNaN}, {kNaN}, {0.0, 0.0, 1.0}},
      {"min", [](const Tensor& x) { return min(x); }, {kNaN, 1.0, kNaN}, {kNaN}, {0.5, 0.0, 0.5}},
      {"max(dim)", [](const Tensor& x) { return max(x, 0).values; }, {kNaN, -1.0, 2.0}, {kNaN}, {1.0, 0.0, 0.0}},
      {"max(dim)", [](const Tensor& x) { return max(x, 0).values; }, {1.0, 5.0, kNaN}, {kNaN}, {0.0, 0.0, 1.0}},
      {"max(dim)", [](const Tensor& x) { return max(x, 0).values; }, {kNaN, 1.0, kNaN}, {kNaN}, {1.0, 0.0, 0.0}},
      {"min(dim)", [](const Tensor& x) { return min(x, 0).values; }, {kNaN, -1.0, 2.0}, {kNaN}, {1.0, 0.0, 0.0}},
      {"min(dim)", [](const Tensor& x) { return min(x, 0).values; }, {1.0, 5.0, kNaN}, {kNaN}, {0.0, 0.0, 1.0}},
      {"min(dim)", [](const Tensor& x) { return min(x, 0).values; }, {kNaN, 1.0, kNaN}, {kNaN}, {1.0, 0.0, 0.0}},
      {"amax", [](const Tensor& x) { return amax(x, 0); }, {kNaN, -1.0, 2.0}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"amax", [](const Tensor& x) { return amax(x, 0); }, {1.0, 5.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"amax", [](const Tensor& x) { return amax(x, 0); }, {kNaN, 1.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"amin", [](const Tensor& x) { return amin(x, 0); }, {kNaN, -1.0, 2.0}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"amin", [](const Tensor& x) { return amin(x, 0); }, {1.0, 5.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"amin", [](const Tensor& x) { return amin(x, 0); }, {kNaN, 1.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"logsumexp", [](const Tensor& x) { return logsumexp(x, 0); }, {kNaN, -1.0, 2.0}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"logsumexp", [](const Tensor& x) { return logsumexp(x, 0); }, {1.0, 5.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"logsumexp", [](const Tensor& x) { return logsumexp(x, 0); }, {kNaN, 1.0, kNaN}, {kNaN}, {kNaN, kNaN, kNaN}},
      {"softmax",
       [](const Tensor& x) { return softmax(x, 0); },
       {kNaN, -1.0, 2.0},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
      {"softmax",
       [](const Tensor& x) { return softmax(x, 0); },
       {1.0, 5.0, kNaN},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
      {"softmax",
       [](const Tensor& x) { return softmax(x, 0); },
       {kNaN, 1.0, kNaN},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
      {"log_softmax",
       [](const Tensor& x) { return log_softmax(x, 0); },
       {kNaN, -1.0, 2.0},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
      {"log_softmax",
       [](const Tensor& x) { return log_softmax(x, 0); },
       {1.0, 5.0, kNaN},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
      {"log_softmax",
       [](const Tensor& x) { return log_softmax(x, 0); },
       {kNaN, 1.0, kNaN},
       {kNaN, kNaN, kNaN},
       {kNaN, kNaN, kNaN}},
  };
  for (Dtype dt : {kFloat64, kFloat32}) {
    for (const NanCase& c : cases) {
      CAPTURE(dtype_name(dt));
      CAPTURE(c.name);
      INFO("x = " << c.x[0] << ", " << c.x[1] << ", " << c.x[2]);
      try {  // each row on its own: one that throws does not hide the next
        Tensor x = tensor(c.x, {static_cast<std::int64_t>(c.x.size())}, dt).requires_grad_();
        Tensor y = c.f(x);
        check_nan_aware(y.to_vector<double>(), c.y, dt, "value");
        sum(y).backward();
        REQUIRE(x.grad().defined());
        check_nan_aware(x.grad().to_vector<double>(), c.grad, dt, "gradient");
      } catch (const Error& e) {
        FAIL_CHECK("threw: " << e.what());
      }
    }
  }
}

TEST_CASE("NaN propagation: binary ops, comparisons, where and argmax match PyTorch's") {
  using Binary = Tensor (*)(const Tensor&, const Tensor&);
  struct BinaryCase {
    std::string name;
    Binary f;
    std::vector<double> y, ga, gb;
  };
  // a = [nan, 1], b = [2, nan]
  const std::vector<BinaryCase> binary = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, {kNaN, kNaN}, {1.0, 1.0}, {1.0, 1.0}},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, {kNaN, kNaN}, {1.0, 1.0}, {-1.0, -1.0}},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, {kNaN, kNaN}, {2.0, kNaN}, {kNaN, 1.0}},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, {kNaN, kNaN}, {0.5, kNaN}, {kNaN, kNaN}},
      {"where(true, a, b)",
       [](const Tensor& a, const Tensor& b) { return where(ones({2}, kFloat64), a, b); },
       {kNaN, 1.0},
       {1.0, 1.0},
       {0.0, 0.0}},
      {"where(false, a, b)",
       [](const Tensor& a, const Tensor& b) { return where(zeros({2}, kFloat64), a, b); },
       {2.0, kNaN},
       {0.0, 0.0},
       {1.0, 1.0}},
  };
  for (Dtype dt : {kFloat64, kFloat32}) {
    for (const BinaryCase& c : binary) {
      CAPTURE(dtype_name(dt));
      CAPTURE(c.name);
      Tensor a = tensor({kNaN, 1.0}, {2}, dt).requires_grad_();
      Tensor b = tensor({2.0, kNaN}, {2}, dt).requires_grad_();
      Tensor y = c.f(a, b);
      check_nan_aware(y.to_vector<double>(), c.y, dt, "value");
      sum(y).backward();
      check_nan_aware(a.grad().to_vector<double>(), c.ga, dt, "gradient of a");
      check_nan_aware(b.grad().to_vector<double>(), c.gb, dt, "gradient of b");
    }
    // comparisons with NaN are false, except ne (IEEE), as torch.eq/ne/lt/le/gt/ge
    Tensor a = tensor({kNaN, 1.0, kNaN}, {3}, dt);
    Tensor b = tensor({2.0, kNaN, kNaN}, {3}, dt);
    CHECK(eq(a, b).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(ne(a, b).to_vector<double>() == std::vector<double>{1, 1, 1});
    CHECK(lt(a, b).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(le(a, b).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(gt(a, b).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(ge(a, b).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(eq(a, 1.0).to_vector<double>() == std::vector<double>{0, 1, 0});
    CHECK(ne(a, 1.0).to_vector<double>() == std::vector<double>{1, 0, 1});
    CHECK(lt(a, 1.0).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(le(a, 1.0).to_vector<double>() == std::vector<double>{0, 1, 0});
    CHECK(gt(a, 1.0).to_vector<double>() == std::vector<double>{0, 0, 0});
    CHECK(ge(a, 1.0).to_vector<double>() == std::vector<double>{0, 1, 0});
    // argmax: the first NaN is the max
    CHECK(argmax(tensor({kNaN, -1.0, 2.0}, {3}, dt), 0).item<std::int64_t>() == 0);
    CHECK(argmax(tensor({1.0, 5.0, kNaN}, {3}, dt), 0).item<std::int64_t>() == 2);
    ValuesIndices mx = max(tensor({1.0, kNaN, 5.0, kNaN}, {4}, dt), 0);
    CHECK(std::isnan(mx.values.item<double>()));
    CHECK(mx.indices.item<std::int64_t>() == 1);
  }
}

TEST_CASE(
    "NaN propagation: the fused relu RNN cell gives relu's NaN and gradient (as PyTorch's, which composes relu)") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    auto make = [&](const std::vector<double>& v, const Shape& s) { return tensor(v, s, dt).requires_grad_(); };
    // a NaN bias makes one pre-activation NaN; the others are one positive, one negative
    Tensor x = make({0.5, -1.0}, {1, 2});
    Tensor h = make({0.25, 0.75, -0.5}, {1, 3});
    Tensor w_ih = make({0.1, 0.2, -0.3, 0.4, 0.5, 0.6}, {3, 2});
    Tensor w_hh = make({0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9}, {3, 3});
    Tensor b_ih = make({kNaN, 2.0, -3.0}, {3});
    Tensor b_hh = make({0.1, 0.2, 0.3}, {3});
    const std::vector<Tensor> params = {x, h, w_ih, w_hh, b_ih, b_hh};
    Tensor fused = rnn_relu_cell(x, h, w_ih, w_hh, b_ih, b_hh);
    const auto gf = grad({sum(fused)}, params);
    Tensor composed = relu(add(linear(x, w_ih, b_ih), linear(h, w_hh, b_hh)));
    const auto gc = grad({sum(composed)}, params);
    const auto yc = composed.to_vector<double>();
    CHECK(std::isnan(yc[0]));
    CHECK(yc[1] > 0);
    CHECK(yc[2] == 0);
    check_nan_aware(fused.to_vector<double>(), yc, dt, "value");
    for (std::size_t i = 0; i < params.size(); ++i) {
      CAPTURE(i);
      check_nan_aware(gf[i].to_vector<double>(), gc[i].to_vector<double>(), dt, "gradient");
    }
    check_nan_aware(gc[4].to_vector<double>(), {1.0, 1.0, 0.0}, dt, "gradient of b_ih");
    // the same through the variant with the input projection done beforehand
    Tensor xg = add(linear(x, w_ih), b_ih);
    Tensor fg = rnn_relu_cell_gates(xg, h, w_hh, b_hh);
    check_nan_aware(fg.to_vector<double>(), yc, dt, "value (gates)");
    const auto gg = grad({sum(fg)}, {b_ih, w_hh});
    check_nan_aware(gg[0].to_vector<double>(), {1.0, 1.0, 0.0}, dt, "gradient of b_ih (gates)");
    check_nan_aware(gg[1].to_vector<double>(), gc[3].to_vector<double>(), dt, "gradient of w_hh (gates)");
  }
}
