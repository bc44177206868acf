#include "nn/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ag::optim {

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double abs_max(const Vec& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to
// [xmin, xmax] (the points' interval when no bounds are given); the middle when there is none.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt) {
  const auto [xmin, xmax] = bounds ? *bounds : (x1 <= x2 ? std::pair{x1, x2} : std::pair{x2, x1});
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const double d2 = std::sqrt(d2_square);
    const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return std::min(std::max(min_pos, xmin), xmax);
  }
  return (xmin + xmax) / 2.0;
}

struct LineSearchResult {
  double f;
  Vec g;
  double t;
  std::int64_t evals;
};

// PyTorch's _strong_wolfe (after minFunc / torch7's lswolfe): bracketing, then zoom.
template <class Obj>
LineSearchResult strong_wolfe(Obj&& obj, double t, const Vec& d, double f, const Vec& g, double gtd, double c1 = 1e-4,
                              double c2 = 0.9, double tolerance_change = 1e-9, std::int64_t max_ls = 25) {
  const double d_norm = abs_max(d);
  auto [f_new, g_new] = obj(t);
  std::int64_t evals = 1;
  double gtd_new = dot(g_new, d);
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Vec g_prev = g;
  bool done = false;
  std::int64_t ls_iter = 0;
  std::vector<double> bracket, bracket_f, bracket_gtd;
  std::vector<Vec> bracket_g;
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
      bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_g = {g_prev, g_new};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {t}, bracket_f = {f_new}, bracket_g = {g_new}, bracket_gtd = {gtd_new};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_g = {g_prev, g_new};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    // interpolate between the last two points, extrapolating up to 10 t
    const double min_step = t + 0.01 * (t - t_prev), max_step = t * 10, tmp = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, std::pair{min_step, max_step});
    t_prev = tmp;
    f_prev = f_new;
    g_prev = g_new;
    gtd_prev = gtd_new;
    std::tie(f_new, g_new) = obj(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
  }
  if (ls_iter == max_ls) {
    bracket = {0, t}, bracket_f = {f, f_new}, bracket_g = {g, g_new}, bracket_gtd = {gtd, gtd_new};
  }
  // zoom: shrink the bracket until a point satisfies the strong Wolfe conditions
  bool insuf_progress = false;
  std::size_t low = bracket_f.front() <= bracket_f.back() ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
    const double bmax = std::max(bracket[0], bracket[1]), bmin = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (bmax - bmin);
    if (std::min(bmax - t, t - bmin) < eps) {
      // close to a boundary: move 0.1 of the bracket away from it after two such steps in a row
      if (insuf_progress || t >= bmax || t <= bmin) {
        t = std::abs(t - bmax) < std::abs(t - bmin) ? bmax - eps : bmin + eps;
        insuf_progress = false;
      } else {
        insuf_progress = true;
      }
    } else {
      insuf_progress = false;
    }
    std::tie(f_new, g_new) = obj(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
    if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low]) {
      bracket[high] = t, bracket_f[high] = f_new, bracket_g[high] = g_new, bracket_gtd[high] = gtd_new;
      low = bracket_f[0] <= bracket_f[1] ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
        bracket[high] = bracket[low], bracket_f[high] = bracket_f[low], bracket_g[high] = bracket_g[low];
        bracket_gtd[high] = bracket_gtd[low];
      }
      bracket[low] = t, bracket_f[low] = f_new, bracket_g[low] = g_new, bracket_gtd[low] = gtd_new;
    }
  }
  return {bracket_f[low], bracket_g[low], bracket[low], evals};
}

void check_options(const LBFGSOptions& o, const char* where) {
  if (!(o.lr() >= 0) || o.max_iter() < 1 || o.max_eval() < 1 || !(o.tolerance_grad() >= 0) ||
      !(o.tolerance_change() >= 0) || o.history_size() < 1)
    fail(
        "LBFGS{}: invalid options lr {}, max_iter {}, max_eval {}, tolerance_grad {}, tolerance_change {}, "
        "history_size {}",
        where, o.lr(), o.max_iter(), o.max_eval(), o.tolerance_grad(), o.tolerance_change(), o.history_size());
  if (o.line_search_fn() && *o.line_search_fn() != "strong_wolfe")
    fail("LBFGS{}: line_search_fn must be none or \"strong_wolfe\", got \"{}\"", where, *o.line_search_fn());
}

}  // namespace

LBFGS::LBFGS(const std::vector<Tensor>& params, const LBFGSOptions& o) : Optimizer(params, o.lr()), options_(o) {
  check_options(o, "");
  for (const auto& p : params) dispatch_floating(p.dtype(), "LBFGS", []<class T>() {});
}

void LBFGS::step() { fail("LBFGS: step() needs a closure that re-evaluates the loss: call step(closure)"); }

std::int64_t LBFGS::numel() const {
  std::int64_t n = 0;
  for (const auto& p : groups_[0].params) n += p.numel();
  return n;
}

LBFGS::Vec LBFGS::gather_flat_grad() const {
  Vec out;
  out.reserve(static_cast<std::size_t>(numel()));
  for (const auto& p : groups_[0].params) {
    const Tensor g = p.grad();
    if (!g.defined()) {
      out.insert(out.end(), static_cast<std::size_t>(p.numel()), 0.0);
      continue;
    }
    dispatch_floating(g.dtype(), "LBFGS", [&]<class T>() {
      const T* v = g.cdata<T>();
      for (std::int64_t i = 0; i < g.numel(); ++i) out.push_back(static_cast<double>(v[i]));
    });
  }
  return out;
}

void LBFGS::add_grad(double t, const Vec& d) {
  NoGradGuard ng;
  std::size_t off = 0;
  for (auto& p : groups_[0].params) {
    dispatch_floating(p.dtype(), "LBFGS", [&]<class T>() {
      T* w = p.data<T>();
      for (std::int64_t i = 0; i < p.numel(); ++i) w[i] = static_cast<T>(static_cast<double>(w[i]) + t * d[off++]);
    });
    p.bump_version();
  }
}

std::vector<Tensor> LBFGS::clone_params() const {
  NoGradGuard ng;
  std::vector<Tensor> out;
  for (const auto& p : groups_[0].params) out.push_back(p.detach().clone());
  return out;
}

void LBFGS::set_params(const std::vector<Tensor>& x) {
  NoGradGuard ng;
  for (std::size_t k = 0; k < x.size(); ++k) {
    Tensor& p = groups_[0].params[k];
    std::memcpy(p.raw_data(), x[k].raw_data(), static_cast<std::size_t>(p.numel()) * itemsize(p.dtype()));
    p.bump_version();
  }
}

std::pair<double, LBFGS::Vec> LBFGS::directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x,
                                                          double t, const Vec& d) {
  add_grad(t, d);
  double loss = 0;
  {
    AutoGradMode on(true);
    loss = closure().item<double>();
  }
  Vec g = gather_flat_grad();
  set_params(x);
  return {loss, std::move(g)};
}

Tensor LBFGS::step(const LossClosure& closure) {
  if (!closure) fail("LBFGS: step needs a closure that re-evaluates the loss and its gradients");
  if (groups_.size() != 1) fail("LBFGS: one parameter group only, the optimizer has {}", groups_.size());
  const double lr = groups_[0].lr;
  const std::int64_t max_iter = options_.max_iter(), max_eval = options_.max_eval(),
                     history_size = options_.history_size();
  const double tolerance_grad = options_.tolerance_grad(), tolerance_change = options_.tolerance_change();
  auto evaluate = [&]() {
    AutoGradMode on(true);
    Tensor l = closure();
    if (!l.defined() || l.numel() != 1) fail("LBFGS: the closure must return the loss, a one-element tensor");
    return l;
  };

  Tensor orig_loss = evaluate();
  double loss = orig_loss.item<double>();
  std::int64_t current_evals = 1;
  ++func_evals_;
  Vec flat_grad = gather_flat_grad();
  bool opt_cond = abs_max(flat_grad) <= tolerance_grad;
  if (opt_cond) return orig_loss;

  // work on copies; the state is written back at the end (a throwing closure leaves the old state)
  Vec d = d_, prev_flat_grad = prev_flat_grad_;
  double t = t_, h_diag = h_diag_, prev_loss = prev_loss_;
  std::deque<Vec> old_dirs = old_dirs_, old_stps = old_stps_;
  std::deque<double> ro = ro_;
  std::int64_t n_iter_total = n_iter_, func_evals = func_evals_;
  std::vector<double> al(static_cast<std::size_t>(history_size));
  const std::size_t n = flat_grad.size();

  std::int64_t n_iter = 0;
  while (n_iter < max_iter) {
    ++n_iter;
    ++n_iter_total;
    if (n_iter_total == 1) {
      d.resize(n);
      for (std::size_t i = 0; i < n; ++i) d[i] = -flat_grad[i];
      old_dirs.clear(), old_stps.clear(), ro.clear();
      h_diag = 1;
    } else {
      Vec y(n), s(n);
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = flat_grad[i] - prev_flat_grad[i];
        s[i] = d[i] * t;
      }
      const double ys = dot(y, s);
      if (ys > 1e-10) {
        if (static_cast<std::int64_t>(old_dirs.size()) == history_size) {
          old_dirs.pop_front(), old_stps.pop_front(), ro.pop_front();
        }
        const double yy = dot(y, y);
        old_dirs.push_back(std::move(y));
        old_stps.push_back(std::move(s));
        ro.push_back(1.0 / ys);
        h_diag = ys / yy;
      }
      // two-loop recursion: d = -H g
      const std::size_t num_old = old_dirs.size();
      Vec q(n);
      for (std::size_t i = 0; i < n; ++i) q[i] = -flat_grad[i];
      for (std::size_t k = num_old; k-- > 0;) {
        al[k] = dot(old_stps[k], q) * ro[k];
        for (std::size_t i = 0; i < n; ++i) q[i] += -al[k] * old_dirs[k][i];
      }
      for (std::size_t i = 0; i < n; ++i) q[i] *= h_diag;
      for (std::size_t k = 0; k < num_old; ++k) {
        const double be = dot(old_dirs[k], q) * ro[k];
        for (std::size_t i = 0; i < n; ++i) q[i] += (al[k] - be) * old_stps[k][i];
      }
      d = std::move(q);
    }
    prev_flat_grad = flat_grad;
    prev_loss = loss;
    if (n_iter_total == 1) {
      double g1 = 0;
      for (double v : flat_grad) g1 += std::abs(v);
      t = std::min(1.0, 1.0 / g1) * lr;
    } else {
      t = lr;
    }
    const double gtd = dot(flat_grad, d);
    if (gtd > -tolerance_change) break;

    std::int64_t ls_func_evals = 0;
    if (options_.line_search_fn()) {
      const std::vector<Tensor> x_init = clone_params();
      auto obj = [&](double step) { return directional_evaluate(closure, x_init, step, d); };
      LineSearchResult r = strong_wolfe(obj, t, d, loss, flat_grad, gtd);
      loss = r.f;
      flat_grad = std::move(r.g);
      t = r.t;
      ls_func_evals = r.evals;
      add_grad(t, d);
      opt_cond = abs_max(flat_grad) <= tolerance_grad;
    } else {
      add_grad(t, d);
      if (n_iter != max_iter) {
        loss = evaluate().item<double>();
        flat_grad = gather_flat_grad();
        opt_cond = abs_max(flat_grad) <= tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals += ls_func_evals;
    if (n_iter == max_iter) break;
    if (current_evals >= max_eval) break;
    if (opt_cond) break;
    if (abs_max(d) * std::abs(t) <= tolerance_change) break;
    if (std::abs(loss - prev_loss) < tolerance_change) break;
  }
  d_ = std::move(d), prev_flat_grad_ = std::move(prev_flat_grad);
  t_ = t, h_diag_ = h_diag, prev_loss_ = prev_loss;
  old_dirs_ = std::move(old_dirs), old_stps_ = std::move(old_stps), ro_ = std::move(ro);
  n_iter_ = n_iter_total, func_evals_ = func_evals;
  return orig_loss;
}

void LBFGS::export_state(OptimizerState& s) const {
  s.options = {{"max_iter", static_cast<double>(options_.max_iter())},
               {"max_eval", static_cast<double>(options_.max_eval())},
               {"tolerance_grad", options_.tolerance_grad()},
               {"tolerance_change", options_.tolerance_change()},
               {"history_size", static_cast<double>(options_.history_size())},
               {"strong_wolfe", options_.line_search_fn() ? 1.0 : 0.0}};
  if (func_evals_ == 0) return;
  ParamState& ps = s.params[0];
  ps.scalars = {{"func_evals", static_cast<double>(func_evals_)},
                {"n_iter", static_cast<double>(n_iter_)},
                {"history", static_cast<double>(old_dirs_.size())}};
  if (n_iter_ == 0) return;
  const auto vec = [](const Vec& v) { return tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64); };
  ps.scalars["t"] = t_;
  ps.scalars["H_diag"] = h_diag_;
  ps.scalars["prev_loss"] = prev_loss_;
  ps.tensors["d"] = vec(d_);
  ps.tensors["prev_flat_grad"] = vec(prev_flat_grad_);
  for (std::size_t k = 0; k < old_dirs_.size(); ++k) {
    ps.tensors["old_dirs." + std::to_string(k)] = vec(old_dirs_[k]);
    ps.tensors["old_stps." + std::to_string(k)] = vec(old_stps_[k]);
    ps.scalars["ro." + std::to_string(k)] = ro_[k];
  }
}

void LBFGS::import_state(const OptimizerState& s) {
  LBFGSOptions o(s.lrs.empty() ? options_.lr() : s.lrs[0]);
  const auto integer = [&](const std::string& key) {
    const double v = required_option(s, key);
    if (v != std::floor(v) || std::abs(v) > 1e15) fail("LBFGS: load_state: '{}' is {}, not an integer", key, v);
    return static_cast<std::int64_t>(v);
  };
  o.max_iter(integer("max_iter"))
      .max_eval(integer("max_eval"))
      .tolerance_grad(required_option(s, "tolerance_grad"))
      .tolerance_change(required_option(s, "tolerance_change"))
      .history_size(integer("history_size"));
  if (required_option(s, "strong_wolfe") != 0.0) o.line_search_fn("strong_wolfe");
  check_options(o, ": load_state");
  const Shape flat{numel()};
  std::int64_t func_evals = 0, n_iter = 0;
  Vec d, prev_flat_grad;
  double t = 0, h_diag = 1, prev_loss = 0;
  std::deque<Vec> old_dirs, old_stps;
  std::deque<double> ro;
  const auto count = [&](const ParamState& ps, const std::string& key) {
    const double v = state_scalar(ps, 0, key);
    if (v < 0 || v != std::floor(v) || v > 1e15) fail("LBFGS: load_state: '{}' is {}", key, v);
    return static_cast<std::int64_t>(v);
  };
  for (const auto& entry : s.params) {
    // not a structured binding: clang 14 (the fuzz preset) cannot capture one in the lambda below
    const auto& i = entry.first;
    const auto& ps = entry.second;
    if (i != 0) fail("LBFGS: load_state: state for parameter {}; LBFGS keeps its state on parameter 0", i);
    func_evals = count(ps, "func_evals");
    n_iter = count(ps, "n_iter");
    const std::int64_t history = count(ps, "history");
    if (history > o.history_size())
      fail("LBFGS: load_state: {} history pairs but history_size is {}", history, o.history_size());
    if (n_iter == 0) continue;
    const auto vec = [&](const std::string& key) {
      return state_tensor(ps, 0, key, flat, kFloat64).to_vector<double>();
    };
    t = state_scalar(ps, 0, "t");
    h_diag = state_scalar(ps, 0, "H_diag");
    prev_loss = state_scalar(ps, 0, "prev_loss");
    d = vec("d");
    prev_flat_grad = vec("prev_flat_grad");
    for (std::int64_t k = 0; k < history; ++k) {
      old_dirs.push_back(vec("old_dirs." + std::to_string(k)));
      old_stps.push_back(vec("old_stps." + std::to_string(k)));
      ro.push_back(state_scalar(ps, 0, "ro." + std::to_string(k)));
    }
  }
  options_ = o;
  func_evals_ = func_evals, n_iter_ = n_iter;
  d_ = std::move(d), prev_flat_grad_ = std::move(prev_flat_grad);
  t_ = t, h_diag_ = h_diag, prev_loss_ = prev_loss;
  old_dirs_ = std::move(old_dirs), old_stps_ = std::move(old_stps), ro_ = std::move(ro);
}

}  // namespace ag::optim
