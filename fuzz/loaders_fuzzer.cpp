// libFuzzer target for the dataset loaders: the IDX reader (plain and gzip),
// the CSV reader and the partition-file reader, fed files a user (or a
// corrupt download) could hand them.
//
// The loaders read from a path, so each input is written to a file in
// /dev/shm (tmpfs, no disk I/O) named after the process id.
//
// Input: byte 0 picks the loader (% 3), byte 1 its options, the rest is the
// file's content.
//   0 IDX:       ReadIdx, ReadIdxDims, ReadIdxRows of the first and last
//                records (byte 1 odd: only the first).
//   1 CSV:       ReadCsv with header mode (byte 1 % 3) and label column
//                (byte 1 / 3 % 4 - 1).
//   2 partition: ReadPartitionFile, then ReadClientShare(byte 1).
//
// Properties checked (a violation aborts, which libFuzzer reports):
//   - only edgefl::Error (DataError, IoError, ConfigError) escapes a loader:
//     no other exception, no crash, no sanitizer report;
//   - what loads is consistent: IDX data has product(dims) bytes and the
//     records ReadIdxRows returns are ReadIdx's; a CSV dataset has one label
//     per row, labels in [0, num_classes) and finite features; a partition
//     file that reads writes back and reads again to the same partition, and
//     ReadClientShare returns the client's indices of ReadPartitionFile.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

#include "common/error.h"
#include "datasets/csv_reader.h"
#include "datasets/idx_reader.h"
#include "datasets/partition_file.h"

namespace {

namespace ds = edgefl::datasets;

[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "loaders_fuzzer: property violated: %s\n", what);
  std::abort();
}

std::filesystem::path ScratchPath(const char* suffix) {
  return "/dev/shm/edgefl-loaders-fuzz-" + std::to_string(getpid()) + suffix;
}

void WriteFile(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Violated("cannot create the scratch file in /dev/shm");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    Violated("cannot write the scratch file in /dev/shm");
  }
  std::fclose(f);
}

void FuzzIdx(const std::filesystem::path& path, uint8_t options) {
  ds::IdxArray all;
  try {
    all = ds::ReadIdx(path);
  } catch (const edgefl::Error&) {
    // A file ReadIdx refuses may still have a readable header: the other
    // entry points must refuse it the same way (with an edgefl::Error).
    try {
      ds::ReadIdxDims(path);
    } catch (const edgefl::Error&) {
    }
    try {
      const uint32_t first[] = {0};
      ds::ReadIdxRows(path, first);
      Violated("ReadIdxRows read a file ReadIdx refuses");
    } catch (const edgefl::Error&) {
    }
    return;
  }
  size_t product = 1;
  for (uint32_t d : all.dims)
    product *= d;
  if (all.data.size() != product) Violated("IDX data size is not the product of its dims");
  if (ds::ReadIdxDims(path) != all.dims) Violated("ReadIdxDims differs from ReadIdx");
  if (all.dims[0] == 0) return;
  std::vector<uint32_t> rows = {0};
  if (options % 2 == 0 && all.dims[0] > 1) rows.push_back(all.dims[0] - 1);
  const ds::IdxArray some = ds::ReadIdxRows(path, rows);
  const size_t record = product / all.dims[0];
  if (some.file_records != all.dims[0] || some.dims[0] != rows.size() ||
      some.data.size() != rows.size() * record) {
    Violated("ReadIdxRows shape differs from ReadIdx");
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (record > 0 && std::memcmp(some.data.data() + i * record,
                                  all.data.data() + size_t{rows[i]} * record, record) != 0) {
      Violated("ReadIdxRows record differs from ReadIdx");
    }
  }
}

void FuzzCsv(const std::filesystem::path& path, uint8_t options) {
  ds::CsvOptions o;
  o.header = static_cast<ds::CsvOptions::Header>(options % 3);
  o.label_column = options / 3 % 4 - 1;
  ds::Dataset data;
  try {
    data = ds::ReadCsv(path, o);
  } catch (const edgefl::Error&) {
    return;
  }
  if (data.size() == 0) Violated("CSV dataset without rows");
  if (static_cast<size_t>(data.features.rows()) != data.size()) Violated("CSV rows != labels");
  for (int32_t label : data.labels) {
    if (label < 0 || label >= data.num_classes) Violated("CSV label outside [0, num_classes)");
  }
  for (Eigen::Index i = 0; i < data.features.size(); ++i) {
    if (!std::isfinite(data.features.data()[i])) Violated("CSV feature not finite");
  }
}

bool SameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool SamePartition(const ds::Partition& a, const ds::Partition& b) {
  return a.dataset == b.dataset && a.num_samples == b.num_samples && a.clients == b.clients &&
         a.spec.scheme == b.spec.scheme && a.spec.seed == b.spec.seed &&
         SameBits(a.spec.alpha, b.spec.alpha) &&
         a.spec.classes_per_client == b.spec.classes_per_client &&
         SameBits(a.spec.noise, b.spec.noise) && a.noise_std.size() == b.noise_std.size() &&
         (a.noise_std.empty() || std::memcmp(a.noise_std.data(), b.noise_std.data(),
                                             a.noise_std.size() * sizeof(float)) == 0);
}

void FuzzPartition(const std::filesystem::path& path, uint8_t options) {
  ds::Partition partition;
  try {
    partition = ds::ReadPartitionFile(path);
  } catch (const edgefl::Error&) {
    try {
      ds::ReadClientShare(path, options);
    } catch (const edgefl::Error&) {
    }
    return;
  }
  const std::filesystem::path copy = ScratchPath(".copy");
  ds::WritePartitionFile(partition, copy);
  ds::Partition again;
  try {
    again = ds::ReadPartitionFile(copy);
  } catch (const edgefl::Error&) {
    Violated("a partition written back does not read");
  }
  if (!SamePartition(partition, again)) Violated("a partition written back reads differently");
  const size_t id = options;
  if (id < partition.num_clients()) {
    const ds::ClientShare share = ds::ReadClientShare(path, id);
    if (share.indices != partition.clients[id] || share.dataset != partition.dataset ||
        share.num_samples != partition.num_samples ||
        share.num_clients != partition.num_clients()) {
      Violated("ReadClientShare differs from ReadPartitionFile");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const std::filesystem::path path = ScratchPath(".in");
  WriteFile(path, std::span<const uint8_t>(data + 2, size - 2));
  switch (data[0] % 3) {
    case 0:
      FuzzIdx(path, data[1]);
      break;
    case 1:
      FuzzCsv(path, data[1]);
      break;
    default:
      FuzzPartition(path, data[1]);
      break;
  }
  return 0;
}
