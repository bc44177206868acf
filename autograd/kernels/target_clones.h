#pragma once
/// @file kernels/target_clones.h
/// AG_CLONES_AVX2: compile a kernel for AVX2 and the x86-64 baseline, the CPU picking one at load time
/// (GCC's target_clones; nothing under clang or the sanitizers). For loops whose every clone gives
/// the same values (copies, compares, additions in one order): kernels/im2col.cpp, kernels/max_pool.cpp.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define AG_CLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define AG_CLONES_AVX2
#endif
