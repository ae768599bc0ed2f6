// The notice at the top of a sanitized message (or in place of a blocked one): Japanese first,
// English below, one line per thing that was changed or removed, in words staff understand.
#include <algorithm>

#include "mugai/text/filename.h"
#include "src/pipeline/sender.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

std::string fill(std::string tmpl, const std::string& name, const std::string& reason) {
  auto replace = [&](const std::string& key, const std::string& value) {
    for (std::size_t pos = tmpl.find(key); pos != std::string::npos;
         pos = tmpl.find(key, pos + value.size())) {
      tmpl.replace(pos, key.size(), value);
    }
  };
  replace("{name}", name);
  replace("{reason}", reason);
  return tmpl;
}

/// A rebuilder names what it took out ("removed", "removed_member", "neutralised", "dropped"):
/// only then is staff told that something was removed (a rebuild that dropped nothing but
/// unused bytes is in the report, not in the notice).
bool removedSomething(const ActionRecord& a) {
  for (const auto& f : a.findings) {
    if (f.key.rfind("removed", 0) == 0 || f.key == "neutralised" || f.key == "dropped") return true;
  }
  return false;
}

/// Only members of an archive were taken out (by extension, type, links): not "active content".
bool onlyMembersRemoved(const ActionRecord& a) {
  bool any = false;
  for (const auto& f : a.findings) {
    if (f.key.rfind("removed", 0) == 0 || f.key == "neutralised" || f.key == "dropped") {
      if (f.key != "removed_member" && f.key != "dropped") return false;
      any = true;
    }
  }
  return any;
}

/// Only formula cells were made inert (sanitizer.csv): nothing was removed, say what was done.
bool onlyNeutralised(const ActionRecord& a) {
  bool any = false;
  for (const auto& f : a.findings) {
    if (f.key == "neutralised") any = true;
    else if (f.key.rfind("removed", 0) == 0 || f.key == "dropped") return false;
  }
  return any;
}

/// html_to_text left out text the sender had hidden (font-size 0, white on white, ...).
bool hidHiddenText(const ActionRecord& a) {
  for (const auto& f : a.findings) {
    if (f.key == "removed_hidden_text") return true;
  }
  return false;
}

std::string itemKey(const ActionRecord& a, bool on_conversion, bool blocked) {
  if (a.action == "removed") return a.body ? "removed_body" : "removed";
  if (a.action == "blocked")
    return a.part.empty() && a.filename.empty() ? "blocked_message" : "blocked";
  if (blocked) return "";  // nothing was delivered: conversions and renames do not matter
  if (a.action == "renamed") return "renamed";
  if (a.action == "unsigned") return "unsigned";
  if (a.action == "converted" && a.body) return on_conversion || hidHiddenText(a) ? "converted_body" : "";
  if (a.action == "converted") return "converted";
  if (a.action == "rebuilt" && a.reason == "cdr.rebuilt" && !removedSomething(a)) return "";
  // An image rebuilt from its pixels lost metadata or trailing bytes, never "macros": say that.
  if (a.action == "rebuilt" && a.reason == "cdr.rebuilt" && a.detected_type.rfind("image/", 0) == 0)
    return "cleaned";
  // An archive that only lost members (by type or extension, links) lost no "active content".
  if (a.action == "rebuilt" && a.reason == "cdr.rebuilt" && onlyMembersRemoved(a))
    return "removed_members";
  if (a.action == "rebuilt" && a.reason == "cdr.rebuilt" && onlyNeutralised(a)) return "neutralised";
  if (a.action == "rebuilt" && a.reason == "cdr.rebuilt") return "rebuilt";
  if (a.action == "rebuilt" && a.reason == "cdr.converted") return "reformatted";
  if (a.action == "rebuilt" && a.reason != "kept") return "converted";
  return "";
}

/// The older, more general item a newer key falls back to when a rules file lacks it.
std::string fallbackKey(const std::string& key) {
  if (key == "converted_body" || key == "rebuilt") return "converted";
  if (key == "reformatted") return "rebuilt";
  if (key == "blocked_message") return "blocked";
  return "";
}

/// Wording for items newer than a rules file: used when the rules name neither the key nor a
/// fallback, so that a change is never left unsaid (or said as something else).
std::string builtinItem(const std::string& key, bool ja) {
  if (key == "unsigned")
    return ja ? "電子署名付きのメールでした。内容は無害化して届けましたが、電子署名は残せませんでした"
              : "This message was digitally signed; its content was delivered after sanitizing, but the signature could not be kept.";
  if (key == "removed_body")
    return ja ? "本文を削除しました（理由：{reason}）" : "The message body was removed ({reason}).";
  if (key == "removed_members")
    return ja ? "「{name}」の中の一部のファイルを削除しました"
              : "Some files inside \"{name}\" were removed.";
  if (key == "neutralised")
    return ja ? "「{name}」の数式として実行されうるセル（=、+、-、@ で始まるもの）を文字として扱うよう変えました"
              : "Cells of \"{name}\" that would run as formulas (starting with =, +, -, @) were made plain text.";
  if (key == "cleaned")
    return ja ? "「{name}」から画像以外のデータ（メタデータ、末尾の余分なデータなど）を取り除きました"
              : "Data that is not part of the picture (metadata, trailing bytes) was removed from \"{name}\".";
  return "";
}

/// What a rebuild took out, as the rebuilder named it ("EXIF", "trailing data 120 bytes").
std::string removedList(const ActionRecord& a) {
  std::string out;
  for (const auto& f : a.findings) {
    if (f.key != "removed") continue;
    if (!out.empty()) out += ", ";
    out += f.value;
    if (out.size() > 160) return out + ", ...";
  }
  return out;
}

std::string displayName(const ActionRecord& a, bool ja) {
  if (!a.filename.empty()) {
    text::FilenameOptions o;
    o.max_bytes = 120;
    return text::sanitizeFilename(a.filename, o);
  }
  if (a.body) {
    if (a.action == "converted") return ja ? "HTML形式の本文" : "the HTML body";
    return ja ? "本文" : "the message body";
  }
  if (a.part.empty()) return ja ? "このメール" : "this message";
  if (a.detected_type == "text/calendar") return ja ? "予定（会議の招待）" : "the calendar invitation";
  return ja ? "名前のない添付ファイル" : "an unnamed attachment";
}

/// The notice's line for one action, in each language (appended to ja and en); false when the
/// action is not one the notice names.
bool actionLine(const policy::Notice& n, const ActionRecord& a, bool blocked, std::string& ja,
                std::string& en) {
  std::string key = itemKey(a, n.on_conversion, blocked);
  if (key.empty()) return false;
  auto tj = n.item_ja.find(key);
  auto te = n.item_en.find(key);
  if (std::string fb = fallbackKey(key); !fb.empty()) {  // rules files written before the key
    if (tj == n.item_ja.end()) tj = n.item_ja.find(fb);
    if (te == n.item_en.end()) te = n.item_en.find(fb);
  }
  std::string tmpl_ja = tj != n.item_ja.end() ? tj->second : builtinItem(key, true);
  std::string tmpl_en = te != n.item_en.end() ? te->second : builtinItem(key, false);
  std::string reason_en(
      a.reason.empty() ? ""
                       : reasonInfo(reasonByName(a.reason).value_or(Reason::Kept)).public_text);
  auto rj = n.reason_ja.find(a.reason);
  std::string reason_ja = rj != n.reason_ja.end() ? rj->second : reason_en;
  std::string now_ja, now_en;  // the name it arrives under, when that changed
  for (const auto& f : a.findings) {
    if (f.key != "delivered_as" && f.key != "renamed_to") continue;
    text::FilenameOptions o;
    o.max_bytes = 120;
    std::string shown = text::sanitizeFilename(f.value, o);
    now_ja = "（届いた名前: " + shown + "）";
    now_en = " (delivered as " + shown + ")";
  }
  if (hidHiddenText(a)) {  // say that text the sender hid from the reader was left out
    now_ja += "（送信者が見えないようにしていた文字は除きました）";
    now_en += " (text the sender had hidden from view was left out)";
  }
  if (key == "cleaned") {  // say exactly what went
    if (std::string what = text::visibleName(removedList(a)); !what.empty()) {
      now_ja += "（" + what + "）";
      now_en += " (" + what + ")";
    }
  }
  if (!tmpl_ja.empty()) ja += "・" + fill(tmpl_ja, displayName(a, true), reason_ja) + now_ja + "\n";
  if (!tmpl_en.empty()) en += "- " + fill(tmpl_en, displayName(a, false), reason_en) + now_en + "\n";
  return true;
}

}  // namespace

std::string buildNotice(const policy::Notice& n, const policy::VaultRules& vault,
                        const Report& report, bool blocked, bool original_kept,
                        const std::string& console_url) {
  std::string ja, en;
  if (blocked) {
    // A blocked message was not made harmless: the heading, then what happened instead.
    ja = n.intro_ja.substr(0, n.intro_ja.find('\n')) + "\n" + n.blocked_ja + "\n";
    en = n.intro_en.substr(0, n.intro_en.find('\n')) + "\n" + n.blocked_en + "\n";
  } else {
    ja = n.intro_ja + "\n";
    en = n.intro_en + "\n";
  }
  bool listed = false;
  for (const auto& a : report.actions) listed = actionLine(n, a, blocked, ja, en) || listed;
  for (const auto& a : report.actions) {  // the sender's text imitated this notice (body_text.cpp)
    if (blocked || !std::any_of(a.findings.begin(), a.findings.end(),
                                [](const Finding& f) { return f.key == "imitation_removed"; }))
      continue;
    ja += "・本文に、この通知や区切り線に似せた行がありました。その行は取り除きました（送信者が書いたもので、mugai の通知ではありません）\n";
    en += "- The message text had lines imitating this notice or its end line; they were removed (the sender wrote them, not mugai).\n";
    listed = true;
    break;
  }
  // Sender warning section (issue 14 §2, src/pipeline/sender.cpp): first, in both languages.
  auto [warn_ja, warn_en] = senderWarningText(report);
  if (!listed && !blocked && warn_ja.empty()) return "";
  if (!listed && !blocked) ja = en = "";  // nothing was changed: the warning alone
  if (original_kept) {
    const std::string link = consoleItemLink(console_url, report.id);
    // The rules' footer sends staff to IT with the reference; with a console the tier's line and
    // the item's page say where to go instead (one route, not two). A blocked notice's own text
    // already says to ask with the reference.
    if (!blocked && link.empty()) {
      ja += n.footer_ja + "\n";
      en += n.footer_en + "\n";
    }
    std::vector<std::string> reasons{std::string(reasonInfo(report.reason).name)};
    for (const auto& a : report.actions) {
      if (!a.reason.empty() && a.action != "kept") reasons.push_back(a.reason);
    }
    for (const auto& line : howToGetOriginal(vault, reasons, true, link)) ja += line + "\n";
    for (const auto& line : howToGetOriginal(vault, reasons, false, link)) en += line + "\n";
  }
  ja += "受付番号: " + report.id + "\n";
  en += "Reference: " + report.id + "\n";
  // Where mugai's words end and the sender's begin: a line the sender cannot write in advance.
  if (blocked) return warn_ja + ja + "\n" + warn_en + en;
  return warn_ja + ja + "\n" + warn_en + en + "\n" + noticeEndMarker(report.id);
}

}  // namespace mugai::pipeline

namespace mugai {

namespace {

/// The release tiers in words, one table (the tier names are the rules' vault.release values).
struct TierWords {
  const char* tier;
  const char* ja;
  const char* en;
};
constexpr TierWords kTierWords[] = {
    {"self", "原本が必要な場合は、ご自身で申請すればすぐに受け取れます（承認は不要です）。",
     "If you need the original, you may request it and receive it at once (no approval needed)."},
    {"approval", "原本が必要な場合は、理由を添えて申請できます。上長の承認後にお届けします。",
     "If you need the original, you may request it with a reason; your superior approves it."},
    {"admin", "原本は情報セキュリティ担当のみが取り出せます。",
     "Only the security team can release the original."},
    {"never", "原本は記録として保管され、取り出すことはできません。",
     "The original is kept for the record only and cannot be released."},
};

}  // namespace

std::vector<std::string> howToGetOriginal(const policy::VaultRules& rules,
                                          const std::vector<std::string>& reasons, bool ja,
                                          const std::string& console_link) {
  std::vector<std::string> lines;
  const std::string tier = rules.tierFor(reasons);
  for (const auto& w : kTierWords) {
    if (tier == w.tier) lines.push_back(ja ? w.ja : w.en);
  }
  if (tier == "never") return lines;
  // Where to ask: the item's page in the console when the service has one (issue 12 §7), else
  // the admin contact the rules name.
  const std::string& where = !console_link.empty() ? console_link : ja ? rules.contact_ja : rules.contact_en;
  if (!where.empty()) lines.push_back((ja ? "問い合わせ先: " : "Where to ask: ") + where);
  return lines;
}

std::string consoleItemLink(const std::string& console_url, const std::string& id) {
  if (console_url.empty() || id.empty()) return "";
  std::string base = console_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/items/" + id;
}

}  // namespace mugai
