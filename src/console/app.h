/**
 * @file app.h
 * @brief The console (`mugai console`): pages for staff, approvers, the security team and
 *        auditors over the vault, as a socket-free request -> response function; server.h puts it
 *        behind Poco's HTTP(S) server (the shape of src/smtp/session.h).
 *
 * Trust: every request is hostile until its session says who it is; every record value is
 *        sender-controlled and reaches a page only through escapeHtml(). The console never parses
 *        an original (it shows the vault's record and report; an admin may download the original
 *        as a file). Who may do what is decided by src/vault (maySee, mayRequest, mayDecide,
 *        mayAdminister) and src/vault/actions.cpp; every action and every refusal is audited.
 * Limits: request bodies are bounded by the server (64 KiB for forms, 10 MiB for uploads); list
 *        pages hold 50 rows; the statistics read at most 100,000 records.
 * Errors: a page with the problem in Japanese and English; never a stack trace.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mugai/policy/policy.h"
#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"
#include "src/console/config.h"
#include "src/console/sessions.h"
#include "src/console/users.h"

namespace mugai::console {

struct Upload {
  std::string filename, bytes;
};

struct HttpRequest {
  std::string method, path, peer;
  std::map<std::string, std::string> query, cookies, headers;  ///< header names lower case
  std::multimap<std::string, std::string> form;                ///< POST fields
  std::map<std::string, Upload> files;                          ///< multipart uploads by field
  bool secure = false;                                          ///< came in over HTTPS

  std::string field(const std::string& name) const;
  std::vector<std::string> fields(const std::string& name) const;
  std::string param(const std::string& name) const;  ///< query string
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Authenticates against LDAP / AD (ldap_auth.cpp); nullopt when the bind fails.
class LdapAuth {
 public:
  virtual ~LdapAuth() = default;
  virtual std::optional<vault::User> authenticate(const std::string& login,
                                                  const std::string& password,
                                                  std::string* why) = 0;
};

struct ConsoleDeps {
  vault::Vault* vault = nullptr;
  UserStore* users = nullptr;
  std::shared_ptr<const vault::Directory> directory;  ///< from the rules' vault.directory
  policy::VaultRules rules;
  std::string rules_text, rules_name;   ///< the rules in force (the ルール page)
  std::map<std::string, std::string> reason_ja;  ///< notice.reasons of the rules
  ConsoleConfig config;
  LdapAuth* ldap = nullptr;
  std::string mugai_binary;             ///< checks uploaded rules (empty: no check offered)
  std::function<std::int64_t()> clock;  ///< unix seconds (tests may set it)
  /// Called after a request was made or decided (state: pending | approved | denied), so that
  /// the release work can queue the release and the notification mails (branch `release`:
  /// mugai::release::afterRequest / afterDecision). Empty: the request's state is all that
  /// changes.
  std::function<void(const vault::RecordInfo& record, const vault::Request& request,
                     const std::string& state, const vault::User& actor)>
      after_change;
};

class Console {
 public:
  explicit Console(ConsoleDeps deps);
  HttpResponse handle(const HttpRequest& request);
  /// The stylesheet (also served at /static/console.css).
  static const std::string& stylesheet();

 private:
  struct Ctx;  // one request: language, session, user
  HttpResponse route(Ctx& c);
  HttpResponse loginPage(Ctx& c, const std::string& message_ja = "",
                         const std::string& message_en = "", int status = 200);
  HttpResponse login(Ctx& c);
  HttpResponse logout(Ctx& c);
  HttpResponse listPage(Ctx& c);
  // listPage's steps: the rows this user may see, the filter form, the table, the paging links.
  std::vector<vault::RecordInfo> listRows(Ctx& c, vault::Query query, bool all, std::size_t page_no,
                                          bool& more);
  std::string listFilters(Ctx& c, const vault::Query& query, bool all, bool text_window);
  std::string listTable(Ctx& c, const std::vector<vault::RecordInfo>& rows, bool empty_account);
  std::string listPaging(Ctx& c, std::size_t page_no, bool more);
  HttpResponse approvalsPage(Ctx& c);
  HttpResponse bulk(Ctx& c);
  HttpResponse itemPage(Ctx& c, const std::string& id, const std::string& notice = "");
  // itemPage's sections.
  std::string itemSummary(Ctx& c, const vault::RecordInfo& r);
  std::string itemTexts(Ctx& c, const vault::RecordInfo& r);
  std::string itemRequests(Ctx& c, const vault::RecordInfo& r);
  std::string itemAdmin(Ctx& c, const vault::RecordInfo& r);
  HttpResponse itemAction(Ctx& c, const std::string& id, const std::string& action);
  // itemAction's actions, on a record the user may see.
  HttpResponse requestAction(Ctx& c, const vault::RecordInfo& r, const std::string& reason);
  HttpResponse decideAction(Ctx& c, const vault::RecordInfo& r, const std::string& reason);
  HttpResponse unlockAction(Ctx& c, const vault::RecordInfo& r);
  HttpResponse original(Ctx& c, const std::string& id);
  HttpResponse statsPage(Ctx& c);
  HttpResponse rulesPage(Ctx& c, const std::string& result_html = "");
  HttpResponse rulesCheck(Ctx& c, bool dry_run);
  HttpResponse auditPage(Ctx& c);
  HttpResponse auditExport(Ctx& c);

  std::optional<vault::User> userFor(const Session& s);
  /// The rules' directory with the LDAP users seen so far (rebuilt after an LDAP log-in).
  std::shared_ptr<const vault::Directory> directory() const;
  void refreshDirectory();
  const vault::User* lookup(const std::string& login, vault::User& storage);
  HttpResponse page(Ctx& c, const std::string& title, const std::string& body, int status = 200);
  HttpResponse refused(Ctx& c, const std::string& action, const std::string& id,
                       const vault::Decision& d, int status);
  HttpResponse notFound(Ctx& c);
  std::string reasonWords(Ctx& c, const std::string& reason) const;
  std::string csrfField(const Ctx& c) const;
  void audit(const Ctx& c, const std::string& action, const std::string& id,
             const std::string& detail);
  std::int64_t now() const { return d_.clock(); }

  ConsoleDeps d_;
  mutable std::mutex dir_mu_;
  std::shared_ptr<const vault::Directory> dir_;
  Sessions sessions_;
  Throttle throttle_;
};

/// Notice reason texts (ja) from a rules file's notice.reasons (empty map when absent).
std::map<std::string, std::string> reasonTextsJa(const std::string& rules_text);

}  // namespace mugai::console
