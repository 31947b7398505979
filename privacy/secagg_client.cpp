#include "privacy/secagg_client.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

namespace edgefl::privacy {
namespace {

constexpr size_t kSecretBytes = 32;

void PutU64(Bytes& out, uint64_t v) {
  for (int b = 0; b < 8; ++b)
    out.push_back(static_cast<uint8_t>(v >> (8 * b)));
}

uint64_t GetU64(std::span<const uint8_t> in, size_t& at) {
  if (at + 8 > in.size()) throw SecAggError("secagg: a decrypted share is truncated");
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b)
    v |= uint64_t{in[at + b]} << (8 * b);
  at += 8;
  return v;
}

Bytes ShareAad(int64_t round, uint32_t from, uint32_t to) {
  Bytes aad = {'s', 'e', 'c', 'a', 'g', 'g'};
  PutU64(aad, static_cast<uint64_t>(round));
  PutU64(aad, from);
  PutU64(aad, to);
  return aad;
}

std::string Who(uint32_t v) {
  return "client " + std::to_string(v);
}

}  // namespace

Key256 PairwiseMaskSeed(const EcdhKeyPair& own_mask_key, std::span<const uint8_t> peer_mask_key) {
  return own_mask_key.Agree(peer_mask_key, kSecAggMaskInfo);
}

SecAggClient::SecAggClient(SecAggConfig config, uint32_t id)
    : config_(config), id_(id), graph_(config.n, config.k, config.graph_seed) {
  if (id >= config.n)
    throw SecAggError("secagg: client id " + std::to_string(id) + " outside the round");
}

void SecAggClient::Expect(Stage stage, const char* name) const {
  if (stage_ != stage) {
    throw SecAggError(std::string("secagg: ") + Who(id_) + " asked for stage '" + name +
                      "' out of order");
  }
}

PublicKeys SecAggClient::AdvertiseKeys() {
  Expect(Stage::kAdvertise, "advertise keys");
  cipher_key_ = EcdhKeyPair::Generate();
  mask_key_ = EcdhKeyPair::Generate();
  SecureRandomBytes(self_seed_);
  stage_ = Stage::kShare;
  return PublicKeys{id_, cipher_key_->PublicKey(), mask_key_->PublicKey()};
}

ShareKeys SecAggClient::ShareSecrets(const NeighbourKeys& keys) {
  Expect(Stage::kShare, "share keys");
  for (const PublicKeys& k : keys.neighbours) {
    if (k.client == id_ || !graph_.Adjacent(id_, k.client)) {
      throw SecAggError("secagg: share keys: " + Who(id_) + " was sent the keys of " +
                        Who(k.client) + ", not a neighbour");
    }
    if (!neighbour_keys_.emplace(k.client, k).second) {
      throw SecAggError("secagg: share keys: " + Who(k.client) + "'s keys were sent twice");
    }
  }
  if (neighbour_keys_.size() < config_.t) {
    throw SecAggError("secagg: share keys: " + Who(id_) + " has " +
                      std::to_string(neighbour_keys_.size()) +
                      " neighbours with keys, the threshold is " + std::to_string(config_.t));
  }
  std::vector<uint64_t> xs;
  for (const auto& [v, k] : neighbour_keys_)
    xs.push_back(uint64_t{v} + 1);
  const std::vector<ShamirShare> b_shares = ShamirSplit(self_seed_, config_.t, xs);
  const Bytes s_private = mask_key_->PrivateKey();
  const std::vector<ShamirShare> s_shares = ShamirSplit(s_private, config_.t, xs);
  ShareKeys out{id_, {}};
  size_t i = 0;
  for (const auto& [v, k] : neighbour_keys_) {
    Bytes plain;
    PutU64(plain, id_);
    PutU64(plain, v);
    PutU64(plain, static_cast<uint64_t>(config_.round));
    PutU64(plain, b_shares[i].x);
    for (uint64_t y : b_shares[i].y)
      PutU64(plain, y);
    for (uint64_t y : s_shares[i].y)
      PutU64(plain, y);
    const Key256 key = cipher_key_->Agree(k.cipher_key, kSecAggShareInfo);
    out.shares.push_back(
        EncryptedShare{id_, v, AeadSeal(key, ShareAad(config_.round, id_, v), plain)});
    std::fill(plain.begin(), plain.end(), 0);
    ++i;
  }
  stage_ = Stage::kMask;
  return out;
}

MaskedInput SecAggClient::MaskInput(const RoutedShares& routed,
                                    std::span<const uint32_t> quantized) {
  Expect(Stage::kMask, "masked input");
  if (quantized.size() != config_.dimension + 1) {
    throw SecAggError("secagg: masked input: " + std::to_string(quantized.size()) +
                      " values, the round has " + std::to_string(config_.dimension + 1));
  }
  for (const EncryptedShare& s : routed.shares) {
    const auto it = neighbour_keys_.find(s.from);
    if (s.to != id_ || it == neighbour_keys_.end()) {
      throw SecAggError("secagg: masked input: " + Who(id_) + " was routed a share from " +
                        Who(s.from) + " to " + Who(s.to));
    }
    const Key256 key = cipher_key_->Agree(it->second.cipher_key, kSecAggShareInfo);
    const Bytes plain = AeadOpen(key, ShareAad(config_.round, s.from, id_), s.ciphertext);
    size_t at = 0;
    const uint64_t from = GetU64(plain, at);
    const uint64_t to = GetU64(plain, at);
    const uint64_t round = GetU64(plain, at);
    if (from != s.from || to != id_ || round != static_cast<uint64_t>(config_.round)) {
      throw SecAggError("secagg: masked input: a share from " + Who(s.from) +
                        " names another sender, receiver or round");
    }
    ShamirShare b;
    ShamirShare sk;
    b.x = sk.x = GetU64(plain, at);
    if (b.x != uint64_t{id_} + 1)
      throw SecAggError("secagg: masked input: a share has the wrong x");
    const size_t chunks = (kSecretBytes + 6) / 7;
    for (size_t c = 0; c < chunks; ++c)
      b.y.push_back(GetU64(plain, at));
    for (size_t c = 0; c < chunks; ++c)
      sk.y.push_back(GetU64(plain, at));
    if (!held_.emplace(s.from, std::make_pair(std::move(b), std::move(sk))).second) {
      throw SecAggError("secagg: masked input: two shares from " + Who(s.from));
    }
  }
  if (held_.size() < config_.t) {
    throw SecAggError("secagg: masked input: " + Who(id_) + " received shares from " +
                      std::to_string(held_.size()) + " neighbours, the threshold is " +
                      std::to_string(config_.t));
  }
  MaskedInput out{id_, std::vector<uint32_t>(quantized.begin(), quantized.end())};
  AddMask(self_seed_, +1, out.masked);
  for (const auto& [v, shares] : held_) {
    const Key256 seed = PairwiseMaskSeed(*mask_key_, neighbour_keys_.at(v).mask_key);
    AddMask(seed, id_ < v ? +1 : -1, out.masked);
  }
  if (config_.bits < 32) {
    const uint32_t mask = (uint32_t{1} << config_.bits) - 1;
    for (uint32_t& value : out.masked)
      value &= mask;
  }
  stage_ = Stage::kUnmask;
  return out;
}

UnmaskResponse SecAggClient::Unmask(const UnmaskRequest& request) {
  Expect(Stage::kUnmask, "unmasking");
  // Check the whole request before revealing anything.
  std::set<uint32_t> survivors(request.survivors.begin(), request.survivors.end());
  for (uint32_t v : request.dropped) {
    if (survivors.count(v) != 0) {
      throw SecAggError("secagg: unmasking: refused: the server asked " + Who(id_) +
                        " for both the self-mask share and the mask-key share of " + Who(v));
    }
  }
  auto check = [&](uint32_t v, Revealed kind) {
    if (held_.count(v) == 0) {
      throw SecAggError("secagg: unmasking: " + Who(id_) + " holds no share of " + Who(v));
    }
    const auto it = revealed_.find(v);
    if (it != revealed_.end() && it->second != kind) {
      throw SecAggError("secagg: unmasking: refused: " + Who(id_) + " already revealed its " +
                        (it->second == Revealed::kSelfMask ? "self-mask" : "mask-key") +
                        " share of " + Who(v) + " and will not reveal the other");
    }
  };
  for (uint32_t v : request.survivors)
    check(v, Revealed::kSelfMask);
  for (uint32_t v : request.dropped)
    check(v, Revealed::kMaskKey);
  UnmaskResponse out;
  out.client = id_;
  for (uint32_t v : request.survivors) {
    revealed_[v] = Revealed::kSelfMask;
    out.self_mask_shares.emplace_back(v, held_.at(v).first);
  }
  for (uint32_t v : request.dropped) {
    revealed_[v] = Revealed::kMaskKey;
    out.mask_key_shares.emplace_back(v, held_.at(v).second);
  }
  return out;
}

}  // namespace edgefl::privacy
