// ag_compare: the workloads of bench/workloads.h in ag and in libtorch, in one process, with the
// same shapes, data and initial weights, float32 (float64 for the chain), and the same thread count
// (ag::set_num_threads, torch::set_num_threads; OpenBLAS at that count for libtorch and plain sgemm, at
// one for ours, which splits large products over its own pool).
// Run through scripts/compare.sh; prints Markdown tables and writes them to --out.
//
// Method: per workload and thread count, both engines are built (libtorch gets ag's initial weights
// and data), checked once against each other (loss and gradients, max relative difference), warmed
// up, then timed in --rounds rounds alternating ag and libtorch and the thread counts (so all see
// the same load on a shared machine); each round runs full training steps for budget/rounds seconds (at least 1), then
// as many "passes" (forward under no-grad, recorded forward, backward, timed apart). A round of ours
// starts only once OpenBLAS's workers, busy after libtorch's or the ceiling's threaded GEMMs, have
// gone to sleep (set_blas_threads). Every figure is the median over all iterations. Tape memory: heap bytes allocated
// by one recorded forward pass and still held at its end (glibc mallinfo2; ag adds its arena: Tape::arena_bytes).
// Subnormal floats are flushed to zero (FTZ/DAZ, ag::set_flush_denormal and libtorch's
// setFlushDenormal, the same MXCSR bits) unless --denormals is given: the RNN's gradient vanishes
// below float32's normal range at T >= 200 and arithmetic on subnormals then makes backward 10-20x
// slower in both engines, which would hide everything else (and the linearity in T) in workload 9.
// A last table (ours only; "checkpoint" in --only) compares plain BPTT with checkpoint_every(auto) on (9).
//   ag_compare [--threads 1,2] [--budget 0.3] [--rounds 5] [--only xor,mlp_large,checkpoint] [--denormals] [--out FILE]
#include <cblas.h>
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "bench/compare.h"

#include "autograd/parallel.h"

namespace agbench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

class OursRunner final : public Runner {
 public:
  explicit OursRunner(const Spec& s) : w_(s) {}
  const Workload& workload() const { return w_; }
  void forward_nograd() override { ag::Tensor l = w_.forward_nograd(); }
  void forward() override { loss_ = w_.forward(); }
  void backward() override {
    loss_.backward();
    loss_ = ag::Tensor();
  }
  void zero_grad() override { w_.zero_grad(); }
  double step() override { return w_.step(); }
  double tape_bytes() override {
    const TapeMemory m = measure_tape_memory(w_);
    zero_grad();
    nodes = m.nodes;
    return m.total();
  }
  double loss() override { return loss_.item<double>(); }
  std::vector<std::vector<double>> gradients() override {
    std::vector<std::vector<double>> out;
    for (const ag::Tensor& p : w_.parameters()) {
      const ag::Tensor g = p.grad().to(ag::kFloat64);
      out.emplace_back(g.data<double>(), g.data<double>() + g.numel());
    }
    return out;
  }
  std::size_t nodes = 0;

 private:
  Workload w_;
  ag::Tensor loss_;
};

struct Times {
  double step = 0, nograd = 0, fwd = 0, bwd = 0;
};

struct Samples {
  std::vector<double> step, nograd, fwd, bwd;
  Times medians() const { return {median(step), median(nograd), median(fwd), median(bwd)}; }
};

void time_round(Runner& r, double budget, Samples& s) {
  auto start = Clock::now();
  for (int n = 0; n < 1 || (since(start) < budget && n < 5000); ++n) {
    const auto t0 = Clock::now();
    r.step();
    s.step.push_back(since(t0));
  }
  start = Clock::now();
  for (int n = 0; n < 1 || (since(start) < budget && n < 5000); ++n) {
    const auto t0 = Clock::now();
    r.forward_nograd();
    const auto t1 = Clock::now();
    r.forward();
    const auto t2 = Clock::now();
    r.backward();
    const auto t3 = Clock::now();
    r.zero_grad();
    s.nograd.push_back(std::chrono::duration<double>(t1 - t0).count());
    s.fwd.push_back(std::chrono::duration<double>(t2 - t1).count());
    s.bwd.push_back(std::chrono::duration<double>(t3 - t2).count());
  }
}

struct Check {
  double loss_ours = 0, loss_torch = 0, loss_rel = 0, grad_rel = 0;
};

// Loss and gradients of both engines on the same weights and data, before any update.
Check check(Runner& ours, Runner& torch) {
  Check c;
  std::vector<std::vector<double>> g[2];
  Runner* r[2] = {&ours, &torch};
  for (int e = 0; e < 2; ++e) {
    r[e]->zero_grad();
    r[e]->forward();
    (e == 0 ? c.loss_ours : c.loss_torch) = r[e]->loss();
    r[e]->backward();
    g[e] = r[e]->gradients();
    r[e]->zero_grad();
  }
  c.loss_rel = std::abs(c.loss_ours - c.loss_torch) / std::max(std::abs(c.loss_torch), 1e-30);
  for (std::size_t p = 0; p < g[0].size(); ++p) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < g[0][p].size(); ++i) {
      diff = std::max(diff, std::abs(g[0][p][i] - g[1][p][i]));
      scale = std::max(scale, std::abs(g[1][p][i]));
    }
    c.grad_rel = std::max(c.grad_rel, diff / std::max(scale, 1e-30));
  }
  return c;
}

void set_threads(int n, bool flush_denormal) {
  ag::set_num_threads(n);
  ag::set_flush_denormal(flush_denormal);
  torch_set_num_threads(n);
  torch_set_flush_denormal(flush_denormal);
}

// OpenBLAS's thread count for the next timings: libtorch's GEMMs and the sgemm ceiling use OpenBLAS's
// threads (n), ours keep OpenBLAS at one thread and split large products over ag's pool (1).
// After a call on several threads, OpenBLAS's idle workers busy-wait for 2^28 cycles (0.13 s at this
// machine's 2.1 GHz) before they sleep, on the cores ag's pool needs: a round of ours timed right
// after libtorch's or the ceiling's threaded GEMMs shares a core with them. So set_blas_threads(1)
// (before ours) first waits until that time has passed since the last threaded OpenBLAS measurement.
// (Measured on (5) at 2 threads, --budget 0.3: without the wait ours reached 69-71% of the ceiling's
// GFLOP/s and its step took ~15 ms more than its forward and backward passes timed later in the same
// round; with OPENBLAS_THREAD_TIMEOUT=4, which makes the workers sleep at once, 97-98%.)
Clock::time_point g_blas_threads_busy_until{};
constexpr std::chrono::milliseconds kBlasSpinWait{200};
void set_blas_threads(int n) {
  if (n == 1) std::this_thread::sleep_until(g_blas_threads_busy_until);
  openblas_set_num_threads(n);
}
// Called after a measurement that ran OpenBLAS on n threads.
void blas_threads_used(int n) {
  if (n > 1) g_blas_threads_busy_until = Clock::now() + kBlasSpinWait;
}

// ---------------------------------------------------------------- the sgemm ceiling

struct Gemm {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
  std::vector<float> a, b, c;
};

// The GEMMs of one training step of an MLP, as plain cblas_sgemm calls on preallocated buffers:
// forward Y = X W^T per layer; backward dW = dY^T X per layer and dX = dY W for every layer but the
// first. Their FLOPs are exactly Spec::forward_flops() + backward_flops().
std::vector<Gemm> mlp_gemms(const Spec& s) {
  std::vector<Gemm> g;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  auto add = [&](CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::int64_t m, std::int64_t n, std::int64_t k) {
    Gemm x{ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), {}, {}, {}};
    x.a.resize(static_cast<std::size_t>(m * k));
    x.b.resize(static_cast<std::size_t>(k * n));
    x.c.resize(static_cast<std::size_t>(m * n));
    for (float& v : x.a) v = nd(rng);
    for (float& v : x.b) v = nd(rng);
    g.push_back(std::move(x));
  };
  for (std::size_t l = 0; l + 1 < s.sizes.size(); ++l) {
    const std::int64_t in = s.sizes[l], out = s.sizes[l + 1], B = s.batch;
    add(CblasNoTrans, CblasTrans, B, out, in);
    add(CblasTrans, CblasNoTrans, out, in, B);
    if (l > 0) add(CblasNoTrans, CblasNoTrans, B, in, out);
  }
  return g;
}

double sgemm_step_seconds(const Spec& s, double budget) {
  std::vector<Gemm> gemms = mlp_gemms(s);
  auto run = [&] {
    for (Gemm& x : gemms)
      cblas_sgemm(CblasRowMajor, x.ta, x.tb, x.m, x.n, x.k, 1.0f, x.a.data(), x.ta == CblasNoTrans ? x.k : x.m,
                  x.b.data(), x.tb == CblasNoTrans ? x.n : x.k, 0.0f, x.c.data(), x.n);
  };
  for (int i = 0; i < 3; ++i) run();
  std::vector<double> t;
  const auto start = Clock::now();
  while (t.size() < 5 || (since(start) < budget && t.size() < 1000)) {
    const auto t0 = Clock::now();
    run();
    t.push_back(since(t0));
  }
  return median(t);
}

// ---------------------------------------------------------------- report

std::string fmt_time(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

struct Result {
  Times ours, torch;
  double ours_tape = 0, torch_tape = 0;
  std::size_t ours_nodes = 0;
  Check chk;
};

struct Options {
  std::vector<int> threads{1, 2};
  double budget = 0.3;
  int rounds = 5;
  std::vector<std::string> only;
  std::string out;
  bool flush_denormal = true;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--threads" && has_value) {
      o.threads.clear();
      for (const auto& t : split(argv[++i])) o.threads.push_back(std::stoi(t));
    } else if (a == "--budget" && has_value) {
      o.budget = std::stod(argv[++i]);
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--only" && has_value) {
      o.only = split(argv[++i]);
    } else if (a == "--denormals") {
      o.flush_denormal = false;
    } else if (a == "--out" && has_value) {
      o.out = argv[++i];
    } else {
      throw std::runtime_error(
          "usage: ag_compare [--threads 1,2] [--budget SECONDS] [--rounds R] [--only a,b] [--denormals] [--out FILE]");
    }
  }
  return o;
}

std::string met(bool ok) { return ok ? "yes" : "**no**"; }

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<Spec> specs = main_specs();
  for (const Spec& s : rnn_length_specs()) specs.push_back(s);
  if (!o.only.empty())
    std::erase_if(specs,
                  [&](const Spec& s) { return std::find(o.only.begin(), o.only.end(), s.name) == o.only.end(); });

  std::map<std::pair<std::string, int>, Result> res;  // (workload, threads)
  std::map<int, double> sgemm;                        // threads -> seconds for (5)'s GEMMs
  const auto t_start = Clock::now();
  for (const Spec& s : specs) {
    OursRunner ours(s);
    std::unique_ptr<Runner> torch = make_torch_runner(ours.workload());
    set_threads(o.threads.front(), o.flush_denormal);
    const Check chk = check(ours, *torch);
    const double ours_tape = ours.tape_bytes(), torch_tape = torch->tape_bytes();
    std::map<int, Samples> so, st;
    std::map<int, std::vector<double>> sg;  // (5) only: the sgemm ceiling, timed in the same rounds
    for (int round = 0; round < o.rounds; ++round)
      for (int n : o.threads) {  // thread counts interleaved too: a change of load hits all of them
        set_threads(n, o.flush_denormal);
        if (round == 0) {
          Samples warm_up;
          set_blas_threads(1);
          time_round(ours, 0.02, warm_up);
          set_blas_threads(n);
          time_round(*torch, 0.02, warm_up);
          blas_threads_used(n);
        }
        set_blas_threads(1);
        time_round(ours, o.budget / o.rounds, so[n]);
        set_blas_threads(n);
        time_round(*torch, o.budget / o.rounds, st[n]);
        if (s.name == "mlp_large") sg[n].push_back(sgemm_step_seconds(s, o.budget / o.rounds));
        blas_threads_used(n);
      }
    for (int n : o.threads) {
      Result& r = res[{s.name, n}];
      r.chk = chk;
      r.ours_tape = ours_tape;
      r.ours_nodes = ours.nodes;
      r.torch_tape = torch_tape;
      r.ours = so[n].medians();
      r.torch = st[n].medians();
      std::cerr << fmt::format("[{:5.1f} s] {} threads, {:<10} ours {:>10}  libtorch {:>10}  ratio {:.3f}\n",
                               since(t_start), n, s.name, fmt_time(r.ours.step), fmt_time(r.torch.step),
                               r.ours.step / r.torch.step);
      if (s.name == "mlp_large") sgemm[n] = median(sg[n]);
    }
  }

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
  out("## ag vs libtorch");
  out("");
  out(
      fmt::format("{}; CPU: {}; threads: {} (the same for both engines); libtorch {}; {} (kernels: {}); float32 "
                  "(chain: float64); subnormals {}; median of {} rounds x {:.2f} s per engine and measurement.",
                  date, cpu_model(), thread_list, torch_version(), openblas_get_config(), openblas_get_corename(),
                  o.flush_denormal ? "flushed to zero" : "not flushed", o.rounds, o.budget));
  const Spec* large = nullptr;
  for (const Spec& s : specs)
    if (s.name == "mlp_large") large = &s;

  for (int n : o.threads) {
    table("Training step (zero_grad, forward, loss, backward, SGD), " + plural(n), "",
          {"workload", "ours step", "libtorch step", "ours / libtorch", "target", "met?"});
    for (const Spec& s : specs) {
      const Result& r = res[{s.name, n}];
      const double ratio = r.ours.step / r.torch.step;
      std::string ours_t = fmt_time(r.ours.step), torch_t = fmt_time(r.torch.step);
      if (s.kind == Kind::Chain) {
        ours_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.ours.step / static_cast<double>(s.steps));
        torch_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.torch.step / static_cast<double>(s.steps));
      }
      out(fmt::format("| {} | {} | {} | {:.3f} | {} | {} |", s.label, ours_t, torch_t, ratio,
                      s.target > 0 ? fmt::format("≤ {}", s.target) : "", s.target > 0 ? met(ratio <= s.target) : ""));
    }
  }

  const int n0 = o.threads.front();
  table("Forward, backward and tape memory, " + plural(n0),
        "fwd no-grad: the loss under NoGradGuard; fwd: recorded; bwd: backward alone; rec/no-grad = fwd / fwd "
        "no-grad; tape: heap bytes allocated by the recorded forward and still held at its end (ours: plus the "
        "arena's nodes).",
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
    set_threads(n0, o.flush_denormal);
    set_blas_threads(1);
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

  if (large) {
    const double flops = large->forward_flops() + large->backward_flops();
    table("(5) against the BLAS ceiling",
          fmt::format("The same GEMMs as one training step of (5) (forward X W^T, backward dY^T X and dY W except "
                      "the first layer's dX: {:.3f} GFLOP), as plain cblas_sgemm calls on preallocated buffers.",
                      flops * 1e-9),
          {"threads", "sgemm calls", "sgemm GFLOP/s", "ours GFLOP/s", "ours % of sgemm", "libtorch GFLOP/s",
           "libtorch % of sgemm"});
    for (int n : o.threads) {
      const Result& r = res[{"mlp_large", n}];
      out(fmt::format("| {} | {} | {:.1f} | {:.1f} | {:.0f}% | {:.1f} | {:.0f}% |", n, fmt_time(sgemm[n]),
                      flops / sgemm[n] * 1e-9, flops / r.ours.step * 1e-9, 100 * sgemm[n] / r.ours.step,
                      flops / r.torch.step * 1e-9, 100 * sgemm[n] / r.torch.step));
    }
  }

  if (o.threads.size() >= 2) {
    const int n1 = o.threads[0], n2 = o.threads[1];
    table(fmt::format("Threads: training step with {} vs {} threads (speedup = time at {} / time at {})", n1, n2, n1,
                      n2),
          "", {"workload", "ours", "libtorch"});
    for (const Spec& s : specs)
      out(fmt::format("| {} | {:.2f}x | {:.2f}x |", s.label, res[{s.name, n1}].ours.step / res[{s.name, n2}].ours.step,
                      res[{s.name, n1}].torch.step / res[{s.name, n2}].torch.step));
  }

  // The other targets of the benchmark workloads (training-step ratio targets are in the tables above).
  table("Other targets", "", {"target", "measured", "met?"});
  if (large) {
    const Result& r = res[{"mlp_large", n0}];
    const double pct = 100 * sgemm[n0] / r.ours.step;
    out(fmt::format("| (5) ≥ 75% of the sgemm GFLOP/s ({} thread{}) | {:.0f}% | {} |", n0, n0 > 1 ? "s" : "", pct,
                    met(pct >= 75)));
    out(fmt::format("| (5) bwd / fwd ≤ 2.2 | {:.2f} | {} |", r.ours.bwd / r.ours.fwd,
                    met(r.ours.bwd / r.ours.fwd <= 2.2)));
    out(fmt::format("| (5) fwd recorded / no-grad ≤ 1.05 | {:.3f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 1.05)));
  }
  if (res.count({"chain", n0})) {
    const Result& r = res[{"chain", n0}];
    out(fmt::format("| (2) fwd recorded / no-grad ≤ 2.5 | {:.2f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 2.5)));
  }
  if (o.threads.size() >= 2 && o.threads[0] == 1 && o.threads[1] == 2) {
    if (large) {
      const double sp = res[{"mlp_large", 1}].ours.step / res[{"mlp_large", 2}].ours.step;
      out(fmt::format("| (5) 2 threads ≥ 1.6x faster than 1 | {:.2f}x | {} |", sp, met(sp >= 1.6)));
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
  return 0;
}

}  // namespace
}  // namespace agbench

int main(int argc, char** argv) {
  try {
    return agbench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ag_compare: " << e.what() << "\n";
    return 1;
  }
}
