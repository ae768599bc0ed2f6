/**
 * @file notify.h
 * @brief Notification mails about requests (issue 13 §5) and the steps that follow a request or a
 *        decision: the approvers hear that a request waits, the requester that it was approved,
 *        denied, released or refused; an approved request becomes a release job for the
 *        requester's address. The command line calls these, and so does the console.
 *
 * Trust: record fields are sender-controlled: they are quoted in the mails as data (header values
 *        through mime::encodeHeader, the body base64), never as markup or header lines.
 * Errors: false with *error when the vault refuses; a notice already queued (its dedup key) is
 *         not an error: each notice is sent once.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"

namespace mugai::release {

struct NoticeOptions {
  std::string sender;       ///< From and envelope sender of mugai's own mail ("" : mugai@HOST)
  std::string hostname;     ///< for Message-IDs ("" : the system host name)
  std::string console_url;  ///< non-empty: the mails link console_url/items/ID (the console's page)
  std::string contact_ja, contact_en;  ///< the rules' vault.contact: where to ask
};

enum class Event { Waiting, Approved, Denied, Released, Refused, Failed };
const char* eventName(Event e);

/// The notice for `event` on `record` (and `request`, when there is one) to `to`: Japanese first,
/// then English; `detail` (a refusal's reason, a denial's reason) quoted as data.
std::string noticeMessage(Event event, const vault::RecordInfo& record,
                          const vault::Request* request, const std::string& to,
                          const NoticeOptions& options, std::int64_t now,
                          const std::string& detail);

/// Queues one notice per address; each (event, request or job, address) once.
bool queueNotices(vault::Vault& v, Event event, const vault::RecordInfo& record,
                  const vault::Request* request, const std::vector<std::string>& to,
                  const NoticeOptions& options, const std::string& detail, const std::string& key,
                  std::string* error);

/// The mail addresses of a directory user (empty when unknown).
std::vector<std::string> addressesOf(const vault::Directory* directory, const std::string& login);

/// Where a release of `requester`'s request goes: their address among the record's recipients
/// (staff only request their own records), else their first address; "" when they have none.
std::string requesterAddress(const vault::Directory* directory, const vault::RecordInfo& record,
                             const std::string& requester);

/// After a request was made: the approvers of the requester's groups (tier admin: the security
/// admins of the directory) get "a request waits".
bool afterRequest(vault::Vault& v, const vault::Directory* directory,
                  const vault::RecordInfo& record, const vault::Request& request,
                  const NoticeOptions& options, std::string* error);

/// After a decision: `state` approved -> a release job for the requester's address is queued
/// (*job when given; none when the requester has no address in the directory: the security
/// admin then releases with `vault release ID --to ADDR`) and the requester told; denied -> the requester told, with the reason;
/// pending (approval "all", more needed) -> nothing.
bool afterDecision(vault::Vault& v, const vault::Directory* directory,
                   const vault::RecordInfo& record, const vault::Request& request,
                   const std::string& state, const std::string& actor, const std::string& role,
                   const NoticeOptions& options, std::string* error,
                   vault::ReleaseJob* job = nullptr);

}  // namespace mugai::release
