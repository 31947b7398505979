#include "privacy/secagg_crypto.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "common/error.h"
#include "privacy/secagg_messages.h"

namespace edgefl::privacy {
namespace {

[[noreturn]] void Fail(const char* call) {
  char text[256];
  ERR_error_string_n(ERR_get_error(), text, sizeof(text));
  ERR_clear_error();
  throw Error(std::string("secagg crypto: OpenSSL ") + call + " failed (" + text + ")");
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* k) const { EVP_KDF_CTX_free(k); }
};

char kGroup[] = "P-256";

// An EVP_PKEY from OSSL params: the public key only, or the pair.
EVP_PKEY* KeyFromData(std::span<const uint8_t> public_key, const BIGNUM* private_key) {
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) Fail("OSSL_PARAM_BLD_new");
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, public_key.data(),
                                       public_key.size()) != 1) {
    Fail("OSSL_PARAM_BLD_push");
  }
  if (private_key != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, private_key) != 1) {
    Fail("OSSL_PARAM_BLD_push_BN");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) Fail("OSSL_PARAM_BLD_to_param");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) Fail("EVP_PKEY_CTX_new_from_name");
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key,
                        private_key != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    Fail("EVP_PKEY_fromdata");
  }
  return key;
}

}  // namespace

void SecureRandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    throw IoError(std::string("secagg: OpenSSL's RAND_bytes failed (") + text +
                  "); refusing to make keys without a secure generator");
  }
}

EcdhKeyPair EcdhKeyPair::Generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kGroup);
  if (key == nullptr) Fail("EVP_PKEY_Q_keygen(EC, P-256)");
  return EcdhKeyPair(key);
}

EcdhKeyPair EcdhKeyPair::FromPrivate(std::span<const uint8_t> private_key,
                                     std::span<const uint8_t> public_key) {
  if (private_key.size() != kP256PrivateKeyBytes || public_key.size() != kP256PublicKeyBytes) {
    throw Error("secagg crypto: a P-256 key pair needs a 32-byte private and a 65-byte public key");
  }
  std::unique_ptr<BIGNUM, BnFree> bn(
      BN_bin2bn(private_key.data(), static_cast<int>(private_key.size()), nullptr));
  if (!bn) Fail("BN_bin2bn");
  EcdhKeyPair pair(KeyFromData(public_key, bn.get()));
  // The reconstructed scalar must be the public key's: check with OpenSSL.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pair.key_, nullptr));
  if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    ERR_clear_error();
    throw SecAggError(
        "secagg: the reconstructed private key does not match the client's public key");
  }
  return pair;
}

EcdhKeyPair::EcdhKeyPair(EcdhKeyPair&& other) noexcept : key_(std::exchange(other.key_, nullptr)) {}

EcdhKeyPair& EcdhKeyPair::operator=(EcdhKeyPair&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
  }
  return *this;
}

EcdhKeyPair::~EcdhKeyPair() {
  EVP_PKEY_free(key_);
}

Bytes EcdhKeyPair::PublicKey() const {
  Bytes out(kP256PublicKeyBytes);
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key_, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                      out.size(), &length) != 1 ||
      length != kP256PublicKeyBytes) {
    Fail("EVP_PKEY_get_octet_string_param(public key)");
  }
  return out;
}

Bytes EcdhKeyPair::PrivateKey() const {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) {
    Fail("EVP_PKEY_get_bn_param(private key)");
  }
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  Bytes out(kP256PrivateKeyBytes);
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) < 0) Fail("BN_bn2binpad");
  return out;
}

Key256 EcdhKeyPair::Agree(std::span<const uint8_t> peer_public, std::string_view info) const {
  if (peer_public.size() != kP256PublicKeyBytes) {
    throw SecAggError("secagg: a peer's public key has " + std::to_string(peer_public.size()) +
                      " bytes, P-256 needs 65");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> peer(KeyFromData(peer_public, nullptr));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) Fail("EVP_PKEY_derive_init");
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 1) != 1) Fail("EVP_PKEY_derive_set_peer");
  size_t length = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) Fail("EVP_PKEY_derive(length)");
  Bytes shared(length);
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &length) != 1) Fail("EVP_PKEY_derive");
  shared.resize(length);
  Bytes derived = HkdfSha256(shared, info, 32);
  std::memset(shared.data(), 0, shared.size());
  Key256 key;
  std::memcpy(key.data(), derived.data(), key.size());
  std::memset(derived.data(), 0, derived.size());
  return key;
}

Bytes HkdfSha256(std::span<const uint8_t> secret, std::string_view info, size_t length) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) Fail("EVP_KDF_fetch(HKDF)");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) Fail("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) Fail("EVP_KDF_derive(HKDF)");
  return out;
}

Bytes AeadSeal(const Key256& key, std::span<const uint8_t> aad,
               std::span<const uint8_t> plaintext) {
  Bytes out(12 + plaintext.size() + 16);
  SecureRandomBytes(std::span<uint8_t>(out.data(), 12));
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), out.data()) != 1) {
    Fail("EVP_EncryptInit_ex(AES-256-GCM)");
  }
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    Fail("EVP_EncryptUpdate(aad)");
  }
  if (EVP_EncryptUpdate(ctx.get(), out.data() + 12, &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1) {
    Fail("EVP_EncryptUpdate");
  }
  int tail = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + 12 + length, &tail) != 1)
    Fail("EVP_EncryptFinal_ex");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16,
                          out.data() + 12 + plaintext.size()) != 1) {
    Fail("EVP_CIPHER_CTX_ctrl(GET_TAG)");
  }
  return out;
}

Bytes AeadOpen(const Key256& key, std::span<const uint8_t> aad, std::span<const uint8_t> sealed) {
  if (sealed.size() < kAeadOverheadBytes) throw SecAggError("secagg: a ciphertext is too short");
  const size_t text_bytes = sealed.size() - kAeadOverheadBytes;
  Bytes out(text_bytes);
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()) != 1) {
    Fail("EVP_DecryptInit_ex(AES-256-GCM)");
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    Fail("EVP_DecryptUpdate(aad)");
  }
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &length, sealed.data() + 12,
                        static_cast<int>(text_bytes)) != 1) {
    Fail("EVP_DecryptUpdate");
  }
  Bytes tag(sealed.end() - 16, sealed.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) {
    Fail("EVP_CIPHER_CTX_ctrl(SET_TAG)");
  }
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + length, &tail) != 1) {
    ERR_clear_error();
    throw SecAggError(
        "secagg: an encrypted share does not authenticate (wrong key, sender or bytes)");
  }
  return out;
}

namespace {

static_assert(std::endian::native == std::endian::little,
              "the mask PRG reads the keystream as little-endian words");

constexpr size_t kStreamWords = 4096;  // 16 KB of keystream at a time

// acc[i] += sign · PRG(seed)_{first + i} for the words first … first +
// |acc| − 1 of the keystream (first a multiple of 4: one AES block).
void AddMaskRange(EVP_CIPHER_CTX* ctx, const Key256& seed, int sign, uint64_t first,
                  std::span<uint32_t> acc) {
  // The CTR counter block: the big-endian index of the first AES block.
  uint8_t iv[16] = {};
  uint64_t block = first / 4;
  for (int i = 15; i >= 8; --i) {
    iv[i] = static_cast<uint8_t>(block & 0xff);
    block >>= 8;
  }
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, seed.data(), iv) != 1) {
    Fail("EVP_EncryptInit_ex(AES-256-CTR)");
  }
  alignas(64) static constexpr std::array<uint8_t, kStreamWords * 4> kZeros{};
  alignas(64) std::array<uint32_t, kStreamWords> stream;
  for (size_t start = 0; start < acc.size(); start += kStreamWords) {
    const size_t words = std::min(kStreamWords, acc.size() - start);
    int length = 0;
    if (EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(stream.data()), &length,
                          kZeros.data(), static_cast<int>(words * 4)) != 1) {
      Fail("EVP_EncryptUpdate(AES-256-CTR)");
    }
    uint32_t* out = acc.data() + start;
    const uint32_t* m = stream.data();
    if (sign >= 0) {
      for (size_t i = 0; i < words; ++i)
        out[i] += m[i];
    } else {
      for (size_t i = 0; i < words; ++i)
        out[i] -= m[i];
    }
  }
}

}  // namespace

void AddMask(const Key256& seed, int sign, std::span<uint32_t> acc) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fail("EVP_CIPHER_CTX_new");
  AddMaskRange(ctx.get(), seed, sign, 0, acc);
}

void AddMasks(std::span<const MaskTerm> terms, std::span<uint32_t> acc, unsigned threads) {
  if (terms.empty() || acc.empty()) return;
  static_assert(kMaskTileWords % 4 == 0);
  const size_t tiles = (acc.size() + kMaskTileWords - 1) / kMaskTileWords;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, tiles));
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  const auto work = [&] {
    try {
      std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
      if (!ctx) Fail("EVP_CIPHER_CTX_new");
      for (size_t tile = next++; tile < tiles; tile = next++) {
        const size_t first = tile * kMaskTileWords;
        const std::span<uint32_t> part =
            acc.subspan(first, std::min(kMaskTileWords, acc.size() - first));
        for (const MaskTerm& term : terms)
          AddMaskRange(ctx.get(), term.seed, term.sign, first, part);
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = tiles;
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

}  // namespace edgefl::privacy
