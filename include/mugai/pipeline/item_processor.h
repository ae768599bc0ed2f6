/**
 * @file item_processor.h
 * @brief The seam between the ingresses (SMTP relay, file drop, later the console) and whatever
 *        makes an item harmless: the Engine in this process, or a pool of sandboxed worker
 *        processes (src/isolation).
 *
 * Trust: raw bytes, file names and everything in them are hostile; the envelope is trusted as
 *        far as the ingress that built it.
 * Limits: all of the policy's limits; an implementation that runs items elsewhere also enforces a
 *         wall-clock deadline per item and a memory limit, and turns a crash, a kill or a missed
 *         deadline into a fail-closed verdict (worker.crashed, limit.time, limit.memory).
 * Errors: process*() never throw. An item that cannot be judged is blocked (or TempFail when the
 *         sender may retry), never passed.
 *
 * Callers hold a ProcessorConstSharedPtr for the whole item and get a new one after a reload
 * (sessions in flight finish with what they started with).
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/auth/sender_auth.h"
#include "mugai/pipeline/report.h"
#include "mugai/policy/policy.h"

namespace mugai {

struct Envelope {
  std::string sender;                   ///< MAIL FROM (may be empty: bounces)
  std::vector<std::string> recipients;  ///< RCPT TO
  std::string client_name, client_addr, helo;
  /// SPF/DKIM/DMARC as the ingress found them (src/auth), or `checked == false`.
  SenderAuth auth;
  /// The service config's console_url (set by the ingress from the admin's config, never from the
  /// message): the notice says where to ask as CONSOLE_URL/items/ID; empty: the rules'
  /// vault.contact.
  std::string console_url;
};

struct ProcessResult {
  Verdict verdict = Verdict::TempFail;
  /// The message to deliver: sanitized, or (when blocked) the notice-only message. Empty when
  /// nothing may be delivered (TempFail, or notices disabled on a blocked item).
  std::string output;
  bool notice_only = false;     ///< output replaces a blocked item
  std::string output_filename;  ///< file mode: the safe name of the sanitized file
  /// Mail delivered (not blocked): its text body as delivered (the text parts, without mugai's
  /// notice), UTF-8, at most vault_body_text_limit bytes, for the vault record (the console's
  /// detail page shows it as text). Empty otherwise.
  std::string body_text;
  Report report;

  bool blocked() const { return verdict >= Verdict::TempFail; }
  /// The original must be kept (quarantine): quarantined or rejected, or any part removed.
  bool keepOriginal() const;
};

class ItemProcessor {
 public:
  virtual ~ItemProcessor() = default;
  /// One mail message. @param raw the message as received (hostile) @param envelope from the
  /// ingress @param id the item id (report, quarantine) @return verdict, output and report.
  virtual ProcessResult processMessage(std::string_view raw, const Envelope& envelope,
                                       const std::string& id) const = 0;
  /// One file from the file drop. @param untrusted_filename the name as found (hostile).
  virtual ProcessResult processFile(std::string_view data, const std::string& untrusted_filename,
                                    const std::string& id) const = 0;
  /// The policy the items are judged by (limits, notice wording for the disposition layer).
  virtual const policy::Policy& policy() const = 0;
};

using ItemProcessorConstSharedPtr = std::shared_ptr<const ItemProcessor>;
/// What an ingress holds: the current processor, fetched once per item.
using ItemProcessorGetter = std::function<ItemProcessorConstSharedPtr()>;

/// The fail-closed result for an item that could not be judged where it ran (its worker crashed,
/// was killed at the deadline or ran out of memory): blocked with `reason` (at least Quarantine,
/// whatever the rules say: the same bytes would fail the same way again, so never a TempFail
/// loop), one report line naming `detail`, and for mail the notice-only message when the policy
/// sends notices. The item's bytes are not parsed here (the process that tried just failed on
/// them). `filename` is the file drop's name ("" for mail). `step` names who gave up on the item
/// in the report ("isolation": the worker pool; "gateway": serve's wait for an in-process engine).
ProcessResult failedItemResult(const policy::Policy& policy, const Envelope& envelope,
                               const std::string& id, const std::string& filename,
                               std::uint64_t bytes_in, Reason reason, const std::string& detail,
                               const std::string& step = "isolation");

}  // namespace mugai
