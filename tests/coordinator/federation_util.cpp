#include "tests/coordinator/federation_util.h"

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

#include <doctest/doctest.h>

namespace edgefl::testing {

namespace fs = std::filesystem;

std::string ReadIfExists(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "";
  try {
    return ReadFile(path);
  } catch (const std::exception&) {
    return "";
  }
}

bool Contains(const fs::path& path, const std::string& text) {
  return ReadIfExists(path).find(text) != std::string::npos;
}

int Occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(address.sin_port);
}

Federation::Federation(int clients, int64_t train_subset)
    : clients_(clients), train_subset_(train_subset) {
  const std::string edgefl = EdgeflTool();
  const std::string certs = (dir_ / "certs").string();
  std::string command = edgefl + " certs init --dir " + certs + " && " + edgefl +
                        " certs issue-server 127.0.0.1 --dir " + certs;
  for (int k = 0; k < clients; ++k) {
    command += " && " + edgefl + " certs issue-client " + ClientName(k) + " --dir " + certs;
  }
  command += " && " + edgefl +
             " partition --dataset fmnist --scheme dirichlet --alpha 0.5 --seed 1 -q --data-dir " +
             FashionMnistDir().string() + " --clients " + std::to_string(clients) + " --out " +
             partition().string();
  if (train_subset > 0) command += " --train-subset " + std::to_string(train_subset);
  std::string output;
  const int rc = RunCommand(command, &output);
  INFO(output);
  REQUIRE(rc == 0);
}

Process& Federation::StartCoordinator(const std::string& tag,
                                      const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {edgefl::testing::BinaryDir() + "/coordinator/edgefl-coordinator",
                                   "--config",
                                   edgefl::testing::SourceDir() + "/examples/fedavg.toml"};
  std::vector<std::string> all = {
      "clients=" + std::to_string(clients_),
      "cert=" + (dir_ / "certs/server.crt").string(),
      "key=" + (dir_ / "certs/server.key").string(),
      "ca=" + (dir_ / "certs/ca.crt").string(),
      "db=" + db().string(),
      "data_path=" + FashionMnistDir().string(),
  };
  all.push_back(TrainSubsetSetting());
  all.insert(all.end(), settings.begin(), settings.end());
  for (const std::string& s : all) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  return Start(tag, std::move(argv), dir_ / (tag + ".out"), dir_ / (tag + ".log"));
}

int Federation::WaitListening(Process& coordinator) {
  std::string port;
  const bool listening = PollUntil(
      [&] {
        const std::string log = ReadIfExists(coordinator.err());
        const size_t at = log.find("listening on ");
        const size_t colon = at == std::string::npos ? at : log.find_first_of(":\n", at);
        const size_t end = colon == std::string::npos ? colon : log.find('\n', colon);
        if (end != std::string::npos && log[colon] == ':') {
          port = log.substr(colon + 1, end - colon - 1);
          return true;
        }
        return !coordinator.Running();
      },
      kStartTimeout);
  REQUIRE_MESSAGE(listening, "the coordinator did not start listening");
  REQUIRE_MESSAGE(!port.empty(), coordinator.Describe() << " before listening");
  return std::stoi(port);
}

Process& Federation::StartClient(int k, int port, const std::vector<std::string>& extra_args) {
  Process& p = StartClientAs(k, port, ClientName(k), extra_args);
  clients_started_.push_back(&p);
  return p;
}

Process& Federation::StartClientAs(int k, int port, const std::string& tag,
                                   const std::vector<std::string>& extra_args) {
  const std::string certs = (dir_ / "certs").string() + "/";
  std::vector<std::string> argv = {edgefl::testing::BinaryDir() + "/client/edgefl-client",
                                   "--coordinator",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--cert",
                                   certs + ClientName(k) + ".crt",
                                   "--key",
                                   certs + ClientName(k) + ".key",
                                   "--ca",
                                   certs + "ca.crt",
                                   "--data",
                                   partition().string(),
                                   "--index",
                                   std::to_string(k),
                                   "--data-dir",
                                   FashionMnistDir().string(),
                                   "--retry-for",
                                   "60"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return Start(tag, std::move(argv), dir_ / (tag + ".out"), dir_ / (tag + ".log"));
}

void Federation::StartClients(int n, int port) {
  for (int k = 0; k < n; ++k)
    StartClient(k, port);
}

void Federation::RequireRunCompleted(Process& coordinator) {
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE_MESSAGE(coordinator.ExitedWith(0), coordinator.Describe());
  for (Process* client : clients_started_) {
    REQUIRE_MESSAGE(client->Wait(std::chrono::seconds(30)), client->Describe());
    CHECK_MESSAGE(client->ExitedWith(0), client->Describe());
  }
}

void Federation::IssueAggregatorCertificates(int groups) {
  std::string command;
  for (int g = 0; g < groups; ++g) {
    command += (command.empty() ? "" : " && ") + EdgeflTool() + " certs issue-client " +
               AggregatorName(g) + " --dir " + (dir_ / "certs").string();
  }
  std::string output;
  const int rc = RunCommand(command, &output);
  INFO(output);
  REQUIRE(rc == 0);
}

Process& Federation::StartAggregator(int g, int root_port, int members,
                                     const std::vector<std::string>& settings) {
  const std::string certs = (dir_ / "certs").string() + "/";
  const std::string name = AggregatorName(g);
  std::vector<std::string> all = {"role=aggregator",
                                  "upstream=127.0.0.1:" + std::to_string(root_port),
                                  "upstream_cert=" + certs + name + ".crt",
                                  "upstream_key=" + certs + name + ".key",
                                  "port=0",
                                  "clients=" + std::to_string(members),
                                  "clients_per_round=" + std::to_string(members),
                                  "min_clients=" + std::to_string(members),
                                  "run_name=" + name,
                                  "db=" + AggregatorDb(g).string()};
  all.insert(all.end(), settings.begin(), settings.end());
  return StartCoordinator(name, all);
}

Process& Federation::StartLoad(int n, int port, const std::vector<std::string>& extra,
                               const std::string& tag) {
  std::vector<std::string> argv = {edgefl::testing::BinaryDir() + "/client/edgefl-client",
                                   "--load-sessions",
                                   std::to_string(n),
                                   "--coordinator",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--cert-dir",
                                   (dir_ / "certs").string(),
                                   "--hold",
                                   "300"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Start(tag, std::move(argv), dir_ / (tag + ".out"), dir_ / (tag + ".log"));
}

std::string Federation::Logs() {
  std::string text;
  for (const auto& p : processes_) {
    text.append("== ").append(p->Describe()).append("\n");
    for (const fs::path& path : {p->out(), p->err()}) {
      const std::string content = ReadIfExists(path);
      if (content.empty()) continue;
      // The last 6000 characters; appended piece by piece, since GCC 12 falsely
      // reports "..." + content.substr(...) as a memcpy out of bounds once
      // inlined (GCC bug 105329).
      text.append("-- ").append(path.filename().string()).append(":\n");
      if (content.size() > 6000) text.append("...\n");
      text.append(content, content.size() - std::min<size_t>(content.size(), 6000));
    }
  }
  return text;
}

Process& Federation::Start(const std::string& name, std::vector<std::string> argv, fs::path out,
                           fs::path err) {
  processes_.push_back(
      std::make_unique<Process>(name, std::move(argv), std::move(out), std::move(err)));
  return *processes_.back();
}

}  // namespace edgefl::testing
