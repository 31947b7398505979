// The natural partition of a text corpus (`partition = "by_source"`): clients
// by source file, as LEAF's Shakespeare task gives each speaking role to a
// client, so clients differ in vocabulary and style.
//
// With S sources (in their order, e.g. sorted file names) and C clients:
//   C <= S: client i holds the whole sources [floor(i S / C), floor((i+1) S / C));
//           C == S is one client per source.
//   C >  S: every source gets one client, then each further client goes to
//           the source with the most training windows per client so far
//           (ties: the earlier source); a source with k clients is cut into
//           k contiguous runs of its windows, in text order, of sizes that
//           differ by at most one (the first runs one longer).
// No randomness: the seed does not change it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "datasets/partition.h"

namespace edgefl::datasets {

// `sources[i]` is the source of sample i; samples of one source must be
// contiguous and the sources numbered 0..num_sources-1 in order. Throws
// ConfigError if spec.num_clients is 0 or more than the samples, a source
// has no sample, or the samples are not grouped by source.
// The result has scheme kBySource.
Partition MakeSourcePartition(const PartitionSpec& spec, std::span<const uint32_t> sources,
                              size_t num_sources, const std::string& dataset_name);

}  // namespace edgefl::datasets
