#include "algorithms/fedbr_objective.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "common/error.h"
#include "nn/softmax_cross_entropy.h"

namespace edgefl::algorithms {
namespace {

constexpr float kCosineEps = 1e-8f;
constexpr float kDecorrEps = 1e-8f;

double Softplus(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

// L_con of paired embedding columns; if de1 is not null, also dL/de1..3.
double CosineContrastive(const Eigen::MatrixXf& e1, const Eigen::MatrixXf& e2,
                         const Eigen::MatrixXf& e3, double tau1, double tau2, Eigen::MatrixXf* de1,
                         Eigen::MatrixXf* de2, Eigen::MatrixXf* de3) {
  const Eigen::Index m = e1.cols();
  if (de1 != nullptr) {
    de1->setZero(e1.rows(), m);
    de2->setZero(e1.rows(), m);
    de3->setZero(e1.rows(), m);
  }
  double loss = 0.0;
  for (Eigen::Index i = 0; i < m; ++i) {
    const float r1 = e1.col(i).norm();
    const float r2 = e2.col(i).norm();
    const float r3 = e3.col(i).norm();
    const float n1 = std::max(r1, kCosineEps);
    const float n2 = std::max(r2, kCosineEps);
    const float n3 = std::max(r3, kCosineEps);
    const float s12 = e1.col(i).dot(e2.col(i)) / (n1 * n2);
    const float s13 = e1.col(i).dot(e3.col(i)) / (n1 * n3);
    const double z = tau2 * s13 - tau1 * s12;
    loss += Softplus(z);
    if (de1 == nullptr) continue;
    const double w = 1.0 / (1.0 + std::exp(-z)) / static_cast<double>(m);
    const float g12 = static_cast<float>(-tau1 * w);  // dL/ds12
    const float g13 = static_cast<float>(tau2 * w);   // dL/ds13
    // d cos(a, b)/da = b/(|a||b|) − cos·a/|a|² (the second term vanishes
    // where |a| is clamped to eps).
    const float k1 = r1 > kCosineEps ? 1.0f / (n1 * n1) : 0.0f;
    const float k2 = r2 > kCosineEps ? 1.0f / (n2 * n2) : 0.0f;
    const float k3 = r3 > kCosineEps ? 1.0f / (n3 * n3) : 0.0f;
    de1->col(i) = g12 * (e2.col(i) / (n1 * n2) - s12 * k1 * e1.col(i)) +
                  g13 * (e3.col(i) / (n1 * n3) - s13 * k1 * e1.col(i));
    de2->col(i) = g12 * (e1.col(i) / (n1 * n2) - s12 * k2 * e2.col(i));
    de3->col(i) = g13 * (e1.col(i) / (n1 * n3) - s13 * k3 * e3.col(i));
  }
  return loss / static_cast<double>(m);
}

}  // namespace

FedBrObjective::FedBrObjective(const FedBrOptions& options, Eigen::MatrixXf pool)
    : options_(options), pool_(std::move(pool)) {
  RequireOption("fedbr", std::isfinite(options.mu) && options.mu >= 0.0, "mu", ">= 0", options.mu);
  RequireOption("fedbr", std::isfinite(options.lambda) && options.lambda >= 0.0, "lambda", ">= 0",
                options.lambda);
  RequireOption("fedbr", std::isfinite(options.tau1) && options.tau1 > 0.0, "tau1", "> 0",
                options.tau1);
  RequireOption("fedbr", std::isfinite(options.tau2) && options.tau2 > 0.0, "tau2", "> 0",
                options.tau2);
  RequireOption("fedbr", std::isfinite(options.mixup_alpha) && options.mixup_alpha >= 0.0,
                "mixup_alpha", ">= 0 (0 = off)", options.mixup_alpha);
  RequireOption("fedbr", std::isfinite(options.decorr) && options.decorr >= 0.0, "decorr", ">= 0",
                options.decorr);
  RequireOption("fedbr", std::isfinite(options.head_lr) && options.head_lr >= 0.0, "head_lr",
                ">= 0", options.head_lr);
  RequireOption("fedbr", options.pool_size >= 1, "pool_size", ">= 1", options.pool_size);
  RequireOption("fedbr", options.pool_images >= 2, "pool_images",
                ">= 2 (one image would be a raw sample)", options.pool_images);
  if (pool_.cols() != options.pool_size) {
    throw ConfigError("fedbr: the pseudo-data pool has " + std::to_string(pool_.cols()) +
                      " samples, pool_size is " + std::to_string(options.pool_size));
  }
}

void FedBrObjective::BeginRound(const nn::Model& model, Rng& /*rng*/) {
  if (model.num_layers() < 2) {
    throw ConfigError("fedbr: model " + model.spec().text +
                      " has no feature extractor (needs at least two layers, e.g. mlp:60-16-10)");
  }
  const size_t last = model.num_layers() - 1;
  const Eigen::Index classes = model.num_classes();
  dim_ = model.layer(last).input_size();
  if (model.layer(last).num_parameters() != classes * dim_ + classes) {
    throw ConfigError("fedbr: the last layer of " + model.spec().text + " is not dense");
  }
  if (pool_.rows() != model.input_dim()) {
    throw ConfigError("fedbr: the pseudo-data pool has " + std::to_string(pool_.rows()) +
                      " features, model " + model.spec().text + " expects " +
                      std::to_string(model.input_dim()));
  }
  if (options_.mu > 0.0 && !model.has_projection_head()) {
    throw ConfigError(
        "fedbr: mu > 0 needs the projection head P in the model, which travels and "
        "is averaged with it as in the authors' code: add \"+proj\" to the model "
        "spec (model = \"" +
        model.spec().text + "+proj\"), or set mu = 0");
  }
  head_grad_.resize(model.projection_head_size());
  have_global_ = false;
  head_steps_ = 0;
  con_before_ = con_after_ = std::numeric_limits<double>::quiet_NaN();
}

void FedBrObjective::HeadForward(const float* p, const Eigen::MatrixXf& in, HeadPass* pass) const {
  const Eigen::Index d = dim_;
  const Eigen::Map<const Eigen::MatrixXf> w1(p, 2 * d, d);
  const Eigen::Map<const Eigen::VectorXf> b1(p + 2 * d * d, 2 * d);
  p += 2 * d * d + 2 * d;
  const Eigen::Map<const Eigen::MatrixXf> w2(p, 2 * d, 2 * d);
  const Eigen::Map<const Eigen::VectorXf> b2(p + 4 * d * d, 2 * d);
  p += 4 * d * d + 2 * d;
  const Eigen::Map<const Eigen::MatrixXf> w3(p, d, 2 * d);
  const Eigen::Map<const Eigen::VectorXf> b3(p + 2 * d * d, d);
  pass->a1.noalias() = w1 * in;
  pass->a1.colwise() += b1;
  pass->a2.noalias() = w2 * pass->a1.cwiseMax(0.0f);
  pass->a2.colwise() += b2;
  pass->e.noalias() = w3 * pass->a2.cwiseMax(0.0f);
  pass->e.colwise() += b3;
}

void FedBrObjective::HeadBackward(const float* p, const Eigen::MatrixXf& in, const HeadPass& pass,
                                  const Eigen::MatrixXf& de, bool want_head, Eigen::MatrixXf* din) {
  const Eigen::Index d = dim_;
  const Eigen::Map<const Eigen::MatrixXf> w1(p, 2 * d, d);
  const Eigen::Map<const Eigen::MatrixXf> w2(p + 2 * d * d + 2 * d, 2 * d, 2 * d);
  const Eigen::Map<const Eigen::MatrixXf> w3(p + 6 * d * d + 4 * d, d, 2 * d);
  float* g = head_grad_.data();
  float* g2 = g + 2 * d * d + 2 * d;
  float* g3 = g2 + 4 * d * d + 2 * d;
  if (want_head) {
    Eigen::Map<Eigen::MatrixXf>(g3, d, 2 * d).noalias() += de * pass.a2.cwiseMax(0.0f).transpose();
    Eigen::Map<Eigen::VectorXf>(g3 + 2 * d * d, d) += de.rowwise().sum();
  }
  // dtmp_ = dL/da2.
  dtmp_.noalias() = w3.transpose() * de;
  dtmp_ = (pass.a2.array() > 0.0f).select(dtmp_, 0.0f);
  if (want_head) {
    Eigen::Map<Eigen::MatrixXf>(g2, 2 * d, 2 * d).noalias() +=
        dtmp_ * pass.a1.cwiseMax(0.0f).transpose();
    Eigen::Map<Eigen::VectorXf>(g2 + 4 * d * d, 2 * d) += dtmp_.rowwise().sum();
  }
  // dtmp2_ = dL/da1.
  dtmp2_.noalias() = w2.transpose() * dtmp_;
  dtmp2_ = (pass.a1.array() > 0.0f).select(dtmp2_, 0.0f);
  if (want_head) {
    Eigen::Map<Eigen::MatrixXf>(g, 2 * d, d).noalias() += dtmp2_ * in.transpose();
    Eigen::Map<Eigen::VectorXf>(g + 2 * d * d, 2 * d) += dtmp2_.rowwise().sum();
  }
  if (din != nullptr) din->noalias() = w1.transpose() * dtmp2_;
}

double FedBrObjective::Contrastive(const float* head, bool want_head, bool want_features) {
  HeadForward(head, f1_, &p1_);
  HeadForward(head, z_global_, &p2_);
  HeadForward(head, f3_, &p3_);
  const double loss =
      CosineContrastive(p1_.e, p2_.e, p3_.e, options_.tau1, options_.tau2, &de1_, &de2_, &de3_);
  HeadBackward(head, f1_, p1_, de1_, want_head, want_features ? &df1_ : nullptr);
  if (want_head) HeadBackward(head, z_global_, p2_, de2_, true, nullptr);
  HeadBackward(head, f3_, p3_, de3_, want_head, want_features ? &df3_ : nullptr);
  return loss;
}

double FedBrObjective::ContrastiveLoss(const Eigen::MatrixXf& e1, const Eigen::MatrixXf& e2,
                                       const Eigen::MatrixXf& e3, double tau1, double tau2) {
  return CosineContrastive(e1, e2, e3, tau1, tau2, nullptr, nullptr, nullptr);
}

double FedBrObjective::FedDecorrLoss(const Eigen::MatrixXf& features, Eigen::MatrixXf* dfeatures) {
  const Eigen::Index d = features.rows();
  const Eigen::Index b = features.cols();
  if (dfeatures != nullptr) dfeatures->setZero(d, b);
  if (b < 2 || d == 0) return 0.0;
  const float inv_b = 1.0f / static_cast<float>(b);
  const Eigen::MatrixXf centered = features.colwise() - features.rowwise().mean();
  const Eigen::VectorXf s =
      ((centered.rowwise().squaredNorm() * inv_b).array() + kDecorrEps).sqrt().matrix();
  const Eigen::MatrixXf z = s.cwiseInverse().asDiagonal() * centered;
  const Eigen::MatrixXf k = z * z.transpose() * inv_b;
  const double dd = static_cast<double>(d) * static_cast<double>(d);
  const double loss = static_cast<double>(k.squaredNorm()) / dd;
  if (dfeatures == nullptr) return loss;
  // dL/dK = 2K/d²; K = ZZᵀ/B, K symmetric: dL/dZ = 4KZ/(d²B).
  const Eigen::MatrixXf dz = (4.0f / static_cast<float>(dd) * inv_b) * (k * z);
  // Z = C/s with s² = mean(C²) + eps: dC = dZ/s − C·mean(dZ ⊙ C)/s³; dF = dC − mean(dC).
  const Eigen::VectorXf dot = (dz.cwiseProduct(centered)).rowwise().sum() * inv_b;
  Eigen::MatrixXf dc = s.cwiseInverse().asDiagonal() * dz;
  dc -= (dot.array() / s.array().cube()).matrix().asDiagonal() * centered;
  *dfeatures = dc.colwise() - dc.rowwise().mean();
  return loss;
}

float FedBrObjective::LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) {
  const bool pseudo = options_.lambda > 0.0 || options_.mu > 0.0;
  const bool mixup = options_.mixup_alpha > 0.0;
  const bool decorr = options_.decorr > 0.0;
  if (!pseudo && !mixup && !decorr) return model.LossAndGradient(batch.x, batch.labels);
  if (dim_ == 0) throw Error("fedbr: LossAndGradient without BeginRound");

  const Eigen::Index b_count = batch.size();
  const Eigen::Index m = pool_.cols();
  const Eigen::Index classes = model.num_classes();
  const Eigen::Index cols = b_count + (pseudo ? m : 0);
  input_.resize(batch.x.rows(), cols);

  // 1. Mixup on the real batch.
  if (mixup) {
    const float lam = static_cast<float>(rng.Beta(options_.mixup_alpha, options_.mixup_alpha));
    pairing_.resize(static_cast<size_t>(b_count));
    std::iota(pairing_.begin(), pairing_.end(), 0u);
    rng.Shuffle(pairing_);
    targets_real_.setZero(classes, b_count);
    for (Eigen::Index i = 0; i < b_count; ++i) {
      const uint32_t j = pairing_[static_cast<size_t>(i)];
      input_.col(i) = lam * batch.x.col(i) + (1.0f - lam) * batch.x.col(j);
      targets_real_(batch.labels[static_cast<size_t>(i)], i) += lam;
      targets_real_(batch.labels[j], i) += 1.0f - lam;
    }
  } else {
    input_.leftCols(b_count) = batch.x;
  }
  // 2. Mixture augmentation of the pseudo-data with samples of the (mixed)
  // batch and their (soft) labels, as get_unlabeled_by_self does after
  // get_new_all_x; without it the pool itself with uniform targets.
  if (pseudo) {
    const float uniform = 1.0f / static_cast<float>(classes);
    if (options_.mixture) {
      targets_pseudo_.setConstant(classes, m, 0.5f * uniform);
      for (Eigen::Index i = 0; i < m; ++i) {
        const auto j = static_cast<Eigen::Index>(rng.UniformInt(static_cast<uint64_t>(b_count)));
        input_.col(b_count + i) = 0.5f * (pool_.col(i) + input_.col(j));
        if (mixup) {
          targets_pseudo_.col(i) += 0.5f * targets_real_.col(j);
        } else {
          targets_pseudo_(batch.labels[static_cast<size_t>(j)], i) += 0.5f;
        }
      }
    } else {
      targets_pseudo_.setConstant(classes, m, uniform);
      input_.rightCols(m) = pool_;
    }
  }

  // One forward pass over [real | pseudo].
  const auto logits = model.Forward(input_);
  dlogits_.resize(classes, cols);
  double loss = mixup ? nn::SoftmaxCrossEntropy(logits.leftCols(b_count), targets_real_, &dpart_)
                      : nn::SoftmaxCrossEntropy(logits.leftCols(b_count), batch.labels, &dpart_);
  dlogits_.leftCols(b_count) = dpart_;
  if (pseudo) {
    if (options_.lambda > 0.0) {
      loss +=
          options_.lambda * nn::SoftmaxCrossEntropy(logits.rightCols(m), targets_pseudo_, &dpart_);
      dlogits_.rightCols(m) = static_cast<float>(options_.lambda) * dpart_;
    } else {
      dlogits_.rightCols(m).setZero();
    }
  }

  const bool feature_terms = options_.mu > 0.0 || decorr;
  if (feature_terms) dfeatures_.setZero(dim_, cols);
  const auto features = model.features();
  if (options_.mu > 0.0) {
    f1_ = features.rightCols(m);
    f3_.resize(dim_, m);
    for (Eigen::Index i = 0; i < m; ++i)
      f3_.col(i) = features.col(i % b_count);
    // 3. z_g on the first step (the model still holds the global weights).
    if (!have_global_) {
      z_global_ = f1_;
      have_global_ = true;
    }
    // 4. One adversarial SGD step on P (the model's slice): ascend L_con.
    float* head = model.parameters().data() + model.projection_head_offset();
    head_grad_.setZero();
    con_before_ = Contrastive(head, /*want_head=*/true, /*want_features=*/false);
    model.parameters().tail(head_grad_.size()) += static_cast<float>(options_.head_lr) * head_grad_;
    ++head_steps_;
    // 5. L_con with the updated P, differentiated through φ.
    con_after_ = Contrastive(head, /*want_head=*/false, /*want_features=*/true);
    loss += options_.mu * con_after_;
    const float mu = static_cast<float>(options_.mu);
    dfeatures_.rightCols(m) = mu * df1_;
    for (Eigen::Index i = 0; i < m; ++i)
      dfeatures_.col(i % b_count) += mu * df3_.col(i);
  }
  if (decorr) {
    decorr_features_ = features.leftCols(b_count);
    loss += options_.decorr * FedDecorrLoss(decorr_features_, &ddecorr_);
    dfeatures_.leftCols(b_count) += static_cast<float>(options_.decorr) * ddecorr_;
  }

  nn::BackwardOptions backward;
  backward.overwrite_gradients = true;
  if (feature_terms) backward.dfeatures = &dfeatures_;
  model.Backward(input_, dlogits_, backward);
  return static_cast<float>(loss);
}

}  // namespace edgefl::algorithms
