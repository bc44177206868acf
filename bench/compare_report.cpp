// ag_compare's report (compare_report.h): Markdown tables from the measured results.
#include "bench/compare_report.h"

#include <cblas.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>

#include "autograd/parallel.h"

namespace agbench {
namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string met(bool ok) { return ok ? "yes" : "**no**"; }

}  // namespace

std::string fmt_time(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

void write_report(const CompareOptions& o, const std::vector<Spec>& specs, const GemmSurvey& survey,
                  const std::map<int, std::vector<TorchConfig>>& configs,
                  const std::map<std::tuple<std::string, int, std::size_t>, double>& config_step,
                  std::map<std::pair<std::string, int>, Result>& res) {
  const std::vector<KernelSet>& kernel_sets = survey.kernel_sets;
  const std::vector<GemmLibResult>& libs = survey.libs;
  const std::vector<GemmShape>& shapes = survey.shapes;
  std::string md;
  auto out = [&](const std::string& line) { md += line + "\n"; };
  // A "### title" section opening a Markdown table: columns separated by '|', the first left-aligned.
  auto table = [&](const std::string& title, const std::string& intro, const std::vector<std::string>& columns) {
    out("");
    out("### " + title);
    out("");
    if (!intro.empty()) {
      out(intro);
      out("");
    }
    std::string head = "|", rule = "|";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      head += " " + columns[i] + " |";
      rule += i == 0 ? "---|" : "---:|";
    }
    out(head);
    out(rule);
  };
  auto plural = [](int n) { return fmt::format("{} thread{}", n, n > 1 ? "s" : ""); };
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
  std::string thread_list;
  for (int n : o.threads) thread_list += (thread_list.empty() ? "" : ", ") + std::to_string(n);
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  out("## ag vs libtorch at its best");
  out("");
  out(
      fmt::format("{}; CPU: {}; threads: {}; libtorch {} ({}); ours: OpenBLAS kernels {} ({}), one OpenBLAS thread; "
                  "float32 (chain: float64); subnormals {}; median of {} rounds x {:.2f} s per engine, configuration "
                  "and measurement.",
                  date, cpu_model(), thread_list, torch_version(), openblas_build(), openblas_core(),
                  env_core ? fmt::format("OPENBLAS_CORETYPE={}", env_core) : "OPENBLAS_CORETYPE unset",
                  o.flush_denormal ? "flushed to zero" : "not flushed", o.rounds, o.budget));

  table("GEMM libraries: correctness on this CPU",
        "sgemm against a float64 reference on 1x1x1 to 513x509x511, odd sizes, all transposes, beta 0 and 1; worst = "
        "max |C - C_ref| / ((k + 2) u (|alpha| |A||B| + |beta| |C0|)), u = 2^-24 (the worst-case rounding bound of any "
        "summation order is 1). A library or kernel set that fails is excluded from the ceiling and from libtorch's "
        "configurations.",
        {"library", "setting", "check"});
  for (const KernelSet& ks : kernel_sets) {
    std::string check;
    for (const GemmLibResult& r : libs)
      if (r.ks && r.ks->core == ks.core)
        for (const std::string& c : r.checks) check += (check.empty() ? "" : "; ") + c;
    out(fmt::format("| OpenBLAS {} | {} | {} |", ks.core, ks.setting(),
                    ks.duplicate ? "(same kernels as above)" : check));
  }
  for (const GemmLibResult& r : libs) {
    if (r.ks) continue;
    std::string check;
    for (const std::string& c : r.checks) check += (check.empty() ? "" : "; ") + c;
    out(fmt::format("| {} | | {} |", r.name, check));
  }

  for (int n : o.threads) {
    table("Training step (zero_grad, forward, loss, backward, SGD), " + plural(n),
          "libtorch: the fastest of its configurations below (at most this many threads).",
          {"workload", "ours step", "libtorch best step", "ours / libtorch", "target", "met?",
           "libtorch's best configuration"});
    for (const Spec& s : specs) {
      const Result& r = res[{s.name, n}];
      const double ratio = r.ours.step / r.torch.step;
      std::string ours_t = fmt_time(r.ours.step), torch_t = fmt_time(r.torch.step);
      if (s.kind == Kind::Chain) {
        ours_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.ours.step / static_cast<double>(s.steps));
        torch_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.torch.step / static_cast<double>(s.steps));
      }
      out(fmt::format("| {} | {} | {} | {:.3f} | {} | {} | {} |", s.label, ours_t, torch_t, ratio,
                      s.target > 0 ? fmt::format("≤ {}", s.target) : "", s.target > 0 ? met(ratio <= s.target) : "",
                      r.torch_config));
    }
  }

  for (const auto& [n, cs] : configs) {
    std::vector<std::string> cols{"workload"};
    std::string legend;
    for (std::size_t ci = 0; ci < cs.size(); ++ci) {
      cols.push_back(fmt::format("C{}", ci + 1));
      legend += fmt::format("{}C{}: {}", ci ? "; " : "", ci + 1, cs[ci].label());
    }
    table("libtorch's configurations, " + plural(n),
          "Training step per configuration (the chain runs in C1 only); " + legend + ".", cols);
    for (const Spec& s : specs) {
      std::string row = "| " + s.label + " |";
      double best_t = 1e300;
      for (std::size_t ci = 0; ci < cs.size(); ++ci)
        if (config_step.count({s.name, n, ci})) best_t = std::min(best_t, config_step.at({s.name, n, ci}));
      for (std::size_t ci = 0; ci < cs.size(); ++ci) {
        const auto it = config_step.find({s.name, n, ci});
        row += it == config_step.end() ? " |"
               : it->second == best_t  ? " **" + fmt_time(it->second) + "** |"
                                       : " " + fmt_time(it->second) + " |";
      }
      out(row);
    }
  }

  const int n0 = o.threads.front();
  table("Forward, backward and tape memory, " + plural(n0),
        "libtorch: its best configuration. fwd no-grad: the loss under NoGradGuard; fwd: recorded; bwd: backward "
        "alone; rec/no-grad = fwd / fwd no-grad; tape: heap bytes allocated by the recorded forward and still held at "
        "its end (ours: plus the arena's nodes).",
        {"workload", "engine", "fwd no-grad", "fwd", "bwd", "bwd/fwd", "rec/no-grad", "tape", "tape nodes"});
  for (const Spec& s : specs) {
    const Result& r = res[{s.name, n0}];
    for (int e = 0; e < 2; ++e) {
      const Times& t = e == 0 ? r.ours : r.torch;
      out(fmt::format("| {} | {} | {} | {} | {} | {:.2f} | {:.2f} | {} | {} |", e == 0 ? s.label : "",
                      e == 0 ? "ours" : "libtorch", fmt_time(t.nograd), fmt_time(t.fwd), fmt_time(t.bwd), t.bwd / t.fwd,
                      t.fwd / t.nograd, human_bytes(e == 0 ? r.ours_tape : r.torch_tape),
                      e == 0 ? std::to_string(r.ours_nodes) : ""));
    }
  }

  table("Same weights, same data: ours vs libtorch before any update", "",
        {"workload", "loss (ours)", "loss (libtorch)", "rel. diff. of loss", "max rel. diff. of gradients"});
  for (const Spec& s : specs) {
    const Check& c = res[{s.name, n0}].chk;
    out(fmt::format("| {} | {:.7g} | {:.7g} | {:.1e} | {:.1e} |", s.label, c.loss_ours, c.loss_torch, c.loss_rel,
                    c.grad_rel));
  }
  out("");
  out("max rel. diff. of gradients: over parameters, max |g_ours - g_torch| / max |g_torch|.");

  const std::vector<Spec> lengths = rnn_length_specs();
  if (std::any_of(specs.begin(), specs.end(), [](const Spec& s) { return s.name.rfind("rnn_T", 0) == 0; })) {
    table("(9) RNN 32-128, B 16: cost per time step, " + plural(n0), "",
          {"T", "ours step", "ours step / T", "ours tape / T", "libtorch step", "libtorch step / T",
           "libtorch tape / T", "ours / libtorch"});
    for (const Spec& s : lengths) {
      if (!res.count({s.name, n0})) continue;
      const Result& r = res[{s.name, n0}];
      const double T = static_cast<double>(s.steps);
      out(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.3f} |", s.steps, fmt_time(r.ours.step),
                      fmt_time(r.ours.step / T), human_bytes(r.ours_tape / T), fmt_time(r.torch.step),
                      fmt_time(r.torch.step / T), human_bytes(r.torch_tape / T), r.ours.step / r.torch.step));
    }
  }

  if (o.only.empty() || std::find(o.only.begin(), o.only.end(), "checkpoint") != o.only.end()) {
    // Gradient checkpointing along time (ours only): plain BPTT vs RNNOptions::checkpoint_every(auto)
    // on the RNN of (9), same weights; step times interleaved in the same rounds.
    ag::set_num_threads(n0);
    ag::set_flush_denormal(o.flush_denormal);
    table("(9) with gradient checkpointing along time (ours), " + plural(n0),
          "k = round(sqrt(T)) steps per segment; tape as above; grad diff = max |g_plain - g_checkpointed| "
          "over all parameters after one backward from the same weights.",
          {"T", "k", "plain step", "checkpointed step", "time ratio", "plain tape", "checkpointed tape", "memory ratio",
           "grad diff"});
    for (const Spec& plain : lengths) {
      if (plain.steps < 100) continue;
      Spec ck = plain;
      ck.checkpoint_every = ag::nn::kCheckpointAuto;
      OursRunner a(plain), b(ck);
      double diff = 0;
      a.forward(), a.backward(), b.forward(), b.backward();
      const auto ga = a.gradients(), gb = b.gradients();
      for (std::size_t i = 0; i < ga.size(); ++i)
        for (std::size_t j = 0; j < ga[i].size(); ++j) diff = std::max(diff, std::abs(ga[i][j] - gb[i][j]));
      a.zero_grad(), b.zero_grad();
      const double ta = a.tape_bytes(), tb = b.tape_bytes();
      Samples sa, sb;
      for (int round = 0; round < o.rounds; ++round) {
        time_round(a, o.budget / o.rounds, sa);
        time_round(b, o.budget / o.rounds, sb);
      }
      const double step_a = sa.medians().step, step_b = sb.medians().step;
      out(fmt::format("| {} | {} | {} | {} | {:.2f} | {} | {} | {:.3f} | {:.1e} |", plain.steps,
                      static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(plain.steps)))),
                      fmt_time(step_a), fmt_time(step_b), step_b / step_a, human_bytes(ta), human_bytes(tb), tb / ta,
                      diff));
    }
  }

  // The GEMM ceiling: per shape, the fastest correct library; per workload, the step's GEMMs at that speed.
  auto best_lib = [&](int n, const GemmShape& g) -> std::pair<double, std::string> {
    double t = 1e300;
    std::string who;
    for (const GemmLibResult& r : libs) {
      const auto it = r.t.find({n, shape_key(g)});
      if (!r.ok || it == r.t.end() || it->second <= 0) continue;
      if (it->second < t) t = it->second, who = r.name;
    }
    return {t, who};
  };
  for (int n : o.threads) {
    std::vector<std::string> cols{"shape (row-major M x N x K, op(A) op(B))", "workloads"};
    for (const GemmLibResult& r : libs)
      if (r.ok) cols.push_back(r.name + " GFLOP/s");
    cols.push_back("fastest");
    table("GEMM ceiling per shape, " + plural(n),
          "Each correct library alone on the workloads' products (buffers preallocated, median seconds per call); "
          "OpenBLAS's and oneDNN's threads at this count (oneDNN: the faster of OMP_WAIT_POLICY active and "
          "passive); libxsmm: JIT kernels at one thread only.",
          cols);
    for (const GemmShape& g : shapes) {
      std::string users;
      for (const Spec& s : main_specs())
        for (const GemmShape& h : workload_gemms(s))
          if (shape_key(h) == shape_key(g) && users.find(s.name) == std::string::npos)
            users += (users.empty() ? "" : ", ") + s.name;
      std::string row = "| " + g.name() + " | " + users + " |";
      for (const GemmLibResult& r : libs) {
        if (!r.ok) continue;
        const auto it = r.t.find({n, shape_key(g)});
        row += it == r.t.end() || it->second <= 0 ? " n/a |" : fmt::format(" {:.1f} |", g.flops() / it->second * 1e-9);
      }
      out(row + " " + best_lib(n, g).second + " |");
    }
  }
  std::vector<const Spec*> gemm_workloads;
  for (const Spec& s : specs)
    if (!workload_gemms(s).empty() && s.name.rfind("rnn_T", 0) != 0) gemm_workloads.push_back(&s);
  if (!gemm_workloads.empty()) {
    table("Training step against the GEMM ceiling",
          "ceiling: the step's main products (gemm_ceiling.h: MLPs exactly; RNN/LSTM: the input projection over all "
          "steps, the recurrent product and its two backward products per step; raw-op RNNs: the input projection and "
          "its dW per step) each through the fastest correct "
          "library for its shape. % of ceiling = ceiling time / step time (the rest of the step, elementwise work, is "
          "not in the ceiling).",
          {"workload", "threads", "ceiling time", "ceiling GFLOP/s", "fastest per shape", "ours step",
           "ours % of ceiling", "libtorch best step", "libtorch % of ceiling"});
    for (const Spec* s : gemm_workloads)
      for (int n : o.threads) {
        double t = 0, flops = 0;
        std::set<std::string> winners;
        for (const GemmShape& g : workload_gemms(*s)) {
          const auto [bt, who] = best_lib(n, g);
          t += g.count * bt;
          flops += g.count * g.flops();
          winners.insert(who);
        }
        std::string who;
        for (const std::string& w : winners) who += (who.empty() ? "" : ", ") + w;
        const Result& r = res[{s->name, n}];
        out(fmt::format("| {} | {} | {} | {:.1f} | {} | {} | {:.0f}% | {} | {:.0f}% |", s->label, n, fmt_time(t),
                        flops / t * 1e-9, who, fmt_time(r.ours.step), 100 * t / r.ours.step, fmt_time(r.torch.step),
                        100 * t / r.torch.step));
      }
  }

  if (o.threads.size() >= 2) {
    const int n1 = o.threads[0], n2 = o.threads[1];
    table(fmt::format("Threads: training step with {} vs {} threads (speedup = time at {} / time at {})", n1, n2, n1,
                      n2),
          "libtorch: its best configuration at each thread count.", {"workload", "ours", "libtorch"});
    for (const Spec& s : specs)
      out(fmt::format("| {} | {:.2f}x | {:.2f}x |", s.label, res[{s.name, n1}].ours.step / res[{s.name, n2}].ours.step,
                      res[{s.name, n1}].torch.step / res[{s.name, n2}].torch.step));
  }

  // The other targets (issue #15; training-step ratio targets are in the tables above).
  table("Other targets", "", {"target", "measured", "met?"});
  const Spec* large = nullptr;
  for (const Spec& s : specs)
    if (s.name == "mlp_large") large = &s;
  if (large && res.count({"mlp_large", 1})) {
    const Result& r = res[{"mlp_large", 1}];
    double t = 0;
    for (const GemmShape& g : workload_gemms(*large)) t += g.count * best_lib(1, g).first;
    const double pct = 100 * t / r.ours.step;
    out(fmt::format("| (5) ≥ 85% of the GEMM ceiling (1 thread) | {:.0f}% | {} |", pct, met(pct >= 85)));
    out(fmt::format("| (5) bwd / fwd ≤ 2.1 | {:.2f} | {} |", r.ours.bwd / r.ours.fwd,
                    met(r.ours.bwd / r.ours.fwd <= 2.1)));
    out(fmt::format("| (5) fwd recorded / no-grad ≤ 1.05 | {:.3f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 1.05)));
  }
  if (res.count({"chain", n0})) {
    const Result& r = res[{"chain", n0}];
    out(fmt::format("| (2) fwd recorded / no-grad ≤ 2.5 | {:.2f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 2.5)));
  }
  // Issue #14's ratios (LeNet, LM) name no thread count: each engine at its best on the machine, the
  // fastest of its steps over the thread counts run (libtorch's is already the fastest of its
  // configurations at each count); the per-count ratios are in the tables above.
  for (const Spec& s : specs) {
    if ((s.name != "lenet" && s.name != "lm") || s.target <= 0 || o.threads.size() < 2) continue;
    double ours = 1e300, torch = 1e300;
    int ours_n = 0, torch_n = 0;
    for (int n : o.threads) {
      if (!res.count({s.name, n})) continue;
      const Result& r = res[{s.name, n}];
      if (r.ours.step < ours) ours = r.ours.step, ours_n = n;
      if (r.torch.step < torch) torch = r.torch.step, torch_n = n;
    }
    if (ours_n == 0) continue;
    const double ratio = ours / torch;
    const std::string tag(s.label.begin(), std::find(s.label.begin(), s.label.end(), ' '));  // "(11)"
    out(fmt::format(
        "| {} ≤ {}x libtorch, each at its best on the machine | {:.3f} ({} at {}, libtorch {} at {}) | {} |", tag,
        s.target, ratio, fmt_time(ours), plural(ours_n), fmt_time(torch), plural(torch_n), met(ratio <= s.target)));
  }
  if (o.threads.size() >= 2 && o.threads[0] == 1 && o.threads[1] == 2) {
    if (large) {
      const double sp = res[{"mlp_large", 1}].ours.step / res[{"mlp_large", 2}].ours.step;
      out(fmt::format("| (5) 2 threads ≥ 1.8x faster than 1 | {:.2f}x | {} |", sp, met(sp >= 1.8)));
    }
    std::string slower;
    double worst = 1e300;
    for (const Spec& s : specs) {
      const double sp = res[{s.name, 1}].ours.step / res[{s.name, 2}].ours.step;
      worst = std::min(worst, sp);
      if (sp < 1) slower += (slower.empty() ? "" : ", ") + s.name;
    }
    out(fmt::format("| no workload slower with 2 threads than with 1 | worst {:.2f}x{} | {} |", worst,
                    slower.empty() ? "" : " (" + slower + ")", met(slower.empty())));
  }

  std::cout << md;
  if (!o.out.empty()) {
    std::ofstream f(o.out);
    f << md;
  }
}

}  // namespace agbench
