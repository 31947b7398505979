// AsyncFold's secure cohorts (engine/async_fold.h, FedBuff with
// secure_aggregation): accepted arrivals wait as ready reports, a cohort
// takes the oldest K with their staleness at formation, a cohort's mean is
// stepped from the current model even when another cohort moved it after
// this one formed, and a failed cohort records its members as dropped with
// the reason and makes no version.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedbuff.h"
#include "algorithms/secure_aggregation.h"
#include "engine/async_fold.h"

namespace edgefl::engine {
namespace {

class Idle final : public ClientProxy {
 public:
  explicit Idle(std::string id) { info_.id = std::move(id); }
  algorithms::ClientInfo& info() override { return info_; }
  std::future<train::FitResult> Fit(SharedParameters, const train::FitInstructions&) override {
    throw std::logic_error("not used");
  }
  std::future<train::EvalResult> Evaluate(SharedParameters) override {
    throw std::logic_error("not used");
  }

 private:
  algorithms::ClientInfo info_;
};

std::future<train::FitResult> Ready(const std::string& id, const Eigen::VectorXf& trained) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = trained;
  r.train.num_samples = 10;
  r.train.train_loss = 1.0;
  std::promise<train::FitResult> p;
  p.set_value(std::move(r));
  return p.get_future();
}

algorithms::FedBuffOptions SecureBuffer() {
  algorithms::FedBuffOptions o;
  o.task.recipe.local_steps = 1;
  o.buffer_size = 2;
  o.server_lr = 1.0;
  o.secure_aggregation.emplace();
  o.secure_aggregation->clip = 4.0;
  o.secure_aggregation->seed = 2;
  return o;
}

// What the loops do: the cohort's stages in-process on `formed_on`.
algorithms::SecureAggregationResult Stages(int64_t number, const Eigen::VectorXf& formed_on,
                                           const std::vector<AsyncFold::CohortMember>& members,
                                           algorithms::AsyncStrategy& strategy) {
  std::vector<train::FitResult> results;
  std::vector<const Eigen::VectorXf*> bases;
  std::vector<double> scales;
  for (const AsyncFold::CohortMember& m : members) {
    results.push_back(m.result);
    bases.push_back(m.base.get());
    scales.push_back(strategy.CohortScale(m.staleness));
  }
  return algorithms::SecureAggregateCohort(number, formed_on, results, bases, scales,
                                           *strategy.secure_aggregation());
}

}  // namespace

TEST_CASE("async fold: overlapping secure cohorts each step by their own mean") {
  algorithms::FedBuff buff(SecureBuffer());
  const Eigen::VectorXf zero = Eigen::VectorXf::Zero(3);
  AsyncFold fold(buff, zero, 0);
  REQUIRE(fold.secure());
  std::vector<std::unique_ptr<Idle>> clients;
  for (const char* id : {"c0", "c1", "c2", "c3"})
    clients.push_back(std::make_unique<Idle>(id));
  const Eigen::VectorXf a = Eigen::Vector3f(0.4f, 0.0f, 0.0f);
  const Eigen::VectorXf b = Eigen::Vector3f(0.0f, 0.2f, 0.0f);
  const SharedParameters v0 = fold.global();
  for (int k = 0; k < 4; ++k) {
    std::future<train::FitResult> f =
        Ready(clients[static_cast<size_t>(k)]->info().id, *v0 + (k < 2 ? a : b));
    CHECK(fold.Arrive(*clients[static_cast<size_t>(k)], f, v0, 0, 1.0));
  }
  CHECK(fold.cohort_waiting() == 4);
  REQUIRE(fold.cohort_full());
  // Both cohorts form on version 0 (their stages overlap on the clock).
  std::vector<AsyncFold::CohortMember> first = fold.TakeCohort();
  std::vector<AsyncFold::CohortMember> second = fold.TakeCohort();
  CHECK_FALSE(fold.cohort_full());
  REQUIRE(first.size() == 2);
  CHECK(first[0].client->info().id == "c0");  // oldest first
  const algorithms::SecureAggregationResult s1 = Stages(1, *v0, first, buff);
  const algorithms::SecureAggregationResult s2 = Stages(2, *v0, second, buff);
  REQUIRE(s1.ok);
  REQUIRE(s2.ok);
  fold.FinishCohort(std::move(first), s1, *v0, 2.0);
  fold.FinishCohort(std::move(second), s2, *v0, 3.0);
  // Version 2 = a + b: the second cohort's mean b, not b − a from the moved model.
  const Eigen::VectorXf expected = a + b;
  CHECK(fold.version() == 2);
  CHECK(((*fold.global()) - expected).cwiseAbs().maxCoeff() < 1e-6);
  const std::optional<AsyncUpdate> u1 = fold.TakeReady();
  REQUIRE(u1.has_value());
  CHECK(u1->results.size() == 2);
  CHECK(u1->results[0].train.parameters.size() == 0);  // the fold keeps no update
  CHECK(u1->metrics.count("secagg_k") == 1);
}

TEST_CASE("async fold: a failed secure cohort is logged as dropped and makes no version") {
  algorithms::FedBuff buff(SecureBuffer());
  const Eigen::VectorXf zero = Eigen::VectorXf::Zero(3);
  AsyncFold fold(buff, zero, 0);
  Idle c0("c0"), c1("c1"), c2("c2"), c3("c3");
  const SharedParameters v0 = fold.global();
  for (Idle* c : {&c0, &c1}) {
    std::future<train::FitResult> f = Ready(c->info().id, *v0 + Eigen::Vector3f(0.1f, 0, 0));
    fold.Arrive(*c, f, v0, 0, 1.0);
  }
  std::vector<AsyncFold::CohortMember> failed = fold.TakeCohort();
  algorithms::SecureAggregationResult stages;
  stages.ok = false;
  stages.failure = "secagg: advertise keys: 1 of 2 clients answered";
  fold.FinishCohort(std::move(failed), stages, *v0, 2.0);
  CHECK(fold.version() == 0);
  CHECK_FALSE(fold.ready());
  // The run goes on: the next cohort makes version 1, carrying the failure rows.
  for (Idle* c : {&c2, &c3}) {
    std::future<train::FitResult> f = Ready(c->info().id, *v0 + Eigen::Vector3f(0, 0.1f, 0));
    fold.Arrive(*c, f, v0, 0, 3.0);
  }
  std::vector<AsyncFold::CohortMember> next = fold.TakeCohort();
  const algorithms::SecureAggregationResult ok = Stages(2, *v0, next, buff);
  REQUIRE(ok.ok);
  fold.FinishCohort(std::move(next), ok, *v0, 4.0);
  const std::optional<AsyncUpdate> u = fold.TakeReady();
  REQUIRE(u.has_value());
  CHECK(u->model_version == 1);
  CHECK(u->results.size() == 2);
  REQUIRE(u->failures.size() == 2);
  for (const train::FitFailure& f : u->failures) {
    CHECK(f.kind == train::FitFailure::Kind::kDropped);
    CHECK(f.reason.find("secure aggregation of its cohort failed: secagg: advertise keys") !=
          std::string::npos);
  }
}

}  // namespace edgefl::engine
