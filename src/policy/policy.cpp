// Policy queries: routing, overrides, verdict lookup. Loading is in policy_loader.cpp.
#include "mugai/policy/policy.h"

#include <algorithm>

namespace mugai::policy {

std::string_view actionName(Action a) {
  switch (a) {
    case Action::Keep:
      return "keep";
    case Action::Sanitize:
      return "sanitize";
    case Action::Remove:
      return "remove";
    case Action::Block:
      return "block";
  }
  return "block";
}

bool mimeMatches(const std::string& pattern, const std::string& mime) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    return mime.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == mime;
}

namespace {

int tierStrictness(const std::string& tier) {
  return tier == "self" ? 0 : tier == "approval" ? 1 : tier == "never" ? 3 : 2;
}

}  // namespace

std::string VaultRules::tierFor(const std::vector<std::string>& reasons) const {
  std::string t = tierStrictness(release_default) == 2 ? "admin" : release_default;
  for (const auto& name : reasons) {
    auto r = reasonByName(name);
    if (!r) continue;
    auto it = release_by_reason.find(*r);
    if (it == release_by_reason.end()) continue;
    std::string x = tierStrictness(it->second) == 2 ? "admin" : it->second;
    if (tierStrictness(x) > tierStrictness(t)) t = x;
  }
  return t;
}

Verdict Policy::verdictFor(Reason r, const Override* ov) const {
  if (ov) {
    auto it = ov->actions.find(r);
    if (it != ov->actions.end()) return it->second;
  }
  auto it = actions.find(r);
  if (it != actions.end()) return it->second;
  return reasonInfo(r).default_verdict;
}

namespace {

bool domainMatches(const std::string& pattern, const std::string& address) {
  auto at = address.rfind('@');
  std::string domain = at == std::string::npos ? address : address.substr(at + 1);
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (pattern.rfind("*.", 0) == 0) {
    std::string suffix = pattern.substr(1);  // ".example.jp"
    return domain.size() > suffix.size() &&
           domain.compare(domain.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return domain == pattern;
}

bool anyMatches(const std::vector<std::string>& patterns, const std::string& address) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return domainMatches(p, address); });
}

}  // namespace

const Override* Policy::match(const std::string& sender,
                              const std::vector<std::string>& recipients) const {
  for (const auto& ov : overrides) {
    bool sender_ok = ov.sender_domains.empty() || anyMatches(ov.sender_domains, sender);
    // One message goes to all its recipients: an override for recipient domains applies only
    // when every recipient is in them (otherwise another department would get its policy).
    bool rcpt_ok = ov.recipient_domains.empty() ||
                   (!recipients.empty() &&
                    std::all_of(recipients.begin(), recipients.end(), [&](const std::string& r) {
                      return anyMatches(ov.recipient_domains, r);
                    }));
    if (sender_ok && rcpt_ok) return &ov;
  }
  return nullptr;
}

const TypeRule* Policy::route(const std::string& mime, const Override* ov) const {
  auto find = [&](const std::vector<TypeRule>& rules) -> const TypeRule* {
    for (const auto& rule : rules) {
      for (const auto& p : rule.patterns) {
        if (mimeMatches(p, mime)) return &rule;
      }
    }
    return nullptr;
  };
  if (ov) {
    if (const TypeRule* r = find(ov->types)) return r;
  }
  return find(types);
}

}  // namespace mugai::policy
