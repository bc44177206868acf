# Debian 12 packages only: libfmt-dev, libopenblas-dev (CBLAS), nlohmann-json3-dev (safetensors
# headers); tests and bench add doctest-dev and libbenchmark-dev.
include(GNUInstallDirs)
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
