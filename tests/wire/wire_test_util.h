// Sample messages with every field set to a non-default value, and
// field-by-field comparisons (bitwise for floats, so NaN round-trips count).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "wire/frame.h"
#include "wire/messages.h"

namespace edgefl::wire::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// The payload of an encoded frame (the bytes after its header).
inline std::span<const uint8_t> Payload(const std::vector<uint8_t>& frame) {
  return std::span<const uint8_t>(frame).subspan(kFrameHeaderSize);
}

inline bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}
inline bool SameBits(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}
inline bool SameBits(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return a.size() == b.size() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), 4 * static_cast<size_t>(a.size())) == 0);
}
inline bool SameBits(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}
inline bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), 8 * a.size()) == 0);
}

// 0.25, -1.5, NaN, +Inf, -0.0, denormal, then a ramp.
inline Eigen::VectorXf SampleParameters(Eigen::Index n) {
  Eigen::VectorXf v(n);
  const float specials[] = {0.25f,
                            -1.5f,
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -0.0f,
                            std::numeric_limits<float>::denorm_min()};
  for (Eigen::Index i = 0; i < n; ++i) {
    v[i] = i < 6 ? specials[i] : static_cast<float>(i) * 1e-3f - 7.0f;
  }
  return v;
}

inline Hello SampleHello() {
  Hello m;
  m.client_id = "client-0007";
  m.protocol_version = 1;
  m.agent = "edgefl-client 0.1.0";
  m.device = {8, 4ull << 30, 13912.5, 6000, 10, 784};
  return m;
}

inline Welcome SampleWelcome() {
  Welcome m;
  m.session_id = "s-5f2a";
  m.protocol_version = 1;
  m.heartbeat_interval_seconds = 2.5;
  m.run_id = "fmnist-dir05";
  m.model_spec = "cnn:lenet";
  m.num_parameters = 61706;
  m.run_config = {{"bool_key", true},
                  {"false_key", false},
                  {"int_key", int64_t{-42}},
                  {"big_int", std::numeric_limits<int64_t>::min()},
                  {"double_key", 0.125},
                  {"nan_key", kNaN},
                  {"string_key", std::string("fashion_mnist")},
                  {"empty_string", std::string()}};
  return m;
}

inline TrainTask SampleTrainTask(Eigen::Index num_parameters = 50) {
  TrainTask m;
  m.round = 17;
  m.model_version = 16;
  m.model_spec = "cnn:lenet";
  m.deadline_seconds = 120.0;
  m.recipe.epochs = 3;
  m.recipe.local_steps = 250;
  m.recipe.batch_size = 64;
  m.recipe.optimizer = {"adamw", 0.003f, 0.9f, true, 1e-4f, 0.85f, 0.995f, 1e-7f, 2e-4f};
  m.recipe.reset_optimizer = false;
  m.recipe.clip_norm = 5.0f;
  m.recipe.clip_coordinate_fraction = 0.1f;
  m.recipe.measure_loss = false;
  m.recipe.seed = 0xDEADBEEFCAFEF00Dull;
  m.recipe.step_offset = 1234;
  m.recipe.lr_schedule =
      train::LrSchedule{train::LrScheduleKind::kCosine, 0.003, 0.5, 7, 1e-5, 5000, 100};
  m.local.objective = "entropy_sgd";
  m.local.data_order = "curriculum";
  m.local.params = {{"gamma", 0.05}, {"pacing_a", 0.8}, {"langevin_noise", 1e-4}};
  m.preconditioning.statistic = train::ScalingStatistic::kHutchinson;
  Eigen::VectorXf diagonal(3);
  diagonal << 0.5f, 2.0f, 1e-3f;
  m.preconditioning.diagonal = std::make_shared<const Eigen::VectorXf>(std::move(diagonal));
  Eigen::MatrixXf pool(3, 2);  // FedBR's pool: 2 pseudo-samples of 3 features
  pool << 0.25f, -1.0f, 0.5f, 2.0f, 1e-3f, static_cast<float>(kNaN);
  m.pseudo_data = std::make_shared<const Eigen::MatrixXf>(std::move(pool));
  m.parameters = SampleParameters(num_parameters);
  return m;
}

inline TrainResult SampleTrainResult(Eigen::Index num_parameters = 50) {
  TrainResult m;
  m.round = 17;
  m.base_version = 16;
  m.train.parameters = SampleParameters(num_parameters);
  m.train.num_samples = 6000;
  m.train.steps = 250;
  m.train.samples_processed = 16000;
  m.train.loss_before = kNaN;  // measure_loss off
  m.train.loss_sq_before = 0.8125;
  m.train.loss_after = kInf;
  m.train.train_loss = 0.4375;
  m.train.compute_seconds = 1.25;
  m.train.scaling_statistic.resize(3);
  m.train.scaling_statistic << -0.25f, 0.0f, 3.5f;
  return m;
}

inline EvalTask SampleEvalTask(Eigen::Index num_parameters = 50) {
  EvalTask m;
  m.round = 17;
  m.model_version = 17;
  m.model_spec = "mlp";
  m.batch_size = 512;
  m.deadline_seconds = 30.0;
  m.pseudo_data.images = 2;
  m.pseudo_data.samples = {3, 5, 7, 0xFFFFFFFFu};
  m.parameters = SampleParameters(num_parameters);
  return m;
}

inline EvalResult SampleEvalResult() {
  EvalResult m;
  m.round = 17;
  m.model_version = 17;
  m.eval.num_samples = 1000;
  m.eval.loss = 0.3125;
  m.eval.accuracy = 0.875;
  m.eval.per_class_accuracy = {0.9, kNaN, 0.5, 1.0, -kInf};
  m.compute_seconds = 0.0625;
  m.pseudo_data.resize(2, 3);
  m.pseudo_data << 1.0f, 2.0f, 3.0f, -4.0f, 0.5f, static_cast<float>(kInf);
  return m;
}

inline Heartbeat SampleHeartbeat() {
  return Heartbeat{41, 17, 0.5};
}
inline Bye SampleBye() {
  return Bye{"run finished"};
}
inline ErrorMessage SampleError() {
  return ErrorMessage{ErrorCode::kUnauthorized,
                      "Hello claims client-9 but the certificate is client-7"};
}

inline std::vector<Message> AllSampleMessages() {
  return {SampleHello(),       SampleWelcome(),  SampleTrainTask(),
          SampleTrainResult(), SampleEvalTask(), SampleEvalResult(),
          SampleHeartbeat(),   SampleBye(),      SampleError()};
}

// ---- Field-by-field comparison ---------------------------------------------

inline void CheckSame(const Hello& a, const Hello& b) {
  CHECK(a.client_id == b.client_id);
  CHECK(a.protocol_version == b.protocol_version);
  CHECK(a.agent == b.agent);
  CHECK(a.device.cores == b.device.cores);
  CHECK(a.device.memory_bytes == b.device.memory_bytes);
  CHECK(SameBits(a.device.samples_per_second, b.device.samples_per_second));
  CHECK(a.device.dataset_size == b.device.dataset_size);
  CHECK(a.device.num_classes == b.device.num_classes);
  CHECK(a.device.input_dim == b.device.input_dim);
}

inline bool SameParam(const train::ParamValue& a, const train::ParamValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* d = std::get_if<double>(&a)) return SameBits(*d, std::get<double>(b));
  return a == b;
}

inline void CheckSame(const Welcome& a, const Welcome& b) {
  CHECK(a.session_id == b.session_id);
  CHECK(a.protocol_version == b.protocol_version);
  CHECK(SameBits(a.heartbeat_interval_seconds, b.heartbeat_interval_seconds));
  CHECK(a.run_id == b.run_id);
  CHECK(a.model_spec == b.model_spec);
  CHECK(a.num_parameters == b.num_parameters);
  REQUIRE(a.run_config.size() == b.run_config.size());
  for (auto ia = a.run_config.begin(), ib = b.run_config.begin(); ia != a.run_config.end();
       ++ia, ++ib) {
    CHECK(ia->first == ib->first);
    CHECK_MESSAGE(SameParam(ia->second, ib->second), ia->first);
  }
}

inline void CheckSame(const train::TrainRecipe& a, const train::TrainRecipe& b) {
  CHECK(a.epochs == b.epochs);
  CHECK(a.local_steps == b.local_steps);
  CHECK(a.batch_size == b.batch_size);
  CHECK(a.optimizer.name == b.optimizer.name);
  CHECK(SameBits(a.optimizer.learning_rate, b.optimizer.learning_rate));
  CHECK(SameBits(a.optimizer.momentum, b.optimizer.momentum));
  CHECK(a.optimizer.nesterov == b.optimizer.nesterov);
  CHECK(SameBits(a.optimizer.weight_decay, b.optimizer.weight_decay));
  CHECK(SameBits(a.optimizer.beta1, b.optimizer.beta1));
  CHECK(SameBits(a.optimizer.beta2, b.optimizer.beta2));
  CHECK(SameBits(a.optimizer.epsilon, b.optimizer.epsilon));
  CHECK(SameBits(a.optimizer.oasis_alpha, b.optimizer.oasis_alpha));
  CHECK(a.reset_optimizer == b.reset_optimizer);
  CHECK(SameBits(a.clip_norm, b.clip_norm));
  CHECK(SameBits(a.clip_coordinate_fraction, b.clip_coordinate_fraction));
  CHECK(a.measure_loss == b.measure_loss);
  CHECK(a.seed == b.seed);
  CHECK(a.step_offset == b.step_offset);
  REQUIRE(a.lr_schedule.has_value() == b.lr_schedule.has_value());
  if (a.lr_schedule) {
    CHECK(a.lr_schedule->kind == b.lr_schedule->kind);
    CHECK(SameBits(a.lr_schedule->base, b.lr_schedule->base));
    CHECK(SameBits(a.lr_schedule->decay, b.lr_schedule->decay));
    CHECK(a.lr_schedule->step_every == b.lr_schedule->step_every);
    CHECK(SameBits(a.lr_schedule->floor, b.lr_schedule->floor));
    CHECK(a.lr_schedule->total == b.lr_schedule->total);
    CHECK(a.lr_schedule->warmup == b.lr_schedule->warmup);
  }
}

inline void CheckSame(const TrainTask& a, const TrainTask& b) {
  CHECK(a.round == b.round);
  CHECK(a.model_version == b.model_version);
  CHECK(a.model_spec == b.model_spec);
  CHECK(SameBits(a.deadline_seconds, b.deadline_seconds));
  CheckSame(a.recipe, b.recipe);
  CHECK(a.local.objective == b.local.objective);
  CHECK(a.local.data_order == b.local.data_order);
  CHECK(a.local.params == b.local.params);
  CHECK(a.preconditioning.statistic == b.preconditioning.statistic);
  CHECK(a.preconditioning.has_diagonal() == b.preconditioning.has_diagonal());
  if (a.preconditioning.has_diagonal() && b.preconditioning.has_diagonal()) {
    CHECK(SameBits(*a.preconditioning.diagonal, *b.preconditioning.diagonal));
  }
  CHECK((a.pseudo_data == nullptr) == (b.pseudo_data == nullptr));
  if (a.pseudo_data && b.pseudo_data) CHECK(SameBits(*a.pseudo_data, *b.pseudo_data));
  CHECK(SameBits(a.parameters, b.parameters));
}

inline void CheckSame(const TrainResult& a, const TrainResult& b) {
  CHECK(a.round == b.round);
  CHECK(a.base_version == b.base_version);
  CHECK(SameBits(a.train.parameters, b.train.parameters));
  CHECK(a.train.num_samples == b.train.num_samples);
  CHECK(a.train.steps == b.train.steps);
  CHECK(a.train.samples_processed == b.train.samples_processed);
  CHECK(SameBits(a.train.loss_sq_before, b.train.loss_sq_before));
  CHECK(SameBits(a.train.loss_before, b.train.loss_before));
  CHECK(SameBits(a.train.loss_after, b.train.loss_after));
  CHECK(SameBits(a.train.train_loss, b.train.train_loss));
  CHECK(SameBits(a.train.compute_seconds, b.train.compute_seconds));
  CHECK(SameBits(a.train.scaling_statistic, b.train.scaling_statistic));
}

inline void CheckSame(const EvalTask& a, const EvalTask& b) {
  CHECK(a.round == b.round);
  CHECK(a.model_version == b.model_version);
  CHECK(a.model_spec == b.model_spec);
  CHECK(a.batch_size == b.batch_size);
  CHECK(SameBits(a.deadline_seconds, b.deadline_seconds));
  CHECK(a.pseudo_data.images == b.pseudo_data.images);
  CHECK(a.pseudo_data.samples == b.pseudo_data.samples);
  CHECK(SameBits(a.parameters, b.parameters));
}

inline void CheckSame(const EvalResult& a, const EvalResult& b) {
  CHECK(a.round == b.round);
  CHECK(a.model_version == b.model_version);
  CHECK(a.eval.num_samples == b.eval.num_samples);
  CHECK(SameBits(a.eval.loss, b.eval.loss));
  CHECK(SameBits(a.eval.accuracy, b.eval.accuracy));
  CHECK(SameBits(a.eval.per_class_accuracy, b.eval.per_class_accuracy));
  CHECK(SameBits(a.compute_seconds, b.compute_seconds));
  CHECK(SameBits(a.pseudo_data, b.pseudo_data));
}

inline void CheckSame(const Heartbeat& a, const Heartbeat& b) {
  CHECK(a.sequence == b.sequence);
  CHECK(a.round == b.round);
  CHECK(SameBits(a.progress, b.progress));
}

inline void CheckSame(const Bye& a, const Bye& b) {
  CHECK(a.reason == b.reason);
}

inline void CheckSame(const ErrorMessage& a, const ErrorMessage& b) {
  CHECK(a.code == b.code);
  CHECK(a.message == b.message);
}

inline void CheckSame(const Message& a, const Message& b) {
  REQUIRE(a.index() == b.index());
  std::visit([&b](const auto& x) { CheckSame(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

}  // namespace edgefl::wire::testing
