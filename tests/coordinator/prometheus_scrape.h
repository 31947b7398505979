// Test helpers for the coordinator's metrics endpoint: an HTTP GET over a
// plain loopback socket, and a strict reader of the Prometheus text
// exposition format (version 0.0.4) that fails on any malformed line.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace edgefl::testing {

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Sends `request_line` (e.g. "GET /metrics HTTP/1.1") with a Host header and
// reads the whole response (the server closes the connection).
inline HttpResponse HttpRequest(const std::string& host, int port,
                                const std::string& request_line) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address(host), static_cast<unsigned short>(port)});
  const std::string request = request_line + "\r\nHost: " + host + "\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string all;
  boost::system::error_code ec;
  char buffer[4096];
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(buffer), ec);
    all.append(buffer, n);
    if (ec) break;
  }
  HttpResponse out;
  const size_t end = all.find("\r\n\r\n");
  if (all.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) {
    throw std::runtime_error("not an HTTP response: " + all);
  }
  out.status = std::stoi(all.substr(9, 3));
  out.head = all.substr(0, end);
  out.body = all.substr(end + 4);
  return out;
}

// The samples of an exposition by series ("name" or "name{labels}" as
// written). Throws std::runtime_error naming the line for a sample whose
// metric had no # TYPE before it, a bad name, label set or value, or a
// series given twice.
inline std::map<std::string, double> ParsePrometheusText(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // metric family -> type
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) throw std::runtime_error("the last line has no newline");
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      if (sp == std::string::npos) throw std::runtime_error("bad TYPE line: " + line);
      const std::string type = line.substr(sp + 1);
      if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
          type != "untyped") {
        throw std::runtime_error("unknown type: " + line);
      }
      types[line.substr(7, sp - 7)] = type;
      continue;
    }
    if (line[0] == '#') continue;
    size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) ||
                               line[i] == '_' || line[i] == ':')) {
      ++i;
    }
    const std::string name = line.substr(0, i);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
      throw std::runtime_error("bad metric name: " + line);
    }
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (types.count(family) == 0 && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          types.count(family.substr(0, family.size() - s.size())) != 0) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    if (types.count(family) == 0) throw std::runtime_error("sample before its # TYPE: " + line);
    if (i < line.size() && line[i] == '{') {
      // label="value" pairs, values with \\, \" and \n escapes.
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) throw std::runtime_error("bad label: " + line);
        i = eq + 2;
        while (i < line.size() && line[i] != '"')
          i += line[i] == '\\' ? 2 : 1;
        if (i >= line.size()) throw std::runtime_error("unterminated label value: " + line);
        ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) throw std::runtime_error("unterminated labels: " + line);
      ++i;
    }
    const std::string series = line.substr(0, i);
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error("no value: " + line);
    const std::string value_text = line.substr(i + 1);
    double value = 0.0;
    if (value_text == "+Inf") {
      value = INFINITY;
    } else {
      const char* end = value_text.data() + value_text.size();
      const auto [ptr, ec] = std::from_chars(value_text.data(), end, value);
      if (ec != std::errc() || ptr != end) throw std::runtime_error("bad value: " + line);
    }
    if (!samples.emplace(series, value).second) {
      throw std::runtime_error("series given twice: " + line);
    }
  }
  return samples;
}

// The sum of every series of `name` (any labels).
inline double SumOf(const std::map<std::string, double>& samples, const std::string& name) {
  double sum = 0.0;
  for (const auto& [series, value] : samples) {
    if (series == name || series.rfind(name + "{", 0) == 0) sum += value;
  }
  return sum;
}

}  // namespace edgefl::testing
