// The monitoring feeds: metrics registry and exposition, RFC 5424 and CEF formats with hostile
// values (parsed back by strict readers written here), the event sink over real sockets, and
// the /metrics endpoint over HTTP.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include "mugai/obs/monitor.h"
#include "mugai/pipeline/report.h"
#include "mugai/text/charset.h"
#include "support/test_support.h"

using namespace mugai;
using mugai::test::TempDir;
using namespace mugai::obs;

namespace {

// ---- a strict RFC 5424 reader (the parts mugai writes) ----

struct SdElement {
  std::string id;
  std::vector<std::pair<std::string, std::string>> params;  // unescaped values, in order
};

struct Syslog5424 {
  int pri = -1;
  std::string version, timestamp, host, app, procid, msgid, msg;
  std::vector<SdElement> sd;
};

/// Parses one RFC 5424 message; REQUIREs it is well formed (ABNF of §6, SD-PARAM escapes).
Syslog5424 parse5424(const std::string& line) {
  Syslog5424 m;
  REQUIRE(line.find('\n') == std::string::npos);
  REQUIRE(line.find('\r') == std::string::npos);
  REQUIRE(line.size() > 2);
  REQUIRE(line[0] == '<');
  std::size_t gt = line.find('>');
  REQUIRE(gt != std::string::npos);
  m.pri = std::stoi(line.substr(1, gt - 1));
  std::size_t pos = gt + 1;
  auto field = [&]() {
    std::size_t sp = line.find(' ', pos);
    REQUIRE(sp != std::string::npos);
    std::string f = line.substr(pos, sp - pos);
    pos = sp + 1;
    return f;
  };
  m.version = field();
  m.timestamp = field();
  m.host = field();
  m.app = field();
  m.procid = field();
  m.msgid = field();
  if (line[pos] == '-') {
    pos += 1;
  } else {
    while (pos < line.size() && line[pos] == '[') {
      SdElement e;
      ++pos;
      std::size_t end = line.find_first_of(" ]", pos);
      REQUIRE(end != std::string::npos);
      e.id = line.substr(pos, end - pos);
      pos = end;
      while (line[pos] == ' ') {
        ++pos;
        std::size_t eq = line.find('=', pos);
        REQUIRE(eq != std::string::npos);
        std::string name = line.substr(pos, eq - pos);
        for (char c : name) REQUIRE((c > 0x20 && c < 0x7f && c != '=' && c != ']' && c != '"'));
        pos = eq + 1;
        REQUIRE(line[pos] == '"');
        ++pos;
        std::string value;
        for (;;) {
          REQUIRE(pos < line.size());
          char c = line[pos++];
          if (c == '\\') {
            REQUIRE(pos < line.size());
            char n = line[pos++];
            if (n != '"' && n != '\\' && n != ']') value += '\\';  // RFC: kept as is
            value += n;
          } else if (c == '"') {
            break;
          } else {
            REQUIRE(c != ']');  // an unescaped ] inside a value would end the element early
            value += c;
          }
        }
        e.params.emplace_back(name, value);
      }
      REQUIRE(line[pos] == ']');
      ++pos;
      m.sd.push_back(std::move(e));
    }
  }
  if (pos < line.size()) {
    REQUIRE(line[pos] == ' ');
    m.msg = line.substr(pos + 1);
  }
  return m;
}

std::vector<std::string> values(const SdElement& e, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : e.params) {
    if (n == name) out.push_back(v);
  }
  return out;
}

const SdElement* element(const Syslog5424& m, const std::string& id) {
  for (const auto& e : m.sd) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

// ---- a strict CEF reader ----

struct Cef {
  std::vector<std::string> header;  // 7 unescaped fields after "CEF:0"
  std::vector<std::pair<std::string, std::string>> ext;
};

Cef parseCef(const std::string& line) {
  Cef c;
  REQUIRE(line.rfind("CEF:", 0) == 0);
  REQUIRE(line.find('\n') == std::string::npos);
  REQUIRE(line.find('\r') == std::string::npos);
  std::size_t pos = 4;
  std::string field;
  int fields = 0;
  while (fields < 7) {
    REQUIRE(pos < line.size());
    char ch = line[pos++];
    if (ch == '\\') {
      REQUIRE(pos < line.size());
      char n = line[pos++];
      REQUIRE((n == '|' || n == '\\'));
      field += n;
    } else if (ch == '|') {
      c.header.push_back(field);
      field.clear();
      ++fields;
    } else {
      field += ch;
    }
  }
  c.header.erase(c.header.begin());  // the version ("0")
  c.header.push_back("");
  // Extension: key=value pairs; a value runs to the next " key=" with an unescaped '='.
  std::string rest = line.substr(pos);
  std::vector<std::pair<std::size_t, std::size_t>> keys;  // start of key, position of '='
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      ++i;
      continue;
    }
    if (rest[i] != '=') continue;
    std::size_t k = i;
    while (k > 0 && std::isalnum(static_cast<unsigned char>(rest[k - 1]))) --k;
    REQUIRE((k == 0 || rest[k - 1] == ' '));
    keys.emplace_back(k, i);
  }
  for (std::size_t j = 0; j < keys.size(); ++j) {
    std::string key = rest.substr(keys[j].first, keys[j].second - keys[j].first);
    std::size_t vend = j + 1 < keys.size() ? keys[j + 1].first - 1 : rest.size();
    std::string raw = rest.substr(keys[j].second + 1, vend - keys[j].second - 1), value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\') {
        REQUIRE(i + 1 < raw.size());
        char n = raw[++i];
        REQUIRE((n == '\\' || n == '=' || n == 'n' || n == 'r'));
        value += n;
      } else {
        value += raw[i];
      }
    }
    c.ext.emplace_back(key, value);
  }
  return c;
}

std::string ext(const Cef& c, const std::string& key) {
  for (const auto& [k, v] : c.ext) {
    if (k == key) return v;
  }
  return "<absent>";
}

/// Every hostile thing a sender can put in a field, at once.
const std::string kHostile =
    "evil\"] [x@1 a=\"b\"]\\\r\n<13>1 2026-01-01T00:00:00Z forged - - - injected|CEF:0|a "
    "cs1=forged =\xe2\x80\xae" "gpj.exe\xff";

MessageEvent hostileEvent() {
  MessageEvent e;
  e.id = "20261206T224000-abc123";
  e.kind = "mail";
  e.time_us = 1796596800123456;
  e.sender = kHostile;
  e.recipients = {"staff@city.example.lg.jp", kHostile};
  e.client_addr = "192.0.2.7";
  e.client_name = kHostile;
  e.helo = kHostile;
  e.verdict = "sanitized";
  e.reason = "av.infected";
  e.reasons = {"av.infected", "type.removed"};
  e.objects = {{"2", kHostile, "removed", "av.infected", std::string(64, 'a')},
               {"3", "invoice.docm", "rebuilt", "content.active", std::string(64, 'b')}};
  e.bytes_in = 1234;
  e.bytes_out = 567;
  e.processing_ms = 42.4;
  e.reply_code = 250;
  e.relay_status = "sent";
  return e;
}

}  // namespace

TEST_CASE("metrics: counters, gauges and histograms in the text exposition format", "[unit]") {
  Registry r;
  auto& c = r.counter("t_requests_total", "Requests.", {"kind", "verdict"});
  c.with({"mail", "clean"}).inc();
  c.with({"mail", "clean"}).inc(2);
  c.with({"file", "bl\"o\\ck\ned"}).inc();
  r.gauge("t_open", "Open now.").get().set(3.5);
  auto& h = r.histogram("t_duration_seconds", "Time.", {"kind"}, {0.1, 1, 10});
  h.with({"mail"}).observe(0.05);
  h.with({"mail"}).observe(0.1);  // le is inclusive
  h.with({"mail"}).observe(5);
  h.with({"mail"}).observe(100);
  std::string out = r.expose();
  CHECK(out.find("# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n") !=
        std::string::npos);
  CHECK(out.find("t_requests_total{kind=\"mail\",verdict=\"clean\"} 3\n") != std::string::npos);
  CHECK(out.find("t_requests_total{kind=\"file\",verdict=\"bl\\\"o\\\\ck\\ned\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("t_open 3.5\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_bucket{kind=\"mail\",le=\"0.1\"} 2\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_bucket{kind=\"mail\",le=\"1\"} 2\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_bucket{kind=\"mail\",le=\"10\"} 3\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_bucket{kind=\"mail\",le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_sum{kind=\"mail\"} 105.15\n") != std::string::npos);
  CHECK(out.find("t_duration_seconds_count{kind=\"mail\"} 4\n") != std::string::npos);
}

TEST_CASE("metrics: names are checked, a family's label combinations are bounded", "[unit]") {
  Registry r;
  CHECK_THROWS(r.counter("1bad", "x"));
  CHECK_THROWS(r.counter("bad-name_total", "x"));
  CHECK_THROWS(r.counter("ok_total", "x", {"__reserved"}));
  CHECK_THROWS(r.histogram("h_seconds", "x", {}, {1, 0.5}));
  r.counter("dup_total", "x");
  CHECK_THROWS(r.counter("dup_total", "x"));
  auto& f = r.counter("many_total", "x", {"v"});
  for (std::size_t i = 0; i < FamilyBase::kMaxChildren + 50; ++i) f.with({std::to_string(i)}).inc();
  std::string out = r.expose();
  CHECK(out.find("many_total{v=\"other\"} 50\n") != std::string::npos);
  f.with({"yet another"}).inc();
  CHECK(f.with({"other"}).value() == 51);
  CHECK(formatValue(1.0 / 0.0) == "+Inf");
  CHECK(formatValue(0.25) == "0.25");
  CHECK(formatValue(1e6) == "1000000");
}

TEST_CASE("metrics: counts from many threads add up exactly", "[unit]") {
  Registry r;
  auto& c = r.counter("t_total", "x", {"k"});
  auto& h = r.histogram("t_seconds", "x", {"k"}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        c.with({t % 2 ? "a" : "b"}).inc();
        h.with({"x"}).observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(c.with({"a"}).value() == 40000);
  CHECK(c.with({"b"}).value() == 40000);
  CHECK(h.with({"x"}).snapshot().count == 80000);
  CHECK(h.with({"x"}).snapshot().sum == 40000);
}

TEST_CASE("metrics: callback gauges are read at scrape time and leave with their handle",
          "[unit]") {
  Registry r;
  int sessions = 3;
  {
    CallbackHandle h = r.callbackGauge("t_sessions_open", "x", [&]() -> std::optional<double> {
      return sessions;
    });
    CHECK(r.expose().find("t_sessions_open 3\n") != std::string::npos);
    sessions = 5;
    CHECK(r.expose().find("t_sessions_open 5\n") != std::string::npos);
    CallbackHandle none = r.callbackGauge("t_absent", "x", [] { return std::optional<double>(); });
    CHECK(r.expose().find("t_absent") == std::string::npos);
  }
  CHECK(r.expose().find("t_sessions_open") == std::string::npos);
}

TEST_CASE("events: RFC 5424 line with hostile envelope values parses back strictly", "[unit]") {
  MessageEvent e = hostileEvent();
  FormatOptions o;
  o.facility = 2;
  o.hostname = "gw1.city.example";
  o.procid = 4242;
  std::string line = formatRfc5424(e, o);
  INFO(line);
  Syslog5424 m = parse5424(line);
  CHECK(m.pri == 2 * 8 + 5);  // mail.notice: sanitized
  CHECK(m.version == "1");
  CHECK(m.timestamp == "2026-12-06T22:40:00.123456Z");
  CHECK(m.host == "gw1.city.example");
  CHECK(m.app == "mugai");
  CHECK(m.procid == "4242");
  CHECK(m.msgid == "mail");
  REQUIRE(m.sd.size() == 3);  // nothing the sender wrote became an element of its own
  CHECK(m.sd[0].id == "mugai@32473");
  CHECK(m.sd[1].id == "rcpt@32473");
  CHECK(m.sd[2].id == "obj@32473");
  const SdElement& s = m.sd[0];
  CHECK(values(s, "id") == std::vector<std::string>{"20261206T224000-abc123"});
  CHECK(values(s, "verdict") == std::vector<std::string>{"sanitized"});
  CHECK(values(s, "reason") == std::vector<std::string>{"av.infected"});
  CHECK(values(s, "reasons") == std::vector<std::string>{"av.infected,type.removed"});
  CHECK(values(s, "rcpts") == std::vector<std::string>{"2"});
  CHECK(values(s, "client_addr") == std::vector<std::string>{"192.0.2.7"});
  // The hostile value arrives as one line of text, its controls and bidi mark made visible.
  std::string from = values(s, "from").at(0);
  CHECK(from == text::logEscape(kHostile, kMaxValueBytes));
  CHECK(from.find("<U+000D><U+000A>") != std::string::npos);
  CHECK(from.find("<U+202E>") != std::string::npos);
  CHECK(text::isValidUtf8(line));
  CHECK(values(*element(m, "rcpt@32473"), "to").size() == 2);
  const SdElement* obj = element(m, "obj@32473");
  CHECK(values(*obj, "sha256") == std::vector<std::string>{std::string(64, 'a'), std::string(64, 'b')});
  CHECK(values(*obj, "reason") == std::vector<std::string>{"av.infected", "content.active"});
  CHECK(values(*obj, "name").at(1) == "invoice.docm");
  CHECK(m.msg == "mail 20261206T224000-abc123 sanitized av.infected");
}

TEST_CASE("events: lists are bounded, one event stays a few KB", "[unit]") {
  MessageEvent e = hostileEvent();
  e.recipients.assign(5000, std::string(300, 'r') + "@example.jp");
  e.objects.assign(20000, EventObject{"1", std::string(5000, 'n'), "removed", "type.removed", ""});
  std::string line = formatRfc5424(e, FormatOptions{});
  CHECK(line.size() < 64 * 1024);
  Syslog5424 m = parse5424(line);
  CHECK(values(*element(m, "rcpt@32473"), "to").size() == kMaxListed);
  CHECK(values(*element(m, "obj@32473"), "part").size() == kMaxListed);
  CHECK(values(m.sd[0], "objects") == std::vector<std::string>{"20000"});
  CHECK(values(m.sd[0], "rcpts") == std::vector<std::string>{"5000"});
  std::string cef = formatCef(e, "0.1.0");
  CHECK(cef.size() < 64 * 1024);
}

TEST_CASE("events: CEF line escapes header and extension per the spec", "[unit]") {
  MessageEvent e = hostileEvent();
  std::string line = formatCef(e, "0.1|0");
  INFO(line);
  Cef c = parseCef(line);
  CHECK(c.header.at(0) == "mugai");
  CHECK(c.header.at(1) == "mugai");
  CHECK(c.header.at(2) == "0.1|0");  // a pipe in a header field is escaped, not a separator
  CHECK(c.header.at(3) == "mail.sanitized");
  CHECK(c.header.at(5) == "9");  // av.infected
  // Only mugai's keys: nothing in a hostile value became a key of its own.
  std::vector<std::string> keys;
  for (const auto& [k, v] : c.ext) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"rt",       "externalId", "act",      "reason",   "suser",
                                         "duser",    "cnt",        "shost",    "src",      "in",
                                         "out",      "cs1Label",   "cs1",      "cs2Label", "cs2",
                                         "cs4Label", "cs4",        "fileHash", "cn1Label", "cn1",
                                         "cn2Label", "cn2"});
  CHECK(ext(c, "rt") == "1796596800123");
  CHECK(ext(c, "externalId") == "20261206T224000-abc123");
  CHECK(ext(c, "suser") == text::logEscape(kHostile, kMaxValueBytes));
  CHECK(ext(c, "src") == "192.0.2.7");
  CHECK(ext(c, "cs1") == "av.infected,type.removed");
  CHECK(ext(c, "fileHash") == std::string(64, 'a'));
  CHECK(ext(c, "cs4").find(std::string(64, 'b') + " content.active invoice.docm") !=
        std::string::npos);
  CHECK(ext(c, "cn1") == "42");
  // A client address that is not an IP (a hostile XFORWARD ADDR) never goes into src.
  e.client_addr = "1.2.3.4 cs1=x";
  Cef d = parseCef(formatCef(e, "0.1.0"));
  CHECK(ext(d, "src") == "<absent>");
  CHECK(ext(d, "cs3") == "1.2.3.4 cs1=x");
}

TEST_CASE("events: CEF inside an RFC 5424 frame", "[unit]") {
  EventOptions o;
  o.format = EventFormat::Cef;
  o.frame.facility = facilityCode("local3");
  o.frame.hostname = "gw";
  o.version = "0.1.0";
  MessageEvent e = hostileEvent();
  e.verdict = "blocked";
  std::string line = formatEvent(e, o);
  Syslog5424 m = parse5424(line);
  CHECK(m.pri == 19 * 8 + 4);
  CHECK(m.sd.empty());
  Cef c = parseCef(m.msg);
  CHECK(ext(c, "act") == "blocked");
}

TEST_CASE("events: from a report: reasons, objects and their SHA-256", "[unit]") {
  Report r;
  r.id = "X1";
  r.kind = "mail";
  r.final_verdict = Verdict::PartRemoved;
  r.reason = Reason::AvInfected;
  r.bytes_in = 100;
  ActionRecord kept;
  kept.action = "kept";
  kept.reason = "kept";
  ActionRecord removed;
  removed.part = "2";
  removed.filename = "eicar.com";
  removed.action = "removed";
  removed.reason = "av.infected";
  removed.findings = {{"signature", "Eicar"}, {"sha256", std::string(64, 'c')}};
  ActionRecord rebuilt;
  rebuilt.part = "3";
  rebuilt.action = "rebuilt";
  rebuilt.reason = "content.active";
  r.actions = {kept, removed, rebuilt};
  MessageEvent e = eventFromReport(r);
  CHECK(e.verdict == "sanitized");
  CHECK(e.reason == "av.infected");
  CHECK(e.reasons == std::vector<std::string>{"av.infected", "content.active"});
  REQUIRE(e.objects.size() == 2);
  CHECK(e.objects[0].sha256 == std::string(64, 'c'));
  CHECK(e.objects[0].name == "eicar.com");
  CHECK(e.objects[1].sha256.empty());
}

TEST_CASE("events: sink targets", "[unit]") {
  SinkTarget t;
  std::string why;
  CHECK(parseSinkTarget("unix:/dev/log", t, &why));
  CHECK((t.kind == SinkTarget::Kind::Unix && t.path == "/dev/log"));
  CHECK(parseSinkTarget("udp:127.0.0.1:514", t, &why));
  CHECK((t.kind == SinkTarget::Kind::Udp && t.host == "127.0.0.1" && t.port == 514));
  CHECK(parseSinkTarget("tcp:[::1]:6514", t, &why));
  CHECK((t.kind == SinkTarget::Kind::Tcp && t.host == "::1" && t.port == 6514));
  for (const char* bad : {"", "/dev/log", "unix:dev/log", "udp:host", "tcp:host:0",
                          "tcp:host:70000", "udp::514", "http://x:1"}) {
    INFO(bad);
    CHECK_FALSE(parseSinkTarget(bad, t, &why));
  }
  CHECK(facilityCode("mail") == 2);
  CHECK(facilityCode("local7") == 23);
  CHECK(facilityCode("bogus") == -1);
  CHECK(isLoopbackHost("127.0.0.1"));
  CHECK(isLoopbackHost("127.1.2.3"));
  CHECK(isLoopbackHost("::1"));
  CHECK(isLoopbackHost("localhost"));
  CHECK_FALSE(isLoopbackHost("0.0.0.0"));
  CHECK_FALSE(isLoopbackHost("192.0.2.1"));
  CHECK_FALSE(isLoopbackHost("gateway.example"));
}

TEST_CASE("events: the sink sends datagrams and octet-counted TCP frames", "[unit]") {
  TempDir tmp;
  // Unix datagram socket, as /dev/log is.
  std::string path = (tmp.path() / "log.sock").string();
  int u = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un ua{};
  ua.sun_family = AF_UNIX;
  std::strcpy(ua.sun_path, path.c_str());
  REQUIRE(bind(u, reinterpret_cast<sockaddr*>(&ua), sizeof ua) == 0);
  // TCP listener.
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in ta{};
  ta.sin_family = AF_INET;
  ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(l, reinterpret_cast<sockaddr*>(&ta), sizeof ta) == 0);
  socklen_t len = sizeof ta;
  getsockname(l, reinterpret_cast<sockaddr*>(&ta), &len);
  REQUIRE(listen(l, 1) == 0);
  {
    EventSink unix_sink(SinkTarget{SinkTarget::Kind::Unix, path, "", 0});
    unix_sink.send("<22>1 one");
    EventSink tcp_sink(SinkTarget{SinkTarget::Kind::Tcp, "", "127.0.0.1", ntohs(ta.sin_port)});
    tcp_sink.send("<22>1 two");
    tcp_sink.send("<22>1 three");
    timeval tv{10, 0};
    setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    ssize_t n = recv(u, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n)) == "<22>1 one");
    int c = accept(l, nullptr, nullptr);
    REQUIRE(c >= 0);
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    while (got.size() < 26) {
      n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    CHECK(got == "9 <22>1 two11 <22>1 three");
    close(c);
  }
  close(u);
  close(l);
  // Nobody listening: counted as failed, never blocking the caller.
  EventSink nowhere(SinkTarget{SinkTarget::Kind::Unix, path + ".none", "", 0});
  nowhere.send("x");
  for (int i = 0; i < 100 && nowhere.failed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(nowhere.failed() == 1);
}

TEST_CASE("metrics endpoint: GET /metrics, nothing else", "[unit]") {
  std::string why;
  auto server = startMetricsServer("127.0.0.1", 0, &why);
  REQUIRE(server);
  MessageEvent e = hostileEvent();
  messageFinished(e);
  auto get = [&](const std::string& method, const std::string& uri, std::string* body) {
    Poco::Net::HTTPClientSession s("127.0.0.1", server->port());
    s.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    s.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = s.receiveResponse(resp);
    std::ostringstream o;
    o << in.rdbuf();
    if (body) *body = o.str();
    return std::pair{static_cast<int>(resp.getStatus()), resp.getContentType()};
  };
  std::string body;
  auto [status, type] = get("GET", "/metrics", &body);
  CHECK(status == 200);
  CHECK(type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(body.find("mugai_messages_total{kind=\"mail\",verdict=\"sanitized\"}") != std::string::npos);
  CHECK(body.find("mugai_message_reasons_total{kind=\"mail\",reason=\"av.infected\"}") !=
        std::string::npos);
  CHECK(body.find("mugai_next_hop_sent_total") != std::string::npos);
  CHECK(get("GET", "/", nullptr).first == 404);
  CHECK(get("POST", "/metrics", nullptr).first == 405);
  // A reason name that is not in the table is counted as "other", never as the sender's text.
  e.reasons = {kHostile};
  messageFinished(e);
  get("GET", "/metrics?x=1", &body);
  CHECK(body.find("reason=\"other\"") != std::string::npos);
  CHECK(body.find("evil") == std::string::npos);
}

TEST_CASE("signature count and newest file time from the scanner's own texts", "[unit]") {
  CHECK(signatureCount("ClamAV 1.4.3, 8 signatures") == 8.0);
  CHECK(signatureCount("ClamAV 1.4.3, 1 signature") == 1.0);
  CHECK_FALSE(signatureCount("no scanner"));
  CHECK(newestSignatureTime("/r/sigs/\n/r/sigs/a.ndb|12|1700000000.5|77\n"
                            "/var/lib/clamav|missing\n/r/b|c.hdb|3|1700000100.0|78\n") ==
        1700000100.0);
  CHECK_FALSE(newestSignatureTime("/var/lib/clamav|missing\n"));
}

TEST_CASE("vault gauges: one usage query per period, left out while the vault does not answer",
          "[unit]") {
  Gauges g;
  int asked = 0;
  bool up = true;
  vaultGauges(g, [&](std::uint64_t& r, std::uint64_t& b) {
    ++asked;
    r = 7;
    b = 4096;
    return up;
  }, std::chrono::seconds(3600));
  CHECK(g.vault_records() == 7.0);
  CHECK(g.vault_bytes() == 4096.0);
  CHECK(asked == 1);  // the second gauge used the same answer
  Gauges h;
  vaultGauges(h, [&](std::uint64_t&, std::uint64_t&) {
    ++asked;
    return false;
  }, std::chrono::seconds(0));
  CHECK_FALSE(h.vault_records());
  CHECK_FALSE(h.vault_bytes());
  CHECK(asked == 3);  // period 0: asked each time
  auto handle = registerGauges(g);
  CHECK(registry().expose().find("\nmugai_vault_records 7\n") != std::string::npos);
  CHECK(registry().expose().find("\nmugai_vault_bytes 4096\n") != std::string::npos);
  handle.reset();
  CHECK(registry().expose().find("mugai_vault_records") == std::string::npos);
}
