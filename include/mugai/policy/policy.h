/**
 * @file policy.h
 * @brief The security team's policy (rules/ (YAML)), loaded, validated and compiled.
 *
 * Trust: rules files are trusted configuration, but they are validated strictly: an unknown key,
 *        a wrong type, an out-of-range limit, an unknown sanitizer or an override that would let a
 *        fail-closed reason pass is an error naming the file, line and key.
 * Limits: none beyond the file size (1 MiB).
 * Errors: loadPolicy*() return nullptr and fill `errors` (one line each, "file:line: key: text").
 *
 * A Policy is immutable once built and shared as PolicyConstSharedPtr by every worker.
 */
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"
#include "mugai/sanitizer/registry.h"
#include "mugai/sanitizer/sanitizer.h"
#include "mugai/text/links.h"

namespace mugai::policy {

/// What the rules say to do with an attachment of a given true type.
enum class Action { Keep, Sanitize, Remove, Block };
std::string_view actionName(Action a);

/// One configured sanitizer in a chain.
struct ChainStep {
  std::string sanitizer;  ///< registry name, e.g. "sanitizer.html_to_text"
  SanitizerConstSharedPtr instance;
};
struct Chain {
  std::string name;
  std::vector<ChainStep> steps;
};

struct TypeRule {
  std::vector<std::string> patterns;  ///< "text/plain", "image/*", "application/vnd.ms-*", "*"
  Action action = Action::Remove;
  std::string chain;  ///< for Sanitize
  int line = 0;       ///< where it was written, for reports ("rules line 42")
};

struct Notice {
  bool enabled = true;
  bool on_conversion = true;  ///< also add the notice when only a body was converted (HTML->text)
  std::string intro_ja, intro_en;  ///< the opening paragraph in each language
  std::string footer_ja, footer_en;  ///< closing line (before the reference number)
  std::string blocked_ja, blocked_en;  ///< text of the notice that replaces a blocked message
  /// One line per item: "removed", "converted", "renamed", "blocked"; {name} and {reason} are
  /// replaced by the file name and the reason's wording.
  std::map<std::string, std::string> item_ja, item_en;
  std::map<std::string, std::string> reason_ja;  ///< reason name -> Japanese wording
};

/// Changes that apply when the envelope matches (sender or recipient domain).
struct Override {
  std::vector<std::string> sender_domains;     ///< lower case; "*.example.jp" matches subdomains
  std::vector<std::string> recipient_domains;  ///< every recipient must match
  std::vector<TypeRule> types;                 ///< tried before the base rules
  std::map<Reason, Verdict> actions;
  std::optional<bool> notice_enabled;
  int line = 0;
};

/// The vault's rules (section `vault:`): how long originals are kept and who may get them back.
/// Tier names are "self", "approval", "admin", "never" (include/mugai/vault/vault.h).
struct VaultRules {
  unsigned retention_default_days = 30;
  std::map<std::string, unsigned> retention_by_verdict;  ///< report verdict word -> days
  std::map<Reason, unsigned> retention_by_reason;         ///< wins when longer
  std::string release_default = "approval";
  std::map<Reason, std::string> release_by_reason;        ///< the strictest of a record's wins
  std::string approval = "any";  ///< any | all: how many of a group's approvers must approve
  std::string directory;         ///< absolute path of the directory file (users, groups), or ""
  std::uint64_t budget_mb = 0;   ///< 0: none; else warn at budget_warn_percent, purge never early
  unsigned budget_warn_percent = 80;
  std::string contact_ja, contact_en;  ///< where staff ask for an original (notices)

  /// The release tier of a record with these reasons (names): the strictest of release_default
  /// and each reason's tier, in the order self < approval < admin < never; an unknown tier name
  /// counts as admin. The vault stores it; the notice tells the recipient.
  std::string tierFor(const std::vector<std::string>& reasons) const;
};

/// Warnings about the sender (section `sender_warnings:`, docs/phishing.md): findings in the
/// notice, report and log, not blocks (unless `actions:` makes a sender.* reason one).
struct SenderWarnings {
  /// The municipality's own domains and others staff trust (lower case, Unicode or xn--); a
  /// From domain that is none of them (nor their subdomain) but looks like one is a lookalike.
  std::vector<std::string> own_domains, protected_domains;
  /// Edit distance after confusable-skeleton mapping (0..5). 1 by default: real neighbours'
  /// names can differ by one letter (city.nanto / city.nanao); list those staff correspond with
  /// in protected_domains and they count as genuine, not as lookalikes.
  unsigned max_distance = 1;
  bool dmarc_fail = true;            ///< warn when DMARC fails
  bool display_name_address = true;  ///< warn when the display name carries another address
  std::string external_tag;  ///< e.g. "[外部]": put before the Subject of mail from outside
};

struct Policy {
  std::string source;  ///< file name, or "(embedded defaults)"
  /// The rules text and the folder relative paths were resolved in: a sandboxed worker
  /// (src/isolation) builds the same policy from them, never from the file as it is later.
  std::string text, base_dir;
  Limits limits;
  std::vector<std::string> signature_paths;  ///< absolute
  bool system_signatures = true;
  bool scan_output = true;
  Chain scan;         ///< run on every leaf's original bytes first
  Chain text_body;    ///< for text/plain bodies
  Chain html_body;    ///< for text/html bodies
  std::map<std::string, Chain> chains;  ///< named chains used by types
  std::vector<TypeRule> types;
  Action default_action = Action::Remove;
  std::vector<std::string> denied_extensions;  ///< lower case, without dot
  Action denied_extension_action = Action::Remove;
  Action type_mismatch_action = Action::Keep;  ///< Keep = report only
  Action encrypted_action = Action::Block;     ///< multipart/encrypted, S/MIME, PGP
  std::map<Reason, Verdict> actions;  ///< reason -> verdict overrides (never weaker than fail-closed)
  Notice notice;
  /// How links in delivered text bodies are shown (`links:`): inline, footnotes or defanged.
  text::LinkStyle links = text::LinkStyle::Footnotes;
  std::vector<Override> overrides;
  VaultRules vault;
  SenderWarnings sender_warnings;

  /// The verdict for `r` under the base actions and `ov` (may be null).
  Verdict verdictFor(Reason r, const Override* ov = nullptr) const;
  /// First override matching the envelope, or null.
  const Override* match(const std::string& sender, const std::vector<std::string>& recipients) const;
  /// The rule for `mime` (detected), trying `ov`'s rules first; null means default_action.
  const TypeRule* route(const std::string& mime, const Override* ov = nullptr) const;
};

using PolicyConstSharedPtr = std::shared_ptr<const Policy>;

/// Loads and validates a rules file. Relative signature paths resolve against the file's folder.
PolicyConstSharedPtr loadPolicyFile(const std::string& path, const Registry& registry,
                                    std::vector<std::string>& errors);
/// Same, from text; `name` is used in errors, `base_dir` resolves relative paths.
PolicyConstSharedPtr loadPolicyText(const std::string& text, const std::string& name,
                                    const std::string& base_dir, const Registry& registry,
                                    std::vector<std::string>& errors);
/// The rules compiled into the binary (rules/default.yaml at build time).
const std::string& embeddedDefaultRules();
/// Where the embedded rules resolve relative paths (the installed or source rules/ folder).
std::string embeddedRulesDir();

/// Glob match of a detected MIME type against "type/subtype", "type/*", "prefix*" or "*".
bool mimeMatches(const std::string& pattern, const std::string& mime);

}  // namespace mugai::policy
