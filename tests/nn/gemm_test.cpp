#include "nn/gemm.h"

#include <cmath>
#include <limits>
#include <string>

#include <doctest/doctest.h>

#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::MatrixXf;

// Largest |got - want| relative to the largest |want| (at least 1).
double RelativeError(const MatrixXf& got, const MatrixXd& want) {
  const double scale = std::max(1.0, want.cwiseAbs().maxCoeff());
  return (got.cast<double>() - want).cwiseAbs().maxCoeff() / scale;
}

// Row counts the kernel splits differently (blocks of 48, 32 and 16 rows, a
// last block of 24 or 40 with an 8-row tail, then 4 and single rows), column
// counts around its 8-column block, and steps
// from 1 to past the transposed product's limit (1024).
constexpr Index kRows[] = {1, 3, 15, 16, 17, 24, 31, 47, 48, 61, 100, 120, 200};
constexpr Index kCols[] = {1, 7, 8, 9, 64};
constexpr Index kSteps[] = {1, 5, 64, 200, 1100};

// Runs `multiply(c, mode)` in both modes against the double-precision
// `product`: overwriting a c of NaN (it must not read c), adding onto c0.
template <typename Multiply>
void CheckBothModes(const Multiply& multiply, const MatrixXf& c0, const MatrixXd& product) {
  MatrixXf c = MatrixXf::Constant(c0.rows(), c0.cols(), std::numeric_limits<float>::quiet_NaN());
  multiply(c, Accumulate::kOverwrite);
  CHECK(RelativeError(c, product) < 1e-5);
  c = c0;
  multiply(c, Accumulate::kAdd);
  CHECK(RelativeError(c, c0.cast<double>() + product) < 1e-5);
}

// Calls check(m, n, k) for every row count, column count and step count
// (`steps`), with the shape in the failure message.
template <typename Steps, typename Check>
void ForEachShape(const Steps& steps, const Check& check) {
  for (Index m : kRows) {
    for (Index n : kCols) {
      for (Index k : steps) {
        CAPTURE(m);
        CAPTURE(n);
        CAPTURE(k);
        check(m, n, k);
      }
    }
  }
}

TEST_CASE("MultiplyInto: equals a double-precision product for every block split") {
  uint64_t seed = 1;
  ForEachShape(kSteps, [&](Index m, Index n, Index k) {
    const MatrixXf a = testing::RandomMatrix(m, k, seed++);
    const MatrixXf b = testing::RandomMatrix(k, n, seed++);
    const MatrixXf c0 = testing::RandomMatrix(m, n, seed++);
    const MatrixXd product = a.cast<double>() * b.cast<double>();
    CheckBothModes([&](MatrixXf& c, Accumulate mode) { MultiplyInto(a, b, c, mode); }, c0, product);
  });
}

TEST_CASE("MultiplyTransposedInto: equals a double-precision product for every block split") {
  uint64_t seed = 1000;
  ForEachShape(kSteps, [&](Index m, Index n, Index k) {
    const MatrixXf a = testing::RandomMatrix(m, k, seed++);
    const MatrixXf b = testing::RandomMatrix(n, k, seed++);
    const MatrixXf c0 = testing::RandomMatrix(m, n, seed++);
    const MatrixXd product = a.cast<double>() * b.cast<double>().transpose();
    CheckBothModes([&](MatrixXf& c, Accumulate mode) { MultiplyTransposedInto(a, b, c, mode); }, c0,
                   product);
  });
}

TEST_CASE("TransposedMultiplyInto: equals a double-precision product for every block split") {
  uint64_t seed = 2000;
  MatrixXf scratch;  // reused across shapes, as a layer reuses it across steps
  constexpr Index kShortSteps[] = {1, 5, 200};
  ForEachShape(kShortSteps, [&](Index m, Index n, Index k) {
    const MatrixXf a = testing::RandomMatrix(k, m, seed++);
    const MatrixXf b = testing::RandomMatrix(k, n, seed++);
    const MatrixXf c0 = testing::RandomMatrix(m, n, seed++);
    const MatrixXd product = a.cast<double>().transpose() * b.cast<double>();
    CheckBothModes(
        [&](MatrixXf& c, Accumulate mode) { TransposedMultiplyInto(a, b, c, mode, &scratch); }, c0,
        product);
  });
}

TEST_CASE("MultiplyInto: blocks of larger matrices are read and written in place") {
  // Operands and result with outer strides larger than their row counts (a
  // batch that is a view of a bigger matrix); c's other rows stay untouched.
  const MatrixXf big_a = testing::RandomMatrix(70, 30, 1);
  const MatrixXf big_b = testing::RandomMatrix(40, 20, 2);
  MatrixXf big_c = MatrixXf::Constant(60, 20, 7.0f);
  const auto a = big_a.block(3, 2, 50, 25);
  const auto b = big_b.block(5, 1, 25, 11);
  MultiplyInto(a, b, big_c.block(4, 3, 50, 11), Accumulate::kOverwrite);
  const MatrixXd product = a.cast<double>() * b.cast<double>();
  CHECK(RelativeError(big_c.block(4, 3, 50, 11), product) < 1e-5);
  MatrixXf outside = big_c;
  outside.block(4, 3, 50, 11).setConstant(7.0f);
  CHECK((outside.array() == 7.0f).all());

  MatrixXf big_d = MatrixXf::Constant(60, 40, 7.0f);
  const auto bt = big_b.block(2, 3, 30, 17);  // n = 30 rows, k = 17 steps
  const auto at = big_a.block(1, 4, 50, 17);
  MultiplyTransposedInto(at, bt, big_d.block(5, 2, 50, 30), Accumulate::kAdd);
  const MatrixXd expected = 7.0 + (at.cast<double>() * bt.cast<double>().transpose()).array();
  CHECK(RelativeError(big_d.block(5, 2, 50, 30), expected) < 1e-5);
}

}  // namespace
}  // namespace edgefl::nn
