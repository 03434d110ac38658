/*
 * The machine's roof for `npm run bench`: OpenBLAS dgemm and sgemm GFLOP/s on the shapes of
 * bench/kernels.ts, row-major, with the same transposes as the engine's three products:
 *   matmul        c[m, n]  = a[m, k] · b[k, n]
 *   matmulTransA  c[k, n] += a[m, k]ᵀ · b[m, n]
 *   matmulTransB  c[m, k]  = a[m, n] · b[k, n]ᵀ
 * Usage: openblas-gemm <ms> <rounds> <kernel>:<m>:<k>:<n> ...   (run with OPENBLAS_NUM_THREADS=1)
 * Prints a JSON array; each GFLOP/s is the median of <rounds> rounds of at least <ms> ms after a
 * warm-up of as long. Built by bench/openblas.ts: cc -O2 openblas-gemm.c -lopenblas.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum kind { MATMUL, TRANS_A, TRANS_B };

static void product(int single, enum kind kd, int m, int k, int n, void *a, void *b, void *c) {
  /* The m×k×n of bench/kernels.ts, as (rows of c, columns of c, reduced axis, transposes). */
  int rows = kd == TRANS_A ? k : m, cols = kd == TRANS_B ? k : n, red = kd == TRANS_A ? m : kd == TRANS_B ? n : k;
  enum CBLAS_TRANSPOSE ta = kd == TRANS_A ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = kd == TRANS_B ? CblasTrans : CblasNoTrans;
  int lda = kd == TRANS_A ? k : red, ldb = kd == TRANS_B ? red : cols;
  double beta = kd == TRANS_A ? 1 : 0;
  if (single)
    cblas_sgemm(CblasRowMajor, ta, tb, rows, cols, red, 1, a, lda, b, ldb, (float)beta, c, cols);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, rows, cols, red, 1, a, lda, b, ldb, beta, c, cols);
}

static double gflops(int single, enum kind kd, int m, int k, int n, double ms, int rounds) {
  size_t size = single ? sizeof(float) : sizeof(double);
  size_t na = (size_t)m * k, nb = kd == MATMUL ? (size_t)k * n : kd == TRANS_A ? (size_t)m * n : (size_t)k * n;
  size_t nc = kd == TRANS_A ? (size_t)k * n : kd == TRANS_B ? (size_t)m * k : (size_t)m * n;
  if (kd == TRANS_B) na = (size_t)m * n;
  void *a = malloc(na * size), *b = malloc(nb * size), *c = calloc(nc, size);
  srand(5);
  for (size_t i = 0; i < na; i++)
    if (single) ((float *)a)[i] = rand() / (float)RAND_MAX * 2 - 1;
    else ((double *)a)[i] = rand() / (double)RAND_MAX * 2 - 1;
  for (size_t i = 0; i < nb; i++)
    if (single) ((float *)b)[i] = rand() / (float)RAND_MAX * 2 - 1;
    else ((double *)b)[i] = rand() / (double)RAND_MAX * 2 - 1;
  double t0 = now_ms();
  while (now_ms() - t0 < ms) product(single, kd, m, k, n, a, b, c);
  double *rates = malloc(rounds * sizeof(double));
  for (int r = 0; r < rounds; r++) {
    long reps = 0;
    double s = now_ms(), t;
    do {
      product(single, kd, m, k, n, a, b, c);
      reps++;
      t = now_ms();
    } while (t - s < ms);
    rates[r] = 2.0 * m * k * n * reps / ((t - s) / 1e3) / 1e9;
  }
  qsort(rates, rounds, sizeof(double), by_value);
  double med = rounds % 2 ? rates[rounds / 2] : (rates[rounds / 2 - 1] + rates[rounds / 2]) / 2;
  free(rates);
  free(a);
  free(b);
  free(c);
  return med;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <ms> <rounds> <kernel>:<m>:<k>:<n> ...\n", argv[0]);
    return 2;
  }
  double ms = atof(argv[1]);
  int rounds = atoi(argv[2]);
  printf("{\"config\": \"%s\", \"results\": [", openblas_get_config());
  for (int i = 3; i < argc; i++) {
    char name[64];
    int m, k, n;
    if (sscanf(argv[i], "%63[^:]:%d:%d:%d", name, &m, &k, &n) != 4) {
      fprintf(stderr, "bad shape %s\n", argv[i]);
      return 2;
    }
    enum kind kd = strcmp(name, "matmulTransA") == 0 ? TRANS_A : strcmp(name, "matmulTransB") == 0 ? TRANS_B : MATMUL;
    double d = gflops(0, kd, m, k, n, ms, rounds);
    double s = gflops(1, kd, m, k, n, ms, rounds);
    printf("%s{\"kernel\": \"%s\", \"m\": %d, \"k\": %d, \"n\": %d, \"dgemm\": %.4f, \"sgemm\": %.4f}",
           i > 3 ? ", " : "", name, m, k, n, d, s);
  }
  printf("]}\n");
  return 0;
}
