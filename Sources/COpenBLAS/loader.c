#define _GNU_SOURCE
#include "COpenBLAS.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef char *(*corename_fn)(void);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

static void *handle;
static sgemm_fn sgemm;
static corename_fn corename;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static char loaded_path[256];

int lm_blas_load(char *error, size_t error_size) {
    static const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    if (handle) return 0;
    const char *last = "not found";
    for (size_t i = 0; i < sizeof names / sizeof *names && !handle; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) {
            snprintf(loaded_path, sizeof loaded_path, "%s", names[i]);
        } else {
            last = dlerror();
        }
    }
    if (!handle) {
        snprintf(error, error_size, "cannot load OpenBLAS (libopenblas.so.0): %s", last ? last : "unknown error");
        return -1;
    }
    sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    if (!sgemm || !corename || !set_threads || !get_threads) {
        snprintf(error, error_size, "%s is not OpenBLAS (cblas_sgemm or openblas_get_corename missing)", loaded_path);
        dlclose(handle);
        handle = NULL;
        return -1;
    }
    return 0;
}

int lm_blas_unload(void) {
    if (!handle) return 0;
    int rc = dlclose(handle);
    handle = NULL;
    sgemm = NULL;
    corename = NULL;
    set_threads = NULL;
    get_threads = NULL;
    // dlopen with RTLD_NOLOAD tells whether the loader really dropped the library.
    void *still = dlopen(loaded_path, RTLD_NOW | RTLD_NOLOAD);
    if (still) {
        dlclose(still);
        return -1;
    }
    return rc;
}

const char *lm_blas_corename(void) { return corename ? corename() : ""; }
const char *lm_blas_path(void) { return loaded_path; }
void lm_blas_set_threads(int threads) { if (set_threads) set_threads(threads); }
int lm_blas_threads(void) { return get_threads ? get_threads() : 0; }

void lm_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta,
          c, ldc);
}

// The cgroup's CPU quota in whole CPUs (rounded up), or 0 when it has none: cgroup v2's cpu.max ("max 100000" or
// "200000 100000"), else v1's cfs quota and period.
static int cgroup_cpu_limit(void) {
    long quota = -1, period = 0;
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char text[32];
        if (fscanf(f, "%31s %ld", text, &period) == 2 && strcmp(text, "max") != 0) quota = atol(text);
        fclose(f);
    } else if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
        if (fscanf(f, "%ld", &quota) != 1) quota = -1;
        fclose(f);
        if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(f, "%ld", &period) != 1) period = 0;
            fclose(f);
        }
    }
    return quota > 0 && period > 0 ? (int)((quota + period - 1) / period) : 0;
}

int lm_cpu_quota(void) { return cgroup_cpu_limit(); }

int lm_cpu_affinity(unsigned char *cpus, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < capacity && cpu < CPU_SETSIZE; cpu++) {
        cpus[cpu] = CPU_ISSET(cpu, &set) ? 1 : 0;
        count += cpus[cpu];
    }
    return count;
}

int lm_cpus_available(void) {
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int limit = cgroup_cpu_limit();
    if (limit > 0 && limit < n) n = limit;
    return n > 0 ? n : 1;
}

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static int os_saves(unsigned long long mask) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    return (xgetbv0() & mask) == mask;
}

int lm_cpu_has_avx2_fma(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_FMA) || !(c & bit_AVX)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2)) return 0;
    return os_saves(0x6);  // XMM and YMM state
}

int lm_cpu_has_avx512(void) {
    unsigned int a, b, c, d;
    if (!lm_cpu_has_avx2_fma()) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    unsigned int need = bit_AVX512F | bit_AVX512CD | bit_AVX512BW | bit_AVX512DQ | bit_AVX512VL;
    if ((b & need) != need) return 0;
    return os_saves(0xE6);  // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM
}
#else
int lm_cpu_has_avx2_fma(void) { return 0; }
int lm_cpu_has_avx512(void) { return 0; }
#endif
