#include "mpi/task_codec.h"

#include <string>
#include <utility>
#include <variant>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::mpi {
namespace {

// kind u8, request u64, client u32, mode u8; then the TrainTask payload.
constexpr size_t kHeaderBytes = 1 + 8 + 4 + 1;
constexpr size_t kMaxErrorBytes = 1 << 16;

void WriteHeader(wire::ByteWriter& w, TaskKind kind, uint64_t request, uint32_t client,
                 ParametersMode mode) {
  w.U8(static_cast<uint8_t>(kind));
  w.U64(request);
  w.U32(client);
  w.U8(static_cast<uint8_t>(mode));
}

}  // namespace

std::vector<uint8_t> EncodeFitTask(uint64_t request, uint32_t client, ParametersMode mode,
                                   const Eigen::VectorXf* parameters,
                                   const train::FitInstructions& instructions) {
  std::vector<uint8_t> out;
  wire::ByteWriter w(&out);
  WriteHeader(w, TaskKind::kFit, request, client, mode);
  wire::TrainTask task;
  task.model_version = instructions.model_version;
  task.recipe = instructions.recipe;
  task.local = instructions.local;
  task.preconditioning = instructions.preconditioning;
  task.pseudo_data = instructions.pseudo_data;
  if (mode != ParametersMode::kSameGlobal && parameters != nullptr) task.parameters = *parameters;
  const std::vector<uint8_t> payload = wire::EncodePayload(wire::Message(std::move(task)));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> EncodeStopTask() {
  std::vector<uint8_t> out;
  wire::ByteWriter w(&out);
  WriteHeader(w, TaskKind::kStop, 0, 0, ParametersMode::kSameGlobal);
  return out;
}

Task DecodeTask(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) {
    throw wire::ProtocolError("MPI task: " + std::to_string(bytes.size()) +
                              " bytes, shorter than its header");
  }
  wire::ByteReader r(bytes.first(kHeaderBytes), "MPI task");
  Task task;
  const uint8_t kind = r.U8("kind");
  if (kind != static_cast<uint8_t>(TaskKind::kFit) && kind != static_cast<uint8_t>(TaskKind::kStop))
    r.Fail("kind", "unknown kind " + std::to_string(kind));
  task.kind = static_cast<TaskKind>(kind);
  task.request = r.U64("request");
  task.client = r.U32("client");
  const uint8_t mode = r.U8("mode");
  if (mode > static_cast<uint8_t>(ParametersMode::kStart))
    r.Fail("mode", "unknown mode " + std::to_string(mode));
  task.mode = static_cast<ParametersMode>(mode);
  if (task.kind == TaskKind::kStop) {
    if (bytes.size() != kHeaderBytes) r.Fail("stop", "trailing bytes");
    return task;
  }
  wire::Message message =
      wire::DecodeMessage(wire::MessageType::kTrainTask, bytes.subspan(kHeaderBytes));
  wire::TrainTask& train = std::get<wire::TrainTask>(message);
  task.instructions.model_version = train.model_version;
  task.instructions.recipe = std::move(train.recipe);
  task.instructions.local = std::move(train.local);
  task.instructions.preconditioning = std::move(train.preconditioning);
  task.instructions.pseudo_data = std::move(train.pseudo_data);
  task.parameters = std::move(train.parameters);
  return task;
}

std::vector<uint8_t> EncodeResult(uint64_t request, const train::FitResult& result) {
  std::vector<uint8_t> out;
  wire::ByteWriter w(&out);
  const train::LocalTrainResult& t = result.train;
  w.U64(request);
  w.Bool(true);
  w.String(result.client);
  w.I64(result.base_version);
  w.I64(result.bytes_out);
  w.I64(result.bytes_in);
  w.U64(t.num_samples);
  w.I64(t.steps);
  w.I64(t.samples_processed);
  w.F64(t.loss_before);
  w.F64(t.loss_after);
  w.F64(t.train_loss);
  w.F64(t.compute_seconds);
  w.F64(t.loss_sq_before);
  w.F32Array({t.scaling_statistic.data(), static_cast<size_t>(t.scaling_statistic.size())});
  w.F32Array({t.parameters.data(), static_cast<size_t>(t.parameters.size())});
  return out;
}

std::vector<uint8_t> EncodeFailure(uint64_t request, const std::string& error) {
  std::vector<uint8_t> out;
  wire::ByteWriter w(&out);
  w.U64(request);
  w.Bool(false);
  w.String(error.size() > kMaxErrorBytes ? error.substr(0, kMaxErrorBytes) : error);
  return out;
}

TaskResult DecodeResult(std::span<const uint8_t> bytes) {
  wire::ByteReader r(bytes, "MPI result");
  TaskResult out;
  out.request = r.U64("request");
  out.ok = r.Bool("ok");
  if (!out.ok) {
    out.error = r.String("error", kMaxErrorBytes);
    r.ExpectEnd();
    return out;
  }
  train::FitResult& result = out.result;
  train::LocalTrainResult& t = result.train;
  result.client = r.String("client", wire::kMaxIdBytes);
  result.base_version = r.I64("base_version");
  result.bytes_out = r.I64("bytes_out");
  result.bytes_in = r.I64("bytes_in");
  t.num_samples = static_cast<size_t>(r.U64("num_samples"));
  t.steps = r.I64("steps");
  t.samples_processed = r.I64("samples_processed");
  t.loss_before = r.F64("loss_before");
  t.loss_after = r.F64("loss_after");
  t.train_loss = r.F64("train_loss");
  t.compute_seconds = r.F64("compute_seconds");
  t.loss_sq_before = r.F64("loss_sq_before");
  t.scaling_statistic = r.F32Vector("scaling_statistic");
  t.parameters = r.F32Vector("parameters");
  r.ExpectEnd();
  return out;
}

}  // namespace edgefl::mpi
