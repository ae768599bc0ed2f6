#include "src/smtp/channel.h"

#include <Poco/Exception.h>

#include <algorithm>

namespace mugai::smtp {
namespace {
constexpr std::size_t kReplyLineLimit = 2048;  // Postfix line_length_limit
constexpr int kReplyLineCount = 100;
}  // namespace

bool Channel::readLine(std::string& line) {
  for (;;) {
    std::size_t lf = buf_.find('\n', pos_);
    if (lf != std::string::npos) {
      line.assign(buf_, pos_, lf - pos_);
      pos_ = lf + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
      return true;
    }
    if (buf_.size() - pos_ > kReplyLineLimit) return false;
    try {
      // available() sees bytes TLS already decrypted, which poll() cannot.
      if (socket_.available() <= 0 && !socket_.poll(timeout_, Poco::Net::Socket::SELECT_READ)) {
        return false;
      }
      char tmp[16384];
      int n = socket_.receiveBytes(tmp, sizeof tmp);
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<std::size_t>(n));
    } catch (const Poco::Exception&) {
      return false;
    }
  }
}

int Channel::readReply(std::string& text) {
  std::string line;
  text.clear();
  for (int i = 0; i < kReplyLineCount; ++i) {
    if (!readLine(line) || line.size() < 3) return 0;
    int code = 0;
    for (int k = 0; k < 3; ++k) {
      char c = line[k];
      if (c < '0' || c > '9') return 0;
      code = code * 10 + (c - '0');
    }
    if (line.size() == 3 || line[3] == ' ') {
      if (line.size() > 4) text += line.substr(4);
      return code >= 200 && code < 600 ? code : 0;
    }
    if (line[3] != '-') return 0;
    text += line.substr(4) + "\n";  // continuation lines (EHLO keywords)
  }
  return 0;
}

bool Channel::write(std::string_view data) {
  try {
    while (!data.empty()) {
      if (!socket_.poll(timeout_, Poco::Net::Socket::SELECT_WRITE)) return false;
      int n = socket_.sendBytes(data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

}  // namespace mugai::smtp
