#include "wire/messages.h"

#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

// Tags of typed parameter values (ParamValue's alternatives).
enum ParamTag : uint8_t { kTagBool = 0, kTagInt64 = 1, kTagFloat64 = 2, kTagString = 3 };

// ---- Encoding ----------------------------------------------------------------

std::span<const float> Floats(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

void WriteParamMap(ByteWriter& w, const train::ParamMap& params) {
  w.U32(static_cast<uint32_t>(params.size()));
  for (const auto& [key, value] : params) {
    w.String(key);
    std::visit(
        [&w](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            w.U8(kTagBool);
            w.Bool(v);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            w.U8(kTagInt64);
            w.I64(v);
          } else if constexpr (std::is_same_v<T, double>) {
            w.U8(kTagFloat64);
            w.F64(v);
          } else {
            w.U8(kTagString);
            w.String(v);
          }
        },
        value);
  }
}

// LocalAlgorithm's numbers in the same typed layout (all float64).
void WriteNumberMap(ByteWriter& w, const std::map<std::string, double>& params) {
  w.U32(static_cast<uint32_t>(params.size()));
  for (const auto& [key, value] : params) {
    w.String(key);
    w.U8(kTagFloat64);
    w.F64(value);
  }
}

void Write(ByteWriter& w, const Hello& m) {
  w.String(m.client_id);
  w.U16(m.protocol_version);
  w.String(m.agent);
  w.U32(m.device.cores);
  w.U64(m.device.memory_bytes);
  w.F64(m.device.samples_per_second);
  w.U64(m.device.dataset_size);
  w.U32(m.device.num_classes);
  w.U32(m.device.input_dim);
}

void Write(ByteWriter& w, const Welcome& m) {
  w.String(m.session_id);
  w.U16(m.protocol_version);
  w.F64(m.heartbeat_interval_seconds);
  w.String(m.run_id);
  w.String(m.model_spec);
  w.U64(m.num_parameters);
  WriteParamMap(w, m.run_config);
}

void Write(ByteWriter& w, const train::TrainRecipe& r) {
  w.I32(r.epochs);
  w.I64(r.local_steps);
  w.I32(r.batch_size);
  w.String(r.optimizer.name);
  w.F32(r.optimizer.learning_rate);
  w.F32(r.optimizer.momentum);
  w.Bool(r.optimizer.nesterov);
  w.F32(r.optimizer.weight_decay);
  w.F32(r.optimizer.beta1);
  w.F32(r.optimizer.beta2);
  w.F32(r.optimizer.epsilon);
  w.F32(r.optimizer.oasis_alpha);
  w.Bool(r.reset_optimizer);
  w.F32(r.clip_norm);
  w.F32(r.clip_coordinate_fraction);
  w.Bool(r.measure_loss);
  w.U64(r.seed);
  w.I64(r.step_offset);
  // The per-step schedule: kind 0 = none, then its fields (the defaults when none).
  const train::LrSchedule schedule = r.lr_schedule.value_or(train::LrSchedule{});
  w.U8(r.lr_schedule ? static_cast<uint8_t>(static_cast<int>(schedule.kind) + 1) : 0);
  w.F64(schedule.base);
  w.F64(schedule.decay);
  w.I64(schedule.step_every);
  w.F64(schedule.floor);
  w.I64(schedule.total);
  w.I64(schedule.warmup);
}

// A float matrix: u32 columns, then the values column after column (an
// f32[] whose count is a multiple of the columns; 0 columns: no values).
void WriteMatrix(ByteWriter& w, const Eigen::MatrixXf& m) {
  w.U32(static_cast<uint32_t>(m.cols()));
  w.F32Array(std::span<const float>(m.data(), static_cast<size_t>(m.size())));
}

void Write(ByteWriter& w, const TrainTask& m) {
  w.I64(m.round);
  w.I64(m.model_version);
  w.String(m.model_spec);
  w.F64(m.deadline_seconds);
  Write(w, m.recipe);
  w.String(m.local.objective);
  w.String(m.local.data_order);
  WriteNumberMap(w, m.local.params);
  w.U8(static_cast<uint8_t>(m.preconditioning.statistic));
  if (m.preconditioning.has_diagonal()) {
    w.F32Array(Floats(*m.preconditioning.diagonal));
  } else {
    w.F32Array({});
  }
  WriteMatrix(w, m.pseudo_data ? *m.pseudo_data : Eigen::MatrixXf());
  w.F32Array(Floats(m.parameters));
}

void Write(ByteWriter& w, const TrainResult& m) {
  w.I64(m.round);
  w.I64(m.base_version);
  w.U64(m.train.num_samples);
  w.I64(m.train.steps);
  w.I64(m.train.samples_processed);
  w.F64(m.train.loss_before);
  w.F64(m.train.loss_sq_before);
  w.F64(m.train.loss_after);
  w.F64(m.train.train_loss);
  w.F64(m.train.compute_seconds);
  w.F32Array(Floats(m.train.scaling_statistic));
  w.F32Array(Floats(m.train.parameters));
}

void Write(ByteWriter& w, const EvalTask& m) {
  w.I64(m.round);
  w.I64(m.model_version);
  w.String(m.model_spec);
  w.I32(m.batch_size);
  w.F64(m.deadline_seconds);
  w.U32(m.pseudo_data.images);
  w.U32Array(m.pseudo_data.samples);
  w.F32Array(Floats(m.parameters));
}

void Write(ByteWriter& w, const EvalResult& m) {
  w.I64(m.round);
  w.I64(m.model_version);
  w.U64(m.eval.num_samples);
  w.F64(m.eval.loss);
  w.F64(m.eval.accuracy);
  w.F64Array(m.eval.per_class_accuracy);
  w.F64(m.compute_seconds);
  WriteMatrix(w, m.pseudo_data);
}

void Write(ByteWriter& w, const Heartbeat& m) {
  w.U64(m.sequence);
  w.I64(m.round);
  w.F64(m.progress);
}

void Write(ByteWriter& w, const Bye& m) {
  w.String(m.reason);
}

void Write(ByteWriter& w, const ErrorMessage& m) {
  w.U16(static_cast<uint16_t>(m.code));
  w.String(m.message);
}

// Upper bound of a message's payload size, so the buffer is allocated once
// and the parameters are never copied by a reallocation.
size_t MapBytes(const train::ParamMap& params) {
  size_t n = 4;
  for (const auto& [key, value] : params) {
    n += 4 + key.size() + 1 + 8;
    if (const auto* s = std::get_if<std::string>(&value)) n += 4 + s->size();
  }
  return n;
}

constexpr size_t kFixed = 256;  // every fixed-size field of any message fits

size_t Bound(const Hello& m) {
  return kFixed + m.client_id.size() + m.agent.size();
}
size_t Bound(const Welcome& m) {
  return kFixed + m.session_id.size() + m.run_id.size() + m.model_spec.size() +
         MapBytes(m.run_config);
}
size_t Bound(const TrainTask& m) {
  size_t n = kFixed + m.model_spec.size() + m.recipe.optimizer.name.size() +
             m.local.objective.size() + m.local.data_order.size() +
             4 * static_cast<size_t>(m.parameters.size());
  if (m.preconditioning.has_diagonal()) {
    n += 4 * static_cast<size_t>(m.preconditioning.diagonal->size());
  }
  for (const auto& entry : m.local.params)
    n += 4 + entry.first.size() + 1 + 8;
  if (m.pseudo_data) n += 4 * static_cast<size_t>(m.pseudo_data->size());
  return n;
}
size_t Bound(const TrainResult& m) {
  return kFixed + 4 * static_cast<size_t>(m.train.parameters.size()) +
         4 * static_cast<size_t>(m.train.scaling_statistic.size());
}
size_t Bound(const EvalTask& m) {
  return kFixed + m.model_spec.size() + 4 * static_cast<size_t>(m.parameters.size()) +
         4 * m.pseudo_data.samples.size();
}
size_t Bound(const EvalResult& m) {
  return kFixed + 8 * m.eval.per_class_accuracy.size() +
         4 * static_cast<size_t>(m.pseudo_data.size());
}
size_t Bound(const Heartbeat&) {
  return kFixed;
}
size_t Bound(const Bye& m) {
  return kFixed + m.reason.size();
}
size_t Bound(const ErrorMessage& m) {
  return kFixed + m.message.size();
}

template <typename M>
void EncodeInto(const M& message, std::vector<uint8_t>* out) {
  out->reserve(out->size() + Bound(message));
  ByteWriter w(out);
  Write(w, message);
}

template <typename M>
constexpr MessageType TypeOfAlternative() {
  if constexpr (std::is_same_v<M, Hello>)
    return MessageType::kHello;
  else if constexpr (std::is_same_v<M, Welcome>)
    return MessageType::kWelcome;
  else if constexpr (std::is_same_v<M, TrainTask>)
    return MessageType::kTrainTask;
  else if constexpr (std::is_same_v<M, TrainResult>)
    return MessageType::kTrainResult;
  else if constexpr (std::is_same_v<M, EvalTask>)
    return MessageType::kEvalTask;
  else if constexpr (std::is_same_v<M, EvalResult>)
    return MessageType::kEvalResult;
  else if constexpr (std::is_same_v<M, Heartbeat>)
    return MessageType::kHeartbeat;
  else if constexpr (std::is_same_v<M, Bye>)
    return MessageType::kBye;
  else
    return MessageType::kError;
}

// Header placeholder, payload, then the header with the real length.
template <typename M>
std::vector<uint8_t> EncodeFrameOf(const M& message) {
  std::vector<uint8_t> out;
  out.reserve(kFrameHeaderSize + Bound(message));
  out.resize(kFrameHeaderSize);
  EncodeInto(message, &out);
  WriteFrameHeader({FrameVersionOf(TypeOfAlternative<M>()), TypeOfAlternative<M>(),
                    static_cast<uint32_t>(out.size() - kFrameHeaderSize)},
                   std::span<uint8_t, kFrameHeaderSize>(out.data(), kFrameHeaderSize));
  return out;
}

// ---- Decoding ----------------------------------------------------------------

std::string KeyField(std::string_view map_field, size_t i, std::string_view what) {
  return std::string(map_field) + "[" + std::to_string(i) + "]." + std::string(what);
}

// Reads the entry count and checks it; each entry needs at least 4 + 1
// bytes, so the count is bounded by the payload before anything is built.
uint32_t ReadMapCount(ByteReader& r, std::string_view field) {
  const uint32_t n = r.U32(field);
  if (n > kMaxParams) {
    r.Fail(field, "count " + std::to_string(n) + " over limit " + std::to_string(kMaxParams));
  }
  return n;
}

void CheckNewKey(ByteReader& r, std::string_view field, bool inserted, const std::string& key) {
  if (!inserted) r.Fail(field, "duplicate key \"" + key + "\"");
}

train::ParamMap ReadParamMap(ByteReader& r, std::string_view field) {
  const uint32_t n = ReadMapCount(r, field);
  train::ParamMap params;
  for (uint32_t i = 0; i < n; ++i) {
    std::string key = r.String(KeyField(field, i, "key"), kMaxIdBytes);
    const std::string value_field = KeyField(field, i, "value");
    const uint8_t tag = r.U8(KeyField(field, i, "tag"));
    train::ParamValue value;
    switch (tag) {
      case kTagBool:
        value = r.Bool(value_field);
        break;
      case kTagInt64:
        value = r.I64(value_field);
        break;
      case kTagFloat64:
        value = r.F64(value_field);
        break;
      case kTagString:
        value = r.String(value_field, kMaxTextBytes);
        break;
      default:
        r.Fail(KeyField(field, i, "tag"), "unknown value tag " + std::to_string(tag));
    }
    CheckNewKey(r, field, params.emplace(key, std::move(value)).second, key);
  }
  return params;
}

std::map<std::string, double> ReadNumberMap(ByteReader& r, std::string_view field) {
  const uint32_t n = ReadMapCount(r, field);
  std::map<std::string, double> params;
  for (uint32_t i = 0; i < n; ++i) {
    std::string key = r.String(KeyField(field, i, "key"), kMaxIdBytes);
    const std::string value_field = KeyField(field, i, "value");
    const uint8_t tag = r.U8(KeyField(field, i, "tag"));
    double value = 0.0;
    switch (tag) {
      case kTagInt64:
        value = static_cast<double>(r.I64(value_field));
        break;
      case kTagFloat64:
        value = r.F64(value_field);
        break;
      case kTagBool:
      case kTagString:
        r.Fail(value_field,
               "\"" + key + "\" must be a number, got a " + (tag == kTagBool ? "bool" : "string"));
      default:
        r.Fail(KeyField(field, i, "tag"), "unknown value tag " + std::to_string(tag));
    }
    CheckNewKey(r, field, params.emplace(key, value).second, key);
  }
  return params;
}

Hello ReadHello(ByteReader& r) {
  Hello m;
  m.client_id = r.String("client_id", kMaxIdBytes);
  m.protocol_version = r.U16("protocol_version");
  m.agent = r.String("agent", kMaxIdBytes);
  m.device.cores = r.U32("device.cores");
  m.device.memory_bytes = r.U64("device.memory_bytes");
  m.device.samples_per_second = r.F64("device.samples_per_second");
  m.device.dataset_size = r.U64("device.dataset_size");
  m.device.num_classes = r.U32("device.num_classes");
  m.device.input_dim = r.U32("device.input_dim");
  return m;
}

Welcome ReadWelcome(ByteReader& r) {
  Welcome m;
  m.session_id = r.String("session_id", kMaxIdBytes);
  m.protocol_version = r.U16("protocol_version");
  m.heartbeat_interval_seconds = r.F64("heartbeat_interval_seconds");
  m.run_id = r.String("run_id", kMaxIdBytes);
  m.model_spec = r.String("model_spec", kMaxSpecBytes);
  m.num_parameters = r.U64("num_parameters");
  m.run_config = ReadParamMap(r, "run_config");
  return m;
}

train::TrainRecipe ReadRecipe(ByteReader& r) {
  train::TrainRecipe c;
  c.epochs = r.I32("recipe.epochs");
  c.local_steps = r.I64("recipe.local_steps");
  c.batch_size = r.I32("recipe.batch_size");
  c.optimizer.name = r.String("recipe.optimizer.name", kMaxIdBytes);
  c.optimizer.learning_rate = r.F32("recipe.optimizer.learning_rate");
  c.optimizer.momentum = r.F32("recipe.optimizer.momentum");
  c.optimizer.nesterov = r.Bool("recipe.optimizer.nesterov");
  c.optimizer.weight_decay = r.F32("recipe.optimizer.weight_decay");
  c.optimizer.beta1 = r.F32("recipe.optimizer.beta1");
  c.optimizer.beta2 = r.F32("recipe.optimizer.beta2");
  c.optimizer.epsilon = r.F32("recipe.optimizer.epsilon");
  c.optimizer.oasis_alpha = r.F32("recipe.optimizer.oasis_alpha");
  c.reset_optimizer = r.Bool("recipe.reset_optimizer");
  c.clip_norm = r.F32("recipe.clip_norm");
  c.clip_coordinate_fraction = r.F32("recipe.clip_coordinate_fraction");
  c.measure_loss = r.Bool("recipe.measure_loss");
  c.seed = r.U64("recipe.seed");
  c.step_offset = r.I64("recipe.step_offset");
  const uint8_t kind = r.U8("recipe.lr_schedule.kind");
  if (kind > static_cast<int>(train::LrScheduleKind::kCosine) + 1) {
    throw ProtocolError("TrainTask.recipe.lr_schedule.kind: unknown schedule " +
                        std::to_string(kind) + " (0 none, 1 constant, 2 step, 3 cosine)");
  }
  train::LrSchedule schedule;
  schedule.kind = static_cast<train::LrScheduleKind>(kind == 0 ? 0 : kind - 1);
  schedule.base = r.F64("recipe.lr_schedule.base");
  schedule.decay = r.F64("recipe.lr_schedule.decay");
  schedule.step_every = r.I64("recipe.lr_schedule.step_every");
  schedule.floor = r.F64("recipe.lr_schedule.floor");
  schedule.total = r.I64("recipe.lr_schedule.total");
  schedule.warmup = r.I64("recipe.lr_schedule.warmup");
  if (kind != 0) c.lr_schedule = schedule;
  return c;
}

Eigen::MatrixXf ReadMatrix(ByteReader& r, const std::string& field) {
  const uint32_t columns = r.U32(field + ".columns");
  Eigen::VectorXf values = r.F32Vector(field + ".values");
  if (columns == 0 ? values.size() != 0 : values.size() % columns != 0) {
    r.Fail(field + ".values", std::to_string(values.size()) + " floats do not fill " +
                                  std::to_string(columns) + " columns");
  }
  if (columns == 0) return Eigen::MatrixXf();
  return Eigen::Map<const Eigen::MatrixXf>(values.data(), values.size() / columns, columns);
}

TrainTask ReadTrainTask(ByteReader& r) {
  TrainTask m;
  m.round = r.I64("round");
  m.model_version = r.I64("model_version");
  m.model_spec = r.String("model_spec", kMaxSpecBytes);
  m.deadline_seconds = r.F64("deadline_seconds");
  m.recipe = ReadRecipe(r);
  m.local.objective = r.String("local.objective", kMaxIdBytes);
  m.local.data_order = r.String("local.data_order", kMaxIdBytes);
  m.local.params = ReadNumberMap(r, "local.params");
  const uint8_t statistic = r.U8("preconditioning.statistic");
  if (statistic > static_cast<uint8_t>(train::ScalingStatistic::kHutchinson)) {
    r.Fail("preconditioning.statistic", "unknown statistic " + std::to_string(statistic));
  }
  m.preconditioning.statistic = static_cast<train::ScalingStatistic>(statistic);
  Eigen::VectorXf diagonal = r.F32Vector("preconditioning.diagonal");
  if (diagonal.size() > 0) {
    m.preconditioning.diagonal = std::make_shared<const Eigen::VectorXf>(std::move(diagonal));
  }
  Eigen::MatrixXf pool = ReadMatrix(r, "pseudo_data");
  if (pool.size() > 0) m.pseudo_data = std::make_shared<const Eigen::MatrixXf>(std::move(pool));
  m.parameters = r.F32Vector("parameters");
  return m;
}

TrainResult ReadTrainResult(ByteReader& r) {
  TrainResult m;
  m.round = r.I64("round");
  m.base_version = r.I64("base_version");
  m.train.num_samples = r.U64("num_samples");
  m.train.steps = r.I64("steps");
  m.train.samples_processed = r.I64("samples_processed");
  m.train.loss_before = r.F64("loss_before");
  m.train.loss_sq_before = r.F64("loss_sq_before");
  m.train.loss_after = r.F64("loss_after");
  m.train.train_loss = r.F64("train_loss");
  m.train.compute_seconds = r.F64("compute_seconds");
  m.train.scaling_statistic = r.F32Vector("scaling_statistic");
  m.train.parameters = r.F32Vector("parameters");
  return m;
}

EvalTask ReadEvalTask(ByteReader& r) {
  EvalTask m;
  m.round = r.I64("round");
  m.model_version = r.I64("model_version");
  m.model_spec = r.String("model_spec", kMaxSpecBytes);
  m.batch_size = r.I32("batch_size");
  m.deadline_seconds = r.F64("deadline_seconds");
  m.pseudo_data.images = r.U32("pseudo_data.images");
  m.pseudo_data.samples = r.U32Vector("pseudo_data.samples", kMaxPseudoDataSamples);
  if (m.pseudo_data.images == 0 ? !m.pseudo_data.samples.empty()
                                : m.pseudo_data.samples.size() % m.pseudo_data.images != 0) {
    r.Fail("pseudo_data.samples", std::to_string(m.pseudo_data.samples.size()) +
                                      " samples in groups of " +
                                      std::to_string(m.pseudo_data.images));
  }
  m.parameters = r.F32Vector("parameters");
  return m;
}

EvalResult ReadEvalResult(ByteReader& r) {
  EvalResult m;
  m.round = r.I64("round");
  m.model_version = r.I64("model_version");
  m.eval.num_samples = r.U64("num_samples");
  m.eval.loss = r.F64("loss");
  m.eval.accuracy = r.F64("accuracy");
  m.eval.per_class_accuracy = r.F64Vector("per_class_accuracy", kMaxClasses);
  m.compute_seconds = r.F64("compute_seconds");
  m.pseudo_data = ReadMatrix(r, "pseudo_data");
  return m;
}

Heartbeat ReadHeartbeat(ByteReader& r) {
  Heartbeat m;
  m.sequence = r.U64("sequence");
  m.round = r.I64("round");
  m.progress = r.F64("progress");
  return m;
}

Bye ReadBye(ByteReader& r) {
  return Bye{r.String("reason", kMaxTextBytes)};
}

ErrorMessage ReadError(ByteReader& r) {
  ErrorMessage m;
  m.code = static_cast<ErrorCode>(r.U16("code"));
  m.message = r.String("message", kMaxTextBytes);
  return m;
}

template <typename M>
Message Finish(ByteReader& r, M message) {
  r.ExpectEnd();
  return Message(std::move(message));
}

}  // namespace

MessageType TypeOf(const Message& message) {
  return std::visit([](const auto& m) { return TypeOfAlternative<std::decay_t<decltype(m)>>(); },
                    message);
}

std::vector<uint8_t> EncodePayload(const Message& message) {
  std::vector<uint8_t> out;
  std::visit([&out](const auto& m) { EncodeInto(m, &out); }, message);
  return out;
}

std::vector<uint8_t> EncodeMessage(const Message& message) {
  return std::visit([](const auto& m) { return EncodeFrameOf(m); }, message);
}

template <WireMessage M>
std::vector<uint8_t> EncodeMessage(const M& message) {
  return EncodeFrameOf(message);
}

template std::vector<uint8_t> EncodeMessage(const Hello&);
template std::vector<uint8_t> EncodeMessage(const Welcome&);
template std::vector<uint8_t> EncodeMessage(const TrainTask&);
template std::vector<uint8_t> EncodeMessage(const TrainResult&);
template std::vector<uint8_t> EncodeMessage(const EvalTask&);
template std::vector<uint8_t> EncodeMessage(const EvalResult&);
template std::vector<uint8_t> EncodeMessage(const Heartbeat&);
template std::vector<uint8_t> EncodeMessage(const Bye&);
template std::vector<uint8_t> EncodeMessage(const ErrorMessage&);

Message DecodeMessage(MessageType type, std::span<const uint8_t> payload) {
  const uint16_t raw = static_cast<uint16_t>(type);
  if (!IsKnownMessageType(raw)) {
    throw ProtocolError("message: unknown message type " + std::to_string(raw));
  }
  ByteReader r(payload, MessageTypeName(type));
  switch (type) {
    case MessageType::kHello:
      return Finish(r, ReadHello(r));
    case MessageType::kWelcome:
      return Finish(r, ReadWelcome(r));
    case MessageType::kTrainTask:
      return Finish(r, ReadTrainTask(r));
    case MessageType::kTrainResult:
      return Finish(r, ReadTrainResult(r));
    case MessageType::kEvalTask:
      return Finish(r, ReadEvalTask(r));
    case MessageType::kEvalResult:
      return Finish(r, ReadEvalResult(r));
    case MessageType::kHeartbeat:
      return Finish(r, ReadHeartbeat(r));
    case MessageType::kBye:
      return Finish(r, ReadBye(r));
    case MessageType::kError:
      return Finish(r, ReadError(r));
    case MessageType::kPeerJoin:
    case MessageType::kPeerAssignment:
    case MessageType::kNodeReport:
    case MessageType::kPeerHello:
    case MessageType::kPeerModel:
    case MessageType::kMetricsPlan:
    case MessageType::kMetricsModel:
    case MessageType::kGlobalMetrics:
      // D-SGD's messages have their own decoder (wire/peer_messages.h).
      throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                          " is a D-SGD peer message, not expected here");
    case MessageType::kSecAggTrain:
    case MessageType::kSecAggSetup:
    case MessageType::kSecAggKeys:
    case MessageType::kSecAggNeighbourKeys:
    case MessageType::kSecAggShares:
    case MessageType::kSecAggRoutedShares:
    case MessageType::kSecAggMaskedInput:
    case MessageType::kSecAggUnmaskRequest:
    case MessageType::kSecAggUnmaskResponse:
    case MessageType::kSecAggDone:
    case MessageType::kSecAggCohort:
      // Secure aggregation's messages have their own decoder (wire/secagg_messages.h).
      throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                          " is a secure-aggregation message, not expected here");
    case MessageType::kCompressedModel:
    case MessageType::kCompressedUpdate:
      // Compressed updates have their own decoder (wire/compressed_messages.h).
      throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                          " is a compressed-update message, not expected here");
    case MessageType::kGroupSum:
      // Edge aggregators' messages have their own decoder (wire/group_messages.h).
      throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                          " is an edge-aggregator message, not expected here");
  }
  throw ProtocolError("message: unknown message type " + std::to_string(raw));
}

Message DecodeMessage(const Frame& frame) {
  return DecodeMessage(frame.type, frame.payload);
}

}  // namespace edgefl::wire
