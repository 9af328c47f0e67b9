#include "COneDNN.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

// The entry points labelmill uses, looked up in the library (the header gives their types).
#define DNNL_FUNCTIONS(X)                                                                                     \
    X(dnnl_version) X(dnnl_get_effective_cpu_isa) X(dnnl_sgemm) X(dnnl_engine_create) X(dnnl_stream_create)  \
    X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_tag) X(dnnl_matmul_desc_init) X(dnnl_primitive_desc_create) \
    X(dnnl_primitive_desc_destroy) X(dnnl_primitive_create) X(dnnl_primitive_execute) X(dnnl_memory_create)   \
    X(dnnl_memory_destroy)

#define DECLARE(name) static __typeof__(&name) p_##name;
DNNL_FUNCTIONS(DECLARE)
#undef DECLARE

typedef void (*omp_set_num_threads_fn)(int);

static void *handle;
static omp_set_num_threads_fn omp_set_threads;
static char version_text[32];
static dnnl_engine_t engine;
static int wanted_threads;
static __thread int applied_threads;
static __thread dnnl_stream_t thread_stream;

int lm_dnnl_load(char *error, size_t error_size) {
    static const char *names[] = {"libdnnl.so.2", "libdnnl.so"};
    if (handle) return 0;
    // Between two products OpenMP's threads spin for a while (GOMP's default: 300000 rounds) before they sleep.
    // labelmill runs its own element-wise kernels there, on the same cores, and the spinning took 17% of the
    // encoder's time; a short spin keeps back-to-back products quick. Read by libgomp when it loads; a user's
    // own setting wins.
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "3000", 1);
    const char *last = "not found";
    for (size_t i = 0; i < sizeof names / sizeof *names && !handle; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!handle) last = dlerror();
    }
    if (!handle) {
        snprintf(error, error_size, "cannot load oneDNN (libdnnl.so.2): %s", last ? last : "unknown error");
        return -1;
    }
    const char *missing = NULL;
#define LOOKUP(name) if (!(p_##name = (__typeof__(&name))dlsym(handle, #name)) && !missing) missing = #name;
    DNNL_FUNCTIONS(LOOKUP)
#undef LOOKUP
    if (!missing && p_dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) missing = "a CPU engine";
    if (missing) {
        snprintf(error, error_size, "the oneDNN library found lacks %s", missing);
        dlclose(handle);
        handle = NULL;
        return -1;
    }
    const dnnl_version_t *v = p_dnnl_version();
    snprintf(version_text, sizeof version_text, "%d.%d.%d", v->major, v->minor, v->patch);
    // oneDNN runs on OpenMP; its thread count is a per-thread setting of the OpenMP runtime oneDNN brought in.
    void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!gomp) gomp = dlopen("libiomp5.so", RTLD_NOW | RTLD_NOLOAD);
    if (gomp) omp_set_threads = (omp_set_num_threads_fn)dlsym(gomp, "omp_set_num_threads");
    return 0;
}

const char *lm_dnnl_version(void) { return version_text; }

int lm_dnnl_bf16_level(void) {
    if (!handle) return -1;
    dnnl_cpu_isa_t isa = p_dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx) return 2;
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) return 1;
    return 0;
}

void lm_dnnl_set_threads(int threads) { __atomic_store_n(&wanted_threads, threads, __ATOMIC_RELAXED); }

static void apply_threads(int serial) {
    int wanted = serial ? 1 : __atomic_load_n(&wanted_threads, __ATOMIC_RELAXED);
    if (wanted > 0 && wanted != applied_threads && omp_set_threads) {
        omp_set_threads(wanted);
        applied_threads = wanted;
    }
}

int lm_dnnl_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc, int serial) {
    apply_threads(serial);
    return p_dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// MARK: bf16 linear layers

struct lm_bf16_weight {
    uint16_t *data;  // W [out, in], row-major: oneDNN's weights [in, out] in its "ba" layout
    int out_features, in_features;
};

static uint16_t to_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

float lm_bf16_round(float x) {
    uint32_t bits = (uint32_t)to_bf16(x) << 16;
    float y;
    memcpy(&y, &bits, sizeof y);
    return y;
}

static void convert(const float *x, uint16_t *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = to_bf16(x[i]);
}

lm_bf16_weight *lm_bf16_weight_create(const float *weight, int out_features, int in_features) {
    lm_bf16_weight *w = malloc(sizeof *w);
    if (!w) return NULL;
    w->data = malloc((size_t)out_features * (size_t)in_features * sizeof(uint16_t));
    if (!w->data) {
        free(w);
        return NULL;
    }
    convert(weight, w->data, (size_t)out_features * (size_t)in_features);
    w->out_features = out_features;
    w->in_features = in_features;
    return w;
}

void lm_bf16_weight_free(lm_bf16_weight *weight) {
    if (!weight) return;
    free(weight->data);
    free(weight);
}

// One matmul primitive per shape, made on first use and kept: an image size gives the same few shapes for every
// block, and making one costs about a millisecond of JIT.
struct cached_matmul {
    int rows, in_features, out_features, has_bias;
    dnnl_primitive_t primitive;
    struct cached_matmul *next;
};
static struct cached_matmul *matmuls;
static pthread_mutex_t matmuls_lock = PTHREAD_MUTEX_INITIALIZER;

static dnnl_status_t matmul_for(int rows, int in, int out, int has_bias, dnnl_primitive_t *result) {
    pthread_mutex_lock(&matmuls_lock);
    for (struct cached_matmul *m = matmuls; m; m = m->next) {
        if (m->rows == rows && m->in_features == in && m->out_features == out && m->has_bias == has_bias) {
            *result = m->primitive;
            pthread_mutex_unlock(&matmuls_lock);
            return dnnl_success;
        }
    }
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_dims_t src_dims = {rows, in}, weight_dims = {in, out}, bias_dims = {1, out}, dst_dims = {rows, out};
    dnnl_status_t status = p_dnnl_memory_desc_init_by_tag(&src, 2, src_dims, dnnl_bf16, dnnl_ab);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_tag(&weights, 2, weight_dims, dnnl_bf16, dnnl_ba);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_tag(&bias, 2, bias_dims, dnnl_f32, dnnl_ab);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_tag(&dst, 2, dst_dims, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t desc;
    if (status == dnnl_success) status = p_dnnl_matmul_desc_init(&desc, &src, &weights, has_bias ? &bias : NULL, &dst);
    dnnl_primitive_desc_t pd = NULL;
    if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL);
    dnnl_primitive_t primitive = NULL;
    if (status == dnnl_success) status = p_dnnl_primitive_create(&primitive, pd);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    struct cached_matmul *m = status == dnnl_success ? malloc(sizeof *m) : NULL;
    if (m) {
        *m = (struct cached_matmul){rows, in, out, has_bias, primitive, matmuls};
        matmuls = m;
        *result = primitive;
    } else if (status == dnnl_success) {
        status = dnnl_out_of_memory;
    }
    pthread_mutex_unlock(&matmuls_lock);
    return status;
}

static dnnl_status_t wrap(const dnnl_memory_desc_t *desc, const void *data, dnnl_memory_t *memory) {
    return p_dnnl_memory_create(memory, desc, engine, (void *)data);
}

int lm_bf16_linear(const lm_bf16_weight *w, const float *x, int rows, const float *bias, float *y) {
    if (!handle) return dnnl_runtime_error;
    apply_threads(0);
    int in = w->in_features, out = w->out_features;
    dnnl_primitive_t matmul;
    dnnl_status_t status = matmul_for(rows, in, out, bias != NULL, &matmul);
    if (status != dnnl_success) return status;
    if (!thread_stream && (status = p_dnnl_stream_create(&thread_stream, engine, dnnl_stream_default_flags))) return status;
    uint16_t *source = malloc((size_t)rows * (size_t)in * sizeof(uint16_t));
    if (!source) return dnnl_out_of_memory;
    convert(x, source, (size_t)rows * (size_t)in);

    dnnl_memory_desc_t src_desc, weight_desc, bias_desc, dst_desc;
    dnnl_dims_t src_dims = {rows, in}, weight_dims = {in, out}, bias_dims = {1, out}, dst_dims = {rows, out};
    p_dnnl_memory_desc_init_by_tag(&src_desc, 2, src_dims, dnnl_bf16, dnnl_ab);
    p_dnnl_memory_desc_init_by_tag(&weight_desc, 2, weight_dims, dnnl_bf16, dnnl_ba);
    p_dnnl_memory_desc_init_by_tag(&bias_desc, 2, bias_dims, dnnl_f32, dnnl_ab);
    p_dnnl_memory_desc_init_by_tag(&dst_desc, 2, dst_dims, dnnl_f32, dnnl_ab);
    dnnl_memory_t memories[4] = {NULL, NULL, NULL, NULL};
    status = wrap(&src_desc, source, &memories[0]);
    if (status == dnnl_success) status = wrap(&weight_desc, w->data, &memories[1]);
    if (status == dnnl_success) status = wrap(&dst_desc, y, &memories[2]);
    if (status == dnnl_success && bias) status = wrap(&bias_desc, bias, &memories[3]);
    if (status == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, memories[0]}, {DNNL_ARG_WEIGHTS, memories[1]},
                                   {DNNL_ARG_DST, memories[2]}, {DNNL_ARG_BIAS, memories[3]}};
        status = p_dnnl_primitive_execute(matmul, thread_stream, bias ? 4 : 3, args);
        if (status == dnnl_success) status = p_dnnl_stream_wait(thread_stream);
    }
    for (int i = 0; i < 4; i++) if (memories[i]) p_dnnl_memory_destroy(memories[i]);
    free(source);
    return status;
}

// MARK: the bf16 probe

#if defined(__x86_64__)
static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Twelve independent accumulators hide each instruction's latency, so the loops time throughput. Written in
// assembly so that the timing does not depend on how the file was compiled (a debug build spills intrinsics'
// registers to memory and times the spills).
#define TWELVE(op) op " %%zmm12, %%zmm13, %%zmm0\n\t" op " %%zmm12, %%zmm13, %%zmm1\n\t"        \
    op " %%zmm12, %%zmm13, %%zmm2\n\t" op " %%zmm12, %%zmm13, %%zmm3\n\t" op " %%zmm12, %%zmm13, %%zmm4\n\t" \
    op " %%zmm12, %%zmm13, %%zmm5\n\t" op " %%zmm12, %%zmm13, %%zmm6\n\t" op " %%zmm12, %%zmm13, %%zmm7\n\t" \
    op " %%zmm12, %%zmm13, %%zmm8\n\t" op " %%zmm12, %%zmm13, %%zmm9\n\t" op " %%zmm12, %%zmm13, %%zmm10\n\t" \
    op " %%zmm12, %%zmm13, %%zmm11\n\t"

#define TIMED_LOOP(name, op)                                                                                   \
    __attribute__((target("avx512f,avx512bf16"), noinline)) static void name(long iterations) {             \
        __asm__ volatile(                                                                                      \
            "vpxord %%zmm0, %%zmm0, %%zmm0\n\tvmovaps %%zmm0, %%zmm1\n\tvmovaps %%zmm0, %%zmm2\n\t"           \
            "vmovaps %%zmm0, %%zmm3\n\tvmovaps %%zmm0, %%zmm4\n\tvmovaps %%zmm0, %%zmm5\n\t"                 \
            "vmovaps %%zmm0, %%zmm6\n\tvmovaps %%zmm0, %%zmm7\n\tvmovaps %%zmm0, %%zmm8\n\t"                 \
            "vmovaps %%zmm0, %%zmm9\n\tvmovaps %%zmm0, %%zmm10\n\tvmovaps %%zmm0, %%zmm11\n\t"               \
            "vmovaps %%zmm0, %%zmm12\n\tvmovaps %%zmm0, %%zmm13\n\t"                                        \
            "1:\n\t" TWELVE(op) TWELVE(op) TWELVE(op) TWELVE(op) "dec %0\n\tjnz 1b\n\t"                         \
            : "+r"(iterations)                                                                                 \
            :                                                                                                  \
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",  \
              "xmm12", "xmm13", "cc");                                                                         \
    }

TIMED_LOOP(bf16_loop, "vdpbf16ps")
TIMED_LOOP(fma_loop, "vfmadd231ps")

static int cpu_has_avx512_bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;  // XMM, YMM, opmask and ZMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX512F)) return 0;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;
}

double lm_cpu_bf16_fma_ratio(void) {
    if (!cpu_has_avx512_bf16()) return 0;
    const long iterations = 10000;  // 48 instructions each: about 1 ms of bf16, 0.25 ms of FMAs
    double bf16 = 1e9, fp32 = 1e9;
    for (int round = 0; round < 5; round++) {
        double t = seconds();
        bf16_loop(iterations);
        t = seconds() - t;
        if (t < bf16) bf16 = t;
        t = seconds();
        fma_loop(iterations);
        t = seconds() - t;
        if (t < fp32) fp32 = t;
    }
    // One vdpbf16ps does 32 multiply-adds on a 512-bit register, one vfmadd231ps 16.
    return (32.0 / bf16) / (16.0 / fp32);
}
#else
double lm_cpu_bf16_fma_ratio(void) { return 0; }
#endif
