#include "mugai/pipeline/report.h"

#include <algorithm>
#include <cstdio>

#include "mugai/text/charset.h"

namespace mugai {
namespace {

void field(std::string& out, const char* key, const std::string& value, bool comma = true) {
  out += '"';
  out += key;
  out += "\":";
  out += jsonString(value);
  if (comma) out += ',';
}

/// Findings as one JSON object: a key found once maps to its text, a key found again ("removed"
/// for each thing a rebuilder took out) maps to the array of its texts, in order. Duplicate keys
/// would be legal JSON text, but every reader keeps only one of them.
void findingsJson(std::string& out, const std::vector<Finding>& findings) {
  out += "\"findings\":{";
  std::vector<std::string> keys;
  for (const auto& f : findings) {
    if (std::find(keys.begin(), keys.end(), f.key) == keys.end()) keys.push_back(f.key);
  }
  for (std::size_t k = 0; k < keys.size(); ++k) {
    std::vector<const std::string*> values;
    for (const auto& f : findings) {
      if (f.key == keys[k]) values.push_back(&f.value);
    }
    out += jsonString(keys[k], 64) + ":";
    if (values.size() == 1) {
      out += jsonString(*values[0]);
    } else {
      out += '[';
      for (std::size_t i = 0; i < values.size(); ++i) {
        out += jsonString(*values[i]);
        if (i + 1 < values.size()) out += ',';
      }
      out += ']';
    }
    if (k + 1 < keys.size()) out += ',';
  }
  out += '}';
}

}  // namespace

std::string jsonString(const std::string& s, std::size_t max_bytes) {
  std::string valid = text::sanitizeUtf8(s);
  if (valid.size() > max_bytes) {
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(valid[end]) & 0xc0) == 0x80) --end;
    valid = valid.substr(0, end) + "…";
  }
  std::string out = "\"";
  for (unsigned char c : valid) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Report::verdictWord() const {
  if (final_verdict == Verdict::TempFail) return "tempfail";
  if (final_verdict > Verdict::TempFail) return "blocked";
  if (final_verdict == Verdict::Pass) return "clean";
  return "sanitized";
}

std::string Report::toJson(bool timings) const {
  std::string o = "{";
  field(o, "id", id);
  field(o, "kind", kind);
  field(o, "verdict", verdictWord());
  field(o, "final_verdict", std::string(verdictName(final_verdict)));
  field(o, "reason", std::string(reasonInfo(reason).name));
  if (final_verdict >= Verdict::TempFail)
    field(o, "reason_text", std::string(reasonInfo(reason).public_text));
  field(o, "sender", sender);
  o += "\"recipients\":[";
  for (std::size_t i = 0; i < recipients.size(); ++i)
    o += (i ? "," : "") + jsonString(recipients[i]);
  o += "],";
  field(o, "from", from);
  field(o, "subject", subject);
  field(o, "message_id", message_id);
  if (!filename.empty()) field(o, "filename", filename);
  field(o, "rules", rules);
  o += "\"bytes_in\":" + std::to_string(bytes_in) + ",\"bytes_out\":" + std::to_string(bytes_out) +
       ",";
  if (timings) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", elapsed_ms);
    o += "\"elapsed_ms\":" + std::string(buf) + ",";
  }
  o += "\"actions\":[";
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const auto& a = actions[i];
    o += i ? ",{" : "{";
    field(o, "part", a.part);
    field(o, "filename", a.filename);
    field(o, "action", a.action);
    field(o, "reason", a.reason);
    field(o, "declared_type", a.declared_type);
    field(o, "detected_type", a.detected_type);
    field(o, "sanitizer", a.sanitizer);
    if (!a.detail.empty()) field(o, "detail", a.detail);
    o += "\"body\":" + std::string(a.body ? "true" : "false") + ",";
    o += "\"bytes_in\":" + std::to_string(a.bytes_in) +
         ",\"bytes_out\":" + std::to_string(a.bytes_out) + ",";
    if (!a.sha256.empty()) field(o, "sha256", a.sha256);
    findingsJson(o, a.findings);
    o += "}";
  }
  o += "],\"detections\":[";
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    o += i ? ",{" : "{";
    field(o, "part", d.part);
    field(o, "filename", d.filename);
    field(o, "signature", d.signature);
    field(o, "stage", d.stage, false);
    o += "}";
  }
  o += "],\"defects\":[";
  for (std::size_t i = 0; i < defects.size(); ++i) o += (i ? "," : "") + jsonString(defects[i]);
  o += "]}";
  return o;
}

std::string Report::logLine() const {
  std::string line =
      "id=" + id + " verdict=" + verdictWord() + " reason=" + std::string(reasonInfo(reason).name);
  if (kind == "mail") {
    line +=
        " from=<" + text::logEscape(sender, 128) + "> rcpts=" + std::to_string(recipients.size());
  } else {
    // Quoted; inside, quotes, controls, bidi and other invisible characters as <U+...>.
    line += " file=\"" + text::logEscape(filename, 128) + "\"";
  }
  int changed = 0;
  for (const auto& a : actions) {
    if (a.action != "kept" && a.action != "reencoded" && a.action != "dropped_alternative")
      ++changed;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, " actions=%d detections=%zu ms=%.1f", changed, detections.size(),
                elapsed_ms);
  line += buf;
  std::string warnings;  // issue 14: who may have forged the sender, for the log reader too
  for (const auto& a : actions) {
    if (a.action == "warned") warnings += (warnings.empty() ? "" : ",") + a.reason;
  }
  if (!warnings.empty()) line += " sender_warnings=" + warnings;
  return line;
}

}  // namespace mugai
