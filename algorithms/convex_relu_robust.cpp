#include "algorithms/convex_relu_robust.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// Newton's method from the left on an increasing concave piecewise-linear
// function (or from the left on a decreasing convex one): every step lands
// at or before the root, and each passes a breakpoint, so it ends exactly.
constexpr int kMaxNewton = 200;

Eigen::Map<MatrixXd> Blocks(MatrixXd& m, Index rows) {
  return Eigen::Map<MatrixXd>(m.data(), rows, m.size() / rows);
}

// ε Bᵀ applied to a 2Pn x C matrix: the sum of each group's n rows.
MatrixXd SumGroups(const MatrixXd& s, Index n) {
  const Index groups = s.rows() / n;
  MatrixXd out(groups, s.cols());
  for (Index c = 0; c < s.cols(); ++c) {
    for (Index j = 0; j < groups; ++j)
      out(j, c) = s.col(c).segment(j * n, n).sum();
  }
  return out;
}

void SubtractRepeated(const MatrixXd& t, double epsilon, Index n, MatrixXd* g) {
  for (Index c = 0; c < t.cols(); ++c) {
    for (Index j = 0; j < t.rows(); ++j)
      g->col(c).segment(j * n, n).array() -= epsilon * t(j, c);
  }
}

}  // namespace

void ValidateAdversarialEpsilon(double epsilon) {
  if (!(epsilon >= 0.0) || !std::isfinite(epsilon)) {
    throw ConfigError("convex_relu: the adversarial radius epsilon must be finite and >= 0, got " +
                      ShortNumber(epsilon));
  }
}

MatrixXd ApplyQ(const ConvexReluData& data, const MatrixXd& z) {
  const Index p = data.patterns();
  const Index a = data.augmented();
  const Index d = a - 1;
  const Index n = data.x.rows();
  MatrixXd out(d, n * z.cols());
  MatrixXd w(d, p);
  for (Index c = 0; c < z.cols(); ++c) {
    for (Index i = 0; i < p; ++i)
      w.col(i) = z.col(c).segment(i * a, d) - z.col(c).segment((p + i) * a, d);
    out.middleCols(c * n, n).noalias() = w * data.masks.transpose();
  }
  return out;
}

MatrixXd ApplyQt(const ConvexReluData& data, const MatrixXd& q) {
  const Index p = data.patterns();
  const Index a = data.augmented();
  const Index d = a - 1;
  const Index n = data.x.rows();
  const Index classes = q.cols() / n;
  MatrixXd out = MatrixXd::Zero(data.block_rows(), classes);
  for (Index c = 0; c < classes; ++c) {
    const MatrixXd w = q.middleCols(c * n, n) * data.masks;  // d x p
    for (Index i = 0; i < p; ++i) {
      out.col(c).segment(i * a, d) = w.col(i);
      out.col(c).segment((p + i) * a, d) = -w.col(i);
    }
  }
  return out;
}

double RobustConvexObjective(const ConvexReluData& data, const MatrixXd& z, double beta,
                             double epsilon, RobustLoss kind) {
  const MatrixXd r = ApplyF(data, z) - data.y;
  const Index n = data.x.rows();
  double loss = 0.0;
  if (kind == RobustLoss::kHinge) {
    const MatrixXd q = epsilon == 0.0 ? MatrixXd() : ApplyQ(data, z);
    for (Index c = 0; c < r.cols(); ++c) {
      for (Index k = 0; k < n; ++k) {
        const double shift = epsilon == 0.0 ? 0.0 : epsilon * q.col(c * n + k).lpNorm<1>();
        loss += std::max(0.0, shift - data.y(k, c) * r(k, c));
      }
    }
  } else if (epsilon == 0.0) {
    loss = 0.5 * r.squaredNorm();
  } else {
    const MatrixXd q = ApplyQ(data, z);
    for (Index c = 0; c < r.cols(); ++c) {
      for (Index k = 0; k < n; ++k) {
        const double worst = std::abs(r(k, c)) + epsilon * q.col(c * n + k).lpNorm<1>();
        loss += 0.5 * worst * worst;
      }
    }
  }
  return loss + GroupNorm(z, data.augmented(), beta);
}

double RobustConeViolation(const ConvexReluData& data, const MatrixXd& z, double epsilon) {
  const Index a = data.augmented();
  const Index n = data.x.rows();
  const MatrixXd g = ApplyG(data, z);
  double worst = 0.0;
  for (Index c = 0; c < z.cols(); ++c) {
    for (Index j = 0; j < z.rows() / a; ++j) {
      const double need = epsilon * z.col(c).segment(j * a, a - 1).lpNorm<1>();
      worst = std::max(worst, need - g.col(c).segment(j * n, n).minCoeff());
    }
  }
  return worst;
}

void RobustLossProx(double epsilon, double rho, double* r, Eigen::Ref<VectorXd> q) {
  // With s = |r| + ε‖q‖₁ at the optimum: |r| = max(0, |r0| − s/ρ) and
  // |q_l| = max(0, |q0_l| − εs/ρ), signs kept; s is the root of
  // g(s) = s − max(0, |r0| − s/ρ) − ε Σ max(0, |q0_l| − εs/ρ).
  const double r0 = std::abs(*r);
  if (epsilon == 0.0) {
    *r *= rho / (1.0 + rho);
    return;
  }
  double s = 0.0;
  for (int it = 0; it < kMaxNewton; ++it) {
    double g = s - std::max(0.0, r0 - s / rho);
    double slope = 1.0 + (r0 > s / rho ? 1.0 / rho : 0.0);
    const double cut = epsilon * s / rho;
    for (Index l = 0; l < q.size(); ++l) {
      const double b = std::abs(q(l));
      if (b > cut) {
        g -= epsilon * (b - cut);
        slope += epsilon * epsilon / rho;
      }
    }
    if (g >= -1e-15 * (1.0 + s)) break;
    s -= g / slope;
  }
  const double shrink_r = std::max(0.0, r0 - s / rho);
  *r = *r >= 0.0 ? shrink_r : -shrink_r;
  const double cut = epsilon * s / rho;
  for (Index l = 0; l < q.size(); ++l) {
    const double b = std::max(0.0, std::abs(q(l)) - cut);
    q(l) = q(l) >= 0.0 ? b : -b;
  }
}

void RobustHingeProx(double epsilon, double rho, double y, double* r, Eigen::Ref<VectorXd> q) {
  // g(r, q) = ε‖q‖₁ − y r. At the optimum r = r0 + θy/ρ, q = soft(q0, θε/ρ)
  // with θ ∈ [0, 1]: 0 if g(r0, q0) ≤ 0, 1 if g stays ≥ 0 there, otherwise
  // the root of h(θ) = g(r(θ), q(θ)) = ε‖soft(q0, θε/ρ)‖₁ − y r0 − θ/ρ,
  // convex and decreasing in θ.
  auto h = [&](double theta, double* slope) {
    double value = -y * *r - theta / rho;
    double d = -1.0 / rho;
    const double cut = theta * epsilon / rho;
    for (Index l = 0; l < q.size(); ++l) {
      const double b = std::abs(q(l));
      if (b > cut) {
        value += epsilon * (b - cut);
        d -= epsilon * epsilon / rho;
      }
    }
    *slope = d;
    return value;
  };
  double slope = 0.0;
  if (h(0.0, &slope) <= 0.0) return;
  double theta = 1.0;
  if (h(1.0, &slope) < 0.0) {
    theta = 0.0;
    for (int it = 0; it < kMaxNewton; ++it) {
      const double value = h(theta, &slope);
      if (value <= 1e-15) break;
      theta = std::min(1.0, theta - value / slope);
    }
  }
  *r += theta * y / rho;
  const double cut = theta * epsilon / rho;
  for (Index l = 0; l < q.size(); ++l) {
    const double b = std::max(0.0, std::abs(q(l)) - cut);
    q(l) = q(l) >= 0.0 ? b : -b;
  }
}

void ProjectL1Epigraph(Eigen::Ref<VectorXd> x, double* t) {
  const double t0 = *t;
  if (x.lpNorm<1>() <= t0) return;
  // λ > 0 with ‖soft(x, λ)‖₁ = t0 + λ; h(λ) = ‖soft(x, λ)‖₁ − t0 − λ is
  // convex and decreasing, h(0) > 0.
  double lambda = 0.0;
  for (int it = 0; it < kMaxNewton; ++it) {
    double h = -t0 - lambda;
    double count = 1.0;
    for (Index l = 0; l < x.size(); ++l) {
      const double b = std::abs(x(l));
      if (b > lambda) {
        h += b - lambda;
        count += 1.0;
      }
    }
    if (h <= 1e-15 * (1.0 + lambda)) break;
    lambda += h / count;
  }
  for (Index l = 0; l < x.size(); ++l) {
    const double b = std::max(0.0, std::abs(x(l)) - lambda);
    x(l) = x(l) >= 0.0 ? b : -b;
  }
  *t = t0 + lambda;
}

RobustConvexSplitting::RobustConvexSplitting(ConvexReluData data, double epsilon, RobustLoss loss)
    : data_(std::move(data)), epsilon_(epsilon), loss_(loss) {
  ValidateAdversarialEpsilon(epsilon_);
  const Index p = data_.patterns();
  const Index a = data_.augmented();
  const Index d = a - 1;
  const Index n = data_.x.rows();
  const Index m = data_.block_rows();
  const Index groups = 2 * p;
  MatrixXd h = MatrixXd::Zero(m + groups, m + groups);
  // FᵀF + I + GᵀG (every penalty is ρ, which divides out).
  h.topLeftCorner(m, m) = ConvexSystemMatrix(data_, ConvexFormulation::kCone, 1.0);
  // QᵀQ: (MᵀM)_{ik} I_D on the feature rows, signed as FᵀF; EᵀE: I there.
  const MatrixXd mtm = data_.masks.transpose() * data_.masks;
  for (Index i = 0; i < p; ++i) {
    for (Index k = 0; k < p; ++k) {
      for (Index bi = 0; bi < 2; ++bi) {
        for (Index bk = 0; bk < 2; ++bk) {
          const double sign = bi == bk ? 1.0 : -1.0;
          h.block((bi * p + i) * a, (bk * p + k) * a, d, d).diagonal().array() += sign * mtm(i, k);
        }
      }
    }
  }
  for (Index j = 0; j < groups; ++j) {
    h.block(j * a, j * a, d, d).diagonal().array() += 1.0;
    // −ε Gᵀ B and its transpose; (ε² n + 1) on the T diagonal.
    const VectorXd signs = 2.0 * data_.masks.col(j % p).array() - 1.0;
    const VectorXd cross = -epsilon_ * (data_.x.transpose() * signs);
    h.block(j * a, m + j, a, 1) = cross;
    h.block(m + j, j * a, 1, a) = cross.transpose();
    h(m + j, m + j) = epsilon_ * epsilon_ * static_cast<double>(n) + 1.0;
  }
  factor_.compute(h);
  if (factor_.info() != Eigen::Success) {
    throw Error("convex_relu: Cholesky factorisation of the robust system failed");
  }
}

MatrixXd RobustConvexSplitting::Step(const MatrixXd& anchor, double rho) {
  const Index p = data_.patterns();
  const Index a = data_.augmented();
  const Index d = a - 1;
  const Index n = data_.x.rows();
  const Index m = data_.block_rows();
  const Index groups = 2 * p;
  const Index classes = data_.y.cols();
  if (anchor.rows() != m || anchor.cols() != classes) {
    throw ConfigError("convex_relu: the robust step's target has shape " +
                      std::to_string(anchor.rows()) + " x " + std::to_string(anchor.cols()) +
                      ", the data need " + std::to_string(m) + " x " + std::to_string(classes));
  }
  if (r_.size() == 0) {
    r_ = nr_ = MatrixXd::Zero(n, classes);
    q_ = nq_ = MatrixXd::Zero(d, n * classes);
    s_ = ns_ = MatrixXd::Zero(groups * n, classes);
    ue_ = ne_ = MatrixXd::Zero(d, groups * classes);
    te_ = nt_ = MatrixXd::Zero(groups, classes);
  }
  MatrixXd rhs(m + groups, classes);
  const MatrixXd slack = s_ - ns_;
  MatrixXd top = ApplyFt(data_, data_.y + r_ - nr_) + ApplyQt(data_, q_ - nq_) + anchor +
                 ApplyGt(data_, slack);
  Blocks(top, a).topRows(d) += ue_ - ne_;
  rhs.topRows(m) = top;
  rhs.bottomRows(groups) = -epsilon_ * SumGroups(slack, n) + te_ - nt_;
  const MatrixXd x = factor_.solve(rhs);
  MatrixXd u = x.topRows(m);
  const MatrixXd t = x.bottomRows(groups);

  const MatrixXd fu = ApplyF(data_, u) - data_.y;
  const MatrixXd qu = ApplyQ(data_, u);
  MatrixXd gu = ApplyG(data_, u);
  SubtractRepeated(t, epsilon_, n, &gu);
  const MatrixXd eu = Blocks(u, a).topRows(d);

  r_ = fu + nr_;
  q_ = qu + nq_;
  for (Index c = 0; c < classes; ++c) {
    for (Index k = 0; k < n; ++k) {
      if (loss_ == RobustLoss::kHinge) {
        RobustHingeProx(epsilon_, rho, data_.y(k, c), &r_(k, c), q_.col(c * n + k));
      } else {
        RobustLossProx(epsilon_, rho, &r_(k, c), q_.col(c * n + k));
      }
    }
  }
  s_ = (gu + ns_).cwiseMax(0.0);
  ue_ = eu + ne_;
  te_ = t + nt_;
  for (Index col = 0; col < ue_.cols(); ++col)
    ProjectL1Epigraph(ue_.col(col), &te_(col % groups, col / groups));

  nr_ += fu - r_;
  nq_ += qu - q_;
  ns_ += gu - s_;
  ne_ += eu - ue_;
  nt_ += t - te_;
  residual_ =
      std::sqrt((fu - r_).squaredNorm() + (qu - q_).squaredNorm() + (gu - s_).squaredNorm() +
                (eu - ue_).squaredNorm() + (t - te_).squaredNorm());
  return u;
}

ConvexAdmmResult SolveRobustConvexRelu(const ConvexReluData& data,
                                       const RobustAdmmOptions& options) {
  ConvexAdmmOptions check;
  check.beta = options.beta;
  check.rho = options.rho;
  check.iterations = options.iterations;
  ValidateConvexAdmmOptions(check);
  ValidateAdversarialEpsilon(options.epsilon);
  if (options.loss == RobustLoss::kHinge && (data.y.array().abs() != 1.0).any()) {
    throw ConfigError("convex_relu: the hinge loss needs +1/-1 targets");
  }
  RobustConvexSplitting splitting(data, options.epsilon, options.loss);
  const Index a = data.augmented();
  MatrixXd v = MatrixXd::Zero(data.block_rows(), data.y.cols());
  MatrixXd lambda = v;
  ConvexAdmmResult result;
  for (int it = 0; it < options.iterations; ++it) {
    const MatrixXd u = splitting.Step(v - lambda, options.rho);
    v = GroupShrink(u + lambda, a, options.beta / options.rho);
    lambda += u - v;
    result.objective.push_back(
        RobustConvexObjective(data, v, options.beta, options.epsilon, options.loss));
    const double split = splitting.residual();
    result.residual.push_back(std::sqrt(split * split + (u - v).squaredNorm()));
  }
  result.z = std::move(v);
  return result;
}

}  // namespace edgefl::algorithms
