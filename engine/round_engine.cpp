#include "engine/round_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "algorithms/aggregate.h"
#include "algorithms/local_registry.h"
#include "common/error.h"
#include "common/number_text.h"
#include "common/random.h"
#include "engine/pseudo_data_pool.h"

namespace edgefl::engine {

using algorithms::ClientInfo;
using train::FitFailure;
using train::FitResult;

size_t RoundReport::dropped() const {
  size_t n = 0;
  for (const FitFailure& f : failures)
    n += f.kind == FitFailure::Kind::kDropped;
  return n;
}

size_t RoundReport::rejected() const {
  return failures.size() - dropped();
}

RoundEngine::RoundEngine(algorithms::Strategy& strategy, algorithms::ClientSelector& selector,
                         RoundOptions options, Eigen::VectorXf initial, int64_t initial_version)
    : strategy_(strategy),
      selector_(selector),
      options_(options),
      global_(std::make_shared<const Eigen::VectorXf>(std::move(initial))),
      version_(initial_version) {
  if (options_.clients_per_round == 0) throw ConfigError("clients_per_round must be > 0");
  if (!(options_.quorum > 0.0 && options_.quorum <= 1.0)) {
    throw ConfigError("quorum must be in (0, 1], got " + ShortNumber(options_.quorum));
  }
  if (global_->size() == 0) throw ConfigError("the initial model has no parameters");
}

RoundReport RoundEngine::RunRound(int64_t round, std::span<ClientProxy* const> all_clients) {
  const auto start = std::chrono::steady_clock::now();
  RoundReport report;
  report.round = round;
  report.model_version = version_;

  // On the virtual clock, only the clients on now are candidates.
  std::vector<ClientProxy*> on;
  std::vector<double> online_until;
  const bool timed = static_cast<bool>(options_.virtual_seconds);
  const bool by_availability = timed && static_cast<bool>(options_.availability);
  if (by_availability) {
    double earliest = std::numeric_limits<double>::infinity();
    for (ClientProxy* c : all_clients)
      earliest = std::min(earliest, options_.availability(c->info(), virtual_now_).first);
    if (std::isfinite(earliest)) virtual_now_ = std::max(virtual_now_, earliest);
    for (ClientProxy* c : all_clients) {
      const auto [from, until] = options_.availability(c->info(), virtual_now_);
      if (from <= virtual_now_) {
        on.push_back(c);
        online_until.push_back(until);
      }
    }
  } else {
    on.assign(all_clients.begin(), all_clients.end());
  }
  const std::span<ClientProxy* const> clients(on);

  // Select.
  std::vector<ClientInfo> candidates;
  candidates.reserve(clients.size());
  if (selector_.NeedsScores(round)) {
    std::vector<std::future<train::EvalResult>> scores;
    for (ClientProxy* c : clients)
      scores.push_back(c->Evaluate(global_));
    for (size_t i = 0; i < clients.size(); ++i) {
      try {
        clients[i]->info().score = scores[i].get().loss;
      } catch (const std::exception&) {
        clients[i]->info().score = std::nan("");
      }
    }
  }
  for (ClientProxy* c : clients)
    candidates.push_back(c->info());
  Rng rng = Rng::Derive(options_.seed, {static_cast<uint64_t>(round)});
  const std::vector<size_t> picked =
      selector_.Select(round, candidates, options_.clients_per_round, rng);
  if (picked.empty()) {
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  std::vector<ClientProxy*> cohort;
  std::vector<ClientInfo> cohort_info;
  std::vector<double> cohort_until;
  for (size_t i : picked) {
    if (i >= clients.size()) throw Error("selector returned an index out of range");
    cohort.push_back(clients[i]);
    cohort_until.push_back(by_availability ? online_until[i] - virtual_now_
                                           : std::numeric_limits<double>::infinity());
    cohort_info.push_back(candidates[i]);
    report.selected.push_back(candidates[i].id);
  }

  // Configure and fan out.
  std::vector<train::FitInstructions> instructions =
      strategy_.ConfigureFitFrom(round, cohort_info, *global_);
  if (instructions.size() != cohort.size()) {
    throw Error("strategy " + strategy_.name() + " configured " +
                std::to_string(instructions.size()) + " clients for a cohort of " +
                std::to_string(cohort.size()));
  }
  // FedBR: the shared pseudo-data pool, built once from every client's means.
  if (const std::string problem = EnsurePseudoData(instructions, all_clients); !problem.empty()) {
    for (const train::ClientId& id : report.selected)
      report.failures.push_back({id, FitFailure::Kind::kDropped, problem});
    report.outcome = problem;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  for (train::FitInstructions& i : instructions) {
    if (algorithms::PseudoDataSpecOf(i.local)) i.pseudo_data = pseudo_data_;
  }
  // Secure aggregation with clients that run the stages themselves: they
  // keep their updates and send statistics only.
  const algorithms::SecureAggregationOptions* secure = strategy_.secure_aggregation();
  const bool remote_secure =
      secure != nullptr && std::all_of(cohort.begin(), cohort.end(),
                                       [](ClientProxy* c) { return c->secagg_party() != nullptr; });
  if (remote_secure) {
    for (train::FitInstructions& i : instructions)
      i.secure_aggregation = true;
  }
  // On a virtual clock, decide who is cut before anything trains.
  std::vector<std::string> cut(cohort.size());
  std::vector<double> task_seconds(cohort.size(), std::numeric_limits<double>::quiet_NaN());
  if (options_.virtual_seconds) {
    std::vector<std::optional<double>> finish(cohort.size());
    double longest = 0.0;
    bool any_cut = false;
    std::vector<size_t> kept;
    for (size_t i = 0; i < cohort.size(); ++i) {
      finish[i] = options_.virtual_seconds(round, cohort_info[i], instructions[i]);
      if (finish[i]) task_seconds[i] = *finish[i];
      if (!finish[i]) {
        cut[i] = "dropped out (simulated dropout)";
        any_cut = true;
      } else if (*finish[i] > cohort_until[i]) {
        cut[i] = "went off-line before finishing (simulated availability)";
        any_cut = true;
        finish[i] = cohort_until[i];
      } else if (options_.virtual_deadline > 0.0 && *finish[i] > options_.virtual_deadline) {
        char reason[128];
        std::snprintf(reason, sizeof(reason), "missed the deadline (%.3g s > %.3g s, virtual)",
                      *finish[i], options_.virtual_deadline);
        cut[i] = reason;
        any_cut = true;
      } else {
        kept.push_back(i);
      }
    }
    if (kept.size() > options_.clients_per_round) {
      std::stable_sort(kept.begin(), kept.end(),
                       [&](size_t a, size_t b) { return *finish[a] < *finish[b]; });
      for (size_t j = options_.clients_per_round; j < kept.size(); ++j) {
        cut[kept[j]] = "over-committed: not among the first " +
                       std::to_string(options_.clients_per_round) + " to finish";
      }
      kept.resize(options_.clients_per_round);
    }
    for (size_t i : kept)
      longest = std::max(longest, *finish[i]);
    if (any_cut && options_.virtual_deadline > 0.0) longest = options_.virtual_deadline;
    if (kept.empty() && options_.virtual_deadline <= 0.0) {
      for (const std::optional<double>& f : finish) {
        if (f) longest = std::max(longest, *f);
      }
    }
    report.virtual_seconds = longest;
    virtual_now_ += longest;
  }

  // Largest datasets first: in simulation the tasks share a thread pool,
  // and longest-first packs it best; for remote clients the order is moot.
  std::vector<size_t> launch(cohort.size());
  std::iota(launch.begin(), launch.end(), size_t{0});
  std::stable_sort(launch.begin(), launch.end(), [&](size_t a, size_t b) {
    return cohort_info[a].num_samples > cohort_info[b].num_samples;
  });
  std::vector<std::future<FitResult>> pending(cohort.size());
  for (size_t i : launch) {
    if (!cut[i].empty()) continue;
    instructions[i].model_version = version_;
    pending[i] = cohort[i]->Fit(global_, instructions[i]);
  }

  // Collect, in cohort order (so aggregation never depends on timing).
  const bool has_deadline = options_.deadline.count() > 0;
  const auto deadline = start + options_.deadline;
  double loss_sum = 0.0, loss_weight = 0.0;
  std::vector<algorithms::SecAggParty*> parties;  // of report.results, when remote_secure
  for (size_t i = 0; i < cohort.size(); ++i) {
    const train::ClientId& id = report.selected[i];
    if (!cut[i].empty()) {
      report.failures.push_back({id, FitFailure::Kind::kDropped, cut[i]});
      continue;
    }
    if (has_deadline && pending[i].wait_until(deadline) != std::future_status::ready) {
      report.failures.push_back({id, FitFailure::Kind::kDropped, "deadline passed"});
      continue;
    }
    try {
      FitResult result = pending[i].get();
      // A client told to start from other parameters (a DiPaCo path)
      // answers with their size; every other update has the global's.
      // A client that keeps its update for secure aggregation sends none.
      // An edge aggregator's group sum has the global's size whatever the
      // instructions said.
      const size_t expected = instructions[i].secure_aggregation && !result.group_sum ? size_t{0}
                              : instructions[i].start_parameters
                                  ? static_cast<size_t>(instructions[i].start_parameters->size())
                                  : static_cast<size_t>(global_->size());
      std::optional<std::string> problem = algorithms::CheckUpdate(
          id, {result.train.parameters.data(), static_cast<size_t>(result.train.parameters.size())},
          expected);
      if (problem) {
        report.failures.push_back({id, FitFailure::Kind::kRejected, std::move(*problem)});
        continue;
      }
      const double weight = static_cast<double>(result.train.num_samples);
      loss_sum += weight * result.train.train_loss;
      loss_weight += weight;
      if (remote_secure && !result.group_sum) parties.push_back(cohort[i]->secagg_party());
      report.results.push_back(std::move(result));
    } catch (const std::exception& e) {
      report.failures.push_back({id, FitFailure::Kind::kDropped, e.what()});
    }
  }
  report.train_loss = loss_weight > 0 ? loss_sum / loss_weight : std::nan("");

  // Aggregate if the quorum reported (of the clients wanted: an
  // over-committed cohort's extra members do not raise the bar).
  const double needed =
      options_.quorum * static_cast<double>(std::min(cohort.size(), options_.clients_per_round));
  // In samples: of the members wanted, what they said they hold.
  double expected_samples = 0.0, usable_samples = 0.0;
  for (size_t i = 0; i < std::min(cohort.size(), options_.clients_per_round); ++i)
    expected_samples += static_cast<double>(cohort_info[i].num_samples);
  for (const FitResult& r : report.results)
    usable_samples += static_cast<double>(r.train.num_samples);
  const bool by_samples = options_.quorum_by_samples && expected_samples > 0.0;
  const double needed_samples = options_.quorum * expected_samples;
  if (report.results.empty()) {
    report.outcome = "no usable update";
  } else if (!by_samples && static_cast<double>(report.results.size()) + 1e-9 < needed) {
    report.outcome = "quorum not reached: " + std::to_string(report.results.size()) + " of " +
                     std::to_string(static_cast<int64_t>(std::ceil(needed - 1e-9))) +
                     " needed usable updates";
  } else if (by_samples && usable_samples + 1e-9 < needed_samples) {
    report.outcome = "quorum not reached: usable updates of " +
                     std::to_string(static_cast<int64_t>(usable_samples)) + " of " +
                     std::to_string(static_cast<int64_t>(std::ceil(needed_samples - 1e-9))) +
                     " needed samples";
  } else if (secure != nullptr && !SecureRound(round, *secure, parties, report)) {
    // The stages failed: report.outcome says why; the model is kept.
  } else {
    // With secure aggregation the strategy sees only the unmasked mean and
    // the edge aggregators' group sums (each already secure in its group).
    std::vector<FitResult> secure_inputs;
    if (secure != nullptr) {
      if (secure_sum_) secure_inputs.push_back(std::move(*secure_sum_));
      for (const FitResult& r : report.results) {
        if (r.group_sum) secure_inputs.push_back(r);
      }
    }
    algorithms::AggregateOutcome outcome =
        secure != nullptr
            ? strategy_.AggregateFit(round, *global_, secure_inputs, report.failures)
            : strategy_.AggregateFit(round, *global_, report.results, report.failures);
    secure_sum_.reset();
    for (FitFailure& rejected : outcome.rejected) {
      std::erase_if(report.results,
                    [&](const FitResult& r) { return r.client == rejected.client; });
      report.failures.push_back(std::move(rejected));
    }
    // Merged: secure aggregation's metrics are already there.
    for (auto& [key, value] : outcome.metrics)
      report.metrics[key] = value;
    if (outcome.parameters.has_value()) {
      const std::optional<std::string> problem = algorithms::CheckUpdate(
          "the aggregate",
          {outcome.parameters->data(), static_cast<size_t>(outcome.parameters->size())},
          static_cast<size_t>(global_->size()));
      if (problem) throw Error("strategy " + strategy_.name() + ": " + *problem);
      global_ = std::make_shared<const Eigen::VectorXf>(std::move(*outcome.parameters));
      ++version_;
      report.model_updated = true;
    } else {
      report.outcome = "the strategy kept the model";
    }
  }
  for (const FitResult& r : report.results) {
    for (ClientProxy* c : cohort) {
      if (c->info().id == r.client) {
        ++c->info().rounds_participated;
        c->info().last_round = round;
      }
    }
  }
  // Tell the selector how each member did (Oort learns from it).
  std::vector<algorithms::CohortOutcome> outcomes(cohort.size());
  for (size_t i = 0; i < cohort.size(); ++i) {
    outcomes[i].id = report.selected[i];
    outcomes[i].seconds = task_seconds[i];
    for (const FitResult& r : report.results) {
      if (r.client != outcomes[i].id) continue;
      outcomes[i].result = &r.train;
      if (std::isnan(outcomes[i].seconds)) outcomes[i].seconds = r.train.compute_seconds;
    }
  }
  selector_.Observe(round, outcomes);
  report.model_version = version_;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string RoundEngine::EnsurePseudoData(const std::vector<train::FitInstructions>& instructions,
                                          std::span<ClientProxy* const> clients) {
  if (pseudo_data_ != nullptr) return "";
  const std::optional<algorithms::PseudoDataSpec> spec = PseudoDataSpecOfAny(instructions);
  if (!spec) return "";
  try {
    pseudo_data_ = AskPseudoDataPool(*spec, clients);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool RoundEngine::SecureRound(int64_t round, const algorithms::SecureAggregationOptions& options,
                              std::span<algorithms::SecAggParty* const> parties,
                              RoundReport& report) {
  // Edge aggregators' group sums go last (in cohort order), outside the
  // stages: the parties are the other results, in order.
  const auto groups = std::stable_partition(report.results.begin(), report.results.end(),
                                            [](const FitResult& r) { return !r.group_sum; });
  const std::span<const FitResult> members(report.results.data(),
                                           static_cast<size_t>(groups - report.results.begin()));
  if (members.empty()) return true;  // only group sums: nothing to unmask here
  if (!parties.empty() && parties.size() != members.size()) {
    throw Error("secure aggregation: " + std::to_string(parties.size()) + " parties for " +
                std::to_string(members.size()) + " results");
  }
  algorithms::SecureAggregationResult secure =
      parties.empty()
          ? algorithms::SecureAggregate(round, *global_, members, options)
          : algorithms::RunSecureAggregation(round, *global_, members, parties, options);
  for (auto& [key, value] : secure.metrics)
    report.metrics[key] = value;
  for (FitFailure& dropped : secure.dropped) {
    std::erase_if(report.results, [&](const FitResult& r) { return r.client == dropped.client; });
    report.failures.push_back(std::move(dropped));
  }
  // A client's row counts what it moved in the round: the task and result
  // frames (a secure result carries no update) plus its stage messages. In
  // simulation there are no frames: the model down, and the stages.
  const auto model_bytes = static_cast<int64_t>(sizeof(float)) * global_->size();
  for (FitResult& r : report.results) {
    const auto up = secure.bytes_up.find(r.client);
    const auto down = secure.bytes_down.find(r.client);
    if (parties.empty()) {
      r.bytes_in = 0;
      r.bytes_out = model_bytes;
    }
    if (up != secure.bytes_up.end()) r.bytes_in += up->second;
    if (down != secure.bytes_down.end()) r.bytes_out += down->second;
  }
  // On a virtual clock the stages take the slowest client's transfer and
  // modelled compute, then the server's.
  if (report.virtual_seconds && options_.transfer_seconds) {
    double slowest = 0.0;
    for (const auto& [id, up] : secure.bytes_up) {
      slowest = std::max(slowest, options_.transfer_seconds(up + secure.bytes_down.at(id)) +
                                      secure.client_seconds.at(id));
    }
    const double extra = slowest + secure.server_seconds;
    report.metrics["secagg_virtual_seconds"] = extra;
    *report.virtual_seconds += extra;
    virtual_now_ += extra;
  }
  if (!secure.ok) {
    report.outcome = "secure aggregation failed: " + secure.failure;
    return false;
  }
  secure_sum_ = std::move(secure.sum);
  return true;
}

}  // namespace edgefl::engine
