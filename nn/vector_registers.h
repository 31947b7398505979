// The SIMD registers the build targets, for sizing the register blocks of
// the hand-written kernels (direct_conv.cpp, input_gradient_conv.cpp): a
// block of accumulators must fit in kVectorRegisters registers of
// kVectorFloats floats, or the compiler spills them to the stack.
#pragma once

#include <Eigen/Core>

namespace edgefl::nn {

// Floats in one SIMD register, Eigen's packet: 16 with AVX-512, 8 with AVX,
// 4 with SSE or NEON (1 in an unvectorised build).
inline constexpr int kVectorFloats = Eigen::internal::packet_traits<float>::size;

// SIMD registers: 32 with AVX-512 or on AArch64, else 16.
#if defined(EIGEN_VECTORIZE_AVX512) || defined(__aarch64__)
inline constexpr int kVectorRegisters = 32;
#else
inline constexpr int kVectorRegisters = 16;
#endif

}  // namespace edgefl::nn
