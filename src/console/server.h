// The console behind Poco's HTTP server: HTTPS with the config's certificate, plain HTTP only on
// a loopback address (docs/console.md). Adds the security headers to every answer.
// Limits: 64 KiB bodies for forms, 10 MiB for multipart uploads (the rules page); 16 threads,
//         100 queued connections, 30 s socket timeouts.
#pragma once

#include <memory>
#include <string>

#include "src/console/app.h"

namespace mugai::console {

class Server {
 public:
  /// Binds `listen` (HOST:PORT; port 0 picks one). HTTPS when cert and key are given; without
  /// them only a loopback host is accepted (false with *error otherwise).
  static std::unique_ptr<Server> start(Console& console, const std::string& listen,
                                       const std::string& cert, const std::string& key,
                                       std::string* error);
  ~Server();
  std::uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

}  // namespace mugai::console
