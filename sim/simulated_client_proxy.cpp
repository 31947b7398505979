#include "sim/simulated_client_proxy.h"

#include "algorithms/fedbr_pseudo_data.h"
#include "algorithms/local_registry.h"

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
    const Eigen::VectorXf& from =
        instructions.start_parameters ? *instructions.start_parameters : *global;
    const std::span<const float> start(from.data(), static_cast<size_t>(from.size()));
    if (algorithms::IsLocalSolver(instructions.local)) {
      if (solver_ == nullptr) {
        solver_ = algorithms::MakeLocalSolver(instructions.local, model_spec_, *data_);
      }
      train::FitResult result;
      result.client = info_.id;
      result.base_version = instructions.model_version;
      result.train = solver_->Solve(start, instructions.local);
      train::ApplyByzantine(attack_.mode, attack_.factor, start, &result.train.parameters);
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
