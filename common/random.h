// Deterministic random numbers.
//
// Every random choice in edgefl takes an explicit Rng. The generator
// (xoshiro256**) and every distribution below are implemented here, not
// taken from <random>, so a seed gives bit-identical results on every
// platform and standard library.
//
// Streams for independent purposes are derived from a seed and a path of
// integers, e.g. Rng::Derive(seed, {kPartitionStream, client}), so that
// adding a draw in one place never shifts the numbers drawn elsewhere.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace edgefl {

// A stable 64-bit hash of `text` (FNV-1a): the same on every platform and
// run, for deriving a stream from a name such as a client id.
uint64_t HashText(std::string_view text);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // A generator for the stream named by `path` under `seed`.
  static Rng Derive(uint64_t seed, std::initializer_list<uint64_t> path);

  // Uniform 64 random bits.
  uint64_t Next();
  // Uniform in [0, 1), 53 bits of precision.
  double Uniform();
  // Uniform integer in [0, n). REQUIRES: n > 0.
  uint64_t UniformInt(uint64_t n);
  // Standard normal N(0, 1) (Marsaglia polar method).
  double Normal();
  double Normal(double mean, double stddev) { return mean + stddev * Normal(); }
  // Gamma(shape, 1) (Marsaglia-Tsang). REQUIRES: shape > 0.
  double Gamma(double shape);
  // Beta(a, b). REQUIRES: a > 0, b > 0.
  double Beta(double a, double b);
  // Log-normal: exp(N(mean, stddev)).
  double LogNormal(double mean, double stddev);

  // Fisher-Yates shuffle.
  template <typename T>
  void Shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(UniformInt(i));
      std::swap(items[i - 1], items[j]);
    }
  }
  template <typename T>
  void Shuffle(std::vector<T>& items) {
    Shuffle(std::span<T>(items));
  }

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// A draw from the symmetric Dirichlet(alpha, ..., alpha) over k categories.
// REQUIRES: alpha > 0, k > 0. The result sums to 1.
std::vector<double> SampleDirichlet(Rng& rng, double alpha, size_t k);

}  // namespace edgefl
