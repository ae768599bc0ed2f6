// The sender's text as it is delivered: lines that imitate mugai's own marker lines are taken
// out, and links are shown as the rules' `links:` says (inline, footnotes, defanged).
#include <algorithm>

#include "mugai/text/charset.h"
#include "mugai/text/links.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

constexpr std::size_t kMaxLinksPerBody = 1000;

/// A line folded for comparison: ASCII lower case, full-width ASCII as ASCII, no spaces (ASCII,
/// ideographic, no-break) and no zero-width or dash characters that could break a word apart.
std::string folded(std::string_view line) {
  std::string out;
  std::size_t i = 0;
  while (i < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    std::size_t n = std::min(text::utf8SequenceLength(c), line.size() - i);
    char32_t cp = c;
    if (n == 2) cp = ((c & 0x1F) << 6) | (line[i + 1] & 0x3F);
    if (n == 3) cp = ((c & 0x0F) << 12) | ((line[i + 1] & 0x3F) << 6) | (line[i + 2] & 0x3F);
    if (n == 4) cp = ((c & 0x07) << 18) | ((line[i + 1] & 0x3F) << 12) | ((line[i + 2] & 0x3F) << 6) | (line[i + 3] & 0x3F);
    i += n;
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII
    if (cp <= 0x20 || cp == 0x3000 || cp == 0xA0 || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFEFF ||
        cp == 0x2060 || cp == 0xAD)
      continue;
    if (cp >= 'A' && cp <= 'Z') cp += 32;
    text::appendUtf8(out, cp);
  }
  return out;
}

}  // namespace

bool imitatesNoticeMarker(std::string_view line) {
  if (line.size() > 4096) line = line.substr(0, 4096);
  std::string f = folded(line);
  auto has = [&](std::string_view w) { return f.find(w) != std::string::npos; };
  if (has("無害化のお知らせ")) return true;  // the notice's heading (rules/default.yaml)
  if (has("無害化通知") && (has("ここまで") || has("受付番号"))) return true;
  if (!has("mugai")) return false;  // "無害化" alone is an everyday word in a municipality's IT mail
  for (std::string_view w : {"ここまで", "本文", "受付番号", "通知", "お知らせ", "リンク先", "notice",
                             "reference", "linktargets"}) {
    if (has(w)) return true;
  }
  return false;
}

std::string noticeEndMarker(const std::string& id) {
  return "―――― mugai 無害化通知ここまで（受付番号 " + id + "）この下は送信者が書いた本文です ――――\n"
         "―――― End of the mugai notice (reference " + id + "). Below is what the sender wrote. ――――\n";
}

std::string presentBodyText(std::string_view text, WalkState& s, std::vector<Finding>& findings) {
  // 1. Lines imitating mugai's marker, notice or link list: the sender cannot reproduce the real
  //    one (it carries this message's ID), and must not be able to show something that looks like it.
  std::string kept;
  kept.reserve(text.size());
  std::size_t imitations = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    if (imitatesNoticeMarker(line)) {
      ++imitations;
      kept += "[mugai: ここにあった行は mugai の通知に似せていたため取り除きました / a line imitating mugai's notice was removed]\n";
    } else {
      kept.append(line);
    }
    pos = end;
  }
  if (imitations > 0) {
    findings.push_back({"imitation_removed", std::to_string(imitations)});
    s.any_notice_item = true;
  }
  // 2. Links as the rules say.
  std::string heading = "―――― リンク先一覧（mugai 受付番号 " + s.report.id + "）/ Link targets ――――";
  text::PresentedText shown = text::presentLinks(kept, s.policy.links, heading, kMaxLinksPerBody);
  if (shown.links > 0) {
    findings.push_back({"links_" + std::string(text::linkStyleName(s.policy.links)), std::to_string(shown.links)});
  }
  if (shown.over_limit) findings.push_back({"links_over_limit", "more than 1000 links: the rest left as written"});
  return std::move(shown.text);
}

}  // namespace mugai::pipeline
