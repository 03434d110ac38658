// The packed matrix-product kernel, compiled once per instruction set: gemm.cc includes this file
// inside a namespace under a `#pragma GCC target(...)` region (or none, for the portable path),
// after defining GEMM_VB (vector bytes) and the register-tile sizes. Not a header of its own.
//
// Goto & van de Geijn 2008 ("Anatomy of High-Performance Matrix Multiplication", docs/kernels.md):
// a block of A (MC rows × KC of the reduction) is packed into panels of MR rows, a block of B
// (KC × NC columns) into panels of NR columns, both zero-padded, and the micro-kernel keeps an
// MR × NR tile of C in MR·NV vector registers while p runs over the KC block. Between KC blocks
// the tile is parked in a scratch buffer (exact: a stored double is the same double) and picked
// up again, so each element is still `acc = 0; acc = acc + a·b` for p = 0 … k−1 in order, and the
// bias or the old c is added last (docs/kernels.md, "the same bits on every path"). Vectors run
// across output columns only, never across the reduction; no fused multiply-add (binding.gyp:
// -ffp-contract=off).

namespace GEMM_NS {

template <typename T, int MR, int NV>
struct Gemm {
  typedef T V __attribute__((vector_size(GEMM_VB)));
  static constexpr int W = GEMM_VB / static_cast<int>(sizeof(T));
  static constexpr int NR = NV * W;
  // KC × NR of B (one packed micro-panel) stays within about 24 KB: the L1 cache.
  static constexpr int KC = (24576 / (NR * static_cast<int>(sizeof(T)))) < 64
                                ? 64
                                : (24576 / (NR * static_cast<int>(sizeof(T))));

  static inline V Load(const T *p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static inline void Store(T *p, V v) { std::memcpy(p, &v, sizeof v); }

  // Rows i0 … i0+rows−1, reduction p0 … p0+kc−1 of op(A) into panels ap[panel][p][r] of MR rows.
  static void PackA(const Product<T> &x, int i0, int rows, int p0, int kc, T *ap) {
    for (int t = 0; t < rows; t += MR) {
      const int live = rows - t < MR ? rows - t : MR;
      for (int p = 0; p < kc; ++p) {
        const T *src = x.a + static_cast<long>(i0 + t) * x.ars + static_cast<long>(p0 + p) * x.acs;
        int r = 0;
        for (; r < live; ++r) ap[r] = src[static_cast<long>(r) * x.ars];
        for (; r < MR; ++r) ap[r] = T(0);
        ap += MR;
      }
    }
  }

  // Reduction p0 … p0+kc−1, columns j0 … j0+cols−1 of op(B) into panels bp[panel][p][q] of NR.
  static void PackB(const Product<T> &x, int p0, int kc, int j0, int cols, T *bp) {
    for (int t = 0; t < cols; t += NR) {
      const int live = cols - t < NR ? cols - t : NR;
      for (int p = 0; p < kc; ++p) {
        const T *src = x.b + static_cast<long>(p0 + p) * x.brs + static_cast<long>(j0 + t) * x.bcs;
        int q = 0;
        if (x.bcs == 1)
          for (; q < live; ++q) bp[q] = src[q];
        else
          for (; q < live; ++q) bp[q] = src[static_cast<long>(q) * x.bcs];
        for (; q < NR; ++q) bp[q] = T(0);
        bp += NR;
      }
    }
  }

  // One MR × NR tile over kc steps. `part`: where the tile is parked between KC blocks.
  // first: start from 0 (else from part); last: land in c (rows × cols of it), else in part.
  static inline void Tile(const T *__restrict ap, const T *__restrict bp, int kc, T *part, bool first,
                          bool last, const Product<T> &x, int i, int j, int rows, int cols) {
    V acc[MR][NV];
    if (first) {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    } else {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = *reinterpret_cast<const V *>(part + (r * NV + v) * W);
    }
    for (int p = 0; p < kc; ++p) {
      V b[NV];
      for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const V *>(bp + v * W);
      for (int r = 0; r < MR; ++r) {
        const T s = ap[r];
        for (int v = 0; v < NV; ++v) acc[r][v] = acc[r][v] + s * b[v];
      }
      ap += MR;
      bp += NR;
    }
    if (!last) {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) *reinterpret_cast<V *>(part + (r * NV + v) * W) = acc[r][v];
      return;
    }
    const long ldc = x.n;
    T *c = x.c + static_cast<long>(i) * ldc + j;
    if (cols == NR) {
      for (int r = 0; r < rows; ++r) {
        T *o = c + r * ldc;
        for (int v = 0; v < NV; ++v) {
          V y = acc[r][v];
          if (x.mode == kSetBias)
            y = y + Load(x.bias + j + v * W);
          else if (x.mode == kAdd)
            y = Load(o + v * W) + y;
          Store(o + v * W, y);
        }
      }
      return;
    }
    alignas(64) T flat[MR][NR];
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NV; ++v) Store(&flat[r][v * W], acc[r][v]);
    for (int r = 0; r < rows; ++r) {
      T *o = c + r * ldc;
      for (int q = 0; q < cols; ++q) {
        T y = flat[r][q];
        if (x.mode == kSetBias)
          y = y + x.bias[j + q];
        else if (x.mode == kAdd)
          y = o[q] + y;
        o[q] = y;
      }
    }
  }

  // The block of c at rows i0 … i0+rows−1, columns j0 … j0+cols−1, the whole reduction.
  static void Block(const Product<T> &x, int i0, int rows, int j0, int cols, Scratch &s) {
    const int k = x.k;
    const int rowPanels = (rows + MR - 1) / MR;
    const int colPanels = (cols + NR - 1) / NR;
    const int kc0 = k < KC ? k : KC;
    T *ap = s.Get<T>(0, static_cast<size_t>(rowPanels) * MR * kc0);
    T *bp = s.Get<T>(1, static_cast<size_t>(colPanels) * NR * kc0);
    T *part = k > KC ? s.Get<T>(2, static_cast<size_t>(rowPanels) * colPanels * MR * NR) : nullptr;
    if (k == 0) {
      // No reduction: every sum is the fresh 0, then the bias or the old c added to it.
      for (int r = 0; r < rows; ++r) {
        T *o = x.c + static_cast<long>(i0 + r) * x.n + j0;
        for (int q = 0; q < cols; ++q)
          o[q] = x.mode == kSetBias ? T(0) + x.bias[j0 + q] : x.mode == kAdd ? o[q] + T(0) : T(0);
      }
      return;
    }
    for (int p0 = 0; p0 < k; p0 += KC) {
      const int kc = k - p0 < KC ? k - p0 : KC;
      const bool first = p0 == 0;
      const bool last = p0 + kc == k;
      PackA(x, i0, rows, p0, kc, ap);
      PackB(x, p0, kc, j0, cols, bp);
      for (int tj = 0; tj < colPanels; ++tj) {
        const int j = tj * NR;
        const int cw = cols - j < NR ? cols - j : NR;
        for (int ti = 0; ti < rowPanels; ++ti) {
          const int i = ti * MR;
          const int rh = rows - i < MR ? rows - i : MR;
          T *tile = part ? part + static_cast<size_t>(tj * rowPanels + ti) * MR * NR : nullptr;
          Tile(ap + static_cast<size_t>(ti) * MR * kc, bp + static_cast<size_t>(tj) * NR * kc, kc, tile,
               first, last, x, i0 + i, j0 + j, rh, cw);
        }
      }
    }
  }
};

}  // namespace GEMM_NS
