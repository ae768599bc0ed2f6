// Internal to src/pipeline: what the engine does with the sender's authentication (issue 14):
// the Authentication-Results it writes and keeps, and the warnings about the sender staff read.
#pragma once

#include <string>
#include <utility>

#include "mugai/auth/sender_auth.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {

/// Puts mugai's Authentication-Results (when the ingress authenticated) on top of `built`, keeps
/// incoming ones whose authserv-id is trusted, and records each one removed in the report.
/// Without a check every incoming Authentication-Results stays dropped (none is in kKeptHeaders).
void applyAuthentication(const mime::Entity& root, const SenderAuth& auth, BuiltMessage& built,
                         Report& report);

/// The rules' sender warnings (DMARC fail, lookalike From domain, an address in the display
/// name) as report actions "warned" (sanitizer "sender"), their verdicts raised; the subject tag
/// for mail from outside. Sets `s.any_notice_item` when there is a warning.
void senderWarnings(const mime::Entity& root, const SenderAuth& auth, WalkState& s, BuiltMessage& built);

/// The trusted domain (own or protected) that `domain` imitates, or "" (also when it is one of
/// them or their subdomain). `domain` may be Unicode or xn--. Exposed for tests.
std::string lookalikeOf(const std::string& domain, const policy::SenderWarnings& rules);

/// The notice's sender-warning section in Japanese and in English ("" / "" when no warning).
std::pair<std::string, std::string> senderWarningText(const Report& report);

}  // namespace mugai::pipeline
