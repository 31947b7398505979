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

// c[0, kRows) x [0, kColumns) (+)= a * b over k steps, where a's step p is
// the column segment a + p * lda and kRows = kLanes * kVectors + kTailLanes:
// kVectors vectors of kLanes rows, then (if kTailLanes > 0) one narrower
// vector, so that a row count like 200 = 12.5 x 16 ends in a block that
// shares its broadcasts of b with full vectors.
template <int kLanes, int kVectors, int kTailLanes, int kColumns>
void Block(Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
           Accumulate accumulate) {
  static_assert(kVectors >= 1 && kTailLanes >= 0 && kTailLanes < kLanes);
  using Lanes = Eigen::Array<float, kLanes, 1>;
  using Tail = Eigen::Array<float, kTailLanes == 0 ? 1 : kTailLanes, 1>;
  constexpr bool kHasTail = kTailLanes > 0;
  constexpr Index kTailRow = Index{kLanes} * kVectors;
  // The unroll pragmas keep GCC from spilling the accumulator arrays to the
  // stack on every step (2x slower without them).
  Lanes acc[kVectors][kColumns];
  Tail tail_acc[kColumns];
#pragma GCC unroll 8
  for (int j = 0; j < kColumns; ++j) {
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v)
      acc[v][j].setZero();
    if constexpr (kHasTail) tail_acc[j].setZero();
  }
  const float* bp = b.data;
  for (Index p = 0; p < k; ++p, a += lda, bp += b.step_stride) {
    Lanes av[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v)
      av[v] = Eigen::Map<const Lanes, Eigen::Unaligned>(a + kLanes * v);
    Tail at;
    if constexpr (kHasTail) at = Eigen::Map<const Tail, Eigen::Unaligned>(a + kTailRow);
#pragma GCC unroll 8
    for (int j = 0; j < kColumns; ++j) {
      const float bj = bp[j * b.column_stride];
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v)
        acc[v][j] += av[v] * bj;
      if constexpr (kHasTail) tail_acc[j] += at * bj;
    }
  }
  auto store = [accumulate](auto out, const auto& value) {
    if (accumulate == Accumulate::kAdd) {
      out += value;
    } else {
      out = value;
    }
  };
#pragma GCC unroll 8
  for (int j = 0; j < kColumns; ++j) {
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v)
      store(Eigen::Map<Lanes, Eigen::Unaligned>(c + j * ldc + kLanes * v), acc[v][j]);
    if constexpr (kHasTail) {
      store(Eigen::Map<Tail, Eigen::Unaligned>(c + j * ldc + kTailRow), tail_acc[j]);
    }
  }
}

// Rows [0, kLanes * kVectors + kTailLanes) of c, all n columns.
template <int kLanes, int kVectors, int kTailLanes = 0>
void RowBlock(Index n, Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
              Accumulate accumulate) {
  for (Index j = 0; j < n; j += kColumnBlock) {
    const Operand bj{b.data + j * b.column_stride, b.step_stride, b.column_stride};
    WithBlock<kColumnBlock>(static_cast<int>(std::min<Index>(kColumnBlock, n - j)), [&](auto cols) {
      Block<kLanes, kVectors, kTailLanes, decltype(cols)::value>(k, a, lda, bj, c + j * ldc, ldc,
                                                                 accumulate);
    });
  }
}

// c (m x n) (+)= a (m x k, column-major) * b (k x n, as `b` says).
// REQUIRES: m >= 16.
void Kernel(Index m, Index n, Index k, const float* a, Index lda, Operand b, float* c, Index ldc,
            Accumulate accumulate) {
  // m = 16 * full + rest. With rest >= 8, the last block is one or two full
  // vectors and an 8-row tail; the other full vectors go in blocks of 3
  // (48 rows), ending 2 + 2 rather than 3 + 1 (a lone vector is slower).
  const Index full = m / 16, rest = m % 16;
  const Index with_tail = rest >= 8 ? std::min<Index>(2, full) : 0;
  Index i = 0;
  for (Index left = full - with_tail; left > 0;) {
    const Index vectors = left == 4 ? 2 : std::min<Index>(3, left);
    if (vectors == 3) {
      RowBlock<16, 3>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    } else if (vectors == 2) {
      RowBlock<16, 2>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    } else {
      RowBlock<16, 1>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    }
    i += 16 * vectors;
    left -= vectors;
  }
  if (with_tail == 2) {
    RowBlock<16, 2, 8>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 40;
  } else if (with_tail == 1) {
    RowBlock<16, 1, 8>(n, k, a + i, lda, b, c + i, ldc, accumulate);
    i += 24;
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

void TransposedMultiplyInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                            Accumulate accumulate, Eigen::MatrixXf* scratch) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if (UseKernel(c.rows())) {
    *scratch = a.transpose();
    MultiplyInto(*scratch, b, c, accumulate);
    return;
  }
#endif
  (void)scratch;
  if (accumulate == Accumulate::kAdd) {
    c.noalias() += a.transpose() * b;
  } else {
    c.noalias() = a.transpose() * b;
  }
}

}  // namespace edgefl::nn
