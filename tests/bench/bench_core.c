/* bench_core.c — the machine's reference numbers, and how close the core gets to them.
 *
 *   1. sgemm peak: cblas_sgemm GFLOPS for square sizes 256..2048, with 1 thread and with all
 *      threads (median of several runs). Later benchmarks quote fractions of the peak.
 *   2. elementwise bandwidth: c = a + b on 64 MiB float32 arrays through op_add (allocates its
 *      output, as every op does) and in place through op_binary_, against memcpy of the same
 *      arrays. Bytes moved: add reads 2 arrays and writes 1 (3 arrays), memcpy reads 1 and
 *      writes 1 (2 arrays). The measurements alternate within one loop so that frequency
 *      changes and noisy neighbours hit all of them alike; medians are quoted. Target: add
 *      reaches >= 0.7 of memcpy's bandwidth at the same thread count.
 *   3. the same with one core kept busy by another process: with a spinning thread pool this is
 *      where loupe would slow down several times (see DESIGN.md, "One thread pool").
 *
 * Usage: build/bench/bench_core [--quick]   (LOUPE_THREADS sets "all threads") */
#include "loupe/core.h"
#include "loupe/ops.h"
#include "loupe/tensor.h"

#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int quick;

/* ---- 1. sgemm ---- */

/* Median GFLOPS of C = A B for n x n matrices with the current thread count. */
static double sgemm_gflops(int n)
{
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float));
    float *c = malloc(nn * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench_core: out of memory for sgemm %d\n", n);
        exit(1);
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.25f;
        b[i] = (float)(i % 5) * 0.5f;
    }
    double flop = 2.0 * n * (double)n * n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    /* enough runs for a stable median, without spending more than ~1.5 s per size */
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double one = now() - t0;
    int runs = one > 0 ? (int)(1.5 / one) : 15;
    runs = runs < 3 ? 3 : runs > 15 ? 15 : runs;
    if (quick)
        runs = 3;
    double g[15];
    for (int r = 0; r < runs; r++) {
        t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        g[r] = flop / (now() - t0) / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return median(g, runs);
}

/* Prints a table of sizes x {1, all} threads; returns the peak at `all` threads in *peak_all
 * and at 1 thread in *peak_one. */
static void bench_sgemm(int all, double *peak_one, double *peak_all)
{
    static const int sizes[] = {256, 512, 1024, 2048};
    printf("sgemm (cblas_sgemm, float32, C = A B, median GFLOPS)\n");
    printf("  %6s  %12s  %12s\n", "n", "1 thread", "all threads");
    *peak_one = *peak_all = 0;
    for (int i = 0; i < 4; i++) {
        core_set_threads(1);
        double g1 = sgemm_gflops(sizes[i]);
        core_set_threads(all);
        double ga = sgemm_gflops(sizes[i]);
        printf("  %6d  %12.1f  %12.1f (%d)\n", sizes[i], g1, ga, all);
        *peak_one = g1 > *peak_one ? g1 : *peak_one;
        *peak_all = ga > *peak_all ? ga : *peak_all;
    }
    printf("sgemm peak: %.1f GFLOPS with %d threads, %.1f GFLOPS with 1 thread\n", *peak_all, all,
           *peak_one);
}

/* ---- 2. bandwidth of elementwise add vs memcpy ---- */

/* memcpy split into one contiguous chunk per thread (threads == 1: a plain memcpy). */
static void copy_threads(char *dst, const char *src, size_t n, int threads)
{
    if (threads <= 1) {
        memcpy(dst, src, n);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), k = omp_get_num_threads();
        size_t lo = n / (size_t)k * (size_t)t, hi = t == k - 1 ? n : n / (size_t)k * (size_t)(t + 1);
        memcpy(dst + lo, src + lo, hi - lo);
    }
}

struct bw {
    double copy, add, add_, fresh; /* GB/s */
};

/* Alternates memcpy, op_add, op_binary_ and a fresh zeroed tensor `reps` times; medians in
 * GB/s. The last one shows what op_add pays for its output: a new 64 MiB storage comes from
 * mmap, and its first touch costs one page fault per 4 KiB page. */
static struct bw bench_bw_threads(int threads, int reps)
{
    int64_t n = (64 << 20) / 4; /* 64 MiB of float32 */
    core_set_threads(threads);
    struct tensor *a = tensor_new(DT_FLOAT32, 1, &n), *b = tensor_new(DT_FLOAT32, 1, &n);
    struct tensor *dst = tensor_new(DT_FLOAT32, 1, &n);
    if (!a || !b || !dst) {
        fprintf(stderr, "bench_core: %s\n", err_msg());
        exit(1);
    }
    tensor_fill(a, 1.0);
    tensor_fill(b, 1e-3);
    tensor_fill(dst, 0.0);
    size_t bytes = (size_t)n * 4;
    double tc[32], ta[32], ti[32], tf[32];
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up, not recorded */
        double t0 = now();
        copy_threads(tensor_data(dst), tensor_data(a), bytes, threads);
        double t1 = now();
        struct tensor *c = op_add(a, b);
        double t2 = now();
        if (!c || op_binary_(BIN_ADD, dst, b) < 0) {
            fprintf(stderr, "bench_core: %s\n", err_msg());
            exit(1);
        }
        double t3 = now();
        tensor_release(c); /* outside the timing, like a temporary dropped later */
        double t4 = now();
        struct tensor *z = tensor_zeros(DT_FLOAT32, 1, &n);
        double t5 = now();
        if (!z) {
            fprintf(stderr, "bench_core: %s\n", err_msg());
            exit(1);
        }
        tensor_release(z);
        if (r >= 0) {
            tc[r] = 2.0 * (double)bytes / (t1 - t0) / 1e9;
            ta[r] = 3.0 * (double)bytes / (t2 - t1) / 1e9;
            ti[r] = 3.0 * (double)bytes / (t3 - t2) / 1e9;
            tf[r] = (double)bytes / (t5 - t4) / 1e9;
        }
    }
    tensor_release(a);
    tensor_release(b);
    tensor_release(dst);
    return (struct bw){median(tc, reps), median(ta, reps), median(ti, reps), median(tf, reps)};
}

static void bench_bandwidth(int all, const char *title)
{
    int reps = quick ? 3 : 11;
    printf("%s\n", title);
    printf("  %7s  %11s  %11s  %5s  %15s  %5s  %17s\n", "threads", "memcpy GB/s",
           "op_add GB/s", "ratio", "op_binary_ GB/s", "ratio", "new zeroed GB/s");
    int counts[2] = {1, all};
    for (int i = 0; i < (all > 1 ? 2 : 1); i++) {
        struct bw r = bench_bw_threads(counts[i], reps);
        printf("  %7d  %11.2f  %11.2f  %5.2f  %15.2f  %5.2f  %17.2f%s\n", counts[i], r.copy,
               r.add, r.add / r.copy, r.add_, r.add_ / r.copy, r.fresh,
               r.add / r.copy >= 0.7 ? "" : "  [op_add below the 0.7 target]");
    }
}

/* ---- 3. one core busy ---- */

/* A child process spinning on one core; returns its pid (or -1). */
static pid_t start_spinner(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    return pid;
}

static void bench_busy(int all)
{
    pid_t pid = start_spinner();
    if (pid < 0) {
        printf("one core busy: fork failed, skipped\n");
        return;
    }
    core_set_threads(all);
    double g = sgemm_gflops(1024);
    printf("with one core busy (another process spinning):\n");
    printf("  sgemm 1024, %d threads: %.1f GFLOPS\n", all, g);
    bench_bandwidth(all, "  elementwise add with one core busy (64 MiB float32 arrays)");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const char *env = getenv("LOUPE_THREADS");
    if (env && atoi(env) > 0)
        core_set_threads(atoi(env));
    int all = core_threads();
    printf("== bench_core: %d threads available (OpenBLAS config: %s)\n", all,
           openblas_get_config());
    double peak_one, peak_all;
    bench_sgemm(all, &peak_one, &peak_all);
    bench_bandwidth(all, "elementwise add vs memcpy, 64 MiB float32 arrays, median GB/s "
                         "(add moves 3 arrays, memcpy 2; target ratio >= 0.7)");
    if (all > 1)
        bench_busy(all);
    core_set_threads(all);
    return 0;
}
