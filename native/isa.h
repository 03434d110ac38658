// Which instruction set the native kernels run (docs/kernels.md, "Dispatch"): the matrix products
// (gemm.cc) and the convolution kernels (conv.cc) are each compiled for AVX-512, AVX2 and a
// portable width, and run the one named here. It starts as the best this CPU has; selectKernels
// (gemm.cc) switches both at once, process-wide, so the tests check every path on one machine.
// Names as the engine reports them: "native-avx512", "native-avx2", "native" (portable C++).
#pragma once

#include <atomic>
#include <cstring>

namespace isa {

enum class Isa { kPortable, kAvx2, kAvx512 };

// AVX-512 counts only with the VL, DQ and BW extensions the products' 256-bit kernels use.
inline Isa Detect() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2")) return Isa::kAvx2;
#endif
  return Isa::kPortable;
}

// The best this CPU has.
inline const Isa kDetected = Detect();
// The one in use: kDetected, or a lesser one a test chose.
inline std::atomic<Isa> inUse{kDetected};

inline Isa InUse() { return inUse.load(std::memory_order_relaxed); }

inline const char *Name(Isa i) {
  switch (i) {
    case Isa::kAvx512:
      return "native-avx512";
    case Isa::kAvx2:
      return "native-avx2";
    default:
      return "native";
  }
}

// The instruction set of a name; false for a name that is none of the three.
inline bool FromName(const char *name, Isa &out) {
  for (Isa i : {Isa::kAvx512, Isa::kAvx2, Isa::kPortable})
    if (std::strcmp(name, Name(i)) == 0) {
      out = i;
      return true;
    }
  return false;
}

}  // namespace isa
