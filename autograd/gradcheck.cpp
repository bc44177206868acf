#include "autograd/gradcheck.h"

#include <cmath>
#include <random>

#include "autograd/engine.h"
#include "autograd/factory.h"
#include "autograd/forward_ad.h"
#include "autograd/forward_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/index.h"
#include "autograd/ops/shape_ops.h"

namespace ag {

namespace {

Shape unravel(std::int64_t k, const Shape& s) {
  Shape idx(s.size());
  for (std::size_t d = s.size(); d-- > 0;) {
    idx[d] = s[d] ? k % s[d] : 0;
    k = s[d] ? k / s[d] : 0;
  }
  return idx;
}

void check_inputs(const std::vector<Tensor>& inputs, const char* api) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    x.checked(api);
    if (x.dtype() == kFloat32 && x.requires_grad())
      fail(
          "{}: input {} is {}; finite differences need float64: with eps = 1e-6, float32's 7 significant digits "
          "leave the numeric derivative mostly rounding error. Convert with .to(ag::kFloat64)",
          api, i, describe(x));
  }
}

Tensor evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const char* api) {
  Tensor out = fn(inputs);
  if (!out.defined()) fail("{}: the function returned an undefined tensor", api);
  if (out.dtype() != kFloat64) fail("{}: the function returned {}; it must return float64", api, describe(out));
  return out;
}

struct Scorer {
  GradcheckReport& r;
  const GradcheckOptions& o;
  double worst = -1;
  void add(double a, double n, std::size_t input, const Shape& in_idx, const Shape& out_idx) {
    const double tol = o.atol + o.rtol * std::abs(n);
    const double err = std::abs(a - n);
    const bool bad = !(err <= tol);
    ++r.entries;
    if (bad) ++r.failures;
    const double score = std::isnan(err) ? INFINITY : err / tol;
    if (score > worst) {
      worst = score;
      r.input = input;
      r.input_index = in_idx;
      r.output_index = out_idx;
      r.analytic = a;
      r.numeric = n;
      r.error = err;
      r.tolerance = tol;
    }
  }
};

// J v by forward mode: fn on the inputs with input `d` made dual with tangent v (the others plain).
// An output without a tangent does not depend on input d: zeros.
Tensor forward_jv(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const std::vector<std::size_t>& diff,
                  const std::vector<Tensor>& v) {
  namespace fw = autograd::forward_ad;
  fw::dual_level level;
  // the inputs themselves carry the tangents (until the level ends), so that a function reading one
  // through a capture (a module's parameter listed as an input) sees it, as reverse mode does
  // (an input listed twice gets the sum of its tangents)
  for (std::size_t d = 0; d < diff.size(); ++d) {
    if (!v[d].defined()) continue;
    const Tensor prev = ag::detail::get_tangent(inputs[diff[d]]);
    ag::detail::set_tangent(inputs[diff[d]], prev.defined() ? add(prev, v[d]) : v[d], "gradcheck");
  }
  const Tensor out = evaluate(fn, inputs, "gradcheck (forward AD)");
  Tensor t = fw::unpack_dual(out).tangent;
  return t.defined() ? t.detach().contiguous() : zeros(out.shape(), kFloat64);
}

GradcheckReport full_check(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  GradcheckReport r;
  r.mode = "full Jacobian";
  Scorer sc{r, o};
  std::vector<std::size_t> diff;
  std::vector<Tensor> diff_inputs;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) {
      diff.push_back(i);
      diff_inputs.push_back(inputs[i]);
    }
  const Tensor out = evaluate(fn, inputs, "gradcheck");
  const std::int64_t n_out = out.numel();
  // analytic[d][j * n_in + k]: d(out_j)/d(input_d k)
  std::vector<std::vector<double>> analytic(diff.size());
  for (std::size_t d = 0; d < diff.size(); ++d)
    analytic[d].assign(static_cast<std::size_t>(n_out * inputs[diff[d]].numel()), 0.0);
  if (out.requires_grad()) {
    for (std::int64_t j = 0; j < n_out; ++j) {
      Tensor onehot = zeros(out.shape(), kFloat64);
      onehot.data<double>()[j] = 1.0;
      const auto gs = grad({out}, diff_inputs, {onehot}, true, false, true);
      for (std::size_t d = 0; d < diff.size(); ++d) {
        if (!gs[d].defined()) continue;
        const auto v = gs[d].to_vector<double>();
        const auto n_in = static_cast<std::size_t>(inputs[diff[d]].numel());
        for (std::size_t k = 0; k < n_in; ++k) analytic[d][static_cast<std::size_t>(j) * n_in + k] = v[k];
      }
    }
  }
  // forward[d][j * n_in + k], as analytic, from one JVP per input element
  std::vector<std::vector<double>> forward(o.check_forward_ad ? diff.size() : 0);
  for (std::size_t d = 0; d < forward.size(); ++d) {
    const auto n_in = static_cast<std::size_t>(inputs[diff[d]].numel());
    forward[d].assign(static_cast<std::size_t>(n_out) * n_in, 0.0);
    for (std::size_t k = 0; k < n_in; ++k) {
      std::vector<Tensor> v(diff.size());
      v[d] = zeros(inputs[diff[d]].shape(), kFloat64);
      v[d].data<double>()[k] = 1.0;
      const auto jv = forward_jv(fn, inputs, diff, v).to_vector<double>();
      for (std::int64_t j = 0; j < n_out; ++j)
        forward[d][static_cast<std::size_t>(j) * n_in + k] = jv[static_cast<std::size_t>(j)];
    }
  }
  if (o.check_forward_ad) r.mode = "full Jacobian, reverse and forward mode";
  NoGradGuard ng;
  for (std::size_t d = 0; d < diff.size(); ++d) {
    const Tensor& x = inputs[diff[d]];
    double* p = x.data<double>();
    const auto n_in = static_cast<std::size_t>(x.numel());
    for (std::size_t k = 0; k < n_in; ++k) {
      const double v = p[k];
      p[k] = v + o.eps;
      const auto fp = evaluate(fn, inputs, "gradcheck").to_vector<double>();
      p[k] = v - o.eps;
      const auto fm = evaluate(fn, inputs, "gradcheck").to_vector<double>();
      p[k] = v;
      for (std::int64_t j = 0; j < n_out; ++j) {
        const double num = (fp[static_cast<std::size_t>(j)] - fm[static_cast<std::size_t>(j)]) / (2 * o.eps);
        const std::size_t at = static_cast<std::size_t>(j) * n_in + k;
        sc.add(analytic[d][at], num, diff[d], unravel(static_cast<std::int64_t>(k), x.shape()),
               unravel(j, out.shape()));
        if (o.check_forward_ad) {
          sc.add(forward[d][at], num, diff[d], unravel(static_cast<std::int64_t>(k), x.shape()),
                 unravel(j, out.shape()));
          sc.add(forward[d][at], analytic[d][at], diff[d], unravel(static_cast<std::int64_t>(k), x.shape()),
                 unravel(j, out.shape()));
        }
      }
    }
  }
  r.ok = r.failures == 0;
  return r;
}

Tensor random_like(const Tensor& t, std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Tensor u = empty(t.shape(), kFloat64);
  for (std::int64_t i = 0; i < u.numel(); ++i) u.data<double>()[i] = nd(rng);
  return u;
}

double dot(const Tensor& a, const Tensor& b) {
  const double* pa = a.cdata<double>();
  const double* pb = b.cdata<double>();
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += pa[i] * pb[i];
  return s;
}

GradcheckReport projection_check(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  GradcheckReport r;
  r.mode = o.check_forward_ad ? "random projection, reverse and forward mode" : "random projection";
  Scorer sc{r, o};
  std::mt19937_64 rng(o.seed);
  std::vector<Tensor> diff_inputs;
  std::vector<std::size_t> diff;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) {
      diff.push_back(i);
      diff_inputs.push_back(inputs[i]);
    }
  for (int p = 0; p < o.num_projections; ++p) {
    const Tensor out = evaluate(fn, inputs, "gradcheck");
    const Tensor u = random_like(out, rng);
    std::vector<Tensor> v;
    for (const auto& x : diff_inputs) v.push_back(random_like(x, rng));
    double analytic = 0;
    if (out.requires_grad() && !diff_inputs.empty()) {
      const auto gs = grad({out}, diff_inputs, {u}, false, false, true);
      for (std::size_t d = 0; d < gs.size(); ++d)
        if (gs[d].defined()) analytic += dot(gs[d], v[d]);
    }
    const double forward = o.check_forward_ad ? dot(forward_jv(fn, inputs, diff, v), u) : 0.0;
    NoGradGuard ng;
    std::vector<std::vector<double>> saved;
    for (const auto& x : diff_inputs) saved.push_back(x.to_vector<double>());
    auto shift = [&](double s) {
      for (std::size_t d = 0; d < diff_inputs.size(); ++d) {
        double* px = diff_inputs[d].data<double>();
        const double* pv = v[d].cdata<double>();
        for (std::int64_t k = 0; k < diff_inputs[d].numel(); ++k)
          px[k] = saved[d][static_cast<std::size_t>(k)] + s * pv[k];
      }
    };
    shift(o.eps);
    const Tensor fp = evaluate(fn, inputs, "gradcheck");
    shift(-o.eps);
    const Tensor fm = evaluate(fn, inputs, "gradcheck");
    shift(0.0);
    const double numeric = (dot(fp, u) - dot(fm, u)) / (2 * o.eps);
    sc.add(analytic, numeric, diff.empty() ? 0 : diff[0], {}, {p});
    if (o.check_forward_ad) {
      sc.add(forward, numeric, diff.empty() ? 0 : diff[0], {}, {p});
      sc.add(forward, analytic, diff.empty() ? 0 : diff[0], {}, {p});
    }
  }
  r.ok = r.failures == 0;
  return r;
}

}  // namespace

std::string GradcheckReport::str() const {
  std::string s = fmt::format("gradcheck ({}): {} — {} entries compared, {} over tolerance\n", mode,
                              ok ? "passed" : "FAILED", entries, failures);
  s += fmt::format("  worst entry: input {} element {} / output element {}\n", input, shape_str(input_index),
                   shape_str(output_index));
  s += fmt::format("  analytic {:.10g}  numeric {:.10g}  |error| {:.3g}  tolerance {:.3g}", analytic, numeric, error,
                   tolerance);
  return s;
}

GradcheckReport gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  check_inputs(inputs, "gradcheck");
  return o.fast_mode ? projection_check(fn, inputs, o) : full_check(fn, inputs, o);
}

GradcheckReport gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  check_inputs(inputs, "gradgradcheck");
  std::vector<std::size_t> diff;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) diff.push_back(i);
  Tensor u;
  {
    NoGradGuard ng;
    std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
    u = random_like(evaluate(fn, inputs, "gradgradcheck"), rng);
  }
  // x -> grad(fn(x), x, u). Recorded (create_graph) for the analytic pass; under the finite
  // differences (grad mode off) it still needs a recorded first pass, so grad mode is switched on.
  auto first = [&, u](const std::vector<Tensor>& xs) -> Tensor {
    const bool outer = GradMode::is_enabled();
    AutoGradMode on(true);
    Tensor out = fn(xs);
    std::vector<Tensor> diff_inputs;
    for (auto i : diff) diff_inputs.push_back(xs[i]);
    std::vector<Tensor> gs(diff_inputs.size());
    if (out.requires_grad()) gs = grad({out}, diff_inputs, {u}, outer, outer, true);
    std::vector<Tensor> parts;
    for (std::size_t d = 0; d < gs.size(); ++d)
      parts.push_back(reshape(gs[d].defined() ? gs[d] : zeros_like(diff_inputs[d]), {-1}));
    Tensor flat = parts.empty() ? zeros({0}, kFloat64) : cat(parts, 0);
    return outer ? flat : flat.detach();
  };
  GradcheckReport r = gradcheck(first, inputs, o);
  r.mode = "second derivative, " + r.mode;
  return r;
}

}  // namespace ag
