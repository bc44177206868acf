# Debian 12 packages only: libfmt-dev, libopenblas-dev (CBLAS), libxsmm-dev (small GEMMs, optional),
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

# Anomaly detection's stack traces (autograd/anomaly.h): Boost.Stacktrace with its libbacktrace
# backend (Debian: libboost-stacktrace-dev), which names functions and, with -g, files and lines.
option(AG_WITH_STACKTRACE "Stack traces in anomaly detection's errors (Debian: libboost-stacktrace-dev)" ON)
if(AG_WITH_STACKTRACE)
  find_package(boost_stacktrace_backtrace CONFIG)
  if(NOT boost_stacktrace_backtrace_FOUND)
    message(FATAL_ERROR "Boost.Stacktrace not found: apt install libboost-stacktrace-dev, or configure with -DAG_WITH_STACKTRACE=OFF")
  endif()
endif()
