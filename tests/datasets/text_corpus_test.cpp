#include "datasets/text_corpus.h"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/char_vocabulary.h"
#include "datasets/partition.h"
#include "datasets/source_partition.h"
#include "datasets/utf8.h"
#include "tests/datasets/loader_test_util.h"
#include "tests/test_util.h"

namespace edgefl::datasets {
namespace {

using testing::TempDir;
using testing::ThrownMessage;
using testing::WriteFile;

using testing::HasSubstr;

std::vector<int> Row(const Dataset& data, Eigen::Index row) {
  std::vector<int> out;
  for (Eigen::Index j = 0; j < data.features.cols(); ++j)
    out.push_back(static_cast<int>(data.features(row, j)));
  return out;
}

TEST_CASE("DecodeUtf8: multi-byte characters decode to their code points") {
  // "aé€😀": 1, 2, 3 and 4 bytes.
  CHECK(DecodeUtf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "x") == U"a\u00E9\u20AC\U0001F600");
  CHECK(EncodeUtf8(U'\u20AC') == "\xE2\x82\xAC");
  CHECK(EncodeUtf8(U'\U0001F600') == "\xF0\x9F\x98\x80");
}

TEST_CASE("DecodeUtf8: invalid input names the source and the byte offset") {
  auto message = [](std::string_view bytes) {
    CHECK_THROWS_AS(DecodeUtf8(bytes, "corpus/a.txt"), DataError);
    return ThrownMessage<DataError>([&] { DecodeUtf8(bytes, "corpus/a.txt"); });
  };
  CHECK(message("abc\x80") ==
        "corpus/a.txt: invalid UTF-8 at byte offset 3 (unexpected continuation byte 0x80)");
  CHECK(
      HasSubstr(message("ab\xC3("), "byte offset 2 (byte 0x28 at offset 3 is not a continuation"));
  CHECK(HasSubstr(message("ab\xE2\x82"), "byte offset 2 (sequence cut by the end of the input)"));
  CHECK(HasSubstr(message("\xC0\xAF"), "byte offset 0 (byte 0xC0 never starts a sequence)"));
  CHECK(HasSubstr(message("x\xE0\x80\xAF"), "byte offset 1 (overlong encoding)"));
  CHECK(HasSubstr(message("\xED\xA0\x80"), "byte offset 0 (UTF-16 surrogate)"));
  CHECK(HasSubstr(message("\xF4\x90\x80\x80"), "byte offset 0 (code point above U+10FFFF)"));
}

TEST_CASE("CharVocabulary: the most frequent characters in code-point order after unknown") {
  const std::u32string a = U"bbbaac", b = U"ddddz";
  const std::u32string_view texts[] = {a, b};
  // Counts: d 4, b 3, a 2, c 1, z 1; 3 slots keep d, b, a; ordered a, b, d.
  const CharVocabulary v = CharVocabulary::Build(texts, 4);
  CHECK(v.size() == 4);
  CHECK(v.characters() == std::vector<char32_t>{U'a', U'b', U'd'});
  CHECK(v.Id(U'a') == 1);
  CHECK(v.Id(U'b') == 2);
  CHECK(v.Id(U'd') == 3);
  CHECK(v.Id(U'c') == CharVocabulary::kUnknown);
  // Ties keep the lower code point: c and z both once, c first.
  const CharVocabulary w = CharVocabulary::Build(texts, 5);
  CHECK(w.characters() == std::vector<char32_t>{U'a', U'b', U'c', U'd'});
  // Room to spare leaves ids unused but the size fixed.
  CHECK(CharVocabulary::Build(texts, 50).size() == 50);
  CHECK_THROWS_AS(CharVocabulary::Build(texts, 1), ConfigError);
}

TEST_CASE("MakeTextCorpus: windows of seq_len + 1 with stride seq_len and next-character labels") {
  // "abcdefghij" (10 chars), T = 3: windows abcd, defg, ghij -> W = 3; the
  // last max(1, floor(0.1 x 3)) = 1 is the test window.
  const std::vector<TextSource> sources = {{"s0", U"abcdefghij"}};
  TextOptions options;
  options.seq_len = 3;
  options.vocab_size = 20;
  const TextCorpus corpus = MakeTextCorpus(sources, options, "toy");
  // The vocabulary counts the training text "abcdefg" only: ids a=1..g=7.
  CHECK(corpus.vocabulary.characters().size() == 7);
  REQUIRE(corpus.train.size() == 2);
  REQUIRE(corpus.test.size() == 1);
  CHECK(corpus.train.dim() == 4);
  CHECK(corpus.train.sample_shape == std::vector<int>{4});
  CHECK(corpus.train.num_classes == 20);
  CHECK(Row(corpus.train, 0) == std::vector<int>{1, 2, 3, 4});
  CHECK(Row(corpus.train, 1) == std::vector<int>{4, 5, 6, 7});
  CHECK(corpus.train.labels == std::vector<int32_t>{4, 7});
  // h, i, j never appear in training: unknown (0).
  CHECK(Row(corpus.test, 0) == std::vector<int>{7, 0, 0, 0});
  CHECK(corpus.train_source == std::vector<uint32_t>{0, 0});
  CHECK(corpus.train.name == "toy");
  CHECK(corpus.test.name == "toy/test");
}

TEST_CASE("MakeTextCorpus: a source shorter than seq_len + 1 is a ConfigError naming it") {
  const std::vector<TextSource> sources = {{"a.txt", U"long enough text"}, {"b.txt", U"tiny"}};
  TextOptions options;
  options.seq_len = 8;
  const std::string message =
      ThrownMessage<ConfigError>([&] { MakeTextCorpus(sources, options, "toy"); });
  CHECK(message ==
        "text source b.txt has 4 characters, fewer than seq_len + 1 = 9: use a shorter seq_len "
        "(the model's -t) or more text");
  options.seq_len = 0;
  CHECK_THROWS_AS(MakeTextCorpus(sources, options, "toy"), ConfigError);
}

TEST_CASE("ReadTextSources: a directory's files in name order - empty and invalid files refused") {
  TempDir dir;
  WriteFile(dir / "b.txt", "second file\n");
  WriteFile(dir / "a.txt", "first \xC3\xA9\n");
  WriteFile(dir / ".hidden", "\xFF");
  std::vector<TextSource> sources = ReadTextSources(dir.path());
  REQUIRE(sources.size() == 2);
  CHECK(sources[0].name == (dir / "a.txt").string());
  CHECK(sources[0].text == U"first \u00E9\n");
  CHECK(sources[1].text == U"second file\n");
  // One file alone.
  CHECK(ReadTextSources(dir / "b.txt").size() == 1);

  WriteFile(dir / "c.txt", "");
  CHECK(ThrownMessage<ConfigError>([&] { ReadTextSources(dir.path()); }) ==
        "text source " + (dir / "c.txt").string() + " is empty");
  WriteFile(dir / "c.txt", "ok\nbad \xE2\x28\xA1");
  CHECK(ThrownMessage<DataError>([&] { ReadTextSources(dir.path()); }) ==
        (dir / "c.txt").string() +
            ": invalid UTF-8 at byte offset 7 (byte 0x28 at offset 8 is not a continuation byte)");
  TempDir empty;
  CHECK_THROWS_AS(ReadTextSources(empty.path()), ConfigError);
  CHECK_THROWS_AS(ReadTextSources(empty / "missing"), IoError);
}

TEST_CASE("ReadFortunes: category files only - separator lines become empty lines") {
  TempDir dir;
  WriteFile(dir / "pets", "A cat.\n%\nA dog\nbarks.\n%\n");
  WriteFile(dir / "pets.dat", "\x00\x01\xFF");
  WriteFile(dir / "art", "Art.\n%\n");
  std::filesystem::create_symlink(dir / "pets", dir / "pets.u8");
  const std::vector<TextSource> sources = ReadFortunes(dir.path());
  REQUIRE(sources.size() == 2);
  CHECK(sources[0].name == "art");
  CHECK(sources[0].text == U"Art.\n\n");
  CHECK(sources[1].name == "pets");
  CHECK(sources[1].text == U"A cat.\n\nA dog\nbarks.\n\n");
  CHECK(HasSubstr(ThrownMessage<IoError>([&] { ReadFortunes(dir / "none"); }),
                  "install the Debian packages fortunes and fortunes-min"));
}

TEST_CASE("TextDataRef: format and parse round-trip - malformed names refused") {
  TextDataRef ref;
  ref.path = "/data/corpus";
  ref.options.seq_len = 32;
  ref.options.vocab_size = 80;
  CHECK(FormatTextDataRef(ref) == "text:t32:v80:/data/corpus");
  const TextDataRef back = ParseTextDataRef("fortunes:t16:v64:/usr/share/games/fortunes");
  CHECK(back.fortunes);
  CHECK(back.options.seq_len == 16);
  CHECK(back.options.vocab_size == 64);
  CHECK(back.path == "/usr/share/games/fortunes");
  CHECK(IsTextDataRef("text:t1:v2:x"));
  CHECK_FALSE(IsTextDataRef("fmnist/train"));
  CHECK_THROWS_AS(ParseTextDataRef("text:/data"), ConfigError);
  CHECK_THROWS_AS(ParseTextDataRef("text:tx:v80:/data"), ConfigError);
  CHECK_THROWS_AS(ParseTextDataRef("text:t32:v80:"), ConfigError);
}

TEST_CASE("TextDataRef: a train_subset keeps the first windows of each file by name") {
  TextDataRef ref;
  ref.path = "/data/corpus";
  ref.options.seq_len = 2;
  ref.options.vocab_size = 30;
  ref.train_subset = 4;
  CHECK(FormatTextDataRef(ref) == "text:t2:v30:n4:/data/corpus");
  const TextDataRef back = ParseTextDataRef("text:t2:v30:n4:/data/corpus");
  CHECK(back.train_subset == 4);
  CHECK(back.path == "/data/corpus");
  // A path starting with n but not n<digits>: is a path.
  CHECK(ParseTextDataRef("text:t2:v30:n4x:/data").path == "n4x:/data");
  CHECK(ParseTextDataRef("text:t2:v30:n:x").path == "n:x");
  CHECK(ParseTextDataRef("text:t2:v30:./n4:x").path == "./n4:x");
  CHECK_THROWS_AS(ParseTextDataRef("text:t2:v30:n4:"), ConfigError);

  // Files of 7 and 5 training windows (T = 2; 8 and 6 windows, the last of
  // each for test): n = 4 keeps the first max(1, 4 / 2) = 2 of each.
  TempDir dir;
  WriteFile(dir / "a.txt", "abcdefghijklmnopq");
  WriteFile(dir / "b.txt", "ABCDEFGHIJKLM");
  ref.path = dir.path();
  const TextCorpus subset = LoadTextCorpus(ref);
  ref.train_subset = 0;
  const TextCorpus all = LoadTextCorpus(ref);
  REQUIRE(all.train.size() == 12);
  REQUIRE(subset.train.size() == 4);
  CHECK(subset.train_source == std::vector<uint32_t>{0, 0, 1, 1});
  for (const auto& [row, full_row] : {std::pair{0, 0}, {1, 1}, {2, 7}, {3, 8}})
    CHECK(Row(subset.train, row) == Row(all.train, full_row));
  // The vocabulary and the test windows are those of the whole corpus.
  CHECK(subset.vocabulary.characters() == all.vocabulary.characters());
  CHECK(subset.test.features == all.test.features);
  CHECK(subset.train.name == "text:t2:v30:n4:" + dir.path().string());
}

TEST_CASE("MakeSourcePartition: whole sources for few clients - contiguous runs for more") {
  // Sources of 5, 2 and 3 windows.
  const std::vector<uint32_t> sources = {0, 0, 0, 0, 0, 1, 1, 2, 2, 2};
  PartitionSpec spec;
  spec.num_clients = 3;
  Partition p = MakeSourcePartition(spec, sources, 3, "toy");
  CHECK(p.spec.scheme == PartitionScheme::kBySource);
  CHECK(p.clients == std::vector<std::vector<uint32_t>>{{0, 1, 2, 3, 4}, {5, 6}, {7, 8, 9}});
  spec.num_clients = 2;  // sources [0, 1) and [1, 3)
  p = MakeSourcePartition(spec, sources, 3, "toy");
  CHECK(p.clients == std::vector<std::vector<uint32_t>>{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}});
  // 5 clients: the extras go to source 0 (5/1), then source 0 again (5/2 >
  // 3/1? no: 2.5 < 3, so source 2 gets the 5th).
  spec.num_clients = 5;
  p = MakeSourcePartition(spec, sources, 3, "toy");
  CHECK(p.clients == std::vector<std::vector<uint32_t>>{{0, 1, 2}, {3, 4}, {5, 6}, {7, 8}, {9}});
  spec.num_clients = 11;
  CHECK_THROWS_AS(MakeSourcePartition(spec, sources, 3, "toy"), ConfigError);
  CHECK(PartitionSchemeName(PartitionScheme::kBySource) == "by_source");
  CHECK(ParsePartitionScheme("by_source") == PartitionScheme::kBySource);
  const std::vector<int32_t> labels(10, 0);
  CHECK_THROWS_AS(MakePartition(spec, labels, 1, "toy"), ConfigError);
}

TEST_CASE("Text samples work with the IID and quantity-skew partitions") {
  std::u32string text;
  for (int i = 0; i < 200; ++i)
    text.push_back(static_cast<char32_t>(U'a' + i % 7));
  TextOptions options;
  options.seq_len = 4;
  const TextCorpus corpus = MakeTextCorpus({{"s", text}}, options, "toy");
  for (const char* scheme : {"iid", "quantity"}) {
    PartitionSpec spec;
    spec.scheme = ParsePartitionScheme(scheme);
    spec.num_clients = 4;
    const Partition p =
        MakePartition(spec, corpus.train.labels, corpus.train.num_classes, corpus.train.name);
    size_t total = 0;
    for (const auto& client : p.clients)
      total += client.size();
    CHECK(total == corpus.train.size());
  }
}

}  // namespace
}  // namespace edgefl::datasets
