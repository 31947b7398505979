// The on-disk form of a Partition, written by `edgefl partition --out` and
// read by a client that loads only its own share.
//
// Text format, one record per line:
//   edgefl-partition 1
//   dataset <name>                      e.g. fmnist/train
//   samples <n>
//   scheme <iid|dirichlet|shards|quantity|noise>
//   seed <u64>
//   alpha <double>
//   classes_per_client <k>
//   noise <double>
//   clients <N>
//   client <id> <noise_std> <count> <idx> <idx> ...    (N lines, id 0..N-1)
// The writer separates tokens by single spaces (the reader also accepts
// tabs), writes doubles in the shortest form that reads back exactly, and
// ends every line with '\n': a header or client line without one is where
// the file was cut, and is reported as truncated.
// A client's indices are strictly ascending and non-empty.
// PartitionSpec::min_client_size is not stored (it only steers generation);
// a partition read back has the default 1.
#pragma once

#include <filesystem>

#include "datasets/partition.h"

namespace edgefl::datasets {

// Writes atomically (temp file + rename). Throws IoError on failure.
void WritePartitionFile(const Partition& partition, const std::filesystem::path& path);

// Reads a whole partition file. Throws IoError if it cannot be opened and
// DataError naming file:line for anything malformed (not a partition file,
// bad header, wrong version, truncated, a client line missing or out of
// order, count mismatch, an index >= samples or listed twice). Text quoted
// from the file is a short excerpt with non-printable bytes escaped (\xNN).
Partition ReadPartitionFile(const std::filesystem::path& path);

// One client's share of a partition file.
struct ClientShare {
  std::string dataset;
  size_t num_samples = 0;  // size of the whole split
  size_t num_clients = 0;
  std::vector<uint32_t> indices;
  float noise_std = 0.0f;
  uint64_t seed = 0;  // the partition's seed (AddFeatureNoise takes it)
};

// Reads only client `client_id`'s line (plus the header). Throws ConfigError
// if client_id >= the number of clients, otherwise as ReadPartitionFile; the
// other clients' lines are skipped unparsed, so an index shared with another
// client or a malformed line of another client is not detected here.
ClientShare ReadClientShare(const std::filesystem::path& path, size_t client_id);

}  // namespace edgefl::datasets
