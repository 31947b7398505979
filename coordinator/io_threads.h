// Threads that run an Asio io_context until destroyed: the coordinator's and
// an aggregator's network I/O. The destructor stops the context and joins.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace edgefl::coordinator {

class IoThreads {
 public:
  IoThreads(boost::asio::io_context& io, size_t n)
      : io_(io), work_(boost::asio::make_work_guard(io)) {
    for (size_t i = 0; i < n; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    io_.stop();
    for (std::thread& t : threads_)
      t.join();
  }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

 private:
  boost::asio::io_context& io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace edgefl::coordinator
