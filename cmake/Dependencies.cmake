# Debian 12 packages only: libfmt-dev, libopenblas-dev (CBLAS), libxsmm-dev (small GEMMs, optional),
# libdnnl-dev (oneDNN's sgemm for large float32 GEMMs, optional),
# nlohmann-json3-dev (the profiler's trace and nn's safetensors headers); tests and bench add
# doctest-dev and libbenchmark-dev.
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
find_path(AG_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread /usr/include/openblas
  NO_DEFAULT_PATH)
find_path(AG_CBLAS_INCLUDE_DIR cblas.h)
if(NOT AG_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h not found: install libopenblas-dev")
endif()

# libxsmm ships no CMake package, only a pkg-config file: found through FindPkgConfig.
option(AG_WITH_LIBXSMM "Run small GEMMs through libxsmm's JIT kernels (Debian: libxsmm-dev)" ON)
if(AG_WITH_LIBXSMM)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(LIBXSMM IMPORTED_TARGET libxsmm)
  if(NOT LIBXSMM_FOUND)
    message(FATAL_ERROR "libxsmm not found: apt install libxsmm-dev, or configure with -DAG_WITH_LIBXSMM=OFF")
  endif()
endif()

# oneDNN (Debian: libdnnl-dev, a CMake package): dnnl_sgemm's JIT kernels use AVX-512 where the CPU
# has it, whatever OPENBLAS_CORETYPE pins OpenBLAS to; 1.7-1.9x OpenBLAS-Haswell on the 1024-size
# products of workload 5 (docs/benchmarks/2026-12-06-gemm.md). On by default when found. Debian's
# build runs on OpenMP (DNNL_CPU_RUNTIME OMP): kernels/dnnl_gemm.cpp holds the calling thread's
# OpenMP thread count at one per call, so it links libgomp's omp_* API itself.
find_package(dnnl CONFIG QUIET)
option(AG_WITH_DNNL "Run large float32 GEMMs through oneDNN's dnnl_sgemm (Debian: libdnnl-dev)" ${dnnl_FOUND})
if(AG_WITH_DNNL)
  if(NOT dnnl_FOUND)
    message(FATAL_ERROR "oneDNN not found: apt install libdnnl-dev, or configure with -DAG_WITH_DNNL=OFF")
  endif()
  if(DNNL_CPU_RUNTIME STREQUAL "OMP")
    # the libgomp libdnnl.so links (not FindOpenMP, which gives clang's libomp under clang)
    find_library(AG_GOMP_LIBRARY NAMES gomp libgomp.so.1)
    if(NOT AG_GOMP_LIBRARY)
      message(FATAL_ERROR "oneDNN runs on OpenMP but libgomp was not found")
    endif()
  endif()
endif()

# Anomaly detection's stack traces (autograd/anomaly.h): Boost.Stacktrace with its libbacktrace
# backend (Debian: libboost-stacktrace-dev), which names functions and, with -g, files and lines.
option(AG_WITH_STACKTRACE "Stack traces in anomaly detection's errors (Debian: libboost-stacktrace-dev)" ON)
if(AG_WITH_STACKTRACE)
  find_package(boost_stacktrace_backtrace CONFIG)
  if(NOT boost_stacktrace_backtrace_FOUND)
    message(FATAL_ERROR "Boost.Stacktrace not found: apt install libboost-stacktrace-dev, or configure with -DAG_WITH_STACKTRACE=OFF")
  endif()
endif()
