#include "sim/simulated_client_proxy.h"

#include "algorithms/fedbr_pseudo_data.h"
#include "algorithms/local_registry.h"
#include "common/random.h"

namespace edgefl::sim {

SimulatedClientProxy::SimulatedClientProxy(train::ClientId id, datasets::Dataset data,
                                           const std::string& model_spec, ThreadPool& pool,
                                           train::ByzantineAttack attack)
    : data_(std::make_unique<const datasets::Dataset>(std::move(data))),
      model_spec_(model_spec),
      pool_(pool),
      attack_(attack) {
  info_.id = std::move(id);
  info_.num_samples = data_->size();
  trainer_ = std::make_unique<train::LocalTrainer>(model_spec, *data_);
}

std::future<train::FitResult> SimulatedClientProxy::Fit(
    engine::SharedParameters global, const train::FitInstructions& instructions) {
  return pool_.Submit([this, global = std::move(global), instructions]() {
    const std::lock_guard<std::mutex> lock(trainer_mutex_);
    const Eigen::VectorXf& sent =
        instructions.start_parameters ? *instructions.start_parameters : *global;
    // Compressed: the client starts from the model it holds after the
    // delta (compress/model_delta.h), not from `sent` itself.
    Eigen::VectorXf held;
    int64_t bytes_out = 0;
    if (compression_.enabled()) {
      Rng rng = Rng::Derive(instructions.recipe.seed, {compress::kDownlinkRoundingStream});
      const compress::EncodedModel encoded =
          downlink_.Encode(std::span<const float>(sent.data(), static_cast<size_t>(sent.size())),
                           instructions.model_version, compression_, rng);
      const std::vector<float>& model = client_model_.Apply(encoded);
      held =
          Eigen::Map<const Eigen::VectorXf>(model.data(), static_cast<Eigen::Index>(model.size()));
      bytes_out = static_cast<int64_t>(encoded.bytes.size());
    }
    const Eigen::VectorXf& from = compression_.enabled() ? held : sent;
    const std::span<const float> start(from.data(), static_cast<size_t>(from.size()));
    // Compressed: the update (trained - start) goes back encoded and the
    // server's copy of the result is sent + decode(update).
    const auto compress_result = [&](train::FitResult& result) {
      if (!compression_.enabled()) return;
      Eigen::VectorXf& trained = result.train.parameters;
      if (trained.size() != from.size()) return;  // mis-sized: the engine rejects it
      const Eigen::VectorXf update = trained - from;
      Rng rng = Rng::Derive(instructions.recipe.seed, {compress::kUplinkRoundingStream});
      const std::vector<uint8_t> bytes = compress::EncodeUpdate(
          std::span<const float>(update.data(), static_cast<size_t>(update.size())), compression_,
          rng, feedback_);
      trained = sent;
      compress::DecodeAdd(compression_.codec, bytes,
                          std::span<float>(trained.data(), static_cast<size_t>(trained.size())));
      result.bytes_out = bytes_out;
      result.bytes_in = static_cast<int64_t>(bytes.size());
    };
    if (algorithms::IsLocalSolver(instructions.local)) {
      if (solver_ == nullptr) {
        solver_ = algorithms::MakeLocalSolver(instructions.local, model_spec_, *data_);
      }
      train::FitResult result;
      result.client = info_.id;
      result.base_version = instructions.model_version;
      result.train = solver_->Solve(start, instructions.local);
      train::ApplyByzantine(attack_.mode, attack_.factor, start, &result.train.parameters);
      compress_result(result);
      return result;
    }
    algorithms::ObjectiveContext context;
    context.local_data = data_.get();
    context.recipe = &instructions.recipe;
    if (fleet_data_ != nullptr) context.fleet_data = *fleet_data_;
    context.pseudo_data = instructions.pseudo_data.get();
    auto objective = algorithms::MakeLocalObjective(instructions.local, context);
    auto order = algorithms::MakeDataOrder(instructions.local, &instructions.recipe);
    train::FitResult result;
    result.client = info_.id;
    result.base_version = instructions.model_version;
    result.train = trainer_->Train(start, instructions.recipe, objective.get(), order.get(),
                                   &instructions.preconditioning);
    train::ApplyByzantine(attack_.mode, attack_.factor, start, &result.train.parameters);
    compress_result(result);
    return result;
  });
}

std::future<train::EvalResult> SimulatedClientProxy::Evaluate(engine::SharedParameters parameters) {
  return pool_.Submit([this, parameters = std::move(parameters)]() {
    const std::lock_guard<std::mutex> lock(trainer_mutex_);
    return trainer_->Evaluate(
        std::span<const float>(parameters->data(), static_cast<size_t>(parameters->size())));
  });
}

std::future<Eigen::MatrixXf> SimulatedClientProxy::PseudoDataMeans(
    const train::PseudoDataRequest& request) {
  std::promise<Eigen::MatrixXf> means;
  try {
    means.set_value(algorithms::PseudoDataMeans(*data_, request));
  } catch (const std::exception&) {
    means.set_exception(std::current_exception());
  }
  return means.get_future();
}

}  // namespace edgefl::sim
