#include "datasets/partition_stats.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

size_t Digits(size_t value) {
  size_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

// `text` right-aligned in a field of `width` characters.
void AppendRight(std::string& out, const std::string& text, size_t width) {
  if (text.size() < width) out.append(width - text.size(), ' ');
  out.append(text);
}

std::string FormatMedian(double median) {
  char buffer[32];
  if (median == static_cast<double>(static_cast<size_t>(median))) {
    std::snprintf(buffer, sizeof(buffer), "%zu", static_cast<size_t>(median));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f", median);
  }
  return buffer;
}

}  // namespace

PartitionStats ComputePartitionStats(const Partition& partition, std::span<const int32_t> labels,
                                     int num_classes) {
  if (num_classes <= 0) {
    throw ConfigError("partition stats: num_classes must be > 0, got " +
                      std::to_string(num_classes));
  }
  const size_t classes = static_cast<size_t>(num_classes);
  PartitionStats stats;
  stats.class_counts.assign(partition.num_clients(), std::vector<size_t>(classes, 0));
  stats.sizes.assign(partition.num_clients(), 0);
  size_t classes_present = 0;
  for (size_t c = 0; c < partition.num_clients(); ++c) {
    std::vector<size_t>& counts = stats.class_counts[c];
    for (uint32_t index : partition.clients[c]) {
      if (index >= labels.size()) {
        throw ConfigError("partition stats: client " + std::to_string(c) + " lists index " +
                          std::to_string(index) + " but there are only " +
                          std::to_string(labels.size()) + " labels");
      }
      const int32_t label = labels[index];
      if (label < 0 || label >= num_classes) {
        throw DataError("partition stats: label " + std::to_string(label) + " at index " +
                        std::to_string(index) + " is outside [0, " + std::to_string(num_classes) +
                        ")");
      }
      ++counts[static_cast<size_t>(label)];
    }
    stats.sizes[c] = partition.clients[c].size();
    classes_present += static_cast<size_t>(
        std::count_if(counts.begin(), counts.end(), [](size_t n) { return n > 0; }));
  }
  if (stats.sizes.empty()) return stats;

  std::vector<size_t> sorted = stats.sizes;
  std::sort(sorted.begin(), sorted.end());
  const size_t m = sorted.size();
  stats.min_size = sorted.front();
  stats.max_size = sorted.back();
  stats.median_size =
      m % 2 == 1
          ? static_cast<double>(sorted[m / 2])
          : (static_cast<double>(sorted[m / 2 - 1]) + static_cast<double>(sorted[m / 2])) / 2.0;
  stats.mean_classes_per_client = static_cast<double>(classes_present) / static_cast<double>(m);
  return stats;
}

std::string FormatPartitionTable(const PartitionStats& stats) {
  const size_t num_clients = stats.sizes.size();
  const size_t num_classes = stats.class_counts.empty() ? 0 : stats.class_counts[0].size();

  size_t max_count = 0;
  for (const std::vector<size_t>& counts : stats.class_counts) {
    for (size_t n : counts)
      max_count = std::max(max_count, n);
  }
  const size_t client_width = std::max<size_t>(6, Digits(num_clients));
  const size_t size_width = std::max<size_t>(4, Digits(stats.max_size));
  const size_t class_width =
      std::max(Digits(max_count), 1 + Digits(num_classes == 0 ? 0 : num_classes - 1));
  const std::string gap = "  ";

  std::string out;
  AppendRight(out, "client", client_width);
  out += gap;
  AppendRight(out, "size", size_width);
  for (size_t k = 0; k < num_classes; ++k) {
    out += gap;
    std::string name = std::to_string(k);
    name.insert(name.begin(), 'c');
    AppendRight(out, name, class_width);
  }
  out += gap + "#classes\n";

  for (size_t c = 0; c < num_clients; ++c) {
    AppendRight(out, std::to_string(c), client_width);
    out += gap;
    AppendRight(out, std::to_string(stats.sizes[c]), size_width);
    size_t present = 0;
    for (size_t k = 0; k < num_classes; ++k) {
      const size_t n = stats.class_counts[c][k];
      present += n > 0 ? 1 : 0;
      out += gap;
      AppendRight(out, n > 0 ? std::to_string(n) : ".", class_width);
    }
    out += gap;
    AppendRight(out, std::to_string(present), 8);
    out += '\n';
  }

  out += FormatPartitionSummary(stats);
  return out;
}

std::string FormatPartitionSummary(const PartitionStats& stats) {
  const size_t num_clients = stats.sizes.size();
  size_t total = 0;
  for (size_t size : stats.sizes)
    total += size;
  std::string out;
  char mean[32];
  std::snprintf(mean, sizeof(mean), "%.2f", stats.mean_classes_per_client);
  out += "clients: " + std::to_string(num_clients) + "  samples: " + std::to_string(total) + "\n";
  out += "size: min " + std::to_string(stats.min_size) + "  median " +
         FormatMedian(stats.median_size) + "  max " + std::to_string(stats.max_size) + "\n";
  out += "mean classes per client: " + std::string(mean) + "\n";
  return out;
}

}  // namespace edgefl::datasets
