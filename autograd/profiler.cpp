#include "autograd/profiler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/tape.h"

namespace ag {

namespace detail {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const std::int64_t g_epoch_ns = now_ns();  // trace timestamps are relative to this
std::atomic<int> g_next_tid{1};

struct RawEvent {
  std::uint32_t op;
  bool backward;
  std::int64_t start_ns, dur_ns, bytes;
};

}  // namespace

struct ProfilerState {
  std::thread::id owner = std::this_thread::get_id();
  int tid = 0;
  std::atomic<bool> stopped{false};
  std::vector<RawEvent> events;
  std::vector<std::string> names;
  std::unordered_map<const char*, std::uint32_t> by_ptr;
  std::unordered_map<std::string, std::uint32_t> by_name;

  std::uint32_t op_index(const char* name) {
    if (auto it = by_ptr.find(name); it != by_ptr.end() && names[it->second] == name) return it->second;
    auto [it, fresh] = by_name.emplace(name, static_cast<std::uint32_t>(names.size()));
    if (fresh) names.emplace_back(name);
    by_ptr[name] = it->second;
    return it->second;
  }
  void add(const char* name, bool backward, std::int64_t start, std::int64_t end, std::int64_t bytes) {
    events.push_back({op_index(name), backward, start, end - start, bytes});
  }
};

namespace {

// This thread's active profilers and the time of its last profiler event.
struct ThreadProfiling {
  std::vector<std::shared_ptr<ProfilerState>> active;
  std::int64_t last_ns = 0;
  std::int64_t pending_bytes = 0;
  int tid = g_next_tid.fetch_add(1);

  // Drops profilers destroyed from another thread.
  void prune() {
    std::erase_if(active, [](const auto& s) { return s->stopped.load(std::memory_order_relaxed); });
    t_profiling = !active.empty();
  }
  template <class F>
  void each(F f) {
    bool any_stopped = false;
    for (const auto& s : active) {
      if (s->stopped.load(std::memory_order_relaxed)) any_stopped = true;
      else f(*s);
    }
    if (any_stopped) prune();
  }
};

thread_local ThreadProfiling t_thread;

}  // namespace

void profile_saved(std::int64_t bytes) { t_thread.pending_bytes += bytes; }

void profile_record(const Node* n) {
  ThreadProfiling& th = t_thread;
  const std::int64_t t = now_ns(), bytes = th.pending_bytes;
  th.pending_bytes = 0;
  th.each([&](ProfilerState& s) { s.add(n->name, false, th.last_ns, t, bytes); });
  th.last_ns = t;  // one clock read per op: this bookkeeping is charged to the next op
}

std::int64_t profile_clock() { return now_ns(); }

void profile_backward(const Node* n, std::int64_t t0) {
  ThreadProfiling& th = t_thread;
  const std::int64_t t = now_ns();
  th.each([&](ProfilerState& s) { s.add(n->name, true, t0, t, 0); });
  th.last_ns = t;
  th.pending_bytes = 0;
}

void profile_backward_end() {
  t_thread.last_ns = now_ns();
  t_thread.pending_bytes = 0;
}

}  // namespace detail

namespace {

std::string format_time(double us) {
  if (us < 1.0) return fmt::format("{:.0f} ns", us * 1e3);
  if (us < 1e3) return fmt::format("{:.2f} us", us);
  if (us < 1e6) return fmt::format("{:.2f} ms", us / 1e3);
  return fmt::format("{:.2f} s", us / 1e6);
}

std::string format_bytes(std::int64_t b) {
  const auto d = static_cast<double>(b);
  if (b < 1024) return fmt::format("{} B", b);
  if (b < 1024 * 1024) return fmt::format("{:.1f} KiB", d / 1024);
  if (b < std::int64_t{1024} * 1024 * 1024) return fmt::format("{:.1f} MiB", d / (1024 * 1024));
  return fmt::format("{:.2f} GiB", d / (1024.0 * 1024 * 1024));
}

}  // namespace

Profiler::Profiler() : state_(std::make_shared<detail::ProfilerState>()) {
  auto& th = detail::t_thread;
  state_->tid = th.tid;
  if (th.active.empty()) {
    th.last_ns = detail::now_ns();
    th.pending_bytes = 0;
  }
  th.active.push_back(state_);
  detail::t_profiling = true;
}

Profiler::~Profiler() {
  if (state_->stopped.load()) return;
  if (std::this_thread::get_id() == state_->owner) stop();
  else state_->stopped.store(true);  // the owner thread drops it at its next event
}

void Profiler::stop() {
  if (state_->stopped.load()) return;
  if (std::this_thread::get_id() != state_->owner)
    fail(
        "Profiler::stop: called from another thread than the one the profiler was started on (a profiler "
        "records the tape of its own thread)");
  state_->stopped.store(true);
  detail::t_thread.prune();
}

bool Profiler::active() const { return !state_->stopped.load(); }

std::vector<OpProfile> Profiler::stats() const {
  const auto& s = *state_;
  std::vector<OpProfile> out(s.names.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i].name = s.names[i];
  for (const auto& e : s.events) {
    OpProfile& p = out[e.op];
    const double us = static_cast<double>(e.dur_ns) / 1e3;
    if (e.backward) {
      ++p.backward_count;
      p.backward_us += us;
    } else {
      ++p.count;
      p.forward_us += us;
      p.bytes_saved += e.bytes;
    }
  }
  std::sort(out.begin(), out.end(), [](const OpProfile& a, const OpProfile& b) {
    return a.total_us() != b.total_us() ? a.total_us() > b.total_us() : a.name < b.name;
  });
  return out;
}

std::vector<ProfileEvent> Profiler::events() const {
  const auto& s = *state_;
  std::vector<ProfileEvent> out;
  out.reserve(s.events.size());
  for (const auto& e : s.events)
    out.push_back({s.names[e.op], e.backward, static_cast<double>(e.start_ns - detail::g_epoch_ns) / 1e3,
                   static_cast<double>(e.dur_ns) / 1e3, e.bytes});
  return out;
}

std::string Profiler::table() const {
  const auto st = stats();
  std::size_t w = 8;
  for (const auto& p : st) w = std::max(w, p.name.size());
  std::string out = fmt::format("{:<{}} {:>8} {:>11} {:>11} {:>11} {:>11} {:>8} {:>11}\n", "op", w, "count",
                                "fwd total", "fwd mean", "bwd total", "bwd mean", "bwd/fwd", "saved");
  OpProfile total;
  total.name = "total";
  for (const auto& p : st) {
    total.count += p.count;
    total.backward_count += p.backward_count;
    total.forward_us += p.forward_us;
    total.backward_us += p.backward_us;
    total.bytes_saved += p.bytes_saved;
  }
  auto row = [&](const OpProfile& p) {
    out += fmt::format("{:<{}} {:>8} {:>11} {:>11} {:>11} {:>11} {:>8.2f} {:>11}\n", p.name, w, p.count,
                       format_time(p.forward_us), format_time(p.forward_mean_us()), format_time(p.backward_us),
                       format_time(p.backward_mean_us()), p.backward_over_forward(), format_bytes(p.bytes_saved));
  };
  for (const auto& p : st) row(p);
  row(total);
  return out;
}

std::string Profiler::chrome_trace() const {
  nlohmann::json trace = nlohmann::json::array();
  const int pid = static_cast<int>(::getpid());
  for (const auto& e : events()) {
    nlohmann::json ev = {{"name", e.name},
                         {"cat", e.backward ? "backward" : "forward"},
                         {"ph", "X"},
                         {"ts", e.start_us},
                         {"dur", e.duration_us},
                         {"pid", pid},
                         {"tid", state_->tid}};
    if (!e.backward) ev["args"] = {{"bytes_saved", e.bytes_saved}};
    trace.push_back(std::move(ev));
  }
  return nlohmann::json{{"traceEvents", std::move(trace)}, {"displayTimeUnit", "ns"}}.dump();
}

void Profiler::write_chrome_trace(const std::string& path) const {
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("Profiler::write_chrome_trace: cannot open '{}' for writing", path);
  f << chrome_trace();
  f.close();
  if (!f) fail("Profiler::write_chrome_trace: writing '{}' failed", path);
}

}  // namespace ag
