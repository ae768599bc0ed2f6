/**
 * @file channel.h
 * @brief A socket with an input buffer and deadlines: what the relay client reads replies with.
 *
 * Trust: the peer is the next hop (ours, but its replies are still checked and never relayed).
 * Limits: reply lines longer than the limit, or more than 100 lines in one reply, are an error.
 * Errors: read/write return false on timeout, EOF, reset or an over-long line (no exceptions).
 */
#pragma once

#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <string>
#include <string_view>

namespace mugai::smtp {

class Channel {
 public:
  Channel(Poco::Net::StreamSocket socket, Poco::Timespan timeout)
      : socket_(std::move(socket)), timeout_(timeout) {}

  /// Reads one SMTP reply (all its lines). code 0 on failure. `text` holds the last line's text.
  int readReply(std::string& text);
  bool write(std::string_view data);
  Poco::Net::StreamSocket& socket() { return socket_; }
  /// Replaces the socket (STARTTLS); nothing may be buffered.
  void replaceSocket(Poco::Net::StreamSocket s) { socket_ = std::move(s); }
  bool buffered() const { return pos_ < buf_.size(); }

 private:
  bool readLine(std::string& line);

  Poco::Net::StreamSocket socket_;
  Poco::Timespan timeout_;
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace mugai::smtp
