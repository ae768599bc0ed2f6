#include "src/smtp/relay_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <cctype>
#include <optional>

#include "mugai/text/charset.h"
#include "src/smtp/channel.h"
#include "src/smtp/service_config.h"

namespace mugai::smtp {
namespace {

RelayResult tempFail(const std::string& detail) {
  return {Reply{451, "4.4.1 Error: next hop temporarily unavailable, try again later"}, detail};
}

/// A 5xx from the next hop, passed back with a generic text (anchor 4: no details to strangers).
RelayResult permFail(int code, const std::string& upstream, const std::string& step) {
  std::string enhanced = "5.0.0";
  if (upstream.size() >= 5 && upstream[0] == '5' && upstream[1] == '.' &&
      std::isdigit(static_cast<unsigned char>(upstream[2])) &&
      upstream.find(' ') != std::string::npos) {
    std::string e = upstream.substr(0, upstream.find(' '));
    if (e.size() <= 9 && e.find_first_not_of("0123456789.") == std::string::npos) enhanced = e;
  }
  if (code < 550 || code > 559) code = 554;
  return {Reply{code, enhanced + " Error: message refused by the next hop"},
          step + ": " + std::to_string(code) + " " + logSafe(upstream)};
}

/// Classifies one reply to `step`; nullopt when it is the expected class.
std::optional<RelayResult> check(int code, const std::string& text, int expected_class,
                                 const std::string& step) {
  if (code / 100 == expected_class) return std::nullopt;
  if (code >= 500) return permFail(code, text, step);
  if (code == 0) return tempFail(step + ": no valid reply (timeout or connection lost)");
  return tempFail(step + ": " + std::to_string(code) + " " + logSafe(text));
}

bool hasKeyword(const std::string& ehlo, const std::string& keyword) {
  std::size_t pos = 0;
  while (pos < ehlo.size()) {
    std::size_t eol = ehlo.find('\n', pos);
    std::string line = ehlo.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (line == keyword || line.rfind(keyword + " ", 0) == 0) return true;
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  return false;
}

/// XFORWARD values: xtext-safe printable tokens, "[UNAVAILABLE]" for empty ones.
std::string xforwardCommand(const XForward& x) {
  auto v = [](const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 255)) {
      auto u = static_cast<unsigned char>(c);
      if (u > 0x20 && u < 0x7f && c != '+' && c != '=') out += c;
    }
    return out.empty() ? std::string("[UNAVAILABLE]") : out;
  };
  return "XFORWARD NAME=" + v(x.name) + " ADDR=" + v(x.addr) + " PROTO=" + v(x.proto) +
         " HELO=" + v(x.helo) + "\r\n";
}

struct Conversation {
  Channel channel;
  std::string ehlo;
};

std::optional<RelayResult> greet(Conversation& c, const RelayTarget& t) {
  std::string text;
  int code = c.channel.readReply(text);
  if (auto bad = check(code, text, 2, "greeting")) return bad;
  if (!c.channel.write("EHLO " + t.helo_name + "\r\n")) return tempFail("EHLO: write failed");
  code = c.channel.readReply(c.ehlo);
  if (auto bad = check(code, c.ehlo, 2, "EHLO")) return bad;
  if (t.tls == RelayTls::kNone) return std::nullopt;
  if (!hasKeyword(c.ehlo, "STARTTLS")) {
    if (t.tls == RelayTls::kEncrypt) return tempFail("STARTTLS required but not offered");
    return std::nullopt;
  }
  if (!c.channel.write("STARTTLS\r\n")) return tempFail("STARTTLS: write failed");
  code = c.channel.readReply(text);
  if (auto bad = check(code, text, 2, "STARTTLS")) return bad;
  if (c.channel.buffered()) return tempFail("STARTTLS: data after the reply");
  try {
    c.channel.replaceSocket(
        Poco::Net::SecureStreamSocket::attach(c.channel.socket(), t.host, t.tls_context));
  } catch (const Poco::Exception& e) {
    return tempFail("STARTTLS handshake: " + logSafe(e.displayText()));
  }
  if (!c.channel.write("EHLO " + t.helo_name + "\r\n")) return tempFail("EHLO: write failed");
  code = c.channel.readReply(c.ehlo);
  return check(code, c.ehlo, 2, "EHLO after STARTTLS");
}

/// MAIL, RCPT..., DATA (pipelined when offered). nullopt when the next hop said 354.
std::optional<RelayResult> envelope(Conversation& c, const std::string& sender,
                                    const std::vector<std::string>& recipients,
                                    const XForward& xforward) {
  std::string text;
  if (xforward.any() && hasKeyword(c.ehlo, "XFORWARD")) {
    if (!c.channel.write(xforwardCommand(xforward))) return tempFail("XFORWARD: write failed");
    if (auto bad = check(c.channel.readReply(text), text, 2, "XFORWARD")) return bad;
  }
  bool pipelining = hasKeyword(c.ehlo, "PIPELINING");
  std::string mail = "MAIL FROM:<" + sender + ">";
  if (hasKeyword(c.ehlo, "8BITMIME")) mail += " BODY=8BITMIME";
  std::vector<std::string> commands{mail + "\r\n"};
  for (const auto& r : recipients) commands.push_back("RCPT TO:<" + r + ">\r\n");
  commands.push_back("DATA\r\n");
  if (pipelining) {
    std::string all;
    for (const auto& cmd : commands) all += cmd;
    if (!c.channel.write(all)) return tempFail("MAIL: write failed");
  }
  std::size_t accepted = 0, refused_perm = 0;
  std::optional<RelayResult> first_refusal;
  auto refusal = [&]() -> RelayResult {
    // No recipient accepted, or only some: deliver to nobody. 5xx only when every recipient was
    // refused for good; otherwise 4xx and the client retries. Closing without "." sends nothing.
    if (refused_perm == recipients.size() && first_refusal) return *first_refusal;
    return tempFail("RCPT: recipients refused: " + (first_refusal ? first_refusal->detail : ""));
  };
  for (std::size_t i = 0; i < commands.size(); ++i) {
    bool is_mail = i == 0, is_data = i + 1 == commands.size();
    if (is_data && !pipelining && accepted < recipients.size()) return refusal();
    if (!pipelining && !c.channel.write(commands[i])) return tempFail("write failed");
    int code = c.channel.readReply(text);
    if (code == 0) return tempFail(std::string(is_mail ? "MAIL" : is_data ? "DATA" : "RCPT") +
                                   ": no valid reply");
    if (is_mail) {
      if (auto bad = check(code, text, 2, "MAIL")) return bad;
    } else if (is_data) {
      if (accepted < recipients.size()) return refusal();
      return check(code, text, 3, "DATA");
    } else if (code / 100 == 2) {
      ++accepted;
    } else {
      if (code >= 500) ++refused_perm;
      if (!first_refusal) first_refusal = check(code, text, 2, "RCPT");
    }
  }
  return tempFail("internal: no DATA reply");
}

}  // namespace

std::string logSafe(std::string_view s, std::size_t max) { return text::logEscape(s, max); }

std::string dotStuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

RelayResult relayMessage(const RelayTarget& target, const std::string& sender,
                         const std::vector<std::string>& recipients, const XForward& xforward,
                         std::string_view message) {
  if (!target.tls_error.empty()) return tempFail("TLS to the next hop: " + logSafe(target.tls_error));
  Poco::Timespan timeout(target.timeout_s, 0);
  Poco::Net::StreamSocket socket;
  try {
    socket.connect(Poco::Net::SocketAddress(target.host, target.port), timeout);
    socket.setNoDelay(true);
  } catch (const Poco::Exception& e) {
    return tempFail("connect: " + logSafe(e.displayText()));
  }
  Conversation c{Channel(socket, timeout), ""};
  if (auto bad = greet(c, target)) return *bad;
  if (auto bad = envelope(c, sender, recipients, xforward)) return *bad;
  if (!c.channel.write(dotStuff(message))) return tempFail("data: write failed");
  std::string text;
  int code = c.channel.readReply(text);
  if (auto bad = check(code, text, 2, "end of data")) {
    bad->maybe_delivered = code == 0;
    return *bad;
  }
  c.channel.write("QUIT\r\n");
  std::string upstream = logSafe(text, 120);
  return {Reply{250, "2.0.0 Ok"}, "250 " + upstream};
}

RelayTarget relayTarget(const ServiceConfig& c, int timeout_s) {
  RelayTarget t;
  splitHostPort(c.next_hop, t.host, t.port);
  t.helo_name = c.myhostname;
  t.timeout_s = timeout_s;
  t.tls = c.relay_tls == "encrypt" ? RelayTls::kEncrypt
          : c.relay_tls == "may"   ? RelayTls::kMay
                                   : RelayTls::kNone;
  if (t.tls != RelayTls::kNone) {
    // Without a CA file the next hop's certificate is not checked (Postfix's `may`/`encrypt`:
    // opportunistic and mandatory encryption, not authentication).
    auto mode = c.relay_tls_ca_file.empty() ? Poco::Net::Context::VERIFY_NONE
                                            : Poco::Net::Context::VERIFY_RELAXED;
    try {
      t.tls_context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "",
                                             c.relay_tls_ca_file, mode, 9, false,
                                             "HIGH:!aNULL:!MD5:!RC4");
    } catch (const Poco::Exception& e) {
      t.tls_error = "relay_tls = " + c.relay_tls + " with relay_tls_ca_file '" +
                    c.relay_tls_ca_file + "': " + e.displayText();
    }
  }
  return t;
}

}  // namespace mugai::smtp
