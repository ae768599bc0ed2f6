#include "src/smtp/session.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mugai::smtp {
namespace {

/// A partial DATA line longer than this is consumed before its LF arrives (bounded memory).
constexpr std::size_t kDataChunk = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parseNumber(std::string_view s, std::uint64_t& v) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

/// Printable ASCII or UTF-8 octets, no spaces or controls (an address or a parameter).
bool safeToken(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

}  // namespace

bool parsePath(std::string_view arg, std::string& address, std::vector<std::string>& params) {
  arg = trim(arg);
  if (arg.empty() || arg.front() != '<') return false;
  std::size_t close = arg.find('>');
  if (close == std::string_view::npos) return false;
  std::string_view addr = arg.substr(1, close - 1);
  if (addr.size() > 256 || !safeToken(addr) || addr.find('<') != std::string_view::npos) {
    return false;
  }
  // A source route "@a,@b:user@domain" is accepted and ignored (RFC 5321 C).
  if (!addr.empty() && addr.front() == '@') {
    std::size_t colon = addr.find(':');
    if (colon == std::string_view::npos) return false;
    addr.remove_prefix(colon + 1);
  }
  address.assign(addr);
  params.clear();
  std::string_view rest = arg.substr(close + 1);
  if (!rest.empty() && rest.front() != ' ') return false;
  while (!(rest = trim(rest)).empty()) {
    std::size_t sp = rest.find(' ');
    std::string_view p = rest.substr(0, sp);
    if (!safeToken(p)) return false;
    params.emplace_back(p);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
  }
  return true;
}

Session::Session(SessionSettings settings, Deliverer& deliverer, std::string client_addr,
                 std::string client_name)
    : settings_(std::move(settings)),
      deliverer_(deliverer),
      client_addr_(std::move(client_addr)),
      client_name_(std::move(client_name)) {}

std::string Session::greeting() const {
  return "220 " + settings_.hostname + " ESMTP mugai\r\n";
}

std::string Session::timeoutReply() const {
  return "421 4.4.2 " + settings_.hostname + " Error: timeout exceeded\r\n";
}

std::string Session::sessionDeadlineReply() const {
  return "421 4.4.2 " + settings_.hostname + " Error: session time limit exceeded\r\n";
}

std::string Session::shutdownReply() const {
  return "421 4.3.2 " + settings_.hostname + " Service shutting down, closing connection\r\n";
}

void Session::reply(std::string& out, int code, std::string_view text) {
  out += std::to_string(code);
  out += ' ';
  out += text;
  out += "\r\n";
}

void Session::error(std::string& out, int code, std::string_view text) {
  reply(out, code, text);
  if (++errors_ >= settings_.limits.errors && !closing_) {
    refuse(out, Reply{421, "4.7.0 " + settings_.hostname + " Error: too many errors"},
           "too_many_errors", inTransaction());
    closing_ = true;
  }
}

bool Session::inTransaction() const {
  return state_ == State::kMail || state_ == State::kRcpt || state_ == State::kData;
}

void Session::noteRefusal(const Reply& r, std::string why, std::string detail) {
  tellRefused(r, std::move(why), inTransaction(), state_ == State::kData ? data_bytes_ : 0,
              std::move(detail));
}

void Session::tellRefused(const Reply& r, std::string why, bool has_sender, std::uint64_t size,
                          std::string detail) {
  Transaction t;
  if (has_sender) {
    t.sender = txn_.sender;
    t.recipients = txn_.recipients;
  }
  t.helo = helo_;
  t.client_addr = client_addr_;
  t.client_name = client_name_;
  t.xforward = xforward_;
  t.tls = tls_active_;
  deliverer_.refused(t, Refusal{r, std::move(why), has_sender, size, std::move(detail)});
}

void Session::refuse(std::string& out, const Reply& r, std::string why, bool has_sender,
                     std::uint64_t size) {
  reply(out, r.code, r.text);
  tellRefused(r, std::move(why), has_sender, size);
}

void Session::feed(std::string_view bytes, std::string& out) {
  if (closing_ || tls_pending_) return;
  in_.append(bytes);
  processCommands(out);
  in_.erase(0, pos_);
  pos_ = 0;
}

void Session::tlsStarted() {
  tls_pending_ = false;
  tls_active_ = true;
  // RFC 3207 4.2: forget everything learnt before the handshake.
  helo_.clear();
  xforward_ = XForward{};
  resetTransaction();
  state_ = State::kIdle;
}

void Session::resetTransaction() {
  txn_ = Transaction{};
  recipients_refused_ = false;
  fault_ = DataFault::kNone;
  data_bytes_ = 0;
  if (state_ != State::kIdle) state_ = State::kGreeted;
}

void Session::processCommands(std::string& out) {
  while (!closing_ && !tls_pending_) {
    if (state_ == State::kData) {
      consumeData(out);
      if (state_ == State::kData) return;  // need more bytes
      continue;
    }
    std::size_t lf = in_.find('\n', pos_);
    if (lf == std::string::npos) {
      if (in_.size() - pos_ > settings_.limits.line_length) {
        if (!discard_line_) error(out, 500, "5.5.2 Error: line too long");
        discard_line_ = true;
        discard_cr_ = in_.back() == '\r';
        pos_ = in_.size();
      }
      return;
    }
    std::string_view line(in_.data() + pos_, lf - pos_);
    pos_ = lf + 1;
    // A line too long ends like any other (a bare LF closes the session), whether its start was
    // already thrown away or it came in one read: the replies never depend on how TCP cut the
    // bytes (fuzzing finding, tests/fuzz-regressions/smtp_session).
    const bool too_long = discard_line_ || line.size() > settings_.limits.line_length;
    const bool crlf = line.empty() ? discard_line_ && discard_cr_ : line.back() == '\r';
    if (too_long && !discard_line_) {
      error(out, 500, "5.5.2 Error: line too long");
      if (closing_) return;
    }
    discard_line_ = false;
    if (!crlf) {
      refuse(out, Reply{521, "5.5.2 " + settings_.hostname + " Error: bare <LF> received"},
             "bare_newline_in_command", inTransaction());
      closing_ = true;
      return;
    }
    if (too_long) continue;
    line.remove_suffix(1);
    if (line.size() + 2 > settings_.limits.line_length) {
      error(out, 500, "5.5.2 Error: line too long");
      continue;
    }
    processLine(line, out);
  }
}

void Session::processLine(std::string_view line, std::string& out) {
  if (std::any_of(line.begin(), line.end(), [](char c) { return c == '\r' || c == '\0'; })) {
    error(out, 500, "5.5.2 Error: bad character in command");
    return;
  }
  std::size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view arg = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  if (iequals(verb, "EHLO") || iequals(verb, "HELO")) return cmdEhlo(arg, iequals(verb, "EHLO"), out);
  if (iequals(verb, "MAIL")) return cmdMail(arg, out);
  if (iequals(verb, "RCPT")) return cmdRcpt(arg, out);
  if (iequals(verb, "DATA")) return cmdData(arg, out);
  if (iequals(verb, "RSET")) {
    resetTransaction();
    return reply(out, 250, "2.0.0 Ok");
  }
  if (iequals(verb, "NOOP")) return reply(out, 250, "2.0.0 Ok");
  if (iequals(verb, "QUIT")) {
    reply(out, 221, "2.0.0 Bye");
    closing_ = true;
    return;
  }
  if (iequals(verb, "VRFY") || iequals(verb, "EXPN")) {
    return error(out, 502, "5.5.1 Error: command disabled");
  }
  if (iequals(verb, "STARTTLS")) return cmdStartTls(arg, out);
  if (iequals(verb, "XFORWARD")) return cmdXforward(arg, out);
  error(out, 502, "5.5.2 Error: command not recognized");
}

void Session::cmdEhlo(std::string_view arg, bool extended, std::string& out) {
  arg = trim(arg);
  if (arg.empty() || !safeToken(arg) || arg.size() > 255) {
    return error(out, 501, "5.5.4 Syntax: EHLO hostname");
  }
  helo_.assign(arg);
  resetTransaction();
  state_ = State::kGreeted;
  if (!extended) return reply(out, 250, settings_.hostname);
  out += "250-" + settings_.hostname + "\r\n";
  out += "250-PIPELINING\r\n";
  out += "250-SIZE " + std::to_string(settings_.limits.message_size) + "\r\n";
  if (settings_.tls_available && !tls_active_) out += "250-STARTTLS\r\n";
  if (settings_.xforward_allowed) out += "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n";
  out += "250-ENHANCEDSTATUSCODES\r\n";
  out += "250 8BITMIME\r\n";
}

void Session::cmdMail(std::string_view arg, std::string& out) {
  if (state_ == State::kIdle) return error(out, 503, "5.5.1 Error: send HELO/EHLO first");
  if (state_ != State::kGreeted) return error(out, 503, "5.5.1 Error: nested MAIL command");
  std::string address;
  std::vector<std::string> params;
  if (!istartsWith(arg, "FROM:") || !parsePath(arg.substr(5), address, params)) {
    return error(out, 501, "5.5.4 Syntax: MAIL FROM:<address>");
  }
  txn_ = Transaction{};
  txn_.sender = address;
  for (const auto& p : params) {
    std::string_view pv(p);
    std::uint64_t size = 0;
    if (istartsWith(pv, "SIZE=") && parseNumber(pv.substr(5), size)) {
      if (size > settings_.limits.message_size) {
        Reply r{552, "5.3.4 Message size exceeds fixed limit"};
        tellRefused(r, "declared_size_too_big", true, size);
        return error(out, r.code, r.text);
      }
    } else if (!iequals(pv, "BODY=7BIT") && !iequals(pv, "BODY=8BITMIME")) {
      return error(out, 555, "5.5.4 Unsupported option: " + p.substr(0, 64));
    }
  }
  state_ = State::kMail;
  reply(out, 250, "2.1.0 Ok");
}

void Session::cmdRcpt(std::string_view arg, std::string& out) {
  if (state_ != State::kMail && state_ != State::kRcpt) {
    return error(out, 503, "5.5.1 Error: need MAIL command");
  }
  std::string address;
  std::vector<std::string> params;
  if (!istartsWith(arg, "TO:") || !parsePath(arg.substr(3), address, params) || address.empty()) {
    return error(out, 501, "5.5.4 Syntax: RCPT TO:<address>");
  }
  if (!params.empty()) return error(out, 555, "5.5.4 Unsupported option: " + params[0].substr(0, 64));
  if (txn_.recipients.size() >= settings_.limits.recipients) {
    Reply r{452, "4.5.3 Error: too many recipients"};
    if (!recipients_refused_)
      tellRefused(r, "too_many_recipients", true, 0);  // once per transaction
    recipients_refused_ = true;
    return reply(out, r.code, r.text);
  }
  txn_.recipients.push_back(address);
  state_ = State::kRcpt;
  reply(out, 250, "2.1.5 Ok");
}

void Session::cmdData(std::string_view arg, std::string& out) {
  if (!trim(arg).empty()) return error(out, 501, "5.5.4 Syntax: DATA");
  if (state_ == State::kMail) return error(out, 554, "5.5.1 Error: no valid recipients");
  if (state_ != State::kRcpt) return error(out, 503, "5.5.1 Error: need RCPT command");
  state_ = State::kData;
  fault_ = DataFault::kNone;
  data_bytes_ = 0;
  prev_crlf_ = true;
  mid_line_ = false;
  reply(out, 354, "End data with <CR><LF>.<CR><LF>");
}

void Session::cmdStartTls(std::string_view arg, std::string& out) {
  if (!trim(arg).empty()) return error(out, 501, "5.5.4 Syntax: STARTTLS");
  if (!settings_.tls_available || tls_active_) return error(out, 502, "5.5.1 Error: STARTTLS is not offered here");
  if (state_ != State::kGreeted) return error(out, 503, "5.5.1 Error: send EHLO first, outside a transaction");
  reply(out, 220, "2.0.0 Ready to start TLS");
  tls_pending_ = true;
  // STARTTLS command injection (CVE-2011-0411): plaintext sent after the command is dropped.
  pos_ = in_.size();
}

void Session::cmdXforward(std::string_view arg, std::string& out) {
  if (!settings_.xforward_allowed) return error(out, 550, "5.7.0 Error: insufficient authorization");
  if (state_ != State::kGreeted) return error(out, 503, "5.5.1 Error: MAIL transaction in progress");
  std::vector<std::pair<std::string_view, std::string*>> keys = {
      {"NAME", &xforward_.name}, {"ADDR", &xforward_.addr},   {"PORT", &xforward_.port},
      {"PROTO", &xforward_.proto}, {"HELO", &xforward_.helo}, {"IDENT", &xforward_.ident},
      {"SOURCE", &xforward_.source}};
  arg = trim(arg);
  if (arg.empty()) return error(out, 501, "5.5.4 Syntax: XFORWARD attribute=value...");
  while (!(arg = trim(arg)).empty()) {
    std::size_t sp = arg.find(' ');
    std::string_view item = arg.substr(0, sp);
    arg = sp == std::string_view::npos ? std::string_view() : arg.substr(sp);
    std::size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    auto it = std::find_if(keys.begin(), keys.end(), [&](auto& k) { return iequals(k.first, name); });
    if (eq == std::string_view::npos || it == keys.end() || !safeToken(item)) {
      return error(out, 501, "5.5.4 Bad XFORWARD attribute");
    }
    it->second->assign(item.substr(eq + 1, 255));
  }
  reply(out, 250, "2.0.0 Ok");
}

void Session::consumeData(std::string& out) {
  while (state_ == State::kData) {
    std::size_t lf = in_.find('\n', pos_);
    if (lf == std::string::npos) {
      std::size_t avail = in_.size() - pos_;
      if (avail > kDataChunk) {
        // A very long line: consume all but the last byte (a CR whose LF may follow).
        std::string_view piece(in_.data() + pos_, avail - 1);
        if (piece.find('\r') != std::string_view::npos) fault_ = DataFault::kBareNewline;
        if (!mid_line_ && !piece.empty() && piece.front() == '.') piece.remove_prefix(1);
        appendData(piece);
        mid_line_ = true;
        pos_ += avail - 1;
      }
      return;
    }
    std::string_view line(in_.data() + pos_, lf - pos_);
    pos_ = lf + 1;
    bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    dataLine(line, crlf, out);
  }
}

void Session::dataLine(std::string_view content, bool crlf, std::string& out) {
  if (!crlf || content.find('\r') != std::string_view::npos) fault_ = DataFault::kBareNewline;
  if (!mid_line_ && crlf && prev_crlf_ && content == ".") {
    endData(out);
    return;
  }
  if (!mid_line_ && !content.empty() && content.front() == '.') content.remove_prefix(1);
  appendData(content);
  appendData("\r\n");
  prev_crlf_ = crlf;
  mid_line_ = false;
}

void Session::appendData(std::string_view piece) {
  data_bytes_ += piece.size();
  if (fault_ != DataFault::kNone) return;
  if (data_bytes_ > settings_.limits.message_size) {
    fault_ = DataFault::kTooBig;
    std::string().swap(txn_.data);
    return;
  }
  txn_.data.append(piece);
}

void Session::endData(std::string& out) {
  DataFault fault = fault_;
  state_ = State::kGreeted;
  if (fault == DataFault::kBareNewline) {
    refuse(out, Reply{521, "5.5.2 " + settings_.hostname + " Error: bare <LF> or <CR> received"},
           "bare_newline", true, data_bytes_);
    closing_ = true;
  } else if (fault == DataFault::kTooBig) {
    Reply r{552, "5.3.4 Error: message file too big"};
    tellRefused(r, "message_too_big", true, data_bytes_);
    error(out, r.code, r.text);
  } else {
    txn_.helo = helo_;
    txn_.client_addr = client_addr_;
    txn_.client_name = client_name_;
    txn_.xforward = xforward_;
    txn_.tls = tls_active_;
    Reply r = deliverer_.deliver(txn_);
    if (r.code >= 200 && r.code < 300) ++delivered_;
    reply(out, r.code, r.text);
  }
  resetTransaction();
  // XFORWARD attributes apply to one transaction (XFORWARD_README).
  xforward_ = XForward{};
}

}  // namespace mugai::smtp
