// Anomaly detection (anomaly.h): the op where a NaN or Inf is born is named, in forward and in
// backward, with its inputs' ranges and the stack trace of its call; an op that only passes a NaN
// on is never blamed; off, nothing is checked.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "test_util.h"

using namespace ag;
using autograd::DetectAnomalyGuard;

namespace {

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// Named, not inlined: the stack trace of the recorded op must show this caller.
[[gnu::noinline]] Tensor anomaly_test_sqrt_graph(const Tensor& x) { return sqrt(x * 2.0).sum(); }

}  // namespace

TEST_CASE("anomaly: forward names the op that made a NaN from finite inputs, with their ranges") {
  Tensor x = tensor({1.0, -1.0, 0.5}, {3}, kFloat64).requires_grad_(true);
  {
    DetectAnomalyGuard guard;
    CHECK(autograd::AnomalyMode::is_enabled());
    const Tensor m = x * 1.0;
    const std::size_t nodes = Tape::current().num_nodes();
    const std::string e = agt::error_message([&] { (void)log(m); });
    CHECK(has(e, "anomaly detected in forward: op 'log' (LogBackward0) produced NaN (1 element) in output 0"));
    CHECK(has(e, "float64[3]"));
    CHECK(has(e, "range [-1, 1]"));
    CHECK(has(e, "Called at:\n    #0 ag::log("));  // the trace starts at the op the user called
    // nothing recorded for the failing op
    CHECK(Tape::current().num_nodes() == nodes);
    // Inf too
    const std::string inf = agt::error_message([&] { (void)(x / (x - x)); });
    CHECK(has(inf, "op 'div'"));
    CHECK(has(inf, "Inf (3 elements)"));
  }
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
  // off: the NaN passes silently, as in libtorch
  const Tensor y = log(x);
  CHECK(std::isnan(y.to_vector<double>()[1]));
}

TEST_CASE("anomaly: an op fed a NaN is not blamed; the input is named as born outside") {
  Tensor x = tensor({1.0, -1.0}, {2}, kFloat64).requires_grad_(true);
  const Tensor made_while_off = log(x);  // NaN, recorded while detection was off
  DetectAnomalyGuard guard;
  const std::string e = agt::error_message([&] { (void)(made_while_off * 3.0); });
  CHECK(has(e, "input 0 of op 'mul_scalar'"));
  CHECK(has(e, "already holds NaN"));
  CHECK(has(e, "computed by op 'log' while detection was off"));
  CHECK_FALSE(has(e, "produced"));
  Tensor data = tensor({std::nan(""), 1.0}, {2}, kFloat64);
  const std::string d = agt::error_message([&] { (void)(x * data); });
  CHECK(has(d, "input 1 of op 'mul'"));
  CHECK(has(d, "a leaf, data, or a result computed without recording"));
}

TEST_CASE("anomaly: backward names the VJP that made an Inf from finite gradients, and where its op was called") {
  DetectAnomalyGuard guard;
  Tensor x = tensor({0.0, 4.0}, {2}, kFloat64).requires_grad_(true);
  Tensor loss = anomaly_test_sqrt_graph(x);  // sqrt(0) is finite, its derivative is not
  const std::string e = agt::error_message([&] { loss.backward(); });
  CHECK(has(e, "anomaly detected in backward: the VJP of op 'sqrt' (SqrtBackward0) produced Inf (1 element)"));
  CHECK(has(e, "output gradient 0: float64[2], range [1, 1]"));
  CHECK(has(e, "recorded in forward at:"));
  CHECK(has(e, "anomaly_test_sqrt_graph"));
  CHECK_FALSE(x.grad().defined());  // nothing reached the leaf
}

TEST_CASE("anomaly: a non-finite gradient given to backward is named as such") {
  DetectAnomalyGuard guard;
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_(true);
  Tensor y = x * x;
  const Tensor bad = tensor({std::numeric_limits<double>::infinity(), 1.0}, {2}, kFloat64);
  const std::string e = agt::error_message([&] { y.backward(bad); });
  CHECK(has(e, "is already non-finite: it came from backward's grad_outputs or a hook"));
}

TEST_CASE("anomaly: finite graphs train as usual with detection on, and give the same gradients") {
  Tensor w = agt::input({3, 2}, 1.0);
  Tensor x = agt::input({4, 3}, 2.0, 1.0, 0.0, false);
  (tanh(matmul(x, w)).pow(2.0)).sum().backward();
  const auto off = w.grad().to_vector<double>();
  w.grad().zero_();
  {
    DetectAnomalyGuard guard;
    (tanh(matmul(x, w)).pow(2.0)).sum().backward();
  }
  CHECK(w.grad().to_vector<double>() == off);
  autograd::set_detect_anomaly(true);
  CHECK(autograd::AnomalyMode::is_enabled());
  autograd::set_detect_anomaly(false);
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
}
