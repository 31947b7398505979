#include "privacy/secagg_server.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "privacy/secagg_client.h"

namespace edgefl::privacy {
namespace {

std::string ClientLabel(uint32_t v) {
  return "client " + std::to_string(v);
}

// fn(0) … fn(count − 1) on up to `threads` threads (0 = the hardware's);
// the first exception is rethrown after all have stopped.
void ParallelFor(size_t count, unsigned threads, const std::function<void(size_t)>& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(count, 1)));
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  const auto work = [&] {
    for (size_t job = next++; job < count; job = next++) {
      try {
        fn(job);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i)
    pool.emplace_back(work);
  work();
  for (std::thread& thread : pool)
    thread.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

SecAggServer::SecAggServer(SecAggConfig config, unsigned threads)
    : config_(config), graph_(config.n, config.k, config.graph_seed), threads_(threads) {
  if (config_.t < 1 || config_.t > graph_.degree()) {
    throw SecAggError("secagg: threshold t = " + std::to_string(config_.t) +
                      " must be in [1, k = " + std::to_string(graph_.degree()) + "]");
  }
  acc_.assign(config_.dimension + 1, 0);
}

void SecAggServer::Expect(Stage stage, const char* name) const {
  if (stage_ != stage)
    throw SecAggError(std::string("secagg: server stage '") + name + "' out of order");
}

size_t SecAggServer::NeighboursIn(uint32_t u, const std::set<uint32_t>& set) const {
  size_t count = 0;
  for (uint32_t v : graph_.Neighbours(u))
    count += set.count(v);
  return count;
}

void SecAggServer::ReceiveKeys(const PublicKeys& keys) {
  Expect(Stage::kAdvertise, "advertise keys");
  if (keys.client >= config_.n || keys_.count(keys.client) != 0) {
    throw SecAggError("secagg: advertise keys: unexpected or repeated keys of " +
                      ClientLabel(keys.client));
  }
  keys_.emplace(keys.client, keys);
  u1_.insert(keys.client);
}

std::map<uint32_t, NeighbourKeys> SecAggServer::FinishAdvertise() {
  Expect(Stage::kAdvertise, "advertise keys");
  if (u1_.size() < config_.min_survivors) {
    throw SecAggError("secagg: advertise keys: " + std::to_string(u1_.size()) + " of " +
                      std::to_string(config_.n) + " clients sent keys, at least " +
                      std::to_string(config_.min_survivors) + " are needed");
  }
  std::map<uint32_t, NeighbourKeys> out;
  for (uint32_t u : u1_) {
    NeighbourKeys& message = out[u];
    for (uint32_t v : graph_.Neighbours(u)) {
      const auto it = keys_.find(v);
      if (it != keys_.end()) message.neighbours.push_back(it->second);
    }
    if (message.neighbours.size() < config_.t) {
      throw SecAggError("secagg: advertise keys: " + ClientLabel(u) + " has " +
                        std::to_string(message.neighbours.size()) +
                        " neighbours that sent keys, the threshold is " +
                        std::to_string(config_.t));
    }
  }
  stage_ = Stage::kShare;
  return out;
}

void SecAggServer::ReceiveShares(const ShareKeys& message) {
  Expect(Stage::kShare, "share keys");
  if (u1_.count(message.client) == 0 || shares_.count(message.client) != 0) {
    throw SecAggError("secagg: share keys: unexpected or repeated shares of " +
                      ClientLabel(message.client));
  }
  for (const EncryptedShare& s : message.shares) {
    if (s.from != message.client || !graph_.Adjacent(s.from, s.to)) {
      throw SecAggError("secagg: share keys: " + ClientLabel(message.client) +
                        " sent a share that is not for one of its neighbours");
    }
  }
  shares_.emplace(message.client, message.shares);
  u2_.insert(message.client);
}

std::map<uint32_t, RoutedShares> SecAggServer::FinishShareKeys() {
  Expect(Stage::kShare, "share keys");
  std::map<uint32_t, RoutedShares> out;
  for (uint32_t u : u2_)
    out[u];
  for (const auto& [from, list] : shares_) {
    for (const EncryptedShare& s : list) {
      // Only to holders still in the protocol: a client that did not share
      // is not masked with.
      if (u2_.count(s.to) != 0) out[s.to].shares.push_back(s);
    }
  }
  for (uint32_t u : u2_) {
    if (out[u].shares.size() < config_.t) {
      throw SecAggError("secagg: share keys: " + ClientLabel(u) + " has " +
                        std::to_string(out[u].shares.size()) +
                        " neighbours that shared their keys, the threshold is " +
                        std::to_string(config_.t) + " (" + std::to_string(u2_.size()) + " of " +
                        std::to_string(u1_.size()) + " clients shared)");
    }
  }
  stage_ = Stage::kMask;
  return out;
}

void SecAggServer::ReceiveMaskedInput(const MaskedInput& input) {
  Expect(Stage::kMask, "masked input");
  if (u2_.count(input.client) == 0 || u3_.count(input.client) != 0) {
    throw SecAggError("secagg: masked input: unexpected or repeated input of " +
                      ClientLabel(input.client));
  }
  if (input.masked.size() != acc_.size()) {
    throw SecAggError("secagg: masked input: " + ClientLabel(input.client) + " sent " +
                      std::to_string(input.masked.size()) + " values, the round has " +
                      std::to_string(acc_.size()));
  }
  for (size_t i = 0; i < acc_.size(); ++i)
    acc_[i] += input.masked[i];
  u3_.insert(input.client);
}

std::map<uint32_t, UnmaskRequest> SecAggServer::FinishMaskedInput() {
  Expect(Stage::kMask, "masked input");
  if (u3_.size() < config_.min_survivors) {
    throw SecAggError("secagg: masked input: " + std::to_string(u3_.size()) + " of " +
                      std::to_string(u2_.size()) + " clients sent a masked input, at least " +
                      std::to_string(config_.min_survivors) + " are needed");
  }
  std::map<uint32_t, UnmaskRequest> out;
  for (uint32_t u : u3_) {
    UnmaskRequest& request = out[u];
    for (uint32_t v : graph_.Neighbours(u)) {
      if (u2_.count(v) == 0) continue;
      (u3_.count(v) != 0 ? request.survivors : request.dropped).push_back(v);
    }
  }
  stage_ = Stage::kUnmask;
  return out;
}

void SecAggServer::ReceiveUnmask(const UnmaskResponse& response) {
  Expect(Stage::kUnmask, "unmasking");
  if (u3_.count(response.client) == 0 || !responded_.insert(response.client).second) {
    throw SecAggError("secagg: unmasking: unexpected or repeated answer of " +
                      ClientLabel(response.client));
  }
  for (const auto& [v, share] : response.self_mask_shares) {
    if (u3_.count(v) != 0 && graph_.Adjacent(response.client, v))
      self_mask_shares_[v].push_back(share);
  }
  for (const auto& [v, share] : response.mask_key_shares) {
    if (u2_.count(v) != 0 && u3_.count(v) == 0 && graph_.Adjacent(response.client, v)) {
      mask_key_shares_[v].push_back(share);
    }
  }
}

SecAggOutcome SecAggServer::FinishUnmask() {
  Expect(Stage::kUnmask, "unmasking");
  auto shares_of = [&](std::map<uint32_t, std::vector<ShamirShare>>& all, uint32_t v,
                       const char* what) -> std::vector<ShamirShare>& {
    std::vector<ShamirShare>& list = all[v];
    if (list.size() < config_.t) {
      throw SecAggError("secagg: unmasking: " + std::to_string(list.size()) + " shares of " +
                        ClientLabel(v) + "'s " + what + " arrived, the threshold is " +
                        std::to_string(config_.t) + " (" + std::to_string(responded_.size()) +
                        " of " + std::to_string(u3_.size()) + " survivors answered)");
    }
    return list;
  };
  SecAggOutcome outcome;
  // Check every secret before the (expensive) mask expansion.
  for (uint32_t v : u3_)
    shares_of(self_mask_shares_, v, "self-mask seed");
  for (uint32_t v : u2_) {
    if (u3_.count(v) == 0) shares_of(mask_key_shares_, v, "mask key");
  }
  // The masks to take out: PRG(b_v) of every contributor and, for every
  // client that dropped after sharing, the pairwise masks its surviving
  // neighbours added (y_w holds sign(w, v)·PRG(s_wv)). Rebuilding the
  // secrets and the key agreements run on the threads, one client each.
  const std::vector<uint32_t> contributors(u3_.begin(), u3_.end());
  std::vector<uint32_t> dropped;
  for (uint32_t v : u2_) {
    if (u3_.count(v) == 0) dropped.push_back(v);
  }
  std::vector<MaskTerm> self_terms(contributors.size());
  std::vector<std::vector<MaskTerm>> pairwise_terms(dropped.size());
  ParallelFor(contributors.size() + dropped.size(), threads_, [&](size_t job) {
    if (job < contributors.size()) {
      const uint32_t v = contributors[job];
      const Bytes seed = ShamirReconstruct(self_mask_shares_.at(v), config_.t, 32);
      std::copy(seed.begin(), seed.end(), self_terms[job].seed.begin());
      self_terms[job].sign = -1;
      return;
    }
    const size_t i = job - contributors.size();
    const uint32_t v = dropped[i];
    const Bytes secret = ShamirReconstruct(mask_key_shares_.at(v), config_.t, kP256PrivateKeyBytes);
    const EcdhKeyPair key = EcdhKeyPair::FromPrivate(secret, keys_.at(v).mask_key);
    for (uint32_t w : graph_.Neighbours(v)) {
      if (u3_.count(w) == 0) continue;
      pairwise_terms[i].push_back(
          MaskTerm{PairwiseMaskSeed(key, keys_.at(w).mask_key), w < v ? -1 : +1});
    }
  });
  std::vector<MaskTerm> terms = std::move(self_terms);
  for (const std::vector<MaskTerm>& list : pairwise_terms)
    terms.insert(terms.end(), list.begin(), list.end());
  AddMasks(terms, acc_, threads_);
  outcome.contributors = contributors;
  outcome.dropped = dropped;
  if (config_.bits < 32) {
    const uint32_t mask = (uint32_t{1} << config_.bits) - 1;
    for (uint32_t& value : acc_)
      value &= mask;
  }
  outcome.sum = std::move(acc_);
  stage_ = Stage::kDone;
  return outcome;
}

}  // namespace edgefl::privacy
