// Statistics of a partition: what `edgefl partition` prints.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "datasets/partition.h"

namespace edgefl::datasets {

struct PartitionStats {
  std::vector<std::vector<size_t>> class_counts;  // [client][class]
  std::vector<size_t> sizes;                      // per client
  size_t min_size = 0;
  double median_size = 0.0;
  size_t max_size = 0;
  double mean_classes_per_client = 0.0;  // classes with >= 1 sample, averaged
};

// Counts each client's labels. median_size is the mean of the two middle
// sizes for an even number of clients. Throws ConfigError if num_classes <= 0
// or a client lists an index >= labels.size(), DataError for a label outside
// [0, num_classes).
PartitionStats ComputePartitionStats(const Partition& partition, std::span<const int32_t> labels,
                                     int num_classes);

// A fixed-width table: one row per client (id, size, count per class,
// #classes) followed by the summary lines:
//   client  size   c0   c1 ...  #classes
//        0  5400  600    . ...         9      ('.' is a zero count)
//   clients: N  samples: n
//   size: min X  median Y  max Z
//   mean classes per client: W                    (two decimals)
std::string FormatPartitionTable(const PartitionStats& stats);

// Only the summary lines that end the table.
std::string FormatPartitionSummary(const PartitionStats& stats);

}  // namespace edgefl::datasets
