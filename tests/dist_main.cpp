// The main of ag_dist_tests, run by CTest under mpirun (-np 2 and -np 3): initializes the process
// group around doctest. Every rank runs every test case (collectives must be called by all).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "distributed/distributed.h"

int main(int argc, char** argv) {
  // AG_TEST_DIST_TIMEOUT_MS: the group's timeout (the test of a rank failing mid-step sets it short)
  const char* t = std::getenv("AG_TEST_DIST_TIMEOUT_MS");
  ag::distributed::init_process_group("mpi", std::chrono::milliseconds(t ? std::atoll(t) : 60000));
  doctest::Context ctx(argc, argv);
  if (ag::distributed::get_rank() != 0) ctx.setOption("out", "/dev/null");  // one report, from rank 0
  const int rc = ctx.run();
  // a failure on any rank fails the run on rank 0 too
  ag::Tensor failed = ag::tensor({static_cast<std::int64_t>(rc != 0)}, ag::kInt64);
  ag::distributed::all_reduce(failed, ag::distributed::ReduceOp::Max);
  const bool any = failed.item<std::int64_t>() != 0;
  if (any && ag::distributed::get_rank() == 0) std::printf("ag_dist_tests: a test failed on some rank\n");
  ag::distributed::destroy_process_group();
  return any ? 1 : 0;
}
