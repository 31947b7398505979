#include "datasets/partition_file.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::datasets {
namespace {

using edgefl::testing::ReadFile;
using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

// A valid file: 3 clients over 6 samples; client c is on line 10 + c.
constexpr const char* kValid =
    "edgefl-partition 1\n"
    "dataset tiny/train\n"
    "samples 6\n"
    "scheme shards\n"
    "seed 7\n"
    "alpha 0.5\n"
    "classes_per_client 2\n"
    "noise 0.1\n"
    "clients 3\n"
    "client 0 0 2 0 3\n"
    "client 1 0.05 2 1 4\n"
    "client 2 0.1 2 2 5\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::vector<int32_t> Labels(size_t n) {
  std::vector<int32_t> labels(n);
  for (size_t i = 0; i < n; ++i)
    labels[i] = static_cast<int32_t>(i % 10);
  return labels;
}

void CheckSame(const Partition& a, const Partition& b) {
  CHECK(a.spec.scheme == b.spec.scheme);
  CHECK(a.spec.num_clients == b.spec.num_clients);
  CHECK(a.spec.seed == b.spec.seed);
  CHECK(a.spec.alpha == b.spec.alpha);
  CHECK(a.spec.classes_per_client == b.spec.classes_per_client);
  CHECK(a.spec.noise == b.spec.noise);
  CHECK(a.dataset == b.dataset);
  CHECK(a.num_samples == b.num_samples);
  CHECK(a.clients == b.clients);
  CHECK(a.noise_std == b.noise_std);
}

// Reading `text` (as both a whole file and client `client`'s share) throws E
// whose message names the file and `line` and contains `expected`.
template <typename E>
void CheckBad(const std::string& text, size_t line, const std::string& expected,
              bool share_too = true, size_t client = 2) {
  TempDir dir;
  const auto path = dir / "bad.partition";
  WriteFile(path, text);
  const std::string where = path.string() + ":" + std::to_string(line) + ": ";
  CHECK_THROWS_WITH_AS(ReadPartitionFile(path), doctest::Contains(where.c_str()), E);
  CHECK_THROWS_WITH_AS(ReadPartitionFile(path), doctest::Contains(expected.c_str()), E);
  if (share_too) {
    CHECK_THROWS_WITH_AS(ReadClientShare(path, client), doctest::Contains(where.c_str()), E);
    CHECK_THROWS_WITH_AS(ReadClientShare(path, client), doctest::Contains(expected.c_str()), E);
  }
}

}  // namespace

TEST_CASE("WritePartitionFile: writes the documented format") {
  Partition p;
  p.spec.scheme = PartitionScheme::kShards;
  p.spec.num_clients = 3;
  p.spec.seed = 7;
  p.spec.alpha = 0.5;
  p.spec.classes_per_client = 2;
  p.spec.noise = 0.1;
  p.dataset = "tiny/train";
  p.num_samples = 6;
  p.clients = {{0, 3}, {1, 4}, {2, 5}};
  p.noise_std = {0.0f, 0.05f, 0.1f};
  TempDir dir;
  WritePartitionFile(p, dir / "p.txt");
  CHECK(ReadFile(dir / "p.txt") == kValid);
  CHECK(!std::filesystem::exists(dir / "p.txt.tmp"));
  CheckSame(ReadPartitionFile(dir / "p.txt"), p);
}

TEST_CASE("Partition file: round trip of generated partitions - and overwrite") {
  const std::vector<int32_t> labels = Labels(5000);
  TempDir dir;
  const auto path = dir / "out.partition";
  for (PartitionScheme scheme :
       {PartitionScheme::kDirichlet, PartitionScheme::kFeatureNoise, PartitionScheme::kShards}) {
    PartitionSpec spec;
    spec.scheme = scheme;
    spec.num_clients = 13;
    spec.seed = 12345678901234567890ULL;
    spec.alpha = 0.3;
    spec.noise = 0.123456789;
    spec.classes_per_client = 3;
    const Partition original = MakePartition(spec, labels, 10, "my data/train");
    WritePartitionFile(original, path);  // overwrites the previous scheme's file
    const Partition read = ReadPartitionFile(path);
    CheckSame(read, original);

    for (size_t c = 0; c < original.num_clients(); ++c) {
      const ClientShare share = ReadClientShare(path, c);
      CHECK(share.dataset == "my data/train");
      CHECK(share.num_samples == 5000);
      CHECK(share.num_clients == 13);
      CHECK(share.indices == read.clients[c]);
      CHECK(share.noise_std == read.noise_std[c]);
    }
  }
}

TEST_CASE("Partition file: I/O failures are IoErrors naming the path") {
  TempDir dir;
  const auto missing = dir / "no-such-dir" / "p.partition";
  CHECK_THROWS_WITH_AS(ReadPartitionFile(missing), doctest::Contains(missing.string().c_str()),
                       IoError);
  CHECK_THROWS_WITH_AS(ReadClientShare(missing, 0), doctest::Contains("cannot open"), IoError);
  Partition p;
  p.dataset = "x";
  p.num_samples = 1;
  p.clients = {{0}};
  p.noise_std = {0.0f};
  CHECK_THROWS_WITH_AS(WritePartitionFile(p, missing),
                       doctest::Contains("No such file or directory"), IoError);
  CHECK_THROWS_WITH_AS(WritePartitionFile(p, missing), doctest::Contains("no-such-dir"), IoError);
}

TEST_CASE("Partition file: malformed headers name file and line") {
  CheckBad<DataError>("", 1, "empty file");
  CheckBad<DataError>(Replace(kValid, "edgefl-partition 1", "edgefl-partitiom 1"), 1,
                      "not an edgefl partition file");
  CheckBad<DataError>(Replace(kValid, "edgefl-partition 1", "edgefl-partition 2"), 1,
                      "unsupported partition file version '2'");
  CheckBad<DataError>(Replace(kValid, "dataset tiny/train", "name tiny/train"), 2,
                      "expected 'dataset <name>'");
  // Found by fuzz/loaders_fuzzer: the reader took a CR inside the name, which
  // WritePartitionFile refuses, so the partition could not be written back.
  CheckBad<DataError>(Replace(kValid, "dataset tiny/train", "dataset tiny\r/train"), 2,
                      "dataset name contains a carriage return");
  CheckBad<DataError>(Replace(kValid, "samples 6", "samples six"), 3,
                      "samples: expected a sample count, got 'six'");
  CheckBad<DataError>(Replace(kValid, "scheme shards", "scheme sharding"), 4,
                      "unknown scheme 'sharding'");
  CheckBad<DataError>(Replace(kValid, "seed 7", "seed -7"), 5, "seed: expected");
  CheckBad<DataError>(Replace(kValid, "alpha 0.5", "alpha 0.5x"), 6, "alpha: expected a number");
  CheckBad<DataError>(Replace(kValid, "noise 0.1\n", "\n"), 8, "expected 'noise <a number>'");
  CheckBad<DataError>(Replace(kValid, "clients 3", "clients 0"), 9, "clients must be > 0");
  CheckBad<DataError>(Replace(kValid, "clients 3", "clients 7"), 9, "clients 7 exceeds samples 6");
  CheckBad<DataError>("edgefl-partition 1\ndataset x\nsamples 6\n", 4,
                      "truncated header: expected 'scheme <scheme>'");
}

TEST_CASE("Partition file: malformed client lines name file and line") {
  // Truncated: the last client line is missing.
  CheckBad<DataError>(Replace(kValid, "client 2 0.1 2 2 5\n", ""), 12,
                      "truncated: expected 3 client lines, found 2");
  CheckBad<DataError>(Replace(kValid, "client 1 0.05 2 1 4", "client 1 0.05 3 1 4"), 11,
                      "client 1: count says 3 indices but the line has 2", true, 1);
  CheckBad<DataError>(Replace(kValid, "client 2 0.1 2 2 5", "client 2 0.1 2 2 6"), 12,
                      "client 2: index 6 >= samples 6");
  CheckBad<DataError>(Replace(kValid, "client 0 0 2 0 3", "client 0 0 2 0 x3"), 10,
                      "client 0: expected a sample index, got 'x3'", true, 0);
  CheckBad<DataError>(Replace(kValid, "client 0 0 2 0 3", "client 0 zero 2 0 3"), 10,
                      "client 0: expected a noise std-dev >= 0, got 'zero'", true, 0);
  CheckBad<DataError>(Replace(kValid, "client 1 0.05 2 1 4", "client 1 0.05 2 1 1"), 11,
                      "client 1: index 1 listed twice", true, 1);
  CheckBad<DataError>(Replace(kValid, "client 1 0.05 2 1 4", "client 1 0.05 2 4 1"), 11,
                      "indices must be ascending", true, 1);
  CheckBad<DataError>(Replace(kValid, "client 0 0 2 0 3", "client 0 0 0"), 10,
                      "client 0 has no samples", true, 0);
  // Out of order: client 2's line comes before client 1's.
  CheckBad<DataError>(Replace(kValid, "client 1 0.05 2 1 4\nclient 2 0.1 2 2 5",
                              "client 2 0.1 2 2 5\nclient 1 0.05 2 1 4"),
                      11, "expected client 1, got client 2", true, 1);
  CheckBad<DataError>(Replace(kValid, "client 1 0.05", "clint 1 0.05"), 11, "expected 'client 1",
                      true, 1);
  CheckBad<DataError>(std::string(kValid) + "client 3 0 1 0\n", 13, "unexpected line", false);
}

TEST_CASE("Partition file: random bytes are not a partition file - quoted short and escaped") {
  std::string bytes;
  for (int i = 0; i < 4096; ++i)
    bytes.push_back(static_cast<char>((i * 131 + 7) % 256 == '\n' ? 0 : (i * 131 + 7) % 256));
  bytes[1] = '\x1b';  // an escape sequence must not reach the terminal
  TempDir dir;
  const auto path = dir / "random.partition";
  WriteFile(path, bytes);
  std::string message;
  try {
    ReadPartitionFile(path);
  } catch (const DataError& e) {
    message = e.what();
  }
  CHECK(message.find(path.string() + ":1: not an edgefl partition file") == 0);
  CHECK(message.find("got '\\x07\\x1b\\x0d") != std::string::npos);
  CHECK(message.find("...'") != std::string::npos);
  CHECK(message.size() < path.string().size() + 300);
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    CHECK_MESSAGE((byte >= 0x20 && byte < 0x7f), "raw byte " << int{byte} << " in: " << message);
  }
}

TEST_CASE("Partition file: a file cut short says it is truncated, not that its data is wrong") {
  // Cut inside client 2's last index: "2 1" would read as not ascending.
  std::string cut = Replace(kValid, "client 2 0.1 2 2 5\n", "client 2 0.1 2 2 5");
  CheckBad<DataError>(cut, 12,
                      "truncated: the file ends inside client 2's line (no final newline) after 2 "
                      "complete client lines of 3");
  const std::string shorter = Replace(kValid, "client 2 0.1 2 2 5\n", "client 2 0.1 2 3 1");
  CheckBad<DataError>(shorter, 12, "truncated");
  // Cut inside the header.
  CheckBad<DataError>("edgefl-partition 1\ndataset x\nsamples 6\nscheme sh", 4,
                      "truncated header: the file ends inside the 'scheme' line");
  // Cut at a line boundary: the lines the header declares are missing.
  CheckBad<DataError>(Replace(kValid, "client 2 0.1 2 2 5\n", ""), 12,
                      "truncated: expected 3 client lines, found 2");
}

TEST_CASE("Partition file: problems visible only across lines (full read only)") {
  // Index 3 held by clients 0 and 1 (and sample 4 by no one).
  CheckBad<DataError>(Replace(kValid, "client 1 0.05 2 1 4", "client 1 0.05 2 1 3"), 11,
                      "client 1: index 3 is also listed by client 0", false);
  // Every line is fine but they do not cover all samples.
  CheckBad<DataError>(Replace(kValid, "samples 6", "samples 7"), 3,
                      "samples 7 but the client lines hold 6 indices", false);
}

TEST_CASE("ReadClientShare: reads one client - skipping the others unparsed") {
  TempDir dir;
  const auto path = dir / "p.partition";
  // Client 2's line is garbage: clients 0 and 1 still read fine.
  WriteFile(path, Replace(kValid, "client 2 0.1 2 2 5", "client 2 garbage"));
  const ClientShare share = ReadClientShare(path, 1);
  CHECK(share.dataset == "tiny/train");
  CHECK(share.num_samples == 6);
  CHECK(share.num_clients == 3);
  CHECK(share.indices == std::vector<uint32_t>{1, 4});
  CHECK(share.noise_std == 0.05f);
  CHECK(ReadClientShare(path, 0).indices == std::vector<uint32_t>{0, 3});
  CHECK_THROWS_AS(ReadClientShare(path, 2), DataError);

  WriteFile(path, kValid);
  const std::string where = path.string() + ":9: ";
  CHECK_THROWS_WITH_AS(ReadClientShare(path, 3), doctest::Contains(where.c_str()), ConfigError);
  CHECK_THROWS_WITH_AS(ReadClientShare(path, 3),
                       doctest::Contains("client_id 3 out of range: the partition has 3 clients"),
                       ConfigError);
}

}  // namespace edgefl::datasets
