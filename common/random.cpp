#include "common/random.h"

#include <algorithm>
#include <cmath>

namespace edgefl {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

uint64_t HashText(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& word : s_)
    word = SplitMix64(state);
}

Rng Rng::Derive(uint64_t seed, std::initializer_list<uint64_t> path) {
  uint64_t state = seed;
  uint64_t mixed = SplitMix64(state);
  for (uint64_t step : path) {
    uint64_t s = mixed ^ (step + 0x632be59bd9b4e019ULL);
    mixed = SplitMix64(s);
  }
  return Rng(mixed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

uint64_t Rng::UniformInt(uint64_t n) {
  // Rejection sampling: discard the top partial block so every residue is
  // equally likely.
  const uint64_t threshold = (0 - n) % n;  // == 2^64 mod n
  for (;;) {
    const uint64_t r = Next();
    if (r >= threshold) return r % n;
  }
}

double Rng::Normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_normal_ = true;
  return u * factor;
}

double Rng::Gamma(double shape) {
  if (shape < 1.0) {
    // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
    double u;
    do
      u = Uniform();
    while (u == 0.0);
    return Gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double Rng::Beta(double a, double b) {
  const double x = Gamma(a);
  const double y = Gamma(b);
  const double sum = x + y;
  // Both draws can underflow to 0 for tiny shapes; fall back to a fair coin
  // between the two extremes, which is the limit distribution.
  if (sum <= 0.0) return Uniform() < a / (a + b) ? 1.0 : 0.0;
  return x / sum;
}

double Rng::LogNormal(double mean, double stddev) {
  return std::exp(Normal(mean, stddev));
}

std::vector<double> SampleDirichlet(Rng& rng, double alpha, size_t k) {
  std::vector<double> p(k);
  double sum = 0.0;
  for (double& x : p) {
    x = rng.Gamma(alpha);
    sum += x;
  }
  if (sum <= 0.0) {
    // Every Gamma draw underflowed (alpha ~ 1e-3 or smaller): the limit of
    // Dirichlet(alpha -> 0) is a point mass on one uniformly chosen category.
    std::fill(p.begin(), p.end(), 0.0);
    p[rng.UniformInt(k)] = 1.0;
    return p;
  }
  for (double& x : p)
    x /= sum;
  return p;
}

}  // namespace edgefl
