// The bytes between rank 0 and the client ranks: a task keeps every
// instruction the client trains by, and a result every FitResult field bit
// for bit (NaN, -0.0 and the last bit of a double included), so the engine
// on rank 0 aggregates exactly what an in-process client returns.
#include "mpi/task_codec.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <doctest/doctest.h>

#include "wire/protocol_error.h"

namespace edgefl::mpi {
namespace {

bool TaskCodecSameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

bool TaskCodecSameBits(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  // memcmp of no bytes still wants non-null pointers (an empty vector's are null).
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0);
}

train::FitInstructions SomeInstructions() {
  train::FitInstructions i;
  i.model_version = 7;
  i.recipe.epochs = 2;
  i.recipe.batch_size = 16;
  i.recipe.seed = 0xfeedbeefcafeULL;
  i.recipe.step_offset = 40;
  i.recipe.optimizer.name = "adam";
  i.recipe.optimizer.learning_rate = 0.003f;
  i.recipe.clip_norm = 1.5f;
  train::LrSchedule schedule;
  schedule.kind = train::LrScheduleKind::kCosine;
  schedule.base = 0.1;
  schedule.total = 500;
  schedule.warmup = 10;
  i.recipe.lr_schedule = schedule;
  i.local.objective = "fedbr";
  i.local.data_order = "curriculum";
  i.local.params = {{"gamma", 0.05}, {"mu", 1e-3}};
  i.preconditioning.diagonal = std::make_shared<const Eigen::VectorXf>(Eigen::VectorXf::Ones(3));
  Eigen::MatrixXf pool(2, 3);
  pool << 1, 2, 3, 4, 5, 6;
  i.pseudo_data = std::make_shared<const Eigen::MatrixXf>(pool);
  return i;
}

}  // namespace

TEST_CASE("MPI task: the instructions and the parameters arrive as they were sent") {
  const train::FitInstructions sent = SomeInstructions();
  Eigen::VectorXf global(4);
  global << 0.5f, -0.0f, std::numeric_limits<float>::denorm_min(), -3.25f;
  const Task task = DecodeTask(EncodeFitTask(42, 9, ParametersMode::kNewGlobal, &global, sent));
  CHECK(task.kind == TaskKind::kFit);
  CHECK(task.request == 42);
  CHECK(task.client == 9);
  CHECK(task.mode == ParametersMode::kNewGlobal);
  CHECK(TaskCodecSameBits(task.parameters, global));
  const train::FitInstructions& got = task.instructions;
  CHECK(got.model_version == 7);
  CHECK(got.recipe.epochs == 2);
  CHECK(got.recipe.batch_size == 16);
  CHECK(got.recipe.seed == 0xfeedbeefcafeULL);
  CHECK(got.recipe.step_offset == 40);
  CHECK(got.recipe.optimizer.name == "adam");
  CHECK(got.recipe.optimizer.learning_rate == 0.003f);
  CHECK(got.recipe.clip_norm == 1.5f);
  REQUIRE(got.recipe.lr_schedule.has_value());
  CHECK(got.recipe.lr_schedule->kind == train::LrScheduleKind::kCosine);
  CHECK(got.recipe.lr_schedule->total == 500);
  CHECK(got.recipe.lr_schedule->warmup == 10);
  CHECK(got.local.objective == "fedbr");
  CHECK(got.local.data_order == "curriculum");
  CHECK(got.local.params == sent.local.params);
  REQUIRE(got.preconditioning.has_diagonal());
  CHECK(TaskCodecSameBits(*got.preconditioning.diagonal, *sent.preconditioning.diagonal));
  REQUIRE(got.pseudo_data != nullptr);
  CHECK(*got.pseudo_data == *sent.pseudo_data);
  CHECK(got.start_parameters == nullptr);
}

TEST_CASE("MPI task: the same global is not sent twice and a stop task has no body") {
  Eigen::VectorXf global = Eigen::VectorXf::Constant(1000, 0.25f);
  const auto again = EncodeFitTask(1, 2, ParametersMode::kSameGlobal, &global, SomeInstructions());
  const auto fresh = EncodeFitTask(1, 2, ParametersMode::kNewGlobal, &global, SomeInstructions());
  CHECK(fresh.size() - again.size() == 1000 * sizeof(float));
  const Task task = DecodeTask(again);
  CHECK(task.mode == ParametersMode::kSameGlobal);
  CHECK(task.parameters.size() == 0);

  const Task stop = DecodeTask(EncodeStopTask());
  CHECK(stop.kind == TaskKind::kStop);
}

TEST_CASE("MPI task: malformed bytes are a ProtocolError naming the field") {
  std::vector<uint8_t> bytes = EncodeStopTask();
  bytes[0] = 9;
  CHECK_THROWS_WITH_AS(DecodeTask(bytes), doctest::Contains("kind"), wire::ProtocolError);
  CHECK_THROWS_AS(DecodeTask(std::vector<uint8_t>(3, 1)), wire::ProtocolError);
  Eigen::VectorXf global = Eigen::VectorXf::Ones(5);
  std::vector<uint8_t> task =
      EncodeFitTask(1, 2, ParametersMode::kNewGlobal, &global, SomeInstructions());
  task.pop_back();
  CHECK_THROWS_AS(DecodeTask(task), wire::ProtocolError);
}

TEST_CASE("MPI result: every FitResult field comes back bit for bit") {
  train::FitResult sent;
  sent.client = "sim-0042";
  sent.base_version = 12;
  sent.bytes_out = 1234;
  sent.bytes_in = 567;
  sent.train.parameters = Eigen::VectorXf::LinSpaced(257, -1.0f, 1.0f);
  sent.train.parameters[3] = std::numeric_limits<float>::quiet_NaN();
  sent.train.num_samples = 600;
  sent.train.steps = 38;
  sent.train.samples_processed = 1200;
  sent.train.loss_before = 2.302585092994046;
  sent.train.loss_after = std::nextafter(0.5, 1.0);
  sent.train.train_loss = 1.0 / 3.0;
  sent.train.compute_seconds = 0.125;
  sent.train.scaling_statistic = Eigen::VectorXf::Constant(257, 1e-7f);
  sent.train.loss_sq_before = std::numeric_limits<double>::quiet_NaN();
  const TaskResult got = DecodeResult(EncodeResult(77, sent));
  REQUIRE(got.ok);
  CHECK(got.request == 77);
  const train::FitResult& r = got.result;
  CHECK(r.client == "sim-0042");
  CHECK(r.base_version == 12);
  CHECK(r.bytes_out == 1234);
  CHECK(r.bytes_in == 567);
  CHECK(TaskCodecSameBits(r.train.parameters, sent.train.parameters));
  CHECK(r.train.num_samples == 600);
  CHECK(r.train.steps == 38);
  CHECK(r.train.samples_processed == 1200);
  CHECK(TaskCodecSameBits(r.train.loss_before, sent.train.loss_before));
  CHECK(TaskCodecSameBits(r.train.loss_after, sent.train.loss_after));
  CHECK(TaskCodecSameBits(r.train.train_loss, sent.train.train_loss));
  CHECK(TaskCodecSameBits(r.train.compute_seconds, 0.125));
  CHECK(TaskCodecSameBits(r.train.scaling_statistic, sent.train.scaling_statistic));
  CHECK(std::isnan(r.train.loss_sq_before));
}

TEST_CASE("MPI result: a client's failure comes back with its message") {
  const TaskResult got = DecodeResult(EncodeFailure(5, "training diverged: loss is NaN"));
  CHECK_FALSE(got.ok);
  CHECK(got.request == 5);
  CHECK(got.error == "training diverged: loss is NaN");
}

}  // namespace edgefl::mpi
