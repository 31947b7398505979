// Error feedback for top-k updates (the device side): what top-k did not
// send is kept and added to the next update, so every coordinate of every
// update is sent eventually (Seide et al. 2014, 1-bit SGD; Stich, Cordonnier
// & Jaggi 2018, "Sparsified SGD with memory"; Lin et al. 2018, Deep Gradient
// Compression, without its momentum correction: docs/algorithms.md).
//
// For each update u_t: v = u_t + e_{t-1}; send topk(v); e_t = v - topk(v).
// The residual is exact: e_t equals v on the unsent coordinates and is 0 on
// the sent ones, so sum(sent_1..T) + e_T = sum(u_1..T) up to the float
// rounding of the additions v = u + e (exact when they are exact).
//
// The residual lives on the device across rounds; edgefl-client keeps it in
// its state file (client/client_state.h) so a restart keeps it too.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "compress/codec.h"

namespace edgefl::compress {

class ErrorFeedback {
 public:
  // The top-k encoding of update + residual (TopKCount(n, fraction)
  // coordinates); the unsent rest becomes the residual. A residual of
  // another length than `update` (a new model) is dropped first.
  std::vector<uint8_t> EncodeTopK(std::span<const float> update, double fraction);

  // Empty = all zero.
  const std::vector<float>& residual() const { return residual_; }
  void set_residual(std::vector<float> residual) { residual_ = std::move(residual); }

 private:
  std::vector<float> residual_;
};

// The client's encoding of its update (trained - start) under `config`:
// top-k through `feedback` (its residual updated), fp16 and int8 directly
// (int8 draws from `rng`). REQUIRES: config.enabled().
std::vector<uint8_t> EncodeUpdate(std::span<const float> update, const CompressionConfig& config,
                                  Rng& rng, ErrorFeedback& feedback);

}  // namespace edgefl::compress
