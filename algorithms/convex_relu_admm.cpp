#include "algorithms/convex_relu_admm.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

void RequireFinite(const MatrixXd& m, const std::string& what) {
  if (!m.allFinite()) throw ConfigError("convex_relu: " + what + " contain NaN or Inf");
}

}  // namespace

ConvexReluData MakeConvexReluData(const MatrixXd& features, const MatrixXd& targets,
                                  const MatrixXd& gates) {
  const Index n = features.rows();
  const Index d = features.cols();
  if (n == 0) throw ConfigError("convex_relu: no rows");
  if (targets.rows() != n) {
    throw ConfigError("convex_relu: " + std::to_string(n) + " rows of features but " +
                      std::to_string(targets.rows()) + " rows of targets");
  }
  if (targets.cols() == 0) throw ConfigError("convex_relu: targets have no columns (classes)");
  if (gates.rows() != d + 1 || gates.cols() == 0) {
    throw ConfigError("convex_relu: gates must be (features+1) x patterns = " +
                      std::to_string(d + 1) + " x P with P >= 1, got " +
                      std::to_string(gates.rows()) + " x " + std::to_string(gates.cols()));
  }
  RequireFinite(features, "features");
  RequireFinite(targets, "targets");
  RequireFinite(gates, "gates");
  ConvexReluData data;
  data.x.resize(n, d + 1);
  data.x.leftCols(d) = features;
  data.x.col(d).setOnes();
  data.y = targets;
  data.masks = ((data.x * gates).array() >= 0.0).cast<double>();
  return data;
}

MatrixXd OneVsAllTargets(std::span<const int32_t> labels, int classes) {
  MatrixXd y = MatrixXd::Constant(static_cast<Index>(labels.size()), classes, -1.0);
  for (size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] < 0 || labels[r] >= classes) {
      throw DataError("convex_relu: label " + std::to_string(labels[r]) + " of row " +
                      std::to_string(r) + " is outside [0, " + std::to_string(classes) + ")");
    }
    y(static_cast<Index>(r), labels[r]) = 1.0;
  }
  return y;
}

ConvexReluData ConvexReluDataFrom(const datasets::Dataset& data, const MatrixXd& gates,
                                  int classes) {
  return MakeConvexReluData(data.features.cast<double>(), OneVsAllTargets(data.labels, classes),
                            gates);
}

MatrixXd GatesOf(const nn::ConvexReluLayout& layout, std::span<const float> parameters) {
  return Eigen::Map<const Eigen::MatrixXf>(parameters.data(), layout.augmented(), layout.patterns)
      .cast<double>();
}

MatrixXd BlockOf(const nn::ConvexReluLayout& layout, std::span<const float> parameters,
                 Index offset) {
  return Eigen::Map<const Eigen::MatrixXf>(parameters.data() + offset, layout.block_rows(),
                                           layout.classes)
      .cast<double>();
}

void StoreBlock(const MatrixXd& block, Index offset, Eigen::VectorXf* parameters) {
  parameters->segment(offset, block.size()) =
      Eigen::Map<const VectorXd>(block.data(), block.size()).cast<float>();
}

// Z (2Pa x C) and a (a x 2PC) matrix whose column c·2P + j is block j of
// class c share one memory layout, as do G Z (2Pn x C) and an n x 2PC
// matrix: every product below is one GEMM.
namespace {

Eigen::Map<const MatrixXd> AsBlocks(const MatrixXd& m, Index rows) {
  return Eigen::Map<const MatrixXd>(m.data(), rows, m.size() / rows);
}

}  // namespace

MatrixXd ApplyF(const ConvexReluData& data, const MatrixXd& z) {
  const Index p = data.patterns();
  const MatrixXd h = data.x * AsBlocks(z, data.augmented());  // n x 2PC
  MatrixXd out(data.x.rows(), z.cols());
  for (Index c = 0; c < z.cols(); ++c) {
    const auto diff = h.middleCols(c * 2 * p, p) - h.middleCols(c * 2 * p + p, p);
    out.col(c) = diff.cwiseProduct(data.masks).rowwise().sum();
  }
  return out;
}

MatrixXd ApplyFt(const ConvexReluData& data, const MatrixXd& r) {
  const Index p = data.patterns();
  const Index n = data.x.rows();
  MatrixXd masked(n, 2 * p * r.cols());
  for (Index c = 0; c < r.cols(); ++c) {
    masked.middleCols(c * 2 * p, p) = data.masks.array().colwise() * r.col(c).array();
    masked.middleCols(c * 2 * p + p, p) = -masked.middleCols(c * 2 * p, p);
  }
  MatrixXd out(data.block_rows(), r.cols());
  Eigen::Map<MatrixXd>(out.data(), data.augmented(), 2 * p * r.cols()).noalias() =
      data.x.transpose() * masked;
  return out;
}

MatrixXd ApplyG(const ConvexReluData& data, const MatrixXd& z) {
  const Index p = data.patterns();
  const Index n = data.x.rows();
  MatrixXd out(2 * p * n, z.cols());
  Eigen::Map<MatrixXd> h(out.data(), n, 2 * p * z.cols());
  h.noalias() = data.x * AsBlocks(z, data.augmented());
  for (Index col = 0; col < h.cols(); ++col) {
    h.col(col).array() *= 2.0 * data.masks.col(col % p).array() - 1.0;
  }
  return out;
}

MatrixXd ApplyGt(const ConvexReluData& data, const MatrixXd& s) {
  const Index p = data.patterns();
  const Index n = data.x.rows();
  MatrixXd signed_rows = AsBlocks(s, n);
  for (Index col = 0; col < signed_rows.cols(); ++col) {
    signed_rows.col(col).array() *= 2.0 * data.masks.col(col % p).array() - 1.0;
  }
  MatrixXd out(data.block_rows(), s.cols());
  Eigen::Map<MatrixXd>(out.data(), data.augmented(), signed_rows.cols()).noalias() =
      data.x.transpose() * signed_rows;
  return out;
}

MatrixXd ConvexSystemMatrix(const ConvexReluData& data, ConvexFormulation formulation, double rho) {
  const Index p = data.patterns();
  const Index a = data.augmented();
  const Index m = data.block_rows();
  MatrixXd system = MatrixXd::Zero(m, m);
  for (Index i = 0; i < p; ++i) {
    for (Index k = i; k < p; ++k) {
      const VectorXd both = data.masks.col(i).cwiseProduct(data.masks.col(k));
      const MatrixXd gram = data.x.transpose() * (data.x.array().colwise() * both.array()).matrix();
      // Blocks (v_i, v_k), (w_i, w_k) get +gram, (v_i, w_k), (w_i, v_k) −gram.
      for (Index bi = 0; bi < 2; ++bi) {
        for (Index bk = 0; bk < 2; ++bk) {
          const double sign = bi == bk ? 1.0 : -1.0;
          const Index r = (bi * p + i) * a;
          const Index c = (bk * p + k) * a;
          system.block(r, c, a, a) = sign * gram;
          system.block(c, r, a, a) = sign * gram.transpose();
        }
      }
    }
  }
  system.diagonal().array() += rho;
  if (formulation == ConvexFormulation::kCone) {
    // (2D_i − I)² = I: GᵀG is block diagonal with X̃ᵀX̃ in every block.
    const MatrixXd xtx = rho * data.x.transpose() * data.x;
    for (Index j = 0; j < 2 * p; ++j)
      system.block(j * a, j * a, a, a) += xtx;
  }
  return system;
}

double GroupNorm(const MatrixXd& z, Index group, double beta) {
  double sum = 0.0;
  for (Index c = 0; c < z.cols(); ++c) {
    for (Index j = 0; j < z.rows() / group; ++j)
      sum += z.col(c).segment(j * group, group).norm();
  }
  return beta * sum;
}

double ConvexObjective(const ConvexReluData& data, const MatrixXd& z, double beta) {
  return 0.5 * (ApplyF(data, z) - data.y).squaredNorm() + GroupNorm(z, data.augmented(), beta);
}

double ConeViolation(const ConvexReluData& data, const MatrixXd& z) {
  const MatrixXd g = ApplyG(data, z);
  return std::max(0.0, -g.minCoeff());
}

MatrixXd GroupShrink(const MatrixXd& z, Index group, double threshold) {
  MatrixXd out = z;
  for (Index c = 0; c < z.cols(); ++c) {
    for (Index j = 0; j < z.rows() / group; ++j) {
      auto block = out.col(c).segment(j * group, group);
      const double norm = block.norm();
      block *= norm > threshold ? 1.0 - threshold / norm : 0.0;
    }
  }
  return out;
}

Eigen::VectorXf RecoverReluNetwork(const MatrixXd& z, Index features, Index patterns,
                                   Index classes) {
  const Index a = features + 1;
  const Index hidden = 2 * patterns * classes;
  // mlp:D-H-C: W1 (H x D, column-major), b1 (H), W2 (C x H), b2 (C).
  Eigen::VectorXf out =
      Eigen::VectorXf::Zero(hidden * features + hidden + classes * hidden + classes);
  Eigen::Map<Eigen::MatrixXf> w1(out.data(), hidden, features);
  Eigen::Map<Eigen::VectorXf> b1(out.data() + hidden * features, hidden);
  Eigen::Map<Eigen::MatrixXf> w2(out.data() + hidden * features + hidden, classes, hidden);
  for (Index c = 0; c < classes; ++c) {
    for (Index j = 0; j < 2 * patterns; ++j) {
      const VectorXd u = z.col(c).segment(j * a, a);
      const double norm = u.norm();
      if (norm == 0.0) continue;
      const Index h = c * 2 * patterns + j;
      const double scale = std::sqrt(norm);
      w1.row(h) = (u.head(features) / scale).cast<float>().transpose();
      b1(h) = static_cast<float>(u(features) / scale);
      w2(c, h) = static_cast<float>(j < patterns ? scale : -scale);
    }
  }
  return out;
}

void ValidateConvexAdmmOptions(const ConvexAdmmOptions& options) {
  if (!(options.beta > 0.0) || !std::isfinite(options.beta)) {
    throw ConfigError("convex_relu: beta (the regularisation) must be finite and > 0, got " +
                      ShortNumber(options.beta));
  }
  if (!(options.rho > 0.0) || !std::isfinite(options.rho)) {
    throw ConfigError("convex_relu: rho (the ADMM penalty) must be finite and > 0, got " +
                      ShortNumber(options.rho));
  }
  if (options.iterations < 1) {
    throw ConfigError("convex_relu: iterations must be >= 1, got " +
                      std::to_string(options.iterations));
  }
}

ConvexAdmmResult SolveConvexReluAdmm(const ConvexReluData& data, const ConvexAdmmOptions& options) {
  ValidateConvexAdmmOptions(options);
  const bool cone = options.formulation == ConvexFormulation::kCone;
  const double rho = options.rho;
  const Index a = data.augmented();
  const Index m = data.block_rows();
  const Index classes = data.y.cols();
  const Eigen::LLT<MatrixXd> factor(ConvexSystemMatrix(data, options.formulation, rho));
  if (factor.info() != Eigen::Success) throw Error("convex_relu: Cholesky factorisation failed");
  const MatrixXd fty = ApplyFt(data, data.y);
  MatrixXd v = MatrixXd::Zero(m, classes);
  MatrixXd lambda = MatrixXd::Zero(m, classes);
  const Index slack_rows = cone ? 2 * data.patterns() * data.x.rows() : 0;
  MatrixXd s = MatrixXd::Zero(slack_rows, classes);
  MatrixXd nu = MatrixXd::Zero(slack_rows, classes);
  ConvexAdmmResult result;
  for (int it = 0; it < options.iterations; ++it) {
    MatrixXd rhs = fty + rho * (v - lambda);
    if (cone) rhs += rho * ApplyGt(data, s - nu);
    const MatrixXd u = factor.solve(rhs);
    v = GroupShrink(u + lambda, a, options.beta / rho);
    double residual = (u - v).squaredNorm();
    if (cone) {
      const MatrixXd gu = ApplyG(data, u);
      s = (gu + nu).cwiseMax(0.0);
      nu += gu - s;
      residual += (gu - s).squaredNorm();
    }
    lambda += u - v;
    result.objective.push_back(ConvexObjective(data, v, options.beta));
    result.residual.push_back(std::sqrt(residual));
  }
  result.z = std::move(v);
  return result;
}

ConvexLocalStep::ConvexLocalStep(ConvexReluData data, ConvexFormulation formulation)
    : data_(std::move(data)), formulation_(formulation) {
  fty_ = ApplyFt(data_, data_.y);
}

MatrixXd ConvexLocalStep::Solve(const MatrixXd& target, double rho, int inner) {
  if (target.rows() != data_.block_rows() || target.cols() != data_.y.cols()) {
    throw ConfigError("convex_relu: the local target has shape " + std::to_string(target.rows()) +
                      " x " + std::to_string(target.cols()) + ", the data need " +
                      std::to_string(data_.block_rows()) + " x " + std::to_string(data_.y.cols()));
  }
  if (rho != rho_) {
    factor_.compute(ConvexSystemMatrix(data_, formulation_, rho));
    if (factor_.info() != Eigen::Success) throw Error("convex_relu: Cholesky factorisation failed");
    rho_ = rho;
  }
  if (formulation_ == ConvexFormulation::kGated) return factor_.solve(fty_ + rho * target);
  const Index slack_rows = 2 * data_.patterns() * data_.x.rows();
  if (s_.rows() != slack_rows || s_.cols() != target.cols()) {
    s_ = ApplyG(data_, target).cwiseMax(0.0);
    n_ = MatrixXd::Zero(slack_rows, target.cols());
  }
  MatrixXd u;
  for (int it = 0; it < std::max(inner, 1); ++it) {
    u = factor_.solve(fty_ + rho * target + rho * ApplyGt(data_, s_ - n_));
    const MatrixXd gu = ApplyG(data_, u);
    s_ = (gu + n_).cwiseMax(0.0);
    n_ += gu - s_;
  }
  return u;
}

}  // namespace edgefl::algorithms
