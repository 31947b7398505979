// The matrix products of a dense layer: out = W * in (forward),
// dW += dout * in^T (weight gradient) and din = W^T * dout (input gradient),
// for the shapes of small models and minibatches (a few hundred rows, one
// batch of columns).
//
// With AVX-512 (32 vector registers) they run a register-blocked kernel that
// reads both operands in place: 48 rows x 8 columns of c in 24 accumulators,
// each step loading one 48-float column segment of a and broadcasting 8
// values of b. At these sizes that is ~25% faster than Eigen's general
// product, which copies (packs) both operands on every call. Otherwise, for
// fewer than 16 rows, and for a * b^T over more than 1024 steps (a full-data
// gradient), they are Eigen's product. Results match Eigen's up to float
// rounding (a different summation order); they are deterministic.
#pragma once

#include "nn/layer.h"

namespace edgefl::nn {

enum class Accumulate { kOverwrite, kAdd };

// c = a * b (kOverwrite) or c += a * b (kAdd).
// REQUIRES: a is m x k, b is k x n, c is m x n; c shares no memory with a or b.
void MultiplyInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                  Accumulate accumulate);

// c = a * b^T (kOverwrite) or c += a * b^T (kAdd).
// REQUIRES: a is m x k, b is n x k, c is m x n; c shares no memory with a or b.
void MultiplyTransposedInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                            Accumulate accumulate);

// c = a^T * b (kOverwrite) or c += a^T * b, the input gradient W^T * dout.
// The kernel needs a's columns contiguous, so it multiplies a transposed copy
// of a kept in *scratch (resized to a.cols() x a.rows(); no allocation once
// the shape is stable).
// REQUIRES: a is k x m, b is k x n, c is m x n; c shares no memory with a, b
// or *scratch.
void TransposedMultiplyInto(const ConstMatrixRef& a, const ConstMatrixRef& b, MatrixRef c,
                            Accumulate accumulate, Eigen::MatrixXf* scratch);

}  // namespace edgefl::nn
