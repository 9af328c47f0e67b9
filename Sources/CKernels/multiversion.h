// MULTIVERSION compiles a kernel for AVX-512, AVX2 and baseline x86-64, the best picked at load time
// (target_clones), so one binary uses the wide registers where the CPU has them.
#ifndef CKERNELS_MULTIVERSION_H
#define CKERNELS_MULTIVERSION_H

#if defined(__x86_64__) && defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

#endif
