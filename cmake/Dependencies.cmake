# Debian 12 packages only: libfmt-dev, libopenblas-dev (CBLAS); tests/bench add doctest-dev,
# nlohmann-json3-dev and libbenchmark-dev.
include(GNUInstallDirs)
find_package(fmt REQUIRED)
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
find_path(AG_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread /usr/include/openblas
  NO_DEFAULT_PATH)
find_path(AG_CBLAS_INCLUDE_DIR cblas.h)
if(NOT AG_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h not found: install libopenblas-dev")
endif()
