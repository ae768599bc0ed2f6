// Event formats: RFC 5424 with structured data, and CEF. Every hostile value passes through
// safeText() (one line of valid UTF-8, invisible characters shown) before the format's escapes.
#include "mugai/obs/event.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "mugai/core/verdict.h"
#include "mugai/pipeline/report.h"
#include "mugai/text/charset.h"

namespace mugai::obs {
namespace {

constexpr const char* kSdId = "mugai@32473";
constexpr const char* kRcptSdId = "rcpt@32473";
constexpr const char* kObjSdId = "obj@32473";

/// Hostile text as one line of printable UTF-8, cut at kMaxValueBytes (logEscape marks the cut).
std::string safeText(const std::string& s, std::size_t max = kMaxValueBytes) {
  return text::logEscape(s, max);
}

std::int64_t nowUs() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<std::int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

/// RFC 3339 with microseconds, UTC ("2026-12-06T22:40:00.123456Z").
std::string timestamp(std::int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1000000));
  return buf;
}

/// A header field of RFC 5424 (HOSTNAME, APP-NAME): PRINTUSASCII without spaces, at most `max`;
/// "-" when empty.
std::string headerField(const std::string& s, std::size_t max) {
  std::string o;
  for (char c : s.substr(0, max)) o += (c > 0x20 && c < 0x7f) ? c : '_';
  return o.empty() ? "-" : o;
}

void param(std::string& out, const char* name, const std::string& hostile) {
  out += ' ';
  out += name;
  out += "=\"" + sdParamValue(hostile) + "\"";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string joined(const std::vector<std::string>& v, std::size_t max) {
  std::string o;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) o += (i ? "," : "") + v[i];
  return o;
}

}  // namespace

std::string sdParamValue(const std::string& hostile) {
  std::string o;
  for (char c : safeText(hostile)) {
    if (c == '"' || c == '\\' || c == ']') o += '\\';
    o += c;
  }
  return o;
}

std::string cefHeaderValue(const std::string& hostile) {
  std::string o;
  for (char c : safeText(hostile)) {
    if (c == '|' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

std::string cefExtensionValue(const std::string& hostile, std::size_t max) {
  std::string o;
  for (char c : safeText(hostile, max)) {
    if (c == '=' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

int facilityCode(const std::string& name) {
  static const std::pair<const char*, int> kNames[] = {
      {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
      {"syslog", 5},  {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
      {"authpriv", 10}, {"ftp", 11},  {"local0", 16}, {"local1", 17}, {"local2", 18},
      {"local3", 19}, {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};
  for (const auto& [n, code] : kNames) {
    if (name == n) return code;
  }
  return -1;
}

int severityFor(const MessageEvent& e) {
  if (e.verdict == "clean") return 6;
  if (e.verdict == "sanitized") return 5;
  if (e.verdict == "blocked" || e.verdict == "tempfail") return 4;
  return 3;
}

std::string wrapRfc5424(const std::string& sd, const std::string& msg, int severity,
                        const std::string& kind, std::int64_t time_us, const FormatOptions& o) {
  int pri = std::clamp(o.facility, 0, 23) * 8 + std::clamp(severity, 0, 7);
  long pid = o.procid ? o.procid : static_cast<long>(getpid());
  return "<" + std::to_string(pri) + ">1 " + timestamp(time_us ? time_us : nowUs()) + " " +
         headerField(o.hostname, 255) + " " + headerField(o.app_name, 48) + " " +
         std::to_string(pid) + " " + headerField(kind, 32) + " " + (sd.empty() ? "-" : sd) +
         (msg.empty() ? "" : " " + msg);
}

std::string formatRfc5424(const MessageEvent& e, const FormatOptions& o) {
  std::string sd = "[";
  sd += kSdId;
  param(sd, "id", e.id);
  param(sd, "kind", e.kind);
  param(sd, "verdict", e.verdict);
  param(sd, "reason", e.reason);
  param(sd, "reasons", joined(e.reasons, kMaxListed));
  param(sd, "from", e.sender);
  param(sd, "rcpts", std::to_string(e.recipients.size()));
  param(sd, "client_addr", e.client_addr);
  param(sd, "client_name", e.client_name);
  param(sd, "helo", e.helo);
  if (!e.filename.empty()) param(sd, "filename", e.filename);
  param(sd, "bytes_in", std::to_string(e.bytes_in));
  param(sd, "bytes_out", std::to_string(e.bytes_out));
  param(sd, "ms", number(e.processing_ms));
  if (e.reply_code) param(sd, "reply", std::to_string(e.reply_code));
  if (!e.relay_status.empty()) param(sd, "relay", e.relay_status);
  param(sd, "objects", std::to_string(e.objects.size()));
  sd += "]";
  if (!e.recipients.empty()) {
    sd += "[";
    sd += kRcptSdId;
    for (std::size_t i = 0; i < e.recipients.size() && i < kMaxListed; ++i) {
      param(sd, "to", e.recipients[i]);
    }
    sd += "]";
  }
  if (!e.objects.empty()) {
    // One element; each object is five parameters in this order (RFC 5424 keeps the order and
    // allows a name again): part, name, action, reason, sha256.
    sd += "[";
    sd += kObjSdId;
    for (std::size_t i = 0; i < e.objects.size() && i < kMaxListed; ++i) {
      const EventObject& x = e.objects[i];
      param(sd, "part", x.part);
      param(sd, "name", x.name);
      param(sd, "action", x.action);
      param(sd, "reason", x.reason);
      param(sd, "sha256", x.sha256);
    }
    sd += "]";
  }
  // MSG: a short summary built from our own words only (id, verdict, reason names).
  std::string msg = e.kind + " " + safeText(e.id) + " " + e.verdict +
                    (e.reason.empty() ? "" : " " + safeText(e.reason));
  return wrapRfc5424(sd, msg, severityFor(e), e.kind, e.time_us, o);
}

std::string formatCef(const MessageEvent& e, const std::string& version) {
  // 0-10: a virus found weighs most, whatever was done with it.
  bool virus = std::find(e.reasons.begin(), e.reasons.end(), "av.infected") != e.reasons.end() ||
               e.reason == "av.infected";
  int severity = virus                     ? 9
                 : e.verdict == "blocked"  ? 7
                 : e.verdict == "tempfail" ? 5
                 : e.verdict == "sanitized" ? 3
                                            : 1;
  std::string o = "CEF:0|mugai|mugai|" + cefHeaderValue(version) + "|" +
                  cefHeaderValue(e.kind + "." + e.verdict) + "|" +
                  cefHeaderValue(e.kind + " " + e.verdict) + "|" + std::to_string(severity) + "|";
  std::vector<std::pair<std::string, std::string>> ext;
  std::int64_t us = e.time_us ? e.time_us : nowUs();
  ext.emplace_back("rt", std::to_string(us / 1000));
  ext.emplace_back("externalId", e.id);
  ext.emplace_back("act", e.verdict);
  ext.emplace_back("reason", e.reason);
  ext.emplace_back("suser", e.sender);
  ext.emplace_back("duser", joined(e.recipients, kMaxListed));
  ext.emplace_back("cnt", std::to_string(e.recipients.size()));
  ext.emplace_back("shost", e.client_name);
  // src must be an IP address; anything else (an unknown, a hostile XFORWARD) stays in cs3.
  bool ip = !e.client_addr.empty() &&
            e.client_addr.find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos;
  if (ip) ext.emplace_back("src", e.client_addr);
  ext.emplace_back("in", std::to_string(e.bytes_in));
  ext.emplace_back("out", std::to_string(e.bytes_out));
  if (!e.filename.empty()) ext.emplace_back("fname", e.filename);
  ext.emplace_back("cs1Label", "reasons");
  ext.emplace_back("cs1", joined(e.reasons, kMaxListed));
  ext.emplace_back("cs2Label", "helo");
  ext.emplace_back("cs2", e.helo);
  if (!ip && !e.client_addr.empty()) {
    ext.emplace_back("cs3Label", "clientAddr");
    ext.emplace_back("cs3", e.client_addr);
  }
  // Objects: "sha256 reason name" each, ";" between. The first one also as fileHash/fname.
  std::string objects;
  for (std::size_t i = 0; i < e.objects.size() && i < kMaxListed; ++i) {
    const EventObject& x = e.objects[i];
    objects += (i ? "; " : "") + (x.sha256.empty() ? "-" : x.sha256) + " " + x.reason + " " +
               (x.name.empty() ? "part " + x.part : x.name);
  }
  if (!e.objects.empty()) {
    ext.emplace_back("cs4Label", "objects");
    ext.emplace_back("cs4", objects);
    if (!e.objects[0].sha256.empty()) ext.emplace_back("fileHash", e.objects[0].sha256);
  }
  ext.emplace_back("cn1Label", "processingMs");
  ext.emplace_back("cn1", number(e.processing_ms));
  if (e.reply_code) {
    ext.emplace_back("cn2Label", "smtpReply");
    ext.emplace_back("cn2", std::to_string(e.reply_code));
  }
  for (std::size_t i = 0; i < ext.size(); ++i) {
    // The two lists get room for all they list; any other value is cut at kMaxValueBytes.
    bool list = ext[i].first == "cs4" || ext[i].first == "duser";
    o += (i ? " " : "") + ext[i].first + "=" +
         cefExtensionValue(ext[i].second, list ? kMaxListed * kMaxValueBytes : kMaxValueBytes);
  }
  return o;
}

MessageEvent eventFromReport(const Report& r) {
  MessageEvent e;
  e.id = r.id;
  e.kind = r.kind;
  e.verdict = r.verdictWord();
  e.reason = std::string(reasonInfo(r.reason).name);
  e.sender = r.sender;
  e.recipients = r.recipients;
  e.filename = r.filename;
  e.bytes_in = r.bytes_in;
  e.bytes_out = r.bytes_out;
  e.processing_ms = r.elapsed_ms;
  auto addReason = [&](const std::string& name) {
    if (name.empty() || name == "kept") return;
    if (std::find(e.reasons.begin(), e.reasons.end(), name) == e.reasons.end()) {
      e.reasons.push_back(name);
    }
  };
  if (r.final_verdict != Verdict::Pass) addReason(e.reason);
  for (const auto& a : r.actions) {
    if (a.action == "kept" || a.action == "reencoded") continue;
    addReason(a.reason);
    EventObject x{a.part, a.filename, a.action, a.reason, ""};
    for (const auto& f : a.findings) {
      if (f.key == "sha256") x.sha256 = f.value;
    }
    e.objects.push_back(std::move(x));
  }
  return e;
}

}  // namespace mugai::obs
