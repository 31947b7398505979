#include "datasets/idx_reader.h"

#include <string>
#include <sys/resource.h>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/datasets/loader_test_util.h"
#include "tests/test_util.h"

namespace edgefl::datasets {
namespace {

using testing::IdxBytes;
using testing::PseudoRandomBytes;
using testing::TempDir;
using testing::ThrownMessage;
using testing::WriteFile;
using testing::WriteGzFile;

std::vector<uint8_t> AsBytes(const std::string& s) {
  return {s.begin(), s.end()};
}

TEST_CASE("ReadIdx reads a plain 3-D file") {
  TempDir dir;
  const std::string data = PseudoRandomBytes(2 * 3 * 4);
  WriteFile(dir / "x-idx3-ubyte", IdxBytes({2, 3, 4}, data));
  const IdxArray a = ReadIdx(dir / "x-idx3-ubyte");
  CHECK(a.dims == std::vector<uint32_t>{2, 3, 4});
  CHECK(a.data == AsBytes(data));
}

TEST_CASE("ReadIdx reads gzip files - detected by content not by name") {
  TempDir dir;
  const std::string data = PseudoRandomBytes(5 * 7, 3);
  const std::string bytes = IdxBytes({5, 7}, data);
  WriteGzFile(dir / "a.gz", bytes);
  WriteGzFile(dir / "gz-without-suffix", bytes);
  WriteFile(dir / "plain-with-suffix.gz", bytes);
  for (const char* name : {"a.gz", "gz-without-suffix", "plain-with-suffix.gz"}) {
    CAPTURE(name);
    const IdxArray a = ReadIdx(dir / name);
    CHECK(a.dims == std::vector<uint32_t>{5, 7});
    CHECK(a.data == AsBytes(data));
  }
}

TEST_CASE("ReadIdx reads 1-D and empty arrays") {
  TempDir dir;
  WriteFile(dir / "labels", IdxBytes({3}, std::string{1, 2, 9}));
  const IdxArray labels = ReadIdx(dir / "labels");
  CHECK(labels.dims == std::vector<uint32_t>{3});
  CHECK(labels.data == std::vector<uint8_t>{1, 2, 9});

  WriteFile(dir / "empty", IdxBytes({0, 28, 28}, ""));
  const IdxArray empty = ReadIdx(dir / "empty");
  CHECK(empty.dims == std::vector<uint32_t>{0, 28, 28});
  CHECK(empty.data.empty());
}

TEST_CASE("ReadIdx: missing file is an IoError naming the path") {
  TempDir dir;
  const auto path = dir / "no-such-file.gz";
  CHECK_THROWS_AS(ReadIdx(path), IoError);
  const std::string msg = ThrownMessage<IoError>([&] { ReadIdx(path); });
  CHECK(msg.find(path.string()) != std::string::npos);
  CHECK(msg.find("No such file") != std::string::npos);
}

TEST_CASE("ReadIdx: a directory is an IoError") {
  TempDir dir;
  CHECK_THROWS_AS(ReadIdx(dir.path()), IoError);
}

TEST_CASE("ReadIdx: wrong magic number - plain and gzip") {
  TempDir dir;
  const std::string bytes = "\x12\x34\x56\x78 and then some text";
  WriteFile(dir / "text.idx", bytes);
  WriteGzFile(dir / "text.idx.gz", bytes);
  for (const char* name : {"text.idx", "text.idx.gz"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(ReadIdx(dir / name), DataError);
    const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / name); });
    CHECK(msg.find((dir / name).string()) != std::string::npos);
    CHECK(msg.find("bad IDX magic 0x12345678, expected 0x0000080N") != std::string::npos);
  }
  // Zero dimensions is not a valid magic either.
  WriteFile(dir / "zero-dims", std::string{0, 0, 8, 0});
  CHECK_THROWS_WITH_AS(ReadIdx(dir / "zero-dims"), doctest::Contains("bad IDX magic 0x00000800"),
                       DataError);
}

TEST_CASE("ReadIdx: unsupported data type") {
  TempDir dir;
  WriteFile(dir / "floats", IdxBytes({2}, std::string(8, '\0'), 0x0D));
  const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / "floats"); });
  CHECK(msg.find((dir / "floats").string()) != std::string::npos);
  CHECK(msg.find("unsupported IDX data type 0x0D") != std::string::npos);
}

TEST_CASE("ReadIdx: truncated data - plain and gzip") {
  TempDir dir;
  const std::string bytes = IdxBytes({2, 3, 4}, PseudoRandomBytes(20));  // 24 expected
  WriteFile(dir / "short", bytes);
  WriteGzFile(dir / "short.gz", bytes);
  for (const char* name : {"short", "short.gz"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(ReadIdx(dir / name), DataError);
    const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / name); });
    CHECK(msg.find((dir / name).string()) != std::string::npos);
    CHECK(msg.find("truncated: expected 24 bytes of data, got 20") != std::string::npos);
  }
}

TEST_CASE("ReadIdx: a cut gzip file is reported as truncated") {
  TempDir dir;
  const std::string bytes = IdxBytes({100, 28, 28}, PseudoRandomBytes(100 * 28 * 28, 7));
  WriteGzFile(dir / "full.gz", bytes);
  const std::string gz = testing::ReadFile(dir / "full.gz");
  REQUIRE(gz.size() > 1000);

  // Cut in the middle of the compressed data.
  WriteFile(dir / "half.gz", gz.substr(0, gz.size() / 2));
  std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / "half.gz"); });
  CHECK(msg.find((dir / "half.gz").string()) != std::string::npos);
  CHECK(msg.find("truncated: expected 78400 bytes of data, got ") != std::string::npos);

  // Cut inside the 8-byte gzip trailer: all data is there, the stream is not.
  WriteFile(dir / "no-trailer.gz", gz.substr(0, gz.size() - 4));
  msg = ThrownMessage<DataError>([&] { ReadIdx(dir / "no-trailer.gz"); });
  CHECK(msg.find((dir / "no-trailer.gz").string()) != std::string::npos);
  CHECK(msg.find("truncated") != std::string::npos);
}

TEST_CASE("ReadIdx: truncated magic or dimension header") {
  TempDir dir;
  WriteFile(dir / "empty", "");
  CHECK_THROWS_WITH_AS(ReadIdx(dir / "empty"), doctest::Contains("truncated"), DataError);
  WriteFile(dir / "two-bytes", std::string{0, 0});
  CHECK_THROWS_WITH_AS(ReadIdx(dir / "two-bytes"), doctest::Contains("truncated"), DataError);
  // Says 3 dimensions but only holds one size.
  WriteFile(dir / "dims", std::string{0, 0, 8, 3, 0, 0, 0, 5});
  const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / "dims"); });
  CHECK(msg.find((dir / "dims").string()) != std::string::npos);
  CHECK(msg.find("truncated: expected 12 bytes of dimension sizes") != std::string::npos);
}

TEST_CASE("ReadIdx: trailing bytes after the data") {
  TempDir dir;
  WriteFile(dir / "long", IdxBytes({2, 2}, "abcdXYZ"));
  WriteGzFile(dir / "long.gz", IdxBytes({2, 2}, "abcdXYZ"));
  for (const char* name : {"long", "long.gz"}) {
    CAPTURE(name);
    const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / name); });
    CHECK(msg.find((dir / name).string()) != std::string::npos);
    CHECK(msg.find("3 trailing bytes") != std::string::npos);
  }
}

TEST_CASE("ReadIdx: absurd dimensions are rejected before allocating") {
  TempDir dir;
  // 2^32-1 cubed overflows 64 bits; 65536 x 65536 x 2 is 8 GiB.
  WriteFile(dir / "huge", IdxBytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, ""));
  WriteFile(dir / "big", IdxBytes({65536, 65536, 2}, "abc"));
  for (const char* name : {"huge", "big"}) {
    CAPTURE(name);
    const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / name); });
    CHECK(msg.find((dir / name).string()) != std::string::npos);
    CHECK(msg.find("absurd") != std::string::npos);
  }
}

TEST_CASE("ReadIdx: corrupt gzip data") {
  TempDir dir;
  WriteGzFile(dir / "ok.gz", IdxBytes({64}, PseudoRandomBytes(64)));
  std::string gz = testing::ReadFile(dir / "ok.gz");
  for (size_t i = 12; i < gz.size() - 8; ++i)
    gz[i] = static_cast<char>(0xFF);
  WriteFile(dir / "bad.gz", gz);
  const std::string msg = ThrownMessage<DataError>([&] { ReadIdx(dir / "bad.gz"); });
  CHECK(msg.find((dir / "bad.gz").string()) != std::string::npos);
  CHECK(msg.find("corrupt gzip data") != std::string::npos);
}

}  // namespace
}  // namespace edgefl::datasets

namespace edgefl::datasets {
namespace {

using testing::IdxBytes;
using testing::PseudoRandomBytes;
using testing::TempDir;
using testing::WriteFile;
using testing::WriteGzFile;

}  // namespace

TEST_CASE("ReadIdxRows keeps only the requested records - plain and gzip") {
  TempDir dir;
  // 5000 records of 300 bytes: more than one 1 MiB streaming chunk.
  const std::string data = PseudoRandomBytes(size_t{5000} * 300, 11);
  const std::string bytes = IdxBytes({5000, 20, 15}, data);
  WriteFile(dir / "plain", bytes);
  WriteGzFile(dir / "packed.gz", bytes);
  const std::vector<uint32_t> rows = {0, 7, 3494, 3495, 4999};
  for (const char* name : {"plain", "packed.gz"}) {
    CAPTURE(name);
    const IdxArray a = ReadIdxRows(dir / name, rows);
    CHECK(a.dims == std::vector<uint32_t>{5, 20, 15});
    CHECK(a.file_records == 5000);
    REQUIRE(a.data.size() == 5 * 300);
    for (size_t i = 0; i < rows.size(); ++i) {
      CHECK(std::string(a.data.begin() + static_cast<std::ptrdiff_t>(i * 300),
                        a.data.begin() + static_cast<std::ptrdiff_t>((i + 1) * 300)) ==
            data.substr(rows[i] * size_t{300}, 300));
    }
  }
  CHECK(ReadIdxRows(dir / "plain", {}).data.empty());
}

// Peak resident memory of this process (each test case runs as its own
// ctest process, so this is the case's own peak).
size_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

TEST_CASE("ReadIdx: a short file whose header claims 1 GiB fails without allocating it") {
  // Found by fuzz/loaders_fuzzer: 22 bytes made ReadIdx allocate and zero the
  // 1 GiB the header claimed before finding the data truncated.
  TempDir dir;
  WriteFile(dir / "claims-1gib", IdxBytes({1024, 1024, 1024}, "abcdef"));
  WriteFile(dir / "one-1gib-record", IdxBytes({1, 1u << 30}, "abcdef"));
  CHECK_THROWS_WITH_AS(ReadIdx(dir / "claims-1gib"),
                       doctest::Contains("truncated: expected 1073741824 bytes of data, got 6"),
                       DataError);
  CHECK_THROWS_WITH_AS(ReadIdxRows(dir / "one-1gib-record", std::vector<uint32_t>{0}),
                       doctest::Contains("truncated: expected 1073741824 bytes of data, got 6"),
                       DataError);
  CHECK(PeakRssBytes() < (size_t{256} << 20));
}

TEST_CASE("ReadIdxRows reads records of zero bytes") {
  // Found by fuzz/loaders_fuzzer: a zero dimension made ReadIdxRows call
  // memcpy with null pointers (undefined; UBSan stops here in the ASan build).
  TempDir dir;
  WriteFile(dir / "zero-width", IdxBytes({3, 0, 8}, ""));
  const IdxArray a = ReadIdxRows(dir / "zero-width", std::vector<uint32_t>{0, 2});
  CHECK(a.dims == std::vector<uint32_t>{2, 0, 8});
  CHECK(a.file_records == 3);
  CHECK(a.data.empty());
}

TEST_CASE("ReadIdxRows: bad rows and truncated files are clear errors") {
  TempDir dir;
  WriteFile(dir / "labels", IdxBytes({4}, std::string{1, 2, 3, 4}));
  CHECK_THROWS_WITH_AS(ReadIdxRows(dir / "labels", std::vector<uint32_t>{1, 4}),
                       doctest::Contains("row 4 requested but the file has 4"), DataError);
  CHECK_THROWS_WITH_AS(ReadIdxRows(dir / "labels", std::vector<uint32_t>{2, 1}),
                       doctest::Contains("ascending"), ConfigError);
  WriteFile(dir / "short", IdxBytes({4}, std::string{1, 2}));
  CHECK_THROWS_WITH_AS(ReadIdxRows(dir / "short", std::vector<uint32_t>{0}),
                       doctest::Contains("truncated"), DataError);
}

}  // namespace edgefl::datasets
