#include "common.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace demo {

bool stdout_is_tty() { return isatty(fileno(stdout)) != 0; }

void heading(int number, const std::string& title) {
  const std::string text = fmt::format("== {}. {} ", number, title);
  const std::string line = text + std::string(text.size() < 100 ? 100 - text.size() : 0, '=');
  if (stdout_is_tty()) fmt::print("\n\033[1m{}\033[0m\n\n", line);
  else fmt::print("\n{}\n\n", line);
}

void say(const std::string& text) {
  std::istringstream words(text);
  std::string word, line = "  ";
  while (words >> word) {
    if (line.size() + word.size() + 1 > 100) {
      fmt::print("{}\n", line);
      line = "  ";
    }
    line += (line.size() > 2 ? " " : "") + word;
  }
  if (line.size() > 2) fmt::print("{}\n", line);
}

std::string human_bytes(double bytes) {
  if (bytes < 1024) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024);
  return fmt::format("{:.2f} MiB", bytes / (1024 * 1024));
}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(std::max<std::int64_t>(total, 1)),
      start_(Clock::now()),
      last_draw_(start_),
      tty_(stdout_is_tty()) {}

void ProgressBar::update(std::int64_t done, double loss) {
  if (tty_) {
    if (std::chrono::duration<double>(Clock::now() - last_draw_).count() < 0.1) return;
    draw(done, loss, false);
    return;
  }
  if (done * 4 >= next_quarter_ * total_ && next_quarter_ < 4) {
    while (done * 4 >= next_quarter_ * total_) ++next_quarter_;
    draw(done, loss, false);
  }
}

void ProgressBar::finish(std::int64_t done, double loss) { draw(done, loss, true); }

void ProgressBar::draw(std::int64_t done, double loss, bool final) {
  last_draw_ = Clock::now();
  constexpr int kWidth = 28;
  const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  const int full = static_cast<int>(frac * kWidth + 0.5);
  const double elapsed = seconds_since(start_);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const std::string bar =
      std::string(static_cast<std::size_t>(full), '#') + std::string(static_cast<std::size_t>(kWidth - full), '.');
  const std::string text = fmt::format("  {:<14} [{}] {:>6}/{:<6} loss {:>9.6f}  {:>8.1f} {}/s  {:>6.2f} s", label_,
                                       bar, done, total_, loss, rate, unit_, elapsed);
  if (tty_) fmt::print("\r{}{}", text, final ? "\n" : "");
  else fmt::print("{}\n", text);
  std::fflush(stdout);
}

}  // namespace demo
