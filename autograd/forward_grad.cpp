#include "autograd/forward_grad.h"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "autograd/error.h"
#include "autograd/factory.h"

namespace ag {
namespace detail {
namespace {

// The tangents of all threads (Note: forward mode). Keyed by TensorImpl; an entry lives while its
// impl does (erase_tangent) and its level is active (exit_fw_level).
struct Entry {
  Tensor tangent;
  std::uint64_t level = 0;
};
struct Table {
  std::mutex mutex;
  std::unordered_map<const TensorImpl*, Entry> map;
};
Table& table() {
  static Table* t = new Table();  // never destroyed: impls may die after static destruction began
  return *t;
}

std::atomic<std::uint64_t> g_next_level{1};
thread_local std::uint64_t t_level = 0;
// An op recorded with an input carrying a tangent whose propagate_tangent has not run yet: ops
// record, then propagate (Note: forward mode); found still pending by the next recorded op, the
// next propagation or unpack_dual, it had no JVP rule.
thread_local const char* t_pending_op = nullptr;
thread_local const TensorImpl* t_pending_out = nullptr;

void throw_pending() {
  const char* op = std::exchange(t_pending_op, nullptr);
  t_pending_out = nullptr;
  fail("{}: forward-mode AD is not implemented for this op: an input carried a tangent and it has no JVP rule", op);
}
inline void check_pending() {
  if (t_pending_op) [[unlikely]]
    throw_pending();
}

bool has_tangent_here(const Tensor* t) {
  if (!t->defined() || !t->impl()->has_tangent) return false;
  Table& tb = table();
  std::lock_guard lock(tb.mutex);
  auto it = tb.map.find(t->impl());
  return it != tb.map.end() && it->second.level == t_level;
}

}  // namespace

std::uint64_t fw_level() noexcept { return t_level; }

std::uint64_t enter_fw_level() {
  if (t_level != 0)
    fail(
        "forward_ad::dual_level: a dual level is already active on this thread; nested levels are not supported "
        "(as in PyTorch)");
  t_level = g_next_level.fetch_add(1);
  t_fw_on = true;
  return t_level;
}

void exit_fw_level(std::uint64_t level) noexcept {
  if (t_level != level) return;
  std::vector<Tensor> dropped;  // destroyed after the lock is released (a tangent's own erase takes it)
  {
    Table& tb = table();
    std::lock_guard lock(tb.mutex);
    for (auto it = tb.map.begin(); it != tb.map.end();) {
      if (it->second.level == level) {
        const_cast<TensorImpl*>(it->first)->has_tangent = false;
        dropped.push_back(std::move(it->second.tangent));
        it = tb.map.erase(it);
      } else {
        ++it;
      }
    }
  }
  t_level = 0;
  t_fw_on = false;
  t_pending_op = nullptr;
  t_pending_out = nullptr;
}

Tensor get_tangent(const Tensor& t) {
  if (!t.defined() || !t.impl()->has_tangent || t_level == 0) return {};
  Table& tb = table();
  std::lock_guard lock(tb.mutex);
  auto it = tb.map.find(t.impl());
  if (it == tb.map.end() || it->second.level != t_level) return {};
  return it->second.tangent;
}

void set_tangent(const Tensor& t, const Tensor& tangent, const char* op) {
  if (t_level == 0) fail("{}: no forward-AD level is active (enter one with forward_ad::dual_level)", op);
  const TensorImpl& p = t.checked(op);
  const TensorImpl& g = tangent.checked(op);
  if (g.shape != p.shape || g.dtype != p.dtype)
    fail("{}: the tangent {} must have the shape and dtype of its primal {}", op, describe(tangent), describe(t));
  if (g.has_tangent && get_tangent(tangent).defined())
    fail("{}: the tangent {} is itself a dual tensor; forward over forward mode is not supported", op,
         describe(tangent));
  Tensor old;
  {
    Table& tb = table();
    std::lock_guard lock(tb.mutex);
    Entry& e = tb.map[t.impl()];
    old = std::exchange(e.tangent, tangent);
    e.level = t_level;
    t.impl()->has_tangent = true;
  }
}

void clear_tangent(const Tensor& t) {
  if (t.defined() && t.impl()->has_tangent) erase_tangent(t.impl());
}

void erase_tangent(TensorImpl* impl) noexcept {
  Tensor dropped;
  {
    Table& tb = table();
    std::lock_guard lock(tb.mutex);
    auto it = tb.map.find(impl);
    if (it != tb.map.end()) {
      dropped = std::move(it->second.tangent);
      tb.map.erase(it);
    }
    impl->has_tangent = false;
  }
}

bool any_tangent_slow(std::initializer_list<const Tensor*> ins) {
  for (const Tensor* t : ins)
    if (has_tangent_here(t)) return true;
  return false;
}

bool any_tangent_slow(const std::vector<Tensor>& ins) {
  for (const Tensor& t : ins)
    if (has_tangent_here(&t)) return true;
  return false;
}

void fw_check_recorded(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs) {
  check_pending();
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (has_tangent_here(&inputs[i])) {
      for (std::size_t j = 0; j < outputs.size(); ++j)
        if (outputs[j].defined()) {
          t_pending_op = op;
          t_pending_out = outputs[j].impl();
          return;
        }
      return;
    }
}

void check_no_pending() { check_pending(); }

void begin_propagate(TensorList<Tensor> outputs) {
  if (!t_pending_op) return;
  for (std::size_t j = 0; j < outputs.size(); ++j)
    if (outputs[j].defined() && outputs[j].impl() == t_pending_out) {
      t_pending_op = nullptr;
      t_pending_out = nullptr;
      return;
    }
  throw_pending();
}

}  // namespace detail

JvpCtx::JvpCtx(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs)
    : op_(op), inputs_(inputs), outputs_(outputs) {
  detail::begin_propagate(outputs);
  tangents_in_.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) tangents_in_.push_back(detail::get_tangent(inputs[i]));
  tangents_out_.resize(outputs.size());
}

Tensor JvpCtx::tangent_or_zeros(std::size_t i) const {
  if (tangents_in_[i].defined()) return tangents_in_[i];
  const Tensor& in = inputs_[i];
  return zeros(in.shape(), TensorOptions().dtype(in.dtype()));
}

void JvpCtx::set(std::size_t i, Tensor t) {
  if (i >= outputs_.size()) fail("{}: JVP rule sets the tangent of output {} of {}", op_, i, outputs_.size());
  const Tensor& out = outputs_[i];
  if (!t.defined()) fail("{}: JVP rule gave an undefined tangent for output {}", op_, i);
  if (t.shape() != out.shape() || t.dtype() != out.dtype())
    fail("{}: JVP rule gave a tangent {} for output {} of {}", op_, describe(t), i, describe(out));
  tangents_out_[i] = std::move(t);
}

void JvpCtx::finish() {
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (!outputs_[i].defined()) continue;
    if (!tangents_out_[i].defined())
      fail("{}: forward-mode AD: its JVP rule set no tangent for output {} ({})", op_, i, describe(outputs_[i]));
  }
  for (std::size_t i = 0; i < outputs_.size(); ++i)
    if (outputs_[i].defined()) detail::set_tangent(outputs_[i], tangents_out_[i], op_);
}

}  // namespace ag
