#include "nn/gemm.h"

#include <algorithm>

#include "nn/block_dispatch.h"

namespace edgefl::nn {

using Eigen::Index;

namespace {

#if defined(EIGEN_VECTORIZE_AVX512)

// Columns of c computed together; with 3 vectors of rows, 24 accumulators.
constexpr int kColumnBlock = 8;

// Where b's value for (step p, column j) is: b[p * step_stride + j * column_stride].
struct Operand {
  const float* data;
  Index step_stride;
  Index column_stride;
};

// c[0, kLanes * kVectors) x [0, kColumns) (+)= a * b over k steps, where a's
// step p is the column segment a + p * lda.
template <int kLanes, int kVectors, int kColumns>
void Block(Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
           Accumulate accumulate) {
  using Lanes = Eigen::Array<float, kLanes, 1>;
  using ConstLanesMap = Eigen::Map<const Lanes, Eigen::Unaligned>;
  using LanesMap = Eigen::Map<Lanes, Eigen::Unaligned>;
  // The unroll pragmas keep GCC from spilling the accumulator arrays to the
  // stack on every step (2x slower without them).
  Lanes acc[kVectors][kColumns];
#pragma GCC unroll 4
  for (int v = 0; v < kVectors; ++v)
#pragma GCC unroll 8
    for (int j = 0; j < kColumns; ++j)
      acc[v][j].setZero();
  const float* bp = b.data;
  for (Index p = 0; p < k; ++p, a += lda, bp += b.step_stride) {
    Lanes av[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v)
      av[v] = ConstLanesMap(a + kLanes * v);
#pragma GCC unroll 8
    for (int j = 0; j < kColumns; ++j) {
      const float bj = bp[j * b.column_stride];
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v)
        acc[v][j] += av[v] * bj;
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < kColumns; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) {
      LanesMap out(c + j * ldc + kLanes * v);
      if (accumulate == Accumulate::kAdd) {
        out += acc[v][j];
      } else {
        out = acc[v][j];
      }
    }
}

// Rows [0, kLanes * kVectors) of c, all n columns.
template <int kLanes, int kVectors>
void RowBlock(Index n, Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
              Accumulate accumulate) {
  for (Index j = 0; j < n; j += kColumnBlock) {
    const Operand bj{b.data + j * b.column_stride, b.step_stride, b.column_stride};
    WithBlock<kColumnBlock>(static_cast<int>(std::min<Index>(kColumnBlock, n - j)), [&](auto cols) {
      Block<kLanes, kVectors, decltype(cols)::value>(k, a, lda, bj, c + j * ldc, ldc, accumulate);
    });
  }
}

// c (m x n) (+)= a (m x k, column-major) * b (k x n, as `b` says).
void Kernel(Index m, Index n, Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
            Accumulate accumulate) {
  Index i = 0;
  for (; i + 48 <= m; i += 48)
    RowBlock<16, 3>(n, k, a + i, lda, b, c + i, ldc, accumulate);
  if (i + 32 <= m) {
    RowBlock<16, 2>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 32;
  }
  if (i + 16 <= m) {
    RowBlock<16, 1>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 16;
  }
  if (i + 8 <= m) {
    RowBlock<8, 1>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 8;
  }
  if (i + 4 <= m) {
    RowBlock<4, 1>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 4;
  }
  for (; i < m; ++i)
    RowBlock<1, 1>(n, k, a + i, lda, b, c + i, ldc, accumulate);
}

// Below 16 rows the kernel's vectors are mostly idle; Eigen's product is faster.
bool UseKernel(Index m) {
  return m >= 16;
}

// b^T's steps are rows of b, one cache line each: over more than ~1000 steps
// (a full-data gradient rather than a minibatch's) they no longer stay
// cached between row blocks, and Eigen's packed product is faster.
constexpr Index kMaxTransposedSteps = 1024;

#endif  // EIGEN_VECTORIZE_AVX512

}  // namespace

void MultiplyInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                  Accumulate accumulate) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if (UseKernel(c.rows())) {
    Kernel(c.rows(), c.cols(), a.cols(), a.data(), a.outerStride(),
           Operand{b.data(), 1, b.outerStride()}, c.data(), c.outerStride(), accumulate);
    return;
  }
#endif
  if (accumulate == Accumulate::kAdd) {
    c.noalias() += a * b;
  } else {
    c.noalias() = a * b;
  }
}

void MultiplyTransposedInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                            Accumulate accumulate) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if (UseKernel(c.rows()) && a.cols() <= kMaxTransposedSteps) {
    Kernel(c.rows(), c.cols(), a.cols(), a.data(), a.outerStride(),
           Operand{b.data(), b.outerStride(), 1}, c.data(), c.outerStride(), accumulate);
    return;
  }
#endif
  if (accumulate == Accumulate::kAdd) {
    c.noalias() += a * b.transpose();
  } else {
    c.noalias() = a * b.transpose();
  }
}

}  // namespace edgefl::nn
