// The stored form of a model checkpoint (the checkpoints table).
//
// Blob layout: the flat parameter vector as num_parameters IEEE-754 float32
// values, little-endian, no header (4 * num_parameters bytes). Next to it the
// row keeps num_parameters, the model spec string and sha256: the lowercase
// hex SHA-256 (64 characters) of the blob. The floats read back bit-identical
// (NaN payloads included), on any host byte order.
#pragma once

#include <string>
#include <string_view>

#include <Eigen/Core>

namespace edgefl::storage {

// The blob for `parameters`.
std::string EncodeParameters(const Eigen::VectorXf& parameters);

// Lowercase hex SHA-256 of `bytes` (OpenSSL EVP). Throws IoError only if
// OpenSSL itself fails.
std::string Sha256Hex(std::string_view bytes);

// Decodes a blob of EncodeParameters' layout (e.g. a strategy state) with no
// hash to check. Throws DataError "<what> is corrupted: ..." when its size is
// not a multiple of 4.
Eigen::VectorXf DecodeParameters(std::string_view blob, const std::string& what);

// Checks `blob` against the stored `num_parameters` and `sha256_hex`, then
// decodes it. Throws DataError "<what> is corrupted: ..." when its size is not
// 4 * num_parameters or its SHA-256 differs (e.g. what = "experiment log
// /x.db: checkpoint of run 'a' (id 1) round 7").
Eigen::VectorXf DecodeVerifiedParameters(std::string_view blob, int64_t num_parameters,
                                         std::string_view sha256_hex, const std::string& what);

}  // namespace edgefl::storage
