// Sender authentication in the delivered message and sender warnings in words staff read
// (issue 14 §1, §2). The authentication itself ran on the ingress side (src/auth).
#include "src/pipeline/sender.h"

#include <unicode/uidna.h>
#include <unicode/uspoof.h>
#include <unicode/utf8.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <memory>

namespace mugai::pipeline {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool iequals(const std::string& a, const std::string& b) { return lower(a) == lower(b); }

/// The authserv-id an Authentication-Results value claims (RFC 8601 2.2: the first token, before
/// an optional version and ';'), lower case; "" when there is none.
std::string authservIdOf(const std::string& value) {
  std::size_t i = 0;
  auto skipCfws = [&] {
    for (;;) {
      while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n')) ++i;
      if (i >= value.size() || value[i] != '(') return;
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') { ++i; continue; }
        if (value[i] == '(') ++depth;
        if (value[i] == ')' && --depth == 0) { ++i; break; }
      }
    }
  };
  skipCfws();
  std::size_t start = i;
  while (i < value.size() && value[i] != ';' && value[i] != ' ' && value[i] != '\t' && value[i] != '(') ++i;
  return lower(value.substr(start, i - start));
}

/// One mailbox of a decoded From: display name and address ("" when not exactly one).
struct Mailbox {
  std::string display, address, domain;
};

Mailbox parseFrom(const std::string& decoded) {
  Mailbox m;
  // Several mailboxes (a comma outside quotes and angle brackets): no single sender to judge.
  bool quoted = false;
  int angle = 0;
  for (char c : decoded) {
    if (c == '"') quoted = !quoted;
    else if (!quoted && c == '<') ++angle;
    else if (!quoted && c == '>') --angle;
    else if (!quoted && angle == 0 && c == ',') return {};
  }
  auto lt = decoded.rfind('<');
  auto gt = decoded.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    m.address = decoded.substr(lt + 1, gt - lt - 1);
    m.display = decoded.substr(0, lt);
  } else {
    m.address = decoded;
  }
  auto trim = [](std::string& s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"')) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && (s[b] == ' ' || s[b] == '\t' || s[b] == '"')) ++b;
    s.erase(0, b);
  };
  trim(m.address);
  trim(m.display);
  auto at = m.address.rfind('@');
  if (at == std::string::npos) return {};
  m.domain = lower(m.address.substr(at + 1));
  while (!m.domain.empty() && m.domain.back() == '.') m.domain.pop_back();
  return m;
}

/// Unicode form of a domain (xn-- labels decoded, UTS #46); the input when it cannot be.
std::string toUnicode(const std::string& domain) {
  if (domain.find("xn--") == std::string::npos) return domain;
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UIDNA, void (*)(UIDNA*)> idna(uidna_openUTS46(UIDNA_DEFAULT, &err), uidna_close);
  if (U_FAILURE(err)) return domain;
  char out[1024];
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  int32_t n = uidna_nameToUnicodeUTF8(idna.get(), domain.data(), static_cast<int32_t>(domain.size()), out,
                                      sizeof out, &info, &err);
  if (U_FAILURE(err) || info.errors != 0 || n <= 0 || n >= static_cast<int32_t>(sizeof out)) return domain;
  return std::string(out, static_cast<std::size_t>(n));
}

/// The confusable skeleton (UTS #39, ICU uspoof) of a name, lower-cased again (the skeleton maps
/// '0' to 'O'), as code points: "city-nant0" and "city-nanto" (Cyrillic а too) become one.
std::u32string skeleton(const std::string& utf8) {
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<USpoofChecker, void (*)(USpoofChecker*)> sc(uspoof_open(&err), uspoof_close);
  std::string sk(utf8.size() * 4 + 16, '\0');
  int32_t n = U_SUCCESS(err) ? uspoof_getSkeletonUTF8(sc.get(), 0, utf8.data(), static_cast<int32_t>(utf8.size()),
                                                      sk.data(), static_cast<int32_t>(sk.size()), &err)
                             : 0;
  if (U_FAILURE(err) || n < 0) sk = utf8;
  else sk.resize(static_cast<std::size_t>(n));
  std::u32string out;
  int32_t i = 0;
  while (i < static_cast<int32_t>(sk.size())) {
    UChar32 c;
    U8_NEXT(sk.data(), i, static_cast<int32_t>(sk.size()), c);
    out.push_back(static_cast<char32_t>(c < 0 ? 0xFFFD : u_tolower(c)));
  }
  return out;
}

/// Levenshtein distance, stopping early above `cap` (domains are at most 253 bytes).
unsigned distance(const std::u32string& a, const std::u32string& b, unsigned cap) {
  if (a.size() > 300 || b.size() > 300) return cap + 1;
  std::vector<unsigned> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<unsigned>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<unsigned>(i);
    unsigned row_min = cur[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > cap) return cap + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool isOrUnder(const std::string& domain, const std::string& parent) {
  return domain == parent ||
         (domain.size() > parent.size() && domain.compare(domain.size() - parent.size(), parent.size(), parent) == 0 &&
          domain[domain.size() - parent.size() - 1] == '.');
}

/// An address written in a display name ("support@city.nanto.lg.jp", full-width ＠ too).
std::string addressIn(std::string display) {
  for (std::size_t p; (p = display.find("\xEF\xBC\xA0")) != std::string::npos;) display.replace(p, 3, "@");
  auto at = display.find('@');
  if (at == std::string::npos) return "";
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '+';
  };
  std::size_t b = at, e = at + 1;
  while (b > 0 && word(display[b - 1])) --b;
  while (e < display.size() && word(display[e])) ++e;
  std::string addr = display.substr(b, e - b);
  while (!addr.empty() && addr.back() == '.') addr.pop_back();
  if (b == at || addr.find('.', at - b) == std::string::npos) return "";
  return lower(addr);
}

void warn(WalkState& s, Reason reason, const std::string& detail, std::vector<Finding> findings) {
  ActionRecord rec;
  rec.action = "warned";
  rec.reason = std::string(reasonInfo(reason).name);
  rec.sanitizer = "sender";
  rec.detail = detail;
  rec.findings = std::move(findings);
  s.report.actions.push_back(std::move(rec));
  s.raise(s.policy.verdictFor(reason, s.override_rules), reason);
  s.any_notice_item = true;
}

std::string findingValue(const ActionRecord& a, const std::string& key) {
  for (const auto& f : a.findings)
    if (f.key == key) return f.value;
  return "";
}

/// The xn-- form of a Unicode domain (UTS #46); "" when it has none.
std::string toAscii(const std::string& domain) {
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UIDNA, void (*)(UIDNA*)> idna(uidna_openUTS46(UIDNA_DEFAULT, &err), uidna_close);
  if (U_FAILURE(err)) return "";
  char out[1024];
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  int32_t n = uidna_nameToASCII_UTF8(idna.get(), domain.data(), static_cast<int32_t>(domain.size()), out,
                                     sizeof out, &info, &err);
  if (U_FAILURE(err) || n <= 0 || n >= static_cast<int32_t>(sizeof out)) return "";
  return std::string(out, static_cast<std::size_t>(n));
}

/// A domain as staff should see it: Unicode, with its xn-- form beside it when they differ (a
/// homograph shows itself in the xn-- form).
std::string shownDomain(const std::string& d) {
  std::string u = toUnicode(d);
  std::string a = u == d ? toAscii(d) : d;
  return a.empty() || a == u ? u : u + " (" + a + ")";
}

}  // namespace

void applyAuthentication(const mime::Entity& root, const SenderAuth& auth, BuiltMessage& built, Report& report) {
  if (!auth.checked) return;
  std::vector<mime::HeaderField> top;
  top.push_back({"Authentication-Results", auth.authserv_id + "; " + auth.results});
  for (const auto& h : root.headers) {
    if (!iequals(h.name, "Authentication-Results")) continue;
    std::string value = mime::decodeHeaderText(h.value);
    std::string id = authservIdOf(value);
    bool ours = iequals(id, auth.authserv_id);
    bool trusted = !ours && std::any_of(auth.trusted_authserv_ids.begin(), auth.trusted_authserv_ids.end(),
                                        [&](const std::string& t) { return iequals(t, id); });
    if (trusted) {
      top.push_back({"Authentication-Results", value});
      continue;
    }
    ActionRecord rec;
    rec.part = root.path;
    rec.action = "header_removed";
    rec.reason = std::string(reasonInfo(Reason::Kept).name);
    rec.sanitizer = "auth";
    rec.detail = ours ? "an Authentication-Results claiming mugai's own authserv-id was removed (forged)"
                      : "an Authentication-Results from an authserv-id that is not trusted was removed";
    rec.findings.push_back({"authserv_id", id.substr(0, 120)});
    report.actions.push_back(std::move(rec));
  }
  built.headers.insert(built.headers.begin(), top.begin(), top.end());
}

std::string lookalikeOf(const std::string& domain, const policy::SenderWarnings& rules) {
  std::string d = lower(toUnicode(domain));
  std::vector<const std::string*> trusted;
  for (const auto& t : rules.own_domains) trusted.push_back(&t);
  for (const auto& t : rules.protected_domains) trusted.push_back(&t);
  for (const std::string* t : trusted) {
    if (isOrUnder(d, lower(toUnicode(*t))) || isOrUnder(lower(domain), *t)) return "";
  }
  // Every label-aligned suffix of the From domain ("mail.city-nant0.lg.jp" -> "city-nant0.lg.jp")
  // against every trusted domain, after skeleton mapping.
  std::vector<std::u32string> suffixes;
  for (std::size_t p = 0;;) {
    std::string suffix = d.substr(p);
    if (suffix.find('.') == std::string::npos) break;  // a bare TLD imitates nothing
    suffixes.push_back(skeleton(suffix));
    p = d.find('.', p) + 1;
  }
  for (const std::string* t : trusted) {
    std::u32string target = skeleton(lower(toUnicode(*t)));
    if (target.size() < 4) continue;
    for (const auto& s : suffixes) {
      if (distance(s, target, rules.max_distance) <= rules.max_distance) return *t;
    }
  }
  return "";
}

void senderWarnings(const mime::Entity& root, const SenderAuth& auth, WalkState& s, BuiltMessage& built) {
  const policy::SenderWarnings& rules = s.policy.sender_warnings;
  const std::string* raw_from = root.header("From");
  Mailbox from = raw_from ? parseFrom(mime::decodeAddressHeader(*raw_from)) : Mailbox{};

  if (rules.dmarc_fail && auth.checked && auth.dmarc == "fail") {
    warn(s, Reason::SenderDmarcFail,
         "DMARC failed for " + auth.from_domain + (auth.dmarc_policy.empty() ? "" : " (p=" + auth.dmarc_policy + ")"),
         {{"from_domain", auth.from_domain}, {"dmarc_policy", auth.dmarc_policy}});
  }
  if (!from.domain.empty()) {
    if (std::string like = lookalikeOf(from.domain, rules); !like.empty()) {
      warn(s, Reason::SenderLookalike, "From domain " + from.domain + " looks like " + like,
           {{"from_domain", from.domain}, {"imitates", like}});
    }
  }
  if (rules.display_name_address && !from.display.empty() && !from.address.empty()) {
    std::string shown = addressIn(from.display);
    if (!shown.empty() && shown != lower(from.address)) {
      warn(s, Reason::SenderDisplayNameAddress, "display name shows " + shown + ", the sender is " + lower(from.address),
           {{"shown", shown}, {"address", lower(from.address)}});
    }
  }
  // [外部]-style tag: From domain outside the own domains (or no usable From at all).
  if (!rules.external_tag.empty() && !rules.own_domains.empty()) {
    bool own = !from.domain.empty() &&
               std::any_of(rules.own_domains.begin(), rules.own_domains.end(),
                           [&](const std::string& o) { return isOrUnder(from.domain, o); });
    // A forged own domain is outside too, and so is one whose authentication could not be done
    // (temperror: DNS, or mugai-auth not answering): nothing says it came from inside.
    if (own && auth.checked && (auth.dmarc == "fail" || auth.dmarc == "temperror")) own = false;
    if (!own) {
      auto subj = std::find_if(built.headers.begin(), built.headers.end(),
                               [](const mime::HeaderField& h) { return h.name == "Subject"; });
      if (subj == built.headers.end()) built.headers.push_back({"Subject", rules.external_tag});
      else if (subj->value.rfind(rules.external_tag, 0) != 0) subj->value = rules.external_tag + " " + subj->value;
    }
  }
}

std::pair<std::string, std::string> senderWarningText(const Report& report) {
  std::string ja, en;
  for (const auto& a : report.actions) {
    if (a.action != "warned" || a.sanitizer != "sender") continue;
    if (a.reason == "sender.dmarc_fail") {
      std::string d = shownDomain(findingValue(a, "from_domain"));
      ja += "・差出人のドメイン「" + d + "」は、そのドメインの送信ドメイン認証（DMARC）に合格しませんでした。\n";
      en += "- The sender's domain \"" + d + "\" did not pass its own sender authentication (DMARC).\n";
    } else if (a.reason == "sender.lookalike") {
      std::string d = shownDomain(findingValue(a, "from_domain"));
      std::string like = findingValue(a, "imitates");
      ja += "・差出人のドメイン「" + d + "」は「" + like + "」に似ていますが、別のドメインです。\n";
      en += "- The sender's domain \"" + d + "\" looks like \"" + like + "\" but is a different domain.\n";
    } else if (a.reason == "sender.display_name_address") {
      std::string shown = findingValue(a, "shown"), real = findingValue(a, "address");
      ja += "・差出人の表示名に「" + shown + "」と書かれていますが、実際の差出人は「" + real + "」です。\n";
      en += "- The sender's name shows \"" + shown + "\", but the message is from \"" + real + "\".\n";
    }
  }
  if (ja.empty()) return {"", ""};
  return {"【注意】送信元が詐称されている可能性があります。\n" + ja +
              "リンクを開いたり返信したりする前に、電話など別の方法で差出人に確かめてください。\n\n",
          "[Warning] The sender of this message may be forged.\n" + en +
              "Before opening links or replying, check with the sender by another way (e.g. by phone).\n\n"};
}

}  // namespace mugai::pipeline
