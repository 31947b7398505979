// On rank 0 of an MPI simulation: a simulated client that trains on another
// rank. Fit goes through the RankDispatcher to the rank that hosts the
// client (mpi/client_host.h), which runs the same SimulatedClientProxy an
// in-process run would, so the result is bit for bit the same.
//
// Everything else is answered by the client's twin on rank 0 (every rank
// builds every client's data, in the same order): its profile (info(), the
// history the engine keeps), and the cheap questions that depend only on the
// data and the parameters sent — Evaluate (a selector's scores) and FedBR's
// PseudoDataMeans. Training, the cost that grows with the cohort, is what is
// spread over the ranks.
#pragma once

#include <cstdint>
#include <future>
#include <memory>

#include "engine/client_proxy.h"
#include "mpi/rank_dispatcher.h"

namespace edgefl::mpi {

class RemoteClientProxy final : public engine::ClientProxy {
 public:
  // `twin`: the in-process proxy of client `client` (kept alive: the fleet's
  // data pointers point into it); `dispatcher` must outlive this proxy.
  RemoteClientProxy(std::shared_ptr<engine::ClientProxy> twin, uint32_t client, int rank,
                    RankDispatcher& dispatcher)
      : twin_(std::move(twin)), client_(client), rank_(rank), dispatcher_(dispatcher) {}

  algorithms::ClientInfo& info() override { return twin_->info(); }
  std::future<train::FitResult> Fit(engine::SharedParameters global,
                                    const train::FitInstructions& instructions) override {
    return dispatcher_.Fit(rank_, client_, std::move(global), instructions);
  }
  std::future<train::EvalResult> Evaluate(engine::SharedParameters parameters) override {
    return twin_->Evaluate(std::move(parameters));
  }
  std::future<Eigen::MatrixXf> PseudoDataMeans(const train::PseudoDataRequest& request) override {
    return twin_->PseudoDataMeans(request);
  }

  int rank() const { return rank_; }

 private:
  std::shared_ptr<engine::ClientProxy> twin_;
  uint32_t client_;
  int rank_;
  RankDispatcher& dispatcher_;
};

}  // namespace edgefl::mpi
