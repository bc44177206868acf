// ag_demo: forward and backward propagation with the autograd engine, in three sections.
//   1. the seed tutorial's 2-4-1 sigmoid net on XOR: forward, MSE, backward() vs the hand formulas,
//      gradcheck, one gradient-descent step, training to convergence;
//   2. feed-forward vs recurrent: an RNN and an LSTM on the adding problem, vanishing gradients;
//   3. the cost of forward vs backward (time and tape memory) for an MLP and an RNN.
// Exit status 0 when every check passed (gradients agree, XOR learned), 1 otherwise, 2 on bad flags.
#include <fmt/core.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string>

#include <autograd/autograd.h>

#include "common.h"

namespace {

void usage() {
  fmt::print(
      "usage: ag_demo [--section N[,N...]] [--quick] [--steps N] [--lengths T[,T...]] [--hidden H]\n"
      "               [--svg PATH] [--seed S]\n"
      "  --section   run only these sections (1 seed walkthrough, 2 RNN vs LSTM, 3 forward/backward cost)\n"
      "  --quick     a short run (about 15 s): fewer training steps, lengths 10 and 30\n"
      "  --steps     section 2: training steps per model and length (default 600/900/1500 by length)\n"
      "  --lengths   section 2: sequence lengths (default 10,50,100), e.g. --lengths 10,100,200\n"
      "  --hidden    section 2: hidden size (default 32)\n"
      "  --svg       section 2: where to write the gradient-norm chart (default: next to ag_demo)\n"
      "  --seed      seed of section 2's data and weights (default 1)\n");
}

std::vector<std::int64_t> parse_list(const std::string& flag, const std::string& text) {
  std::vector<std::int64_t> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v <= 0)
      throw ag::Error(fmt::format("{}: expected positive integers separated by commas, got '{}'", flag, text));
    out.push_back(v);
  }
  if (out.empty()) throw ag::Error(fmt::format("{}: expected a value", flag));
  return out;
}

// Next to the executable (build/release/examples/, git-ignored) unless --svg says otherwise.
std::string default_svg_path() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string name = "adding_grad_norms.svg";
  return ec ? name : (exe.parent_path() / name).string();
}

demo::Options parse_args(int argc, char** argv) {
  demo::Options o;
  o.svg = default_svg_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ag::Error(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--section") {
      o.sections.clear();
      for (auto s : parse_list(a, value())) {
        if (s > 3) throw ag::Error(fmt::format("--section: sections are 1, 2 and 3, got {}", s));
        o.sections.push_back(static_cast<int>(s));
      }
    } else if (a == "--steps") {
      o.steps = parse_list(a, value()).at(0);
    } else if (a == "--lengths") {
      o.lengths = parse_list(a, value());
    } else if (a == "--hidden") {
      o.hidden = parse_list(a, value()).at(0);
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(parse_list(a, value()).at(0));
    } else if (a == "--svg") {
      o.svg = value();
    } else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else {
      throw ag::Error(fmt::format("unknown argument '{}'", a));
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  demo::Options options;
  try {
    options = parse_args(argc, argv);
  } catch (const ag::Error& e) {
    fmt::print(stderr, "ag_demo: {}\n\n", e.what());
    usage();
    return 2;
  }
  fmt::print("ag_demo: forward and backward propagation with a tape-based autograd engine{}\n",
             options.quick ? " (quick run)" : "");
  const auto start = demo::Clock::now();
  int status = 0;
  try {
    for (int s : options.sections) {
      const int rc = s == 1   ? demo::run_seed_walkthrough(options)
                     : s == 2 ? demo::run_bptt(options)
                              : demo::run_cost(options);
      if (rc != 0) status = 1;
    }
  } catch (const ag::Error& e) {
    fmt::print(stderr, "ag_demo: error: {}\n", e.what());
    return 1;
  }
  fmt::print("\nag_demo: {} in {:.1f} s\n", status == 0 ? "all checks passed" : "SOME CHECKS FAILED",
             demo::seconds_since(start));
  return status;
}
