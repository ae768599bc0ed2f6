// Loads rules/*.yaml into a Policy. Every problem is reported as "file:line: key: text"; the
// loader collects them all so the security team fixes a file in one pass.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "mugai/policy/policy.h"
#include "mugai/policy/vault_rules.h"

namespace mugai::policy {
namespace {

constexpr std::uintmax_t kMaxRulesFileBytes = 1 << 20;

class Loader {
 public:
  Loader(std::string name, std::string base_dir, const Registry& registry,
         std::vector<std::string>& errors)
      : name_(std::move(name)), base_(std::move(base_dir)), registry_(registry), errors_(errors) {}

  PolicyConstSharedPtr load(const std::string& text);
  /// The vault: section alone (the console: no sanitizer registry, no chains).
  std::optional<VaultRules> loadVaultOnly(const std::string& text);

 private:
  void error(const YAML::Node& at, const std::string& key, const std::string& text) {
    int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    errors_.push_back(name_ + ":" + std::to_string(line) + ": " + key + ": " + text);
  }
  void checkKeys(const YAML::Node& map, const std::string& where, std::set<std::string> allowed);
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& key);
  std::vector<std::string> stringList(const YAML::Node& n, const std::string& key);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& key);
  std::optional<Action> action(const YAML::Node& n, const std::string& key);

  void loadLimits(const YAML::Node& n);
  void loadScanning(const YAML::Node& n);
  void loadChains(const YAML::Node& n);
  std::optional<ChainStep> loadStep(const YAML::Node& n, const std::string& key);
  std::vector<TypeRule> loadTypes(const YAML::Node& n, const std::string& key);
  std::map<Reason, Verdict> loadActions(const YAML::Node& n, const std::string& key);
  void loadExtensions(const YAML::Node& n);
  void loadNotice(const YAML::Node& n);
  void loadOverrides(const YAML::Node& n);
  void loadVault(const YAML::Node& n);
  void loadRetention(const YAML::Node& r, VaultRules& v);
  void loadRelease(const YAML::Node& r, VaultRules& v);
  void loadBudget(const YAML::Node& b, VaultRules& v);
  /// `path` (a mapping of reason name: value): `read(value node, key)` for each known reason,
  /// an error for each unknown one.
  template <typename Read>
  void forEachReason(const YAML::Node& rs, const std::string& path, const char* what, Read&& read);
  void loadSenderWarnings(const YAML::Node& n);
  std::optional<unsigned> days(const YAML::Node& n, const std::string& key);
  std::optional<std::string> tier(const YAML::Node& n, const std::string& key);

  std::string name_, base_;
  const Registry& registry_;
  std::vector<std::string>& errors_;
  Policy p_;
};

void Loader::checkKeys(const YAML::Node& map, const std::string& where,
                       std::set<std::string> allowed) {
  if (!map.IsMap()) {
    error(map, where, "must be a mapping");
    return;
  }
  std::set<std::string> seen;
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>("");
    if (!seen.insert(k).second) {
      error(kv.first, where.empty() ? k : where + "." + k, "appears twice (only one may be given)");
    }
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      error(kv.first, where.empty() ? k : where + "." + k,
            "unknown key (expected one of: " + list + ")");
    }
  }
}

std::optional<std::string> Loader::scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) {
    error(n, key, "must be a single value");
    return std::nullopt;
  }
  return n.Scalar();
}

std::vector<std::string> Loader::stringList(const YAML::Node& n, const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (auto s = scalar(item, key)) out.push_back(*s);
    }
  } else if (!n.IsNull()) {
    error(n, key, "must be a value or a list of values");
  }
  return out;
}

std::optional<bool> Loader::boolean(const YAML::Node& n, const std::string& key) {
  auto s = scalar(n, key);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "yes") return true;
  if (*s == "false" || *s == "no") return false;
  error(n, key, "must be true or false, not '" + *s + "'");
  return std::nullopt;
}

std::optional<Action> Loader::action(const YAML::Node& n, const std::string& key) {
  auto s = scalar(n, key);
  if (!s) return std::nullopt;
  for (Action a : {Action::Keep, Action::Sanitize, Action::Remove, Action::Block}) {
    if (actionName(a) == *s) return a;
  }
  error(n, key, "unknown action '" + *s + "' (expected keep, sanitize, remove or block)");
  return std::nullopt;
}

void Loader::loadLimits(const YAML::Node& n) {
  if (!n.IsMap()) return error(n, "limits", "must be a mapping of parameter: value");
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>("");
    auto v = scalar(kv.second, "limits." + k);
    if (!v) continue;
    std::uint64_t value = 0;
    std::istringstream in(*v);
    if (!(in >> value) || !in.eof() || v->find('-') != std::string::npos) {
      error(kv.second, "limits." + k, "must be a whole number, not '" + *v + "'");
      continue;
    }
    if (auto err = setLimit(p_.limits, k, value)) error(kv.first, "limits." + k, *err);
  }
}

void Loader::loadScanning(const YAML::Node& n) {
  checkKeys(n, "scanning", {"signatures", "system_database", "scan_output"});
  if (!n.IsMap()) return;
  if (n["signatures"]) {
    for (const auto& s : stringList(n["signatures"], "scanning.signatures")) {
      std::filesystem::path path = s;
      std::error_code ec;
      if (path.is_relative()) {
        // Next to this rules file; else in the installed rules folder, so that a copy of
        // default.yaml edited in /etc/mugai still finds the shipped signatures (docs/rules.md).
        std::filesystem::path beside = std::filesystem::path(base_) / path;
        std::filesystem::path installed = std::filesystem::path(embeddedRulesDir()) / path;
        if (!std::filesystem::exists(beside, ec) && std::filesystem::exists(installed, ec)) {
          path = installed;
        } else {
          path = beside;
        }
        if (!std::filesystem::exists(path, ec)) {
          error(n["signatures"], "scanning.signatures",
                "'" + s + "' does not exist next to the rules file (" + beside.string() +
                    ") nor in the installed rules folder (" + installed.string() + ")");
          continue;
        }
      }
      if (!std::filesystem::exists(path, ec)) {
        error(n["signatures"], "scanning.signatures", "'" + path.string() + "' does not exist");
        continue;
      }
      p_.signature_paths.push_back(path.lexically_normal().string());
    }
  }
  if (n["system_database"]) {
    if (auto b = boolean(n["system_database"], "scanning.system_database"))
      p_.system_signatures = *b;
  }
  if (n["scan_output"]) {
    if (auto b = boolean(n["scan_output"], "scanning.scan_output")) p_.scan_output = *b;
  }
}

std::optional<ChainStep> Loader::loadStep(const YAML::Node& n, const std::string& key) {
  std::string name;
  std::map<std::string, std::string> values;
  YAML::Node params;
  if (n.IsScalar()) {
    name = n.Scalar();
  } else if (n.IsMap() && n.size() == 1) {
    auto kv = *n.begin();
    name = kv.first.as<std::string>("");
    params = kv.second;
    if (!params.IsMap() && !params.IsNull()) {
      error(params, key + "." + name, "parameters must be a mapping");
      return std::nullopt;
    }
    if (params.IsMap()) {
      for (const auto& pv : params) {
        std::string pk = pv.first.as<std::string>("");
        if (pv.second.IsSequence()) {
          std::string joined;
          for (const auto& item : stringList(pv.second, key + "." + name + "." + pk)) {
            joined += (joined.empty() ? "" : ",") + item;
          }
          values[pk] = joined;
        } else if (auto v = scalar(pv.second, key + "." + name + "." + pk)) {
          values[pk] = *v;
        }
      }
    }
  } else {
    error(n, key, "a step is a sanitizer name or {name: {parameters}}");
    return std::nullopt;
  }
  const SanitizerFactory* f = registry_.find(name);
  if (!f) {
    error(n, key,
          registry_.disabled(name) ? "sanitizer '" + name + "' is disabled"
                                   : "unknown sanitizer '" + name + "'");
    return std::nullopt;
  }
  std::string err;
  SanitizerParams sp(values);
  auto instance = f->create(sp, &err);
  if (!instance) {
    error(params.IsDefined() ? params : n, key + "." + name,
          err.empty() ? "invalid parameters" : err);
    return std::nullopt;
  }
  return ChainStep{name, std::move(instance)};
}

void Loader::loadChains(const YAML::Node& n) {
  if (!n.IsMap()) return error(n, "chains", "must be a mapping of chain name: [steps]");
  for (const auto& kv : n) {
    std::string cname = kv.first.as<std::string>("");
    std::string key = "chains." + cname;
    Chain chain{cname, {}};
    if (!kv.second.IsSequence()) {
      error(kv.second, key, "must be a list of sanitizers");
      continue;
    }
    for (const auto& step : kv.second) {
      if (auto s = loadStep(step, key)) chain.steps.push_back(std::move(*s));
    }
    p_.chains[cname] = std::move(chain);
  }
  for (const char* required : {"scan", "text_body", "html_body"}) {
    auto it = p_.chains.find(required);
    if (it == p_.chains.end()) {
      error(n, std::string("chains.") + required, "is required");
    }
  }
  if (p_.chains.count("scan")) {
    const auto& steps = p_.chains["scan"].steps;
    bool scanner = std::any_of(steps.begin(), steps.end(), [](const ChainStep& st) {
      return st.sanitizer == "sanitizer.clamav_scan";
    });
    if (!scanner) {
      error(n["scan"], "chains.scan", "must contain sanitizer.clamav_scan: everything is scanned");
    }
  }
  if (p_.chains.count("html_body") && p_.chains["html_body"].steps.empty()) {
    error(n["html_body"], "chains.html_body", "must not be empty: HTML bodies are converted");
  }
  if (p_.chains.count("scan")) p_.scan = p_.chains["scan"];
  if (p_.chains.count("text_body")) p_.text_body = p_.chains["text_body"];
  if (p_.chains.count("html_body")) p_.html_body = p_.chains["html_body"];
}

std::vector<TypeRule> Loader::loadTypes(const YAML::Node& n, const std::string& key) {
  std::vector<TypeRule> out;
  if (!n.IsSequence()) {
    error(n, key, "must be a list of {match, action, chain}");
    return out;
  }
  for (const auto& item : n) {
    checkKeys(item, key, {"match", "action", "chain"});
    if (!item.IsMap()) continue;
    TypeRule rule;
    rule.line = item.Mark().line + 1;
    if (!item["match"])
      error(item, key + ".match", "is required");
    else
      rule.patterns = stringList(item["match"], key + ".match");
    if (!item["action"]) {
      error(item, key + ".action", "is required");
      continue;
    }
    auto a = action(item["action"], key + ".action");
    if (!a) continue;
    rule.action = *a;
    if (item["chain"]) {
      if (auto c = scalar(item["chain"], key + ".chain")) rule.chain = *c;
      if (rule.action != Action::Sanitize) {
        error(item["chain"], key + ".chain", "only goes with action: sanitize");
      } else if (!p_.chains.count(rule.chain)) {
        error(item["chain"], key + ".chain", "unknown chain '" + rule.chain + "'");
      } else if (p_.chains[rule.chain].steps.empty()) {
        error(item["chain"], key + ".chain",
              "chain '" + rule.chain + "' is empty: sanitize would keep");
      } else if (std::all_of(p_.chains[rule.chain].steps.begin(), p_.chains[rule.chain].steps.end(),
                             [](const ChainStep& st) {
                               // Steps that look at a file or its name but never change what is
                               // in it: a chain of only these passes the file as it came.
                               return st.sanitizer == "sanitizer.clamav_scan" ||
                                      st.sanitizer == "sanitizer.filename_sanitize";
                             })) {
        error(item["chain"], key + ".chain",
              "chain '" + rule.chain +
                  "' only scans and renames: sanitize would keep the content as it is (write "
                  "action: keep if that is meant)");
      }
    } else if (rule.action == Action::Sanitize) {
      error(item, key + ".chain", "action: sanitize needs a chain");
    }
    for (const auto& pat : rule.patterns) {
      // "*", "type/subtype" or a prefix ending in '*' ("application/vnd.ms-*"), spelled as libmagic
      // reports types (mostly lower case, but "application/CDFV2"); anything else would match
      // nothing, silently.
      std::size_t slash = pat.find('/'), star = pat.find('*');
      bool ok =
          pat == "*" || (slash != std::string::npos && slash > 0 && slash + 1 < pat.size() &&
                         pat.find('/', slash + 1) == std::string::npos &&
                         (star == std::string::npos || (star == pat.size() - 1 && star > slash)));
      ok = ok && pat.find_first_of(" \t") == std::string::npos;
      if (!ok) {
        error(item["match"], key + ".match",
              "'" + pat +
                  "' is not a type pattern: write '*', 'type/subtype' or a prefix like "
                  "'application/vnd.ms-*'");
      } else if (rule.action == Action::Keep && (pat == "*" || pat == "application/*")) {
        error(item["match"], key + ".match",
              "'" + pat + "' with keep would keep " +
                  (pat == "*" ? "every type" : "executables, scripts and archives") +
                  " (allowlist, not denylist)");
      }
    }
    out.push_back(std::move(rule));
  }
  return out;
}

std::map<Reason, Verdict> Loader::loadActions(const YAML::Node& n, const std::string& key) {
  std::map<Reason, Verdict> out;
  if (!n.IsMap()) {
    error(n, key, "must be a mapping of reason: verdict");
    return out;
  }
  for (const auto& kv : n) {
    std::string rname = kv.first.as<std::string>("");
    auto r = reasonByName(rname);
    if (!r) {
      error(kv.first, key + "." + rname, "unknown reason (see docs/verdicts.md)");
      continue;
    }
    auto v = scalar(kv.second, key + "." + rname);
    if (!v) continue;
    auto verdict = verdictByName(*v);
    if (!verdict) {
      error(kv.second, key + "." + rname,
            "unknown verdict '" + *v +
                "' (pass, modified, part_removed, tempfail, quarantine, reject)");
      continue;
    }
    if (reasonInfo(*r).fail_closed && *verdict < Verdict::PartRemoved) {
      error(kv.second, key + "." + rname,
            "is fail-closed and cannot be set to '" + *v + "': the content would pass as it is");
      continue;
    }
    out[*r] = *verdict;
  }
  return out;
}

void Loader::loadExtensions(const YAML::Node& n) {
  checkKeys(n, "extensions", {"deny", "action"});
  if (!n.IsMap()) return;
  if (n["deny"]) {
    for (auto e : stringList(n["deny"], "extensions.deny")) {
      if (!e.empty() && e[0] == '.') e.erase(0, 1);
      std::transform(e.begin(), e.end(), e.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      p_.denied_extensions.push_back(e);
    }
  }
  if (n["action"]) {
    if (auto a = action(n["action"], "extensions.action")) {
      if (*a == Action::Keep || *a == Action::Sanitize) {
        error(n["action"], "extensions.action", "must be remove or block");
      } else {
        p_.denied_extension_action = *a;
      }
    }
  }
}

void Loader::loadNotice(const YAML::Node& n) {
  checkKeys(n, "notice",
            {"enabled", "on_conversion", "intro", "blocked", "footer", "items", "reasons"});
  if (!n.IsMap()) return;
  Notice& nt = p_.notice;
  if (n["enabled"]) nt.enabled = boolean(n["enabled"], "notice.enabled").value_or(true);
  if (n["on_conversion"])
    nt.on_conversion = boolean(n["on_conversion"], "notice.on_conversion").value_or(true);
  auto pair = [&](const char* key, std::string& ja, std::string& en) {
    if (!n[key]) return;
    std::string k = std::string("notice.") + key;
    checkKeys(n[key], k, {"ja", "en"});
    if (!n[key].IsMap()) return;
    if (n[key]["ja"]) ja = scalar(n[key]["ja"], k + ".ja").value_or("");
    if (n[key]["en"]) en = scalar(n[key]["en"], k + ".en").value_or("");
  };
  pair("intro", nt.intro_ja, nt.intro_en);
  pair("blocked", nt.blocked_ja, nt.blocked_en);
  pair("footer", nt.footer_ja, nt.footer_en);
  if (n["items"]) {
    checkKeys(n["items"], "notice.items",
              {"removed", "converted", "converted_body", "rebuilt", "reformatted", "renamed",
               "blocked", "blocked_message", "cleaned", "unsigned", "removed_body",
               "removed_members", "neutralised"});
    if (n["items"].IsMap()) {
      for (const auto& kv : n["items"]) {
        std::string item = kv.first.as<std::string>("");
        std::string k = "notice.items." + item;
        checkKeys(kv.second, k, {"ja", "en"});
        if (!kv.second.IsMap()) continue;
        if (kv.second["ja"]) nt.item_ja[item] = scalar(kv.second["ja"], k + ".ja").value_or("");
        if (kv.second["en"]) nt.item_en[item] = scalar(kv.second["en"], k + ".en").value_or("");
      }
    }
  }
  if (n["reasons"]) {
    if (!n["reasons"].IsMap()) return error(n["reasons"], "notice.reasons", "must be a mapping");
    for (const auto& kv : n["reasons"]) {
      std::string rname = kv.first.as<std::string>("");
      if (!reasonByName(rname)) {
        error(kv.first, "notice.reasons." + rname, "unknown reason (see docs/verdicts.md)");
        continue;
      }
      if (auto v = scalar(kv.second, "notice.reasons." + rname)) nt.reason_ja[rname] = *v;
    }
  }
}

void Loader::loadOverrides(const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) return error(n, "overrides", "must be a list");
  for (const auto& item : n) {
    checkKeys(item, "overrides",
              {"sender_domain", "recipient_domain", "types", "actions", "notice"});
    if (!item.IsMap()) continue;
    Override ov;
    ov.line = item.Mark().line + 1;
    auto lower = [](std::vector<std::string> v) {
      for (auto& s : v) {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      }
      return v;
    };
    if (item["sender_domain"])
      ov.sender_domains = lower(stringList(item["sender_domain"], "overrides.sender_domain"));
    if (item["recipient_domain"])
      ov.recipient_domains =
          lower(stringList(item["recipient_domain"], "overrides.recipient_domain"));
    if (ov.sender_domains.empty() && ov.recipient_domains.empty()) {
      error(item, "overrides", "needs sender_domain or recipient_domain");
    }
    if (item["types"]) ov.types = loadTypes(item["types"], "overrides.types");
    if (item["actions"]) ov.actions = loadActions(item["actions"], "overrides.actions");
    if (item["notice"]) ov.notice_enabled = boolean(item["notice"], "overrides.notice");
    p_.overrides.push_back(std::move(ov));
  }
}

std::optional<unsigned> Loader::days(const YAML::Node& n, const std::string& key) {
  auto v = scalar(n, key);
  if (!v) return std::nullopt;
  unsigned d = 0;
  std::istringstream in(*v);
  if (!(in >> d) || !in.eof() || v->find('-') != std::string::npos || d < 1 || d > 3650) {
    error(n, key, "must be a number of days from 1 to 3650, not '" + *v + "'");
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> Loader::tier(const YAML::Node& n, const std::string& key) {
  auto v = scalar(n, key);
  if (!v) return std::nullopt;
  if (*v == "self" || *v == "approval" || *v == "admin" || *v == "never") return v;
  error(n, key, "unknown release tier '" + *v + "' (expected self, approval, admin or never)");
  return std::nullopt;
}

void Loader::loadSenderWarnings(const YAML::Node& n) {
  checkKeys(n, "sender_warnings", {"own_domains", "protected_domains", "max_distance", "dmarc_fail",
                                   "display_name_address", "external_tag"});
  if (!n.IsMap()) return;
  SenderWarnings& w = p_.sender_warnings;
  auto domains = [&](const char* key, std::vector<std::string>& out) {
    if (!n[key]) return;
    for (std::string d : stringList(n[key], std::string("sender_warnings.") + key)) {
      for (char& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      while (!d.empty() && d.back() == '.') d.pop_back();
      if (d.empty() || d.find('.') == std::string::npos || d.find_first_of(" @/\\") != std::string::npos)
        error(n[key], std::string("sender_warnings.") + key, "'" + d + "' is not a domain name");
      else
        out.push_back(d);
    }
  };
  domains("own_domains", w.own_domains);
  domains("protected_domains", w.protected_domains);
  if (n["max_distance"]) {
    auto v = scalar(n["max_distance"], "sender_warnings.max_distance");
    if (v && (v->size() != 1 || (*v)[0] < '0' || (*v)[0] > '5'))
      error(n["max_distance"], "sender_warnings.max_distance", "must be 0 to 5, not '" + *v + "'");
    else if (v)
      w.max_distance = static_cast<unsigned>((*v)[0] - '0');
  }
  if (n["dmarc_fail"]) w.dmarc_fail = boolean(n["dmarc_fail"], "sender_warnings.dmarc_fail").value_or(true);
  if (n["display_name_address"])
    w.display_name_address = boolean(n["display_name_address"], "sender_warnings.display_name_address").value_or(true);
  if (n["external_tag"]) {
    auto v = scalar(n["external_tag"], "sender_warnings.external_tag");
    if (v && (v->size() > 40 || v->find_first_of("\r\n") != std::string::npos))
      error(n["external_tag"], "sender_warnings.external_tag", "must be one short line (at most 40 bytes)");
    else if (v)
      w.external_tag = *v;
  }
}

template <typename Read>
void Loader::forEachReason(const YAML::Node& rs, const std::string& path, const char* what,
                           Read&& read) {
  if (!rs.IsMap()) error(rs, path, std::string("must be a mapping of reason: ") + what);
  for (const auto& kv : rs) {
    const std::string name = kv.first.as<std::string>("");
    auto reason = reasonByName(name);
    if (!reason) {
      error(kv.first, path + "." + name, "unknown reason (see docs/verdicts.md)");
      continue;
    }
    read(*reason, kv.second, path + "." + name);
  }
}

void Loader::loadRetention(const YAML::Node& r, VaultRules& v) {
  checkKeys(r, "vault.retention", {"default", "blocked", "sanitized", "reasons"});
  if (!r.IsMap()) return;
  if (r["default"]) v.retention_default_days = days(r["default"], "vault.retention.default").value_or(30);
  for (const char* w : {"blocked", "sanitized"}) {
    if (r[w]) {
      if (auto d = days(r[w], std::string("vault.retention.") + w)) v.retention_by_verdict[w] = *d;
    }
  }
  if (const auto rs = r["reasons"]) {
    forEachReason(rs, "vault.retention.reasons", "days",
                  [&](Reason reason, const YAML::Node& value, const std::string& key) {
                    if (auto d = days(value, key)) v.retention_by_reason[reason] = *d;
                  });
  }
}

void Loader::loadRelease(const YAML::Node& r, VaultRules& v) {
  checkKeys(r, "vault.release", {"default", "reasons"});
  if (!r.IsMap()) return;
  if (r["default"]) v.release_default = tier(r["default"], "vault.release.default").value_or("admin");
  if (const auto rs = r["reasons"]) {
    forEachReason(rs, "vault.release.reasons", "tier",
                  [&](Reason reason, const YAML::Node& value, const std::string& key) {
                    if (auto t = tier(value, key)) v.release_by_reason[reason] = *t;
                  });
  }
}

void Loader::loadBudget(const YAML::Node& b, VaultRules& v) {
  checkKeys(b, "vault.budget", {"size_mb", "warn_percent"});
  if (!b.IsMap()) return;
  for (const std::string k : {"size_mb", "warn_percent"}) {
    if (!b[k]) continue;
    const bool percent = k == "warn_percent";
    auto s = scalar(b[k], "vault.budget." + k);
    std::uint64_t x = 0;
    std::istringstream in(s.value_or("x"));
    if (!s || !(in >> x) || !in.eof() || s->find('-') != std::string::npos ||
        (percent && (x < 1 || x > 100))) {
      if (s) {
        error(b[k], "vault.budget." + k,
              std::string("must be a whole number") + (percent ? " from 1 to 100" : ""));
      }
      continue;
    }
    if (percent) {
      v.budget_warn_percent = static_cast<unsigned>(x);
    } else {
      v.budget_mb = x;
    }
  }
}

void Loader::loadVault(const YAML::Node& n) {
  checkKeys(n, "vault", {"retention", "release", "approval", "directory", "budget", "contact"});
  if (!n.IsMap()) return;
  VaultRules& v = p_.vault;
  if (const auto r = n["retention"]) loadRetention(r, v);
  if (const auto r = n["release"]) loadRelease(r, v);
  if (n["approval"]) {
    if (auto a = scalar(n["approval"], "vault.approval")) {
      if (*a != "any" && *a != "all") {
        error(n["approval"], "vault.approval", "must be any or all, not '" + *a + "'");
      } else {
        v.approval = *a;
      }
    }
  }
  if (n["directory"]) {
    if (auto d = scalar(n["directory"], "vault.directory")) {
      std::filesystem::path path(*d);
      if (path.is_relative()) path = std::filesystem::path(base_) / path;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        error(n["directory"], "vault.directory", "'" + path.string() + "' does not exist");
      } else {
        v.directory = path.lexically_normal().string();
      }
    }
  }
  if (const auto b = n["budget"]) loadBudget(b, v);
  if (const auto c = n["contact"]) {
    checkKeys(c, "vault.contact", {"ja", "en"});
    if (c.IsMap()) {
      if (c["ja"]) v.contact_ja = scalar(c["ja"], "vault.contact.ja").value_or("");
      if (c["en"]) v.contact_en = scalar(c["en"], "vault.contact.en").value_or("");
    }
  }
}

PolicyConstSharedPtr Loader::load(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    errors_.push_back(name_ + ":" + std::to_string(e.mark.line + 1) + ": (syntax): " + e.msg);
    return nullptr;
  }
  if (!root.IsMap()) {
    errors_.push_back(name_ + ":1: (top): a rules file is a mapping of sections");
    return nullptr;
  }
  try {
    checkKeys(root, "",
              {"version", "limits", "scanning", "chains", "types", "default", "extensions",
               "type_mismatch", "encrypted_mime", "actions", "notice", "overrides", "vault",
               "links", "sender_warnings"});
    if (!root["version"] || root["version"].as<std::string>("") != "1") {
      error(root["version"] ? root["version"] : root, "version", "must be 1");
    }
    p_.source = name_;
    if (root["limits"]) loadLimits(root["limits"]);
    if (root["scanning"]) loadScanning(root["scanning"]);
    if (root["chains"])
      loadChains(root["chains"]);
    else
      error(root, "chains", "is required (scan, text_body and html_body at least)");
    if (root["types"]) p_.types = loadTypes(root["types"], "types");
    if (root["default"]) {
      if (auto a = action(root["default"], "default")) {
        if (*a == Action::Keep || *a == Action::Sanitize) {
          error(root["default"], "default", "must be remove or block (allowlist, not denylist)");
        } else {
          p_.default_action = *a;
        }
      }
    }
    if (root["extensions"]) loadExtensions(root["extensions"]);
    if (root["type_mismatch"]) {
      if (auto a = action(root["type_mismatch"], "type_mismatch")) {
        if (*a == Action::Sanitize) {
          error(root["type_mismatch"], "type_mismatch",
                "must be keep (report only), remove or block");
        } else {
          p_.type_mismatch_action = *a;
        }
      }
    }
    if (root["encrypted_mime"]) {
      if (auto a = action(root["encrypted_mime"], "encrypted_mime")) {
        if (*a == Action::Keep || *a == Action::Sanitize) {
          error(root["encrypted_mime"], "encrypted_mime",
                "must be remove or block: it cannot be inspected");
        } else {
          p_.encrypted_action = *a;
        }
      }
    }
    if (root["actions"]) p_.actions = loadActions(root["actions"], "actions");
    if (root["notice"]) loadNotice(root["notice"]);
    if (root["links"]) {
      if (auto v = scalar(root["links"], "links")) {
        if (auto style = text::linkStyleByName(*v)) p_.links = *style;
        else error(root["links"], "links", "must be inline, footnotes or defanged");
      }
    }
    if (root["overrides"]) loadOverrides(root["overrides"]);
    if (root["vault"]) loadVault(root["vault"]);
    if (root["sender_warnings"]) loadSenderWarnings(root["sender_warnings"]);
  } catch (const YAML::Exception& e) {
    errors_.push_back(name_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!errors_.empty()) return nullptr;
  return std::make_shared<const Policy>(std::move(p_));
}

std::optional<VaultRules> Loader::loadVaultOnly(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
    if (!root.IsMap()) {
      errors_.push_back(name_ + ":1: (top): a rules file is a mapping of sections");
      return std::nullopt;
    }
    if (root["vault"]) loadVault(root["vault"]);
  } catch (const YAML::Exception& e) {
    errors_.push_back(name_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!errors_.empty()) return std::nullopt;
  return p_.vault;
}

}  // namespace

std::optional<VaultRules> loadVaultRules(const std::string& text, const std::string& name,
                                         const std::string& base_dir,
                                         std::vector<std::string>& errors) {
  static const Registry kNone;
  Loader loader(name, base_dir, kNone, errors);
  return loader.loadVaultOnly(text);
}

PolicyConstSharedPtr loadPolicyText(const std::string& text, const std::string& name,
                                    const std::string& base_dir, const Registry& registry,
                                    std::vector<std::string>& errors) {
  Loader loader(name, base_dir, registry, errors);
  PolicyConstSharedPtr p = loader.load(text);
  if (!p) return p;
  // What it was built from, for sandboxed workers that build the very same policy.
  auto copy = std::make_shared<Policy>(*p);
  copy->text = text;
  copy->base_dir = base_dir;
  return copy;
}

PolicyConstSharedPtr loadPolicyFile(const std::string& path, const Registry& registry,
                                    std::vector<std::string>& errors) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    errors.push_back(path + ":0: (file): cannot read: " + ec.message());
    return nullptr;
  }
  if (size > kMaxRulesFileBytes) {
    errors.push_back(path + ":0: (file): larger than 1 MiB");
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    errors.push_back(path + ":0: (file): cannot read");
    return nullptr;
  }
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return loadPolicyText(ss.str(), path, dir, registry, errors);
}

}  // namespace mugai::policy
