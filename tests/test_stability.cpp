// Numerical stability at +-1e3 and +-1e30 for what test_unary.cpp and test_softmax.cpp do not cover:
// logsumexp/log_softmax of equal huge entries, binary_cross_entropy_with_logits at +-1e30, and
// cross_entropy (class indices and probabilities) at +-1e3 and +-1e30, in float64 and float32.
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
    Tensor logits = tensor({1e30, -1e30, 0.0,    // target 0: the winner, loss 0
                            1e30, -1e30, 0.0,    // target 1: loss 2e30
                            1e3, -1e3, 0.0,      // target 1: loss 2000
                            -1e3, -1e3, -1e3},   // target 2: three-way tie, loss log 3
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
