#include "nn/softmax_cross_entropy.h"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/metrics.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::MatrixXf;
using testing::RandomMatrix;

TEST_CASE("SoftmaxCrossEntropy: hand-computed value and gradient") {
  MatrixXf logits(3, 2);
  logits << 1, 0, 2, 0, 3, 0;  // column 0: (1, 2, 3); column 1: zeros
  const std::vector<int32_t> labels = {2, 0};
  MatrixXf d;
  const float loss = SoftmaxCrossEntropy(logits, labels, &d);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = ((lse0 - 3.0) + std::log(3.0)) / 2.0;
  CHECK(loss == doctest::Approx(expected).epsilon(1e-6));
  CHECK(d(2, 0) == doctest::Approx((std::exp(3.0 - lse0) - 1.0) / 2.0).epsilon(1e-5));
  CHECK(d(0, 1) == doctest::Approx((1.0 / 3.0 - 1.0) / 2.0).epsilon(1e-5));
  CHECK(d(1, 1) == doctest::Approx(1.0 / 6.0).epsilon(1e-5));
  CHECK(std::abs(d.sum()) < 1e-6f);  // each column sums to 0
}

TEST_CASE("SoftmaxCrossEntropyPerSample: each column's loss, their mean is the batch loss") {
  MatrixXf logits(3, 2);
  logits << 1, 0, 2, 0, 3, 0;
  const std::vector<int32_t> labels = {2, 0};
  Eigen::VectorXd losses;
  SoftmaxCrossEntropyPerSample(logits, labels, &losses);
  REQUIRE(losses.size() == 2);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK(losses(0) == doctest::Approx(lse0 - 3.0).epsilon(1e-6));
  CHECK(losses(1) == doctest::Approx(std::log(3.0)).epsilon(1e-6));
  CHECK(losses.mean() == doctest::Approx(SoftmaxCrossEntropy(logits, labels, nullptr)));
  CHECK_THROWS_AS(SoftmaxCrossEntropyPerSample(logits, std::vector<int32_t>{3, 0}, &losses),
                  DataError);
  CHECK_THROWS_AS(SoftmaxCrossEntropyPerSample(logits, std::vector<int32_t>{0}, &losses),
                  ConfigError);
}

TEST_CASE("SoftmaxCrossEntropy: stable for huge logits") {
  MatrixXf logits(2, 1);
  logits << 1000.0f, -1000.0f;
  MatrixXf d;
  CHECK(SoftmaxCrossEntropy(logits, std::vector<int32_t>{0}, &d) == doctest::Approx(0.0));
  CHECK(SoftmaxCrossEntropy(logits, std::vector<int32_t>{1}, &d) == doctest::Approx(2000.0));
  CHECK(d.allFinite());
}

TEST_CASE("SoftmaxCrossEntropy: gradients match finite differences (hard and soft labels)") {
  MatrixXf logits = RandomMatrix(5, 4, 3, 3.0f);
  const std::vector<int32_t> labels = {0, 4, 2, 2};
  MatrixXf d;
  SoftmaxCrossEntropy(logits, labels, &d);
  testing::GradCheckResult hard;
  testing::CheckVector([&] { return double{SoftmaxCrossEntropy(logits, labels, nullptr)}; },
                       logits.data(), logits.size(), d.data(), "hard", &hard);
  testing::RequirePassed(hard);

  MatrixXf targets = RandomMatrix(5, 4, 4).cwiseAbs();
  targets.col(3) *= 0.5f;  // not normalised: the general formula still holds
  for (int b = 0; b < 3; ++b)
    targets.col(b) /= targets.col(b).sum();
  SoftmaxCrossEntropy(logits, targets, &d);
  testing::GradCheckResult soft;
  testing::CheckVector([&] { return double{SoftmaxCrossEntropy(logits, targets, nullptr)}; },
                       logits.data(), logits.size(), d.data(), "soft", &soft);
  testing::RequirePassed(soft);
}

TEST_CASE("SoftmaxCrossEntropy: one-hot soft labels equal hard labels") {
  MatrixXf logits = RandomMatrix(4, 3, 9, 2.0f);
  const std::vector<int32_t> labels = {3, 0, 1};
  MatrixXf onehot = MatrixXf::Zero(4, 3);
  for (int b = 0; b < 3; ++b)
    onehot(labels[b], b) = 1.0f;
  MatrixXf d_hard, d_soft;
  CHECK(SoftmaxCrossEntropy(logits, labels, &d_hard) ==
        doctest::Approx(SoftmaxCrossEntropy(logits, onehot, &d_soft)).epsilon(1e-6));
  CHECK((d_hard - d_soft).cwiseAbs().maxCoeff() < 1e-6f);
}

TEST_CASE("SoftmaxCrossEntropy: bad labels and shapes are errors") {
  MatrixXf logits = MatrixXf::Zero(3, 2);
  CHECK_THROWS_AS(SoftmaxCrossEntropy(logits, std::vector<int32_t>{0}, nullptr), ConfigError);
  CHECK_THROWS_WITH_AS(SoftmaxCrossEntropy(logits, std::vector<int32_t>{0, 3}, nullptr),
                       doctest::Contains("label 3"), DataError);
  CHECK_THROWS_AS(SoftmaxCrossEntropy(logits, MatrixXf::Zero(3, 3), nullptr), ConfigError);
}

TEST_CASE("AccuracyCounter: overall and per-class accuracy over batches") {
  AccuracyCounter counter(3);
  MatrixXf logits(3, 4);
  logits << 1, 0, 0, 0,  //
      0, 1, 0, 2,        //
      0, 0, 1, 0;        // predictions: 0, 1, 2, 1
  counter.Add(logits, std::vector<int32_t>{0, 1, 1, 1});
  counter.Add(logits.leftCols(1), std::vector<int32_t>{1});
  CHECK(counter.total() == 5);
  CHECK(counter.correct() == 3);
  CHECK(counter.accuracy() == doctest::Approx(0.6));
  const auto per_class = counter.per_class_accuracy();
  CHECK(per_class[0] == doctest::Approx(1.0));
  CHECK(per_class[1] == doctest::Approx(0.5));
  CHECK(std::isnan(per_class[2]));
  CHECK(Accuracy(logits, std::vector<int32_t>{0, 1, 2, 0}) == doctest::Approx(0.75));
}

}  // namespace
}  // namespace edgefl::nn
