// IntrusivePtr's biased counting: plain counts on the creating thread, atomic ones elsewhere, and
// every object destroyed exactly once, on its creating thread while that thread runs (after it
// exits, by whichever thread drops the last reference). Run under ThreadSanitizer by `ctest
// --preset tsan` and under AddressSanitizer (a missed destruction is a leak, a double one an error).
#include <atomic>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace ag;

namespace {

/// Counts its destructions and records the thread that ran the last one.
struct Probe : RefCounted {
  std::atomic<int>* destroyed;
  std::thread::id* destroyed_on;
  int value;
  Probe(std::atomic<int>* d, std::thread::id* on, int v) : destroyed(d), destroyed_on(on), value(v) {}
  ~Probe() {
    *destroyed_on = std::this_thread::get_id();
    destroyed->fetch_add(1);
  }
};

/// Kept by its adopt_at_zero hook while `keep` is set, as a TensorImpl is for the SavedTensors
/// borrowing it (tape.h); release() gives back the reference the hook took, as drop_saved does.
struct Adoptable : RefCounted {
  std::atomic<int>* destroyed;
  std::thread::id adopted_on;
  bool keep = true;
  bool adopted = false;
  explicit Adoptable(std::atomic<int>* d) : destroyed(d) {}
  ~Adoptable() { destroyed->fetch_add(1); }
  static bool adopt_at_zero(Adoptable* a) noexcept {
    if (!a->keep) return false;
    a->revive();
    a->adopted = true;
    a->adopted_on = std::this_thread::get_id();
    return true;
  }
  void release() {
    keep = false;
    adopted = false;
    unref();
  }
};

/// Creates one object on this thread so that its queue of objects dropped elsewhere is drained.
void drain_here() {
  std::atomic<int> d{0};
  std::thread::id on;
  make_intrusive<Probe>(&d, &on, 0);
  CHECK(d.load() == 1);
}

}  // namespace

TEST_CASE("intrusive_ptr: copies, moves and resets on one thread destroy the object once, at the last drop") {
  std::atomic<int> destroyed{0};
  std::thread::id on;
  {
    auto a = make_intrusive<Probe>(&destroyed, &on, 7);
    CHECK(a.unique());
    IntrusivePtr<Probe> b = a;
    CHECK(!a.unique());
    CHECK(b->value == 7);
    IntrusivePtr<Probe> c = std::move(b);
    CHECK(!b);
    CHECK(c == a);
    c.reset();
    CHECK(a.unique());
    IntrusivePtr<Probe> d(a.get());  // a new reference from the raw pointer
    CHECK(!a.unique());
    a = d;  // self-assignment of the same object
    CHECK(destroyed.load() == 0);
  }
  CHECK(destroyed.load() == 1);
  CHECK(on == std::this_thread::get_id());
}

TEST_CASE("intrusive_ptr: other threads copy and drop a shared object; it dies with the owner's last reference") {
  std::atomic<int> destroyed{0};
  std::thread::id on;
  auto obj = make_intrusive<Probe>(&destroyed, &on, 1);
  std::vector<std::thread> threads;
  std::atomic<long> sum{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        IntrusivePtr<Probe> copy = obj;  // obj itself is only read here
        IntrusivePtr<Probe> copy2 = copy;
        sum += copy2->value;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(sum.load() == 4 * 20000);
  CHECK(destroyed.load() == 0);
  CHECK(obj.unique());  // the foreign counts came back to zero
  obj.reset();
  CHECK(destroyed.load() == 1);
  CHECK(on == std::this_thread::get_id());
}

TEST_CASE("intrusive_ptr: an adopt_at_zero hook keeps the object at its last drop, on its owner thread") {
  std::atomic<int> destroyed{0};
  auto p = make_intrusive<Adoptable>(&destroyed);
  Adoptable* raw = p.get();
  IntrusivePtr<Adoptable> q = p;
  p.reset();
  q.reset();  // the last reference: adopted, not destroyed
  CHECK(destroyed.load() == 0);
  CHECK(raw->adopted);
  {
    IntrusivePtr<Adoptable> again(raw);  // a new reference to the adopted object (as SavedTensor::get)
    CHECK_FALSE(again.unique());         // the hook's reference and this one
  }
  CHECK(destroyed.load() == 0);
  raw->release();  // the hook's reference goes, with keep off: destroyed
  CHECK(destroyed.load() == 1);

  // last dropped on another thread: queued, the hook runs on the owner when it drains
  p = make_intrusive<Adoptable>(&destroyed);
  raw = p.get();
  std::thread([r = std::move(p)]() mutable { r.reset(); }).join();
  CHECK_FALSE(raw->adopted);
  drain_here();
  CHECK(raw->adopted);
  CHECK(raw->adopted_on == std::this_thread::get_id());
  CHECK(destroyed.load() == 1);
  raw->release();
  CHECK(destroyed.load() == 2);
}

TEST_CASE("intrusive_ptr: a reference the owner counted, dropped on another thread, is merged by the owner") {
  std::atomic<int> destroyed{0};
  std::thread::id on;
  auto obj = make_intrusive<Probe>(&destroyed, &on, 2);
  IntrusivePtr<Probe> moved = obj;                                      // counted by this (the owner) thread
  std::thread([p = std::move(moved)]() mutable { p.reset(); }).join();  // dropped elsewhere
  CHECK(destroyed.load() == 0);
  obj.reset();  // the owner's last counted reference: the object is in its queue, not yet freed
  drain_here();
  CHECK(destroyed.load() == 1);
  CHECK(on == std::this_thread::get_id());

  // The same when the other thread drops the very last reference: destroyed on the owner thread.
  auto last = make_intrusive<Probe>(&destroyed, &on, 3);
  std::thread([p = std::move(last)]() mutable { p.reset(); }).join();
  CHECK(destroyed.load() == 1);
  drain_here();
  CHECK(destroyed.load() == 2);
  CHECK(on == std::this_thread::get_id());
}

TEST_CASE("intrusive_ptr: objects made by a thread that has exited are freed by whoever drops them last") {
  std::atomic<int> destroyed{0};
  std::thread::id on, worker_id;
  // Returned to this thread after the worker exits; then copied and dropped here.
  IntrusivePtr<Probe> got = std::async(std::launch::async, [&] {
                              worker_id = std::this_thread::get_id();
                              return make_intrusive<Probe>(&destroyed, &on, 4);
                            }).get();
  IntrusivePtr<Probe> copy = got;
  got.reset();
  CHECK(destroyed.load() == 0);
  copy.reset();
  CHECK(destroyed.load() == 1);
  CHECK(on == std::this_thread::get_id());

  // Dropped here while the worker still runs: queued to the worker, destroyed when it exits.
  std::latch dropped(1);
  IntrusivePtr<Probe> held;
  std::promise<void> made;
  std::thread worker([&] {
    worker_id = std::this_thread::get_id();
    held = make_intrusive<Probe>(&destroyed, &on, 5);
    made.set_value();
    dropped.wait();
  });
  made.get_future().wait();
  held.reset();
  CHECK(destroyed.load() == 1);
  dropped.count_down();
  worker.join();
  CHECK(destroyed.load() == 2);
  CHECK(on == worker_id);
}

TEST_CASE("intrusive_ptr: owner and other threads dropping at once destroy the object exactly once") {
  // Even rounds: each thread also drops a handle the owner counted (the atomic count goes negative
  // and the owner merges it). Odd rounds: the owner's reset is its last counted reference, racing
  // with the other threads' atomic decrements.
  for (int round = 0; round < 400; ++round) {
    std::atomic<int> destroyed{0};
    std::thread::id on;
    auto obj = make_intrusive<Probe>(&destroyed, &on, round);
    std::vector<IntrusivePtr<Probe>> handed(round % 2 == 0 ? 3 : 0, obj);
    handed.resize(3);
    std::latch go(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, p = std::move(handed[static_cast<std::size_t>(t)])]() mutable {
        IntrusivePtr<Probe> mine = obj;  // counted atomically; obj is reset only after the latch
        go.arrive_and_wait();
        p.reset();
        mine.reset();
      });
    go.arrive_and_wait();
    obj.reset();
    for (auto& th : threads) th.join();
    drain_here();
    REQUIRE(destroyed.load() == 1);
    REQUIRE(on == std::this_thread::get_id());
  }
}

TEST_CASE("intrusive_ptr: tensors cross threads: returned by a worker, read by several, dropped anywhere") {
  Tensor from_worker = std::async(std::launch::async, [] { return arange(6, kFloat64).reshape({2, 3}); }).get();
  agt::check_values(from_worker.sum(), {15.0});
  Tensor shared = full({64}, 2.0, kFloat64);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, mine = from_worker] {
      NoGradGuard no_grad;
      for (int i = 0; i < 200; ++i) {
        Tensor s = (shared * mine.sum()).sum();
        if (s.item<double>() == 64 * 30.0) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(ok.load() == 400);
  // A worker's result whose gradient leaf lives here: the leaf's .grad() comes from the worker.
  Tensor w = ones({3}, kFloat64).requires_grad_();
  std::thread([&] { (w * w).sum().backward(); }).join();
  agt::check_values(w.grad(), {2.0, 2.0, 2.0});
}

TEST_CASE("intrusive_ptr: references of an exited thread, dropped by several threads at once, free the object once") {
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> destroyed{0};
    std::thread::id on;
    std::vector<IntrusivePtr<Probe>> handed;
    std::thread([&] { handed.assign(3, make_intrusive<Probe>(&destroyed, &on, round)); }).join();  // counted there
    std::latch go(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, p = std::move(handed[static_cast<std::size_t>(t)])]() mutable {
        go.arrive_and_wait();
        p.reset();
      });
    for (auto& th : threads) th.join();
    REQUIRE(destroyed.load() == 1);
  }
}
