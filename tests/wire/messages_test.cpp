#include "wire/messages.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "tests/wire/alloc_tracker.h"
#include "tests/wire/wire_test_util.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

using MessagesBytes = std::vector<uint8_t>;
using testing::CheckSame;

// The message of the ProtocolError decoding throws ("" if it decodes).
std::string DecodeError(MessageType type, const MessagesBytes& payload) {
  try {
    DecodeMessage(type, payload);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

Message RoundTrip(const Message& m) {
  return DecodeMessage(TypeOf(m), EncodePayload(m));
}

TEST_CASE("Every message round-trips with all its fields") {
  for (const Message& m : testing::AllSampleMessages()) {
    CAPTURE(MessageTypeName(TypeOf(m)));
    const Message back = RoundTrip(m);
    CheckSame(back, m);
    CHECK(EncodePayload(back) == EncodePayload(m));
    // The frame is the header plus the same payload.
    CHECK(EncodeMessage(m) == EncodeFrame(TypeOf(m), EncodePayload(m)));
  }
}

TEST_CASE("The per-type encoders give the same frame as the variant one") {
  const TrainTask task = testing::SampleTrainTask();
  CHECK(EncodeMessage(task) == EncodeMessage(Message(task)));
  const TrainResult result = testing::SampleTrainResult();
  CHECK(EncodeMessage(result) == EncodeMessage(Message(result)));
  CHECK(EncodeMessage(testing::SampleHello()) == EncodeMessage(Message(testing::SampleHello())));
  CHECK(EncodeMessage(testing::SampleError()) == EncodeMessage(Message(testing::SampleError())));
}

TEST_CASE("A ParamMap with every value type round-trips") {
  const Welcome welcome = testing::SampleWelcome();
  std::set<size_t> kinds;
  for (const auto& [key, value] : welcome.run_config)
    kinds.insert(value.index());
  CHECK(kinds.size() == std::variant_size_v<train::ParamValue>);
  CheckSame(std::get<Welcome>(RoundTrip(welcome)), welcome);
  Welcome empty = welcome;
  empty.run_config.clear();
  CheckSame(std::get<Welcome>(RoundTrip(empty)), empty);
}

TEST_CASE("Empty and large parameter vectors round-trip") {
  for (Eigen::Index n : {Eigen::Index{0}, Eigen::Index{1}, Eigen::Index{199210}}) {
    CAPTURE(n);
    CheckSame(std::get<TrainTask>(RoundTrip(testing::SampleTrainTask(n))),
              testing::SampleTrainTask(n));
    CheckSame(std::get<TrainResult>(RoundTrip(testing::SampleTrainResult(n))),
              testing::SampleTrainResult(n));
    CheckSame(std::get<EvalTask>(RoundTrip(testing::SampleEvalTask(n))),
              testing::SampleEvalTask(n));
  }
}

TEST_CASE("NaN and Inf in parameters and losses decode without error") {
  TrainResult m = testing::SampleTrainResult(8);
  m.train.parameters.setConstant(std::numeric_limits<float>::quiet_NaN());
  m.train.train_loss = -testing::kInf;
  const auto back = std::get<TrainResult>(RoundTrip(m));
  CHECK(back.train.parameters.array().isNaN().all());
  CHECK(std::isnan(back.train.loss_before));
  CHECK(back.train.loss_after == testing::kInf);
  CHECK(back.train.train_loss == -testing::kInf);
}

TEST_CASE("Small messages have the documented byte layout") {
  // Pinned so docs/protocol.md and other-language clients stay in step.
  const MessagesBytes bye = EncodeMessage(Bye{"ok"});
  CHECK(bye == MessagesBytes{'E', 'D', 'F', 'L', 2, 0, 8, 0, 6, 0, 0, 0, 2, 0, 0, 0, 'o', 'k'});
  const MessagesBytes beat = EncodePayload(Heartbeat{1, 2, 0.5});
  CHECK(beat == MessagesBytes{1, 0, 0, 0, 0, 0, 0,    0,   2, 0, 0, 0, 0, 0, 0, 0,  //
                              0, 0, 0, 0, 0, 0, 0xE0, 0x3F});
  const MessagesBytes error = EncodePayload(ErrorMessage{ErrorCode::kBusy, "x"});
  CHECK(error == MessagesBytes{6, 0, 1, 0, 0, 0, 'x'});
}

// The field named in "<Message>.<field>: ..." ("" for a message-level error).
std::string FieldOf(const std::string& error, std::string_view message) {
  const std::string prefix = std::string(message) + ".";
  if (error.rfind(prefix, 0) != 0) return "";
  return error.substr(prefix.size(), error.find(": ") - prefix.size());
}

// Cuts the payload at every length and collects the fields the errors name.
std::set<std::string> FieldsNamedWhenTruncated(const Message& m) {
  const MessagesBytes payload = EncodePayload(m);
  const std::string_view name = MessageTypeName(TypeOf(m));
  std::set<std::string> fields;
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    const std::string error =
        DecodeError(TypeOf(m), MessagesBytes(payload.begin(), payload.begin() + cut));
    CAPTURE(cut);
    CAPTURE(error);
    REQUIRE(!error.empty());
    const std::string field = FieldOf(error, name);
    CHECK(!field.empty());
    CHECK((error.find("truncated") != std::string::npos ||
           error.find("declared but") != std::string::npos));
    fields.insert(field);
  }
  return fields;
}

TEST_CASE("A payload truncated in any field is a ProtocolError naming that field") {
  CHECK(FieldsNamedWhenTruncated(testing::SampleHello()) ==
        std::set<std::string>{"client_id", "protocol_version", "agent", "device.cores",
                              "device.memory_bytes", "device.samples_per_second",
                              "device.dataset_size", "device.num_classes", "device.input_dim"});
  Welcome welcome = testing::SampleWelcome();
  welcome.run_config = {{"k", true}};
  CHECK(FieldsNamedWhenTruncated(welcome) ==
        std::set<std::string>{"session_id", "protocol_version", "heartbeat_interval_seconds",
                              "run_id", "model_spec", "num_parameters", "run_config",
                              "run_config[0].key", "run_config[0].tag", "run_config[0].value"});
  TrainTask task = testing::SampleTrainTask(3);
  task.local.params = {{"gamma", 0.5}};
  CHECK(FieldsNamedWhenTruncated(task) == std::set<std::string>{"round",
                                                                "model_version",
                                                                "model_spec",
                                                                "deadline_seconds",
                                                                "recipe.epochs",
                                                                "recipe.local_steps",
                                                                "recipe.batch_size",
                                                                "recipe.optimizer.name",
                                                                "recipe.optimizer.learning_rate",
                                                                "recipe.optimizer.momentum",
                                                                "recipe.optimizer.nesterov",
                                                                "recipe.optimizer.weight_decay",
                                                                "recipe.optimizer.beta1",
                                                                "recipe.optimizer.beta2",
                                                                "recipe.optimizer.epsilon",
                                                                "recipe.optimizer.oasis_alpha",
                                                                "recipe.reset_optimizer",
                                                                "recipe.clip_norm",
                                                                "recipe.clip_coordinate_fraction",
                                                                "recipe.measure_loss",
                                                                "recipe.seed",
                                                                "recipe.step_offset",
                                                                "recipe.lr_schedule.kind",
                                                                "recipe.lr_schedule.base",
                                                                "recipe.lr_schedule.decay",
                                                                "recipe.lr_schedule.step_every",
                                                                "recipe.lr_schedule.floor",
                                                                "recipe.lr_schedule.total",
                                                                "recipe.lr_schedule.warmup",
                                                                "local.objective",
                                                                "local.data_order",
                                                                "local.params",
                                                                "local.params[0].key",
                                                                "local.params[0].tag",
                                                                "local.params[0].value",
                                                                "preconditioning.statistic",
                                                                "preconditioning.diagonal",
                                                                "pseudo_data.columns",
                                                                "pseudo_data.values",
                                                                "parameters"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleTrainResult(3)) ==
        std::set<std::string>{"round", "base_version", "num_samples", "steps", "samples_processed",
                              "loss_before", "loss_sq_before", "loss_after", "train_loss",
                              "compute_seconds", "scaling_statistic", "parameters"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleEvalTask(3)) ==
        std::set<std::string>{"round", "model_version", "model_spec", "batch_size",
                              "deadline_seconds", "pseudo_data.images", "pseudo_data.samples",
                              "parameters"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleEvalResult()) ==
        std::set<std::string>{"round", "model_version", "num_samples", "loss", "accuracy",
                              "per_class_accuracy", "compute_seconds", "pseudo_data.columns",
                              "pseudo_data.values"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleHeartbeat()) ==
        std::set<std::string>{"sequence", "round", "progress"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleBye()) == std::set<std::string>{"reason"});
  CHECK(FieldsNamedWhenTruncated(testing::SampleError()) ==
        std::set<std::string>{"code", "message"});
}

TEST_CASE("Truncation errors say what was declared and what is left") {
  const MessagesBytes payload = EncodePayload(testing::SampleTrainResult(1000));
  const MessagesBytes cut(payload.begin(), payload.end() - (4000 - 12));
  CHECK(DecodeError(MessageType::kTrainResult, cut) ==
        "TrainResult.parameters: 1000 floats declared but 12 bytes left");
  const MessagesBytes hello = EncodePayload(testing::SampleHello());
  CHECK(DecodeError(MessageType::kHello, MessagesBytes(hello.begin(), hello.end() - 2)) ==
        "Hello.device.input_dim: truncated, 4 bytes needed but 2 left");
  CHECK(DecodeError(MessageType::kBye, MessagesBytes{100, 0, 0, 0, 'a', 'b', 'c'}) ==
        "Bye.reason: 100 bytes declared but 3 left");
}

TEST_CASE("Trailing bytes inside a payload are a ProtocolError") {
  for (const Message& m : testing::AllSampleMessages()) {
    MessagesBytes payload = EncodePayload(m);
    payload.push_back(0);
    const std::string name(MessageTypeName(TypeOf(m)));
    CHECK(DecodeError(TypeOf(m), payload) == name + ": 1 trailing bytes after the last field");
  }
}

TEST_CASE("Strings over their limit are a ProtocolError naming the field") {
  Hello hello = testing::SampleHello();
  hello.client_id.assign(kMaxIdBytes + 1, 'x');
  CHECK(DecodeError(MessageType::kHello, EncodePayload(hello)) ==
        "Hello.client_id: length 257 over limit 256 bytes");
  CHECK(DecodeError(MessageType::kBye, EncodePayload(Bye{std::string(kMaxTextBytes + 1, 'x')})) ==
        "Bye.reason: length 4097 over limit 4096 bytes");
  TrainTask task = testing::SampleTrainTask(2);
  task.model_spec.assign(kMaxSpecBytes + 1, 'm');
  CHECK(DecodeError(MessageType::kTrainTask, EncodePayload(task)) ==
        "TrainTask.model_spec: length 1025 over limit 1024 bytes");
  Welcome welcome = testing::SampleWelcome();
  welcome.run_config = {{"s", std::string(kMaxTextBytes + 1, 's')}};
  CHECK(DecodeError(MessageType::kWelcome, EncodePayload(welcome)) ==
        "Welcome.run_config[0].value: length 4097 over limit 4096 bytes");
  // At the limit is fine.
  hello.client_id.assign(kMaxIdBytes, 'x');
  CHECK(DecodeError(MessageType::kHello, EncodePayload(hello)).empty());
}

TEST_CASE("Arrays and maps over their limit are a ProtocolError naming the field") {
  EvalResult eval = testing::SampleEvalResult();
  eval.eval.per_class_accuracy.assign(kMaxClasses + 1, 0.5);
  CHECK(DecodeError(MessageType::kEvalResult, EncodePayload(eval)) ==
        "EvalResult.per_class_accuracy: count 65537 over limit 65536");
  Welcome welcome = testing::SampleWelcome();
  welcome.run_config.clear();
  for (size_t i = 0; i <= kMaxParams; ++i)
    welcome.run_config[std::to_string(1000 + i)] = 1.0;
  CHECK(DecodeError(MessageType::kWelcome, EncodePayload(welcome)) ==
        "Welcome.run_config: count 257 over limit 256");
}

TEST_CASE("Huge declared lengths are refused before allocating") {
  // A Bye whose reason claims 4 GB, a TrainResult whose parameters claim
  // 2^32-1 floats: refused from the count, without allocating for it.
  testing::LargestAllocation tracker;
  CHECK(DecodeError(MessageType::kBye, MessagesBytes{0xFF, 0xFF, 0xFF, 0xFF, 'a'}) ==
        "Bye.reason: length 4294967295 over limit 4096 bytes");
  MessagesBytes payload = EncodePayload(testing::SampleTrainResult(0));
  for (int i = 1; i <= 4; ++i)
    payload[payload.size() - i] = 0xFF;
  payload.push_back(0);
  CHECK(DecodeError(MessageType::kTrainResult, payload) ==
        "TrainResult.parameters: 4294967295 floats declared but 1 bytes left");
  MessagesBytes classes = EncodePayload(testing::SampleEvalResult());
  // per_class_accuracy count sits after round, version, num_samples, loss, accuracy.
  classes[40] = 0x00;
  classes[41] = 0x00;
  classes[42] = 0x01;  // 65536 entries: within the limit, but only 80 bytes follow (with the
                       // pseudo-data means)
  classes[43] = 0x00;
  CHECK(DecodeError(MessageType::kEvalResult, classes) ==
        "EvalResult.per_class_accuracy: 65536 doubles declared but 80 bytes left");
  CHECK(tracker.bytes() < 64 * 1024);
}

// A TrainTask with no parameters, no preconditioning and no pseudo-data
// whose local.params is {"gamma": 0.05}; the value tag sits 4 + (4 + 4) +
// (4 + 1) + 8 + 1 bytes from the end (parameters, pseudo-data,
// preconditioning, the value, the tag).
MessagesBytes TaskWithOneLocalParam() {
  TrainTask task = testing::SampleTrainTask(0);
  task.local.params = {{"gamma", 0.05}};
  task.preconditioning = {};
  task.pseudo_data = nullptr;
  return EncodePayload(task);
}

TEST_CASE("Local algorithm params accept int64 and refuse bool and string values") {
  MessagesBytes payload = TaskWithOneLocalParam();
  const size_t tag = payload.size() - 4 - 8 - 5 - 8 - 1;
  CHECK(payload[tag] == 2);  // float64
  payload[tag] = 1;          // int64 7
  const MessagesBytes seven = {7, 0, 0, 0, 0, 0, 0, 0};
  std::copy(seven.begin(), seven.end(), payload.begin() + static_cast<std::ptrdiff_t>(tag) + 1);
  const auto task = std::get<TrainTask>(DecodeMessage(MessageType::kTrainTask, payload));
  CHECK(task.local.params.at("gamma") == 7.0);

  payload[tag] = 0;  // bool (the value byte is 7, but the tag is refused first)
  CHECK(DecodeError(MessageType::kTrainTask, payload) ==
        "TrainTask.local.params[0].value: \"gamma\" must be a number, got a bool");
  payload[tag] = 3;
  CHECK(DecodeError(MessageType::kTrainTask, payload) ==
        "TrainTask.local.params[0].value: \"gamma\" must be a number, got a string");
  payload[tag] = 9;
  CHECK(DecodeError(MessageType::kTrainTask, payload) ==
        "TrainTask.local.params[0].tag: unknown value tag 9");
}

TEST_CASE("Invalid bools unknown tags and duplicate keys are a ProtocolError") {
  MessagesBytes payload;
  ByteWriter w(&payload);
  w.String("s");
  w.U16(1);
  w.F64(1.0);
  w.String("run");
  w.String("mlp");
  w.U64(10);
  w.U32(2);  // run_config: two entries
  w.String("a");
  w.U8(0);  // bool
  w.U8(2);  // neither 0 nor 1
  w.String("a");
  w.U8(1);
  w.I64(5);
  CHECK(DecodeError(MessageType::kWelcome, payload) ==
        "Welcome.run_config[0].value: bool must be 0 or 1, got 2");
  payload[payload.size() - 15] = 1;  // a valid bool: now the duplicate key is found
  CHECK(DecodeError(MessageType::kWelcome, payload) == "Welcome.run_config: duplicate key \"a\"");
  payload[payload.size() - 9] = 4;  // unknown tag of the second entry
  CHECK(DecodeError(MessageType::kWelcome, payload) ==
        "Welcome.run_config[1].tag: unknown value tag 4");

  // recipe.optimizer.nesterov sits at byte 70 of this TrainTask.
  MessagesBytes task = EncodePayload(testing::SampleTrainTask(0));
  REQUIRE(task[70] == 1);
  task[70] = 0xFF;
  CHECK(DecodeError(MessageType::kTrainTask, task) ==
        "TrainTask.recipe.optimizer.nesterov: bool must be 0 or 1, got 255");

  // recipe.lr_schedule.kind (3, cosine) sits at byte 117, after recipe.step_offset.
  task = EncodePayload(testing::SampleTrainTask(0));
  REQUIRE(task[117] == 3);
  task[117] = 9;
  CHECK(DecodeError(MessageType::kTrainTask, task) ==
        "TrainTask.recipe.lr_schedule.kind: unknown schedule 9 (0 none, 1 constant, 2 step, 3 "
        "cosine)");
}

TEST_CASE("A TrainTask without a per-step schedule decodes without one") {
  TrainTask task = testing::SampleTrainTask(4);
  task.recipe.lr_schedule.reset();
  const MessagesBytes payload = EncodePayload(task);
  CHECK(payload[117] == 0);
  const TrainTask back = std::get<TrainTask>(DecodeMessage(MessageType::kTrainTask, payload));
  CHECK_FALSE(back.recipe.lr_schedule.has_value());
  CHECK(back.recipe.step_offset == 1234);
  // Each kind travels as itself.
  for (const auto kind : {train::LrScheduleKind::kConstant, train::LrScheduleKind::kStep,
                          train::LrScheduleKind::kCosine}) {
    task.recipe.lr_schedule = train::LrSchedule{};
    task.recipe.lr_schedule->kind = kind;
    const TrainTask again =
        std::get<TrainTask>(DecodeMessage(MessageType::kTrainTask, EncodePayload(task)));
    REQUIRE(again.recipe.lr_schedule.has_value());
    CHECK(again.recipe.lr_schedule->kind == kind);
  }
}

TEST_CASE("SAVIC preconditioning travels in TrainTask and its statistic in TrainResult") {
  // The shared diagonal arrives bit for bit, between local.params and the
  // parameters; no diagonal is four zero bytes and decodes as none.
  TrainTask task = testing::SampleTrainTask(4);
  Eigen::VectorXf diagonal(4);
  diagonal << 1.0f, 0.25f, 3e-8f, 1e6f;
  task.preconditioning.diagonal = std::make_shared<const Eigen::VectorXf>(diagonal);
  task.preconditioning.statistic = train::ScalingStatistic::kGradient;
  const auto back = std::get<TrainTask>(RoundTrip(task));
  REQUIRE(back.preconditioning.has_diagonal());
  CHECK(testing::SameBits(*back.preconditioning.diagonal, diagonal));
  CHECK(back.preconditioning.statistic == train::ScalingStatistic::kGradient);
  CHECK(testing::SameBits(back.parameters, task.parameters));

  task.preconditioning = {};
  task.pseudo_data = nullptr;
  const MessagesBytes none = EncodePayload(task);
  // statistic, diagonal, pseudo_data (columns, count), parameters
  const size_t at = none.size() - 4 - 4 * 4 - 8 - 4 - 1;
  CHECK(MessagesBytes(none.begin() + static_cast<std::ptrdiff_t>(at),
                      none.begin() + static_cast<std::ptrdiff_t>(at) + 5) ==
        MessagesBytes{0, 0, 0, 0, 0});
  const auto plain = std::get<TrainTask>(DecodeMessage(MessageType::kTrainTask, none));
  CHECK(!plain.preconditioning.has_diagonal());
  CHECK(plain.preconditioning.statistic == train::ScalingStatistic::kNone);

  MessagesBytes bad = none;
  bad[at] = 3;
  CHECK(DecodeError(MessageType::kTrainTask, bad) ==
        "TrainTask.preconditioning.statistic: unknown statistic 3");

  TrainResult result = testing::SampleTrainResult(2);
  result.train.scaling_statistic.resize(2);
  result.train.scaling_statistic << -1.5f, 2e-9f;
  CHECK(testing::SameBits(std::get<TrainResult>(RoundTrip(result)).train.scaling_statistic,
                          result.train.scaling_statistic));
}

TEST_CASE(
    "FedBR pseudo-data travels as a request in EvalTask means in EvalResult and a pool in "
    "TrainTask") {
  // The request: images, then the sample indices as u32[], before the
  // (possibly empty) parameters.
  EvalTask ask = testing::SampleEvalTask(0);
  ask.pseudo_data.images = 3;
  ask.pseudo_data.samples = {0, 1, 2, 9, 8, 7};
  const MessagesBytes payload = EncodePayload(ask);
  const MessagesBytes tail(payload.end() - 4 - 4 - 4 * 6 - 4, payload.end());
  CHECK(tail == MessagesBytes{3, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0,
                              0, 0, 9, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0});
  const auto back = std::get<EvalTask>(RoundTrip(ask));
  CHECK(back.pseudo_data.groups() == 2);
  CHECK(back.pseudo_data.samples == ask.pseudo_data.samples);
  // Samples that do not fill whole groups are refused.
  ask.pseudo_data.samples.pop_back();
  CHECK(DecodeError(MessageType::kEvalTask, EncodePayload(ask)) ==
        "EvalTask.pseudo_data.samples: 5 samples in groups of 3");
  ask.pseudo_data.images = 0;
  CHECK(DecodeError(MessageType::kEvalTask, EncodePayload(ask)) ==
        "EvalTask.pseudo_data.samples: 5 samples in groups of 0");

  // The means: columns, then the values column after column.
  EvalResult means = testing::SampleEvalResult();
  means.pseudo_data.resize(2, 2);
  means.pseudo_data << 1.0f, 3.0f, 2.0f, 4.0f;  // columns (1, 2) and (3, 4)
  const MessagesBytes result = EncodePayload(means);
  const MessagesBytes last(result.end() - 4 - 4 - 16, result.end());
  CHECK(last == MessagesBytes{2, 0, 0, 0,    4, 0, 0,    0,    0, 0, 0x80, 0x3f,
                              0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40});
  CHECK(testing::SameBits(std::get<EvalResult>(RoundTrip(means)).pseudo_data, means.pseudo_data));
  MessagesBytes ragged = result;
  ragged[result.size() - 4 - 4 - 16] = 3;  // 4 floats in 3 columns
  CHECK(DecodeError(MessageType::kEvalResult, ragged) ==
        "EvalResult.pseudo_data.values: 4 floats do not fill 3 columns");

  // The pool in TrainTask; none decodes as null.
  TrainTask task = testing::SampleTrainTask(2);
  const auto with_pool = std::get<TrainTask>(RoundTrip(task));
  REQUIRE(with_pool.pseudo_data != nullptr);
  CHECK(with_pool.pseudo_data->rows() == 3);
  CHECK(testing::SameBits(*with_pool.pseudo_data, *task.pseudo_data));
  task.pseudo_data = nullptr;
  CHECK(std::get<TrainTask>(RoundTrip(task)).pseudo_data == nullptr);
}

TEST_CASE("An unknown message type is a ProtocolError in DecodeMessage") {
  CHECK(DecodeError(static_cast<MessageType>(0), {}) == "message: unknown message type 0");
  CHECK(DecodeError(static_cast<MessageType>(77), {1, 2}) == "message: unknown message type 77");
}

TEST_CASE("Unknown error codes are kept") {
  const auto back = std::get<ErrorMessage>(
      RoundTrip(ErrorMessage{static_cast<ErrorCode>(1234), "from a newer peer"}));
  CHECK(static_cast<uint16_t>(back.code) == 1234);
}

TEST_CASE("Mutated and random payloads either decode or throw ProtocolError") {
  // A small in-test fuzz pass; the libFuzzer target (issue 8) goes further.
  Rng rng(2024);
  const std::vector<Message> samples = testing::AllSampleMessages();
  int decoded = 0;
  int refused = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const Message& m = samples[rng.UniformInt(samples.size())];
    MessagesBytes payload = EncodePayload(m);
    const int mutations = 1 + static_cast<int>(rng.UniformInt(4));
    for (int k = 0; k < mutations && !payload.empty(); ++k) {
      const size_t at = rng.UniformInt(payload.size());
      switch (rng.UniformInt(4)) {
        case 0:
          payload[at] = static_cast<uint8_t>(rng.Next());
          break;
        case 1:
          payload[at] ^= static_cast<uint8_t>(1u << rng.UniformInt(8));
          break;
        case 2:
          payload.resize(at);
          break;
        default:
          payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(at), 0xFF);
          break;
      }
    }
    if (iter % 10 == 0) {  // pure noise
      payload.resize(rng.UniformInt(64));
      for (auto& b : payload)
        b = static_cast<uint8_t>(rng.Next());
    }
    const MessageType type =
        rng.UniformInt(4) == 0 ? static_cast<MessageType>(rng.UniformInt(12)) : TypeOf(m);
    try {
      DecodeMessage(type, payload);
      ++decoded;
    } catch (const ProtocolError&) {
      ++refused;
    }
  }
  MESSAGE("fuzz pass: " << decoded << " decoded, " << refused << " refused");
  CHECK(decoded + refused == 20000);
  CHECK(refused > 0);
  CHECK(decoded > 0);
}

}  // namespace
}  // namespace edgefl::wire
