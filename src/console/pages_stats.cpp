// 統計: counts per day and hour, verdicts, top reasons, senders and sender domains, processing
// time — charts drawn here as inline SVG (no script, no chart library).
//
// What it counts: the vault's records (items withheld or rebuilt, whose originals are kept).
// Clean mail is not stored in the vault; the relay's totals are on its /metrics (monitoring).
#include <algorithm>
#include <cmath>
#include <map>

#include "src/console/internal.h"

namespace mugai::console {
namespace {

constexpr std::size_t kStatsRecordLimit = 100000;
constexpr std::size_t kTimingSample = 1000;

using Counts = std::vector<std::pair<std::string, std::uint64_t>>;

/// Vertical bars: one per label, the count over each bar. Labels are ours or escaped.
std::string columnChart(const Counts& data, const std::string& title, int width = 1200,
                        int height = 160) {
  std::uint64_t max = 1;
  for (const auto& d : data) max = std::max(max, d.second);
  const int n = std::max<int>(1, static_cast<int>(data.size()));
  const double slot = (width - 40.0) / n;
  std::string s = "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " + std::to_string(width) + " " +
                  std::to_string(height + 40) + "\" width=\"" + std::to_string(width) +
                  "\" height=\"" + std::to_string(height + 40) + "\"><title>" + title + "</title>";
  s += "<line class=\"axis\" x1=\"30\" y1=\"" + std::to_string(height) + "\" x2=\"" +
       std::to_string(width) + "\" y2=\"" + std::to_string(height) + "\"/>";
  s += "<text class=\"tick\" x=\"0\" y=\"12\">" + std::to_string(max) + "</text>";
  for (int i = 0; i < static_cast<int>(data.size()); ++i) {
    const double h = (height - 20.0) * static_cast<double>(data[i].second) / static_cast<double>(max);
    const double x = 32 + i * slot;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", x,
                  height - h, std::max(1.0, slot - 3), h);
    s += buf;
    if (data[i].second > 0 && slot >= 14) {
      std::snprintf(buf, sizeof buf, "<text class=\"val mid\" x=\"%.1f\" y=\"%.1f\">%llu</text>",
                    x + std::max(1.0, slot - 3) / 2, height - h - 3,
                    static_cast<unsigned long long>(data[i].second));
      s += buf;
    }
    const bool label = data.size() <= 16 || i % ((data.size() + 15) / 16) == 0;
    if (label) {
      std::snprintf(buf, sizeof buf, "<text class=\"lbl mid\" x=\"%.1f\" y=\"%d\">",
                    x + std::max(1.0, slot - 3) / 2, height + 16);
      s += buf + escapeAttr(data[i].first, 20) + "</text>";
    }
  }
  return s + "</svg>";
}

/// Horizontal bars for a top-N list.
std::string barList(const Counts& data, const std::string& title) {
  std::uint64_t max = 1;
  for (const auto& d : data) max = std::max(max, d.second);
  const int row = 22, width = 600, label_w = 300;
  const int height = std::max<int>(1, static_cast<int>(data.size())) * row + 4;
  std::string s = "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " + std::to_string(width) + " " +
                  std::to_string(height) + "\" width=\"" + std::to_string(width) + "\" height=\"" +
                  std::to_string(height) + "\"><title>" + title + "</title>";
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double w = (width - label_w - 60.0) * static_cast<double>(data[i].second) /
                     static_cast<double>(max);
    const int y = static_cast<int>(i) * row;
    char buf[256];
    s += "<text class=\"lbl\" x=\"0\" y=\"" + std::to_string(y + 15) + "\">" +
         escapeAttr(data[i].first, 84) + "</text>";
    std::snprintf(buf, sizeof buf,
                  "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\"/>"
                  "<text class=\"val\" x=\"%.1f\" y=\"%d\">%llu</text>",
                  label_w, y + 2, std::max(1.0, w), label_w + w + 4, y + 15,
                  static_cast<unsigned long long>(data[i].second));
    s += buf;
  }
  return s + "</svg>";
}

Counts top(const std::map<std::string, std::uint64_t>& m, std::size_t n) {
  Counts v(m.begin(), m.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

/// "elapsed_ms":12.5 from a report, without parsing the rest.
std::optional<double> elapsedMs(const std::string& report) {
  const std::string key = "\"elapsed_ms\":";
  auto p = report.find(key);
  if (p == std::string::npos) return std::nullopt;
  try {
    return std::stod(report.substr(p + key.size(), 24));
  } catch (...) {
    return std::nullopt;
  }
}

/// What the page counts over the vault's records since a time.
struct Tally {
  std::map<std::string, std::uint64_t> per_day, reasons, senders, domains, verdicts;
  std::vector<std::uint64_t> per_hour = std::vector<std::uint64_t>(24, 0);
  std::vector<std::string> recent_ids;  ///< the first kTimingSample, for the processing times
  std::size_t total = 0;
  bool truncated = false;  ///< stopped at kStatsRecordLimit records

  void add(const vault::RecordInfo& r) {
    ++total;
    per_day[internal::localTime(r.created).substr(0, 10)]++;
    std::time_t tt = static_cast<std::time_t>(r.created);
    std::tm tm{};
    localtime_r(&tt, &tm);
    per_hour[static_cast<std::size_t>(tm.tm_hour)]++;
    verdicts[r.verdict]++;
    for (const auto& x : r.reasons.empty() ? std::vector<std::string>{r.reason} : r.reasons) {
      reasons[x]++;
    }
    const std::string& s = r.envelope.sender;
    senders[s.empty() ? "<>" : s]++;
    if (auto at = s.rfind('@'); at != std::string::npos) domains[s.substr(at + 1)]++;
    if (recent_ids.size() < kTimingSample) recent_ids.push_back(r.id);
  }
};

Tally tallySince(vault::Vault& v, std::int64_t since) {
  Tally tally;
  vault::Query q;
  q.since = since;
  q.limit = 10000;
  std::string err;
  for (;;) {
    std::vector<vault::RecordInfo> rows;
    if (!v.list(q, rows, &err)) throw std::runtime_error(err);
    for (const auto& r : rows) tally.add(r);
    if (rows.size() < q.limit) break;
    q.offset += rows.size();
    if (q.offset >= kStatsRecordLimit) {
      tally.truncated = true;
      break;
    }
  }
  return tally;
}

/// "12.5 ms / 40.0 ms (n=1000)": the mean and p99 of the reports' elapsed_ms.
std::string processingTimes(vault::Vault& v, const std::vector<std::string>& ids) {
  std::vector<double> times;
  std::string err;
  for (const auto& id : ids) {
    if (auto rep = v.report(id, &err)) {
      if (auto ms = elapsedMs(*rep)) times.push_back(*ms);
    }
  }
  std::sort(times.begin(), times.end());
  double avg = 0;
  for (double x : times) avg += x;
  if (!times.empty()) avg /= static_cast<double>(times.size());
  const double p99 =
      times.empty()
          ? 0
          : times[std::min(times.size() - 1,
                           static_cast<std::size_t>(std::ceil(0.99 * times.size())) - 1)];
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.1f ms / %.1f ms (n=%zu)", avg, p99, times.size());
  return timing;
}

/// The last `days` days, oldest first ("12-07"), each with its count.
Counts perDay(const Tally& tally, unsigned days, std::int64_t t) {
  Counts data;
  for (unsigned i = days; i-- > 0;) {
    const std::string day =
        internal::localTime(t - static_cast<std::int64_t>(i) * 86400).substr(0, 10);
    auto it = tally.per_day.find(day);
    data.emplace_back(day.substr(5), it != tally.per_day.end() ? it->second : 0);
  }
  return data;
}

std::string card(const std::string& heading, const std::string& chart) {
  return "<section class=\"card\"><h2>" + heading + "</h2>" + chart + "</section>";
}

/// The page's language, for the helpers below (Ctx is the Console's own).
struct Lang {
  bool en = false;
  std::string tr(const std::string& ja, const std::string& en_text) const {
    return en ? en_text : ja;
  }
};

std::string periodForm(const Lang& l, unsigned days) {
  std::string s = "<form method=\"get\" action=\"/stats\" class=\"filters\"><label>" +
                  l.tr("期間", "Period") + "<select name=\"days\">";
  for (unsigned d : {7u, 14u, 30u}) {
    s += "<option value=\"" + std::to_string(d) + "\"" + (d == days ? " selected" : "") + ">" +
         std::to_string(d) + l.tr("日", " days") + "</option>";
  }
  return s + "</select></label><button type=\"submit\">" + l.tr("表示", "Show") + "</button></form>";
}

std::string charts(const Lang& l, const Tally& tally, unsigned days, std::int64_t t,
                   const std::map<std::string, std::string>& reason_ja) {
  Counts hours;
  for (int h = 0; h < 24; ++h) hours.emplace_back(std::to_string(h), tally.per_hour[h]);
  Counts verdicts;
  for (const auto& [v, n] : top(tally.verdicts, 10)) {
    verdicts.emplace_back(v == "sanitized" ? l.tr("無害化（作り直し・削除）", "sanitized (rebuilt / removed)")
                          : v == "blocked" ? l.tr("配信停止", "blocked")
                                           : v,
                          n);
  }
  Counts reasons;
  for (const auto& [r, n] : top(tally.reasons, 10)) {
    std::string words = r;
    if (!l.en) {
      if (auto it = reason_ja.find(r); it != reason_ja.end()) words = it->second;
    }
    reasons.emplace_back(words, n);
  }
  return card(l.tr("日別", "Per day"),
              columnChart(perDay(tally, days, t), l.tr("日別の件数", "Items per day"))) +
         card(l.tr("時間帯別", "Per hour of day"),
              columnChart(hours, l.tr("時間帯別の件数", "Items per hour"))) +
         "<div class=\"grid\">" +
         card(l.tr("処置", "Outcomes"), barList(verdicts, l.tr("処置", "Outcomes"))) +
         card(l.tr("理由 上位10", "Top reasons"), barList(reasons, l.tr("理由", "Reasons"))) +
         card(l.tr("差出人 上位10", "Top senders"),
              barList(top(tally.senders, 10), l.tr("差出人", "Senders"))) +
         card(l.tr("差出人ドメイン 上位10", "Top sender domains"),
              barList(top(tally.domains, 10), l.tr("ドメイン", "Domains"))) +
         "</div>";
}

}  // namespace

HttpResponse Console::statsPage(Ctx& c) {
  if (c.user->role != vault::Role::SecurityAdmin && c.user->role != vault::Role::Auditor) {
    return refused(c, "stats", "", {false, "統計は情報セキュリティ担当と監査担当が見られます。",
                                    "Statistics are for the security team and auditors."}, 403);
  }
  unsigned days = 14;
  if (c.req.param("days") == "7") days = 7;
  if (c.req.param("days") == "30") days = 30;
  const std::int64_t t = now();
  const Tally tally = tallySince(*d_.vault, t - static_cast<std::int64_t>(days) * 86400);
  std::string body = periodForm(Lang{c.en}, days);
  body += "<p class=\"summary\">" + c.tr("保管された項目", "Items kept") + ": <strong>" +
          std::to_string(tally.total) + "</strong>" +
          (tally.truncated ? c.tr("（先頭10万件まで）", " (first 100,000)") : "") + " ・ " +
          c.tr("処理時間 平均 / p99", "processing time mean / p99") + ": " +
          processingTimes(*d_.vault, tally.recent_ids) + "</p>";
  body += "<p class=\"note\">" +
          c.tr("隔離庫（vault）に原本を保管した項目の数です。問題のなかったメールの数はリレーの /metrics にあります。",
               "These count the items whose originals the vault keeps; clean mail is counted on the relay's /metrics.") +
          "</p>";
  body += charts(Lang{c.en}, tally, days, t, d_.reason_ja);
  return page(c, c.tr("統計", "Statistics"), body);
}

}  // namespace mugai::console
