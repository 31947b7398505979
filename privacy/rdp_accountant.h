// Rényi-DP accounting of the Poisson-subsampled Gaussian mechanism (Mironov,
// Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism", arXiv 1908.10530) and its conversion to (ε, δ) (Balle et al.
// 2020, "Hypothesis testing interpretations and Rényi differential
// privacy", Prop. 12 / Canonne et al. 2020 eq. 20). The computation follows
// google/differential-privacy python/dp_accounting/rdp/rdp_privacy_accountant.py
// (integer orders: the binomial expansion of A_α; fractional orders: the
// two-sided series of §3.3 of 1908.10530); its published test values are
// reproduced in tests/privacy/rdp_accountant_test.cpp.
//
// A DP-FedAvg round that samples each client with probability q and adds
// N(0, (z·C)²) to the sum of updates clipped to norm C is one step with
// noise multiplier z; T rounds compose additively in RDP.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edgefl::privacy {

// The RDP orders α the accountant tracks unless told otherwise: 1.1, 1.2,
// ..., 10.9, then 11, 12, ..., 63, then 128, 256, 512, 1024.
std::vector<double> DefaultRdpOrders();

// RDP ε_α of ONE step of the Poisson-subsampled Gaussian mechanism with
// sampling probability q in [0, 1] and noise multiplier z >= 0, at order
// α > 1: 0 when q = 0; +∞ when z = 0 or α = ∞; α/(2z²) when q = 1; else
// log(A_α)/(α − 1). Throws ConfigError for q outside [0, 1], z < 0 or α <= 1.
double SubsampledGaussianRdp(double q, double noise_multiplier, double order);

struct PrivacySpent {
  double epsilon = 0.0;  // +∞ when no order gives a finite bound
  double order = 0.0;    // the α that attains it
};

// The smallest ε over `orders` of (ε, δ)-DP implied by RDP values `rdp`:
// per order, ε_α = r + log(1 − 1/α) − log(δ·α)/(α − 1) for α > 1.01, or 0
// when δ² > 1 − e^{−r} (the KL bound). Throws ConfigError for δ outside
// (0, 1), mismatched lengths, an order < 1 or a negative RDP value.
PrivacySpent EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                            double delta);

// The composition of `steps` identical subsampled Gaussian steps. Plain
// value: its whole state is (q, z, steps), so a run that saves the step count
// resumes the same ε exactly.
class RdpAccountant {
 public:
  // Throws ConfigError for q outside [0, 1], z < 0, or an order <= 1.
  RdpAccountant(double sampling_probability, double noise_multiplier,
                std::vector<double> orders = DefaultRdpOrders());

  // Adds `count` >= 0 steps.
  void Compose(int64_t count = 1);
  int64_t steps() const { return steps_; }

  // ε at δ after the steps so far (0 before any step), and after `steps`
  // steps in all, without composing them (to look one round ahead).
  PrivacySpent Spent(double delta) const { return SpentAfter(steps_, delta); }
  PrivacySpent SpentAfter(int64_t steps, double delta) const;

  double sampling_probability() const { return q_; }
  double noise_multiplier() const { return z_; }
  std::span<const double> orders() const { return orders_; }

 private:
  double q_;
  double z_;
  std::vector<double> orders_;
  std::vector<double> rdp_per_step_;  // ε_α of one step, per order
  int64_t steps_ = 0;
};

// The smallest noise multiplier z (to relative precision 1e-6, rounded up)
// whose `steps` subsampled Gaussian steps at rate q spend at most
// `target_epsilon` at `delta`, as Opacus's get_noise_multiplier and
// dp_accounting's calibrate_dp_mechanism do: a bisection, since ε falls as
// z grows. Throws ConfigError for q outside (0, 1], steps < 1, a target
// <= 0, δ outside (0, 1), or a target that needs z > 10^4.
double NoiseMultiplierFor(double sampling_probability, int64_t steps, double target_epsilon,
                          double delta, std::vector<double> orders = DefaultRdpOrders());

}  // namespace edgefl::privacy
