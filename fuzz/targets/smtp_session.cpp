// smtp_session: the ESMTP state machine (src/smtp/session.h) fed hostile bytes.
//
// Byte 0 picks the settings (STARTTLS offered, XFORWARD allowed, tight limits) and byte 1 the
// size of the pieces the rest is fed in, so command and DATA lines are cut at every place a TCP
// read could cut them. Checked on every input:
//   - nothing delivered holds a bare LF or bare CR (no smuggling), or is over message_size;
//   - every reply line ends in CRLF;
//   - without STARTTLS, feeding the bytes in pieces gives the same replies and the same
//     deliveries as feeding them at once (pipelining does not depend on how reads fall).
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "src/smtp/session.h"

namespace {

using namespace mugai::smtp;

struct Recorder : Deliverer {
  std::vector<std::string> delivered;  // envelope and data of each accepted message
  std::uint64_t size_limit = 0;
  Reply deliver(Transaction& t) override {
    const std::string& d = t.data;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r')) mugai::fuzz::fail("bare LF delivered");
      if (d[i] == '\r' && (i + 1 == d.size() || d[i + 1] != '\n')) mugai::fuzz::fail("bare CR delivered");
    }
    if (d.size() > size_limit) mugai::fuzz::fail("message over message_size delivered");
    std::string record = t.sender + "\n";
    for (const auto& r : t.recipients) record += r + "\n";
    delivered.push_back(record + "\n" + d);
    Reply ok;
    ok.code = 250;
    ok.text = "2.0.0 Ok: queued";
    return ok;
  }
};

struct Run {
  std::string replies;
  std::vector<std::string> delivered;
};

Run run(const SessionSettings& settings, std::string_view bytes, std::size_t piece) {
  Recorder rec;
  rec.size_limit = settings.limits.message_size;
  Session s(settings, rec, "192.0.2.1", "client.example");
  Run r;
  r.replies = s.greeting();
  while (!bytes.empty() && !s.closing()) {
    std::size_t n = piece == 0 ? bytes.size() : std::min(piece, bytes.size());
    s.feed(bytes.substr(0, n), r.replies);
    bytes.remove_prefix(n);
    if (s.startTlsPending()) s.tlsStarted();  // the handshake "succeeded"
  }
  if (r.replies.size() < 2 || r.replies.compare(r.replies.size() - 2, 2, "\r\n") != 0)
    mugai::fuzz::fail("a reply does not end in CRLF");
  r.delivered = std::move(rec.delivered);
  return r;
}

}  // namespace

MUGAI_FUZZ_TARGET(smtp_session) {
  mugai::fuzz::Input in(data, size);
  std::uint8_t mode = in.byte();
  std::size_t piece = in.byte() % 64;  // 0: all at once
  SessionSettings settings;
  settings.hostname = "mx.example";
  settings.tls_available = mode & 1;
  settings.xforward_allowed = mode & 2;
  if (mode & 4) {
    settings.limits.message_size = 1024;
    settings.limits.line_length = 512;
    settings.limits.recipients = 3;
    settings.limits.errors = 5;
  }
  std::string_view bytes = in.rest();
  Run pieces = run(settings, bytes, piece == 0 ? 1 : piece);
  if (!settings.tls_available) {
    Run whole = run(settings, bytes, 0);
    if (whole.replies != pieces.replies) mugai::fuzz::fail("replies depend on how the input was cut");
    if (whole.delivered != pieces.delivered)
      mugai::fuzz::fail("deliveries depend on how the input was cut");
  }
  return 0;
}
