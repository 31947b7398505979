// Writes the seed corpus of the fuzz targets: one valid input per message
// type (framed and as a bare payload) for frame_decoder_fuzzer, a small
// valid file of each format for loaders_fuzzer, and an encoding of each
// codec for codec_fuzzer. The committed corpus under
// fuzz/corpus/ is this program's output:
//   make_seed_corpus <fuzz/corpus>
// Inputs start with the targets' two selector bytes (see each target).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <zlib.h>

#include "common/error.h"
#include "common/random.h"
#include "compress/codec.h"
#include "datasets/partition_file.h"
#include "wire/compressed_messages.h"
#include "wire/group_messages.h"
#include "wire/messages.h"
#include "wire/peer_messages.h"
#include "wire/secagg_messages.h"

namespace {

namespace fs = std::filesystem;
namespace wire = edgefl::wire;

void Write(const fs::path& path, uint8_t b0, uint8_t b1, const std::vector<uint8_t>& body) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(b0));
  out.put(static_cast<char>(b1));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  if (!out) throw edgefl::IoError("cannot write " + path.string());
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

std::vector<wire::Message> SampleMessages() {
  Eigen::VectorXf params(6);
  params << 0.25f, -1.5f, 3.0f, 0.0f, -0.0f, 1e-3f;
  wire::Hello hello;
  hello.client_id = "client-7";
  hello.agent = "edgefl-client 0.1.0";
  hello.device = {8, 4ull << 30, 13912.5, 6000, 10, 784};
  wire::Welcome welcome;
  welcome.session_id = "s-1";
  welcome.run_id = "run";
  welcome.model_spec = "mlp";
  welcome.num_parameters = 6;
  welcome.run_config = {
      {"flag", true}, {"n", int64_t{-42}}, {"x", 0.125}, {"name", std::string("fmnist")}};
  wire::TrainTask task;
  task.round = 3;
  task.model_version = 2;
  task.model_spec = "mlp";
  task.deadline_seconds = 60.0;
  task.local.objective = "fedbr";
  task.local.params = {{"gamma", 0.05}, {"mu", 0.01}};
  Eigen::MatrixXf pool(2, 2);  // FedBR's shared pseudo-data pool
  pool << 0.5f, 0.25f, -1.0f, 2.0f;
  task.pseudo_data = std::make_shared<const Eigen::MatrixXf>(pool);
  task.parameters = params;
  wire::TrainResult result;
  result.round = 3;
  result.base_version = 2;
  result.train.parameters = params;
  result.train.num_samples = 100;
  result.train.steps = 4;
  wire::EvalTask eval;
  eval.round = 3;
  eval.model_spec = "mlp";
  eval.parameters = params;
  eval.pseudo_data.images = 2;  // FedBR's pseudo-data upload request
  eval.pseudo_data.samples = {0, 4, 1, 3};
  wire::EvalResult eval_result;
  eval_result.round = 3;
  eval_result.eval.num_samples = 50;
  eval_result.eval.accuracy = 0.5;
  eval_result.eval.per_class_accuracy = {0.25, 0.75, 1.0};
  eval_result.pseudo_data = pool;  // the means that answer it
  wire::Heartbeat heartbeat{4, 3, 0.5};
  wire::Bye bye{"run finished"};
  wire::ErrorMessage error{wire::ErrorCode::kBadTask, "model does not fit the data"};
  return {hello, welcome, task, result, eval, eval_result, heartbeat, bye, error};
}

void WriteFrameSeeds(const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<uint8_t> session;  // all messages in one stream
  for (const wire::Message& m : SampleMessages()) {
    const std::string name(wire::MessageTypeName(wire::TypeOf(m)));
    const auto type = static_cast<uint8_t>(wire::TypeOf(m));
    Write(dir / ("payload-" + name), 1, type, wire::EncodePayload(m));
    const std::vector<uint8_t> frame = wire::EncodeMessage(m);
    Write(dir / ("frame-" + name), 0, 255, frame);
    session.insert(session.end(), frame.begin(), frame.end());
  }
  // The other families, each message as its default value (fields empty
  // or zero; the fuzzer grows them from there), and compressed messages
  // with a real encoding.
  auto write_payload = [&](wire::MessageType type, const std::vector<uint8_t>& payload) {
    const std::string name(wire::MessageTypeName(type));
    Write(dir / ("payload-" + name), 1, static_cast<uint8_t>(type), payload);
    std::vector<uint8_t> frame(wire::kFrameHeaderSize);
    wire::WriteFrameHeader(
        {wire::kProtocolVersion, type, static_cast<uint32_t>(payload.size())},
        std::span<uint8_t, wire::kFrameHeaderSize>(frame.data(), wire::kFrameHeaderSize));
    frame.insert(frame.end(), payload.begin(), payload.end());
    Write(dir / ("frame-" + name), 0, 255, frame);
  };
  auto strip = [](const std::vector<uint8_t>& frame) {
    return std::vector<uint8_t>(frame.begin() + wire::kFrameHeaderSize, frame.end());
  };
  auto each = [&]<typename Variant>(std::type_identity<Variant>, auto encode) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      (
          (void)[&] {
            const Variant m = std::variant_alternative_t<I, Variant>{};
            write_payload(wire::TypeOf(m), encode(m));
          }(),
          ...);
    }
    (std::make_index_sequence<std::variant_size_v<Variant>>{});
  };
  each(std::type_identity<wire::SecAggMessage>{},
       [](const wire::SecAggMessage& m) { return wire::EncodeSecAggPayload(m); });
  each(std::type_identity<wire::PeerMessage>{},
       [&](const wire::PeerMessage& m) { return strip(wire::EncodePeerMessage(m)); });
  edgefl::Rng rng(1);
  const std::vector<float> values = {0.5f, -1.25f, 0.0f, 3.0f, -0.001f, 7.5f};
  const edgefl::compress::CompressionConfig int8{
      .codec = edgefl::compress::Codec::kInt8, .topk_fraction = 0.5, .int8_block = 4};
  wire::CompressedUpdate update;
  update.round = 3;
  update.codec = edgefl::compress::Codec::kInt8;
  update.update = edgefl::compress::Encode(values, int8, rng);
  write_payload(wire::MessageType::kCompressedUpdate,
                strip(wire::EncodeCompressedMessage(wire::CompressedMessage(update))));
  wire::CompressedModel model;
  model.round = 3;
  model.upload = int8;
  model.model.bytes = edgefl::compress::Encode(values, edgefl::compress::CompressionConfig{}, rng);
  write_payload(wire::MessageType::kCompressedModel,
                strip(wire::EncodeCompressedMessage(wire::CompressedMessage(model))));
  wire::GroupSum sum;
  sum.round = 3;
  sum.clients = 4;
  sum.dropped = 1;
  sum.weight = 6000;
  sum.sum =
      Eigen::Map<const Eigen::VectorXf>(values.data(), static_cast<Eigen::Index>(values.size()));
  write_payload(wire::MessageType::kGroupSum,
                strip(wire::EncodeGroupMessage(wire::GroupMessage(sum))));
}

void WriteCodecSeeds(const fs::path& dir) {
  namespace compress = edgefl::compress;
  fs::create_directories(dir);
  edgefl::Rng rng(2);
  const std::vector<float> values = {0.5f, -1.25f, 0.0f, 3.0f, -0.001f, 7.5f, 1e-8f, -2.0f};
  for (compress::Codec codec : {compress::Codec::kNone, compress::Codec::kFp16,
                                compress::Codec::kInt8, compress::Codec::kTopK}) {
    const compress::CompressionConfig config{
        .codec = codec, .topk_fraction = 0.25, .int8_block = 3};
    // The codec byte is the whole selector (Write would add a second byte).
    std::vector<uint8_t> input = {static_cast<uint8_t>(codec)};
    const std::vector<uint8_t> encoded = compress::Encode(values, config, rng);
    input.insert(input.end(), encoded.begin(), encoded.end());
    std::ofstream out(dir / ("codec-" + std::string(compress::CodecName(codec))), std::ios::binary);
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size()));
    if (!out) throw edgefl::IoError("cannot write the codec seeds in " + dir.string());
  }
}

std::vector<uint8_t> Gzip(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(compressBound(data.size()) + 64);
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void WriteLoaderSeeds(const fs::path& dir) {
  fs::create_directories(dir);
  // IDX: 3 records of 2x2 unsigned bytes, plain and gzip.
  std::vector<uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
  for (uint8_t i = 0; i < 12; ++i)
    idx.push_back(static_cast<uint8_t>(i * 20));
  Write(dir / "idx-3x2x2", 0, 0, idx);
  Write(dir / "idx-3x2x2-gzip", 0, 1, Gzip(idx));
  Write(dir / "idx-labels", 0, 0, {0, 0, 8, 1, 0, 0, 0, 4, 1, 0, 9, 3});
  // CSV: with a header (auto) and label first; without, label last.
  Write(dir / "csv-header", 1, 1, Bytes("label,x1,x2\n0,0.5,1e-3\n2,-1,3.25\r\n\n1,2,.5\n"));
  Write(dir / "csv-label-last", 1, 2, Bytes("0.5,1,0\n1.5,2,1.0\n"));
  // Partition file, as edgefl partition writes it; ReadClientShare(1).
  edgefl::datasets::Partition p;
  p.spec.scheme = edgefl::datasets::PartitionScheme::kFeatureNoise;
  p.spec.seed = 7;
  p.spec.noise = 0.25;
  p.dataset = "fmnist/train";
  p.num_samples = 6;
  p.clients = {{0, 3}, {1, 4, 5}, {2}};
  p.noise_std = {0.0f, 0.125f, 0.25f};
  const fs::path tmp = dir / "partition.tmp";
  edgefl::datasets::WritePartitionFile(p, tmp);
  std::ifstream in(tmp, std::ios::binary);
  const std::vector<uint8_t> text((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  fs::remove(tmp);
  Write(dir / "partition-noise", 2, 1, text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seed_corpus <corpus dir>\n";
    return edgefl::kExitUsage;
  }
  try {
    const fs::path root = argv[1];
    WriteFrameSeeds(root / "frame_decoder");
    WriteLoaderSeeds(root / "loaders");
    WriteCodecSeeds(root / "codec");
  } catch (const std::exception& e) {
    return edgefl::ReportError("make_seed_corpus", e);
  }
  return 0;
}
