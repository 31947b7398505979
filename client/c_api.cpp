// The C API of client/edgefl_client.h over RunCoordinatorSession: every
// entry point catches everything, so no exception reaches C.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unistd.h>

#include "client/coordinator_address.h"
#include "client/coordinator_session.h"
#include "client/edgefl_client.h"
#include "client/session_stop.h"
#include "client/speed_probe.h"
#include "common/error.h"
#include "datasets/dataset.h"
#include "wire/certificates.h"
#include "wire/tls_context.h"

struct edgefl_client {
  edgefl::client::SessionOptions session;
  edgefl::client::RunState run_state;
  std::unique_ptr<edgefl::datasets::Dataset> data;
  edgefl_log_fn log = nullptr;
  void* log_user_data = nullptr;
  std::atomic<int64_t> tasks_done{0};
  std::string last_error;
  bool usable = false;  // created from valid options
};

namespace {

std::string Required(const char* value, const char* name) {
  if (value == nullptr || *value == '\0') {
    throw edgefl::ConfigError(std::string("edgefl_client_options.") + name + " is required");
  }
  return value;
}

// Runs `body`, turning every exception into `failure` and the handle's
// last error.
template <typename Body>
edgefl_status Guarded(edgefl_client* client, edgefl_status failure, Body&& body) {
  try {
    return body();
  } catch (const edgefl::ConfigError& e) {
    client->last_error = e.what();
    return EDGEFL_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    client->last_error = "out of memory";
    return EDGEFL_ERROR;
  } catch (const std::exception& e) {
    client->last_error = e.what();
    return failure;
  } catch (...) {
    client->last_error = "unknown error";
    return failure;
  }
}

}  // namespace

extern "C" {

edgefl_client* edgefl_client_create(const edgefl_client_options* options) {
  edgefl_client* client = new (std::nothrow) edgefl_client;
  if (client == nullptr) return nullptr;
  Guarded(client, EDGEFL_ERROR, [&] {
    if (options == nullptr) throw edgefl::ConfigError("edgefl_client_create: options is NULL");
    edgefl::client::SessionOptions& session = client->session;
    std::tie(session.host, session.port) = edgefl::client::ParseCoordinatorAddress(
        Required(options->coordinator, "coordinator"), "edgefl_client_options.coordinator");
    session.tls = {Required(options->certificate, "certificate"),
                   Required(options->private_key, "private_key"),
                   Required(options->ca_certificate, "ca_certificate")};
    // As edgefl-client does: every TLS file checked before any session.
    edgefl::wire::MakeClientContext(session.tls, session.host);
    session.client_id =
        edgefl::wire::InspectCertificate(edgefl::wire::ReadPemFile(session.tls.certificate),
                                         session.tls.certificate.string())
            .subject_cn;
    session.stop = std::make_shared<edgefl::client::SessionStop>();
    session.device.cores = std::max(1u, std::thread::hardware_concurrency());
    session.device.memory_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                  static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
    client->usable = true;
    return EDGEFL_OK;
  });
  return client;
}

edgefl_status edgefl_client_set_data(edgefl_client* client, const float* features,
                                     const int32_t* labels, size_t num_samples,
                                     const int32_t* sample_shape, size_t shape_rank,
                                     int32_t num_classes) {
  if (client == nullptr) return EDGEFL_INVALID_ARGUMENT;
  return Guarded(client, EDGEFL_ERROR, [&] {
    using edgefl::ConfigError;
    if (features == nullptr || labels == nullptr || sample_shape == nullptr) {
      throw ConfigError("edgefl_client_set_data: features, labels and sample_shape are required");
    }
    if (num_samples == 0) throw ConfigError("edgefl_client_set_data: no samples");
    if (shape_rank == 0 || shape_rank > 8) {
      throw ConfigError("edgefl_client_set_data: shape_rank must be 1 to 8, got " +
                        std::to_string(shape_rank));
    }
    if (num_classes < 2 || num_classes > (1 << 20)) {
      throw ConfigError("edgefl_client_set_data: num_classes must be 2 to 2^20, got " +
                        std::to_string(num_classes));
    }
    auto data = std::make_unique<edgefl::datasets::Dataset>();
    size_t dim = 1;
    for (size_t i = 0; i < shape_rank; ++i) {
      if (sample_shape[i] <= 0 || sample_shape[i] > (1 << 24)) {
        throw ConfigError("edgefl_client_set_data: sample_shape[" + std::to_string(i) +
                          "] must be 1 to 2^24, got " + std::to_string(sample_shape[i]));
      }
      dim *= static_cast<size_t>(sample_shape[i]);
      if (dim > (size_t{1} << 28)) {
        throw ConfigError("edgefl_client_set_data: a sample has over 2^28 values");
      }
      data->sample_shape.push_back(sample_shape[i]);
    }
    if (num_samples > (size_t{1} << 34) / dim) {
      throw ConfigError("edgefl_client_set_data: over 2^34 feature values in all");
    }
    data->name = "app";
    data->num_classes = num_classes;
    data->labels.assign(labels, labels + num_samples);
    for (size_t i = 0; i < num_samples; ++i) {
      if (labels[i] < 0 || labels[i] >= num_classes) {
        throw ConfigError("edgefl_client_set_data: labels[" + std::to_string(i) +
                          "] = " + std::to_string(labels[i]) + " is outside [0, " +
                          std::to_string(num_classes) + ")");
      }
    }
    data->features = Eigen::Map<const edgefl::datasets::FeatureMatrix>(
        features, static_cast<Eigen::Index>(num_samples), static_cast<Eigen::Index>(dim));
    if (!data->features.allFinite()) {
      throw ConfigError("edgefl_client_set_data: the features hold a NaN or an infinity");
    }
    edgefl::wire::DeviceProfile& device = client->session.device;
    device.dataset_size = data->size();
    device.num_classes = static_cast<uint32_t>(data->num_classes);
    device.input_dim = static_cast<uint32_t>(data->dim());
    device.samples_per_second = edgefl::client::MeasureTrainingSpeed(*data);
    client->data = std::move(data);
    return EDGEFL_OK;
  });
}

void edgefl_client_set_log(edgefl_client* client, edgefl_log_fn log, void* user_data) {
  if (client == nullptr) return;
  client->log = log;
  client->log_user_data = user_data;
}

edgefl_status edgefl_client_run_session(edgefl_client* client) {
  if (client == nullptr) return EDGEFL_INVALID_ARGUMENT;
  return Guarded(client, EDGEFL_ERROR, [&] {
    if (!client->usable) {
      // last_error still says why the handle was not created.
      throw edgefl::ConfigError("edgefl_client_run_session: the client was not created: " +
                                client->last_error);
    }
    if (client->data == nullptr) {
      throw edgefl::ConfigError("edgefl_client_run_session: no data (edgefl_client_set_data)");
    }
    client->last_error.clear();
    const edgefl::client::LogFn log = [client](char level, const std::string& line) {
      if (client->log != nullptr) client->log(client->log_user_data, level, line.c_str());
    };
    const edgefl::client::SessionEnd end = edgefl::client::RunCoordinatorSession(
        client->session, *client->data, log, client->run_state);
    client->tasks_done += end.tasks_done;
    using Kind = edgefl::client::SessionEnd::Kind;
    switch (end.kind) {
      case Kind::kBye:
        return EDGEFL_OK;
      case Kind::kDisconnected:
        client->last_error = end.reason;
        return EDGEFL_DISCONNECTED;
      case Kind::kRefused:
        client->last_error = end.reason;
        return EDGEFL_REFUSED;
      case Kind::kReplaced:
        client->last_error = edgefl::client::ReplacedExitMessage(client->session.client_id) + " (" +
                             end.reason + ")";
        return EDGEFL_REFUSED;
      case Kind::kStopped:
        client->last_error = end.reason;
        return EDGEFL_STOPPED;
    }
    client->last_error = "unknown session end";
    return EDGEFL_ERROR;
  });
}

void edgefl_client_stop(edgefl_client* client) {
  if (client == nullptr || client->session.stop == nullptr) return;
  client->session.stop->Stop();
}

int64_t edgefl_client_tasks_done(const edgefl_client* client) {
  return client == nullptr ? 0 : client->tasks_done.load();
}

const char* edgefl_client_last_error(const edgefl_client* client) {
  return client == nullptr ? "edgefl_client is NULL" : client->last_error.c_str();
}

void edgefl_client_destroy(edgefl_client* client) {
  delete client;
}

}  // extern "C"
