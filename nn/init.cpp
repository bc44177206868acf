#include "nn/init.h"

#include <cmath>

namespace ag::nn::init {

double calculate_gain(Nonlinearity n, double param) {
  switch (n) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  if (t.dim() < 2) fail("init: fan in and fan out need a tensor of rank >= 2, got {}", describe(t));
  std::int64_t rf = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) rf *= t.size(d);
  return {t.size(1) * rf, t.size(0) * rf};
}

Tensor uniform_(Tensor t, double a, double b) {
  NoGradGuard ng;
  return t.copy_(ag::rand(t.shape(), t.dtype()) * (b - a) + a);
}

Tensor normal_(Tensor t, double mean, double std) {
  NoGradGuard ng;
  return t.copy_(ag::randn(t.shape(), t.dtype()) * std + mean);
}

Tensor constant_(Tensor t, double value) {
  NoGradGuard ng;
  return t.fill_(value);
}

Tensor zeros_(Tensor t) { return constant_(t, 0.0); }
Tensor ones_(Tensor t) { return constant_(t, 1.0); }

Tensor xavier_uniform_(Tensor t, double gain) {
  const auto [in, out] = calculate_fan_in_and_fan_out(t);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  return uniform_(t, -a, a);
}

Tensor xavier_normal_(Tensor t, double gain) {
  const auto [in, out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)));
}

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity n) {
  const auto [in, out] = calculate_fan_in_and_fan_out(t);
  const auto fan = static_cast<double>(mode == FanMode::FanIn ? in : out);
  if (fan == 0) fail("init: kaiming initialisation of a tensor with zero fan: {}", describe(t));
  return calculate_gain(n, a) / std::sqrt(fan);
}
}  // namespace

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity n) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, n);
  return uniform_(t, -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity n) {
  return normal_(t, 0.0, kaiming_std(t, a, mode, n));
}

}  // namespace ag::nn::init
