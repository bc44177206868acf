// Shared pieces of the main demo (ag_demo): options, timing, a text progress bar, headings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace demo {

struct Options {
  std::vector<int> sections = {1, 2, 3};
  bool quick = false;                 ///< a short run (CTest): fewer steps, shorter sequences
  std::int64_t steps = 0;             ///< section 2: training steps per model and length (0: default)
  std::vector<std::int64_t> lengths;  ///< section 2: sequence lengths (empty: default)
  std::int64_t hidden = 0;            ///< section 2: hidden size (0: default)
  std::string svg = "adding_grad_norms.svg";
  std::uint64_t seed = 1;
};

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// "== 1. Title ==========" in bold when stdout is a terminal.
void heading(int number, const std::string& title);
/// A paragraph of explanation, wrapped at 100 columns and indented.
void say(const std::string& text);
/// 1536 -> "1.5 KiB".
std::string human_bytes(double bytes);
bool stdout_is_tty();

/// A one-line progress bar: [#####-----] step/total, loss, it/s, elapsed. On a terminal it redraws
/// in place; otherwise (CTest, a pipe) it prints a line at each quarter. `unit` names what is
/// counted in the rate ("it": steps; "samples" when done/total count samples).
class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total, std::string unit = "it");
  void update(std::int64_t done, double loss);
  /// Final line (with the step count actually run, which may be < total on early stop).
  void finish(std::int64_t done, double loss);

 private:
  void draw(std::int64_t done, double loss, bool final);
  std::string label_, unit_;
  std::int64_t total_;
  Clock::time_point start_, last_draw_;
  int next_quarter_ = 1;
  bool tty_;
};

int run_seed_walkthrough(const Options& options);
int run_bptt(const Options& options);
int run_cost(const Options& options);

}  // namespace demo
