// A console for the tests: a SQLite vault with records for two staff members, a directory
// (staff alice and bob in group somu/zeimu, approver boss for somu, an admin, an auditor), local
// accounts, and the real HTTP server on 127.0.0.1 port 0. Browser is a small cookie-keeping HTTP
// client (Poco) that fills in the CSRF token of the last page it saw.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>

#include "mugai/policy/vault_rules.h"
#include "mugai/vault/vault.h"
#include "src/console/app.h"
#include "src/console/server.h"
#include "src/console/users.h"
#include "support/test_support.h"

namespace mugai::test {

inline constexpr const char* kPassword = "correct horse 1";

inline const char* kDirectoryYaml = R"(users:
  alice:
    email: [alice@city.example.lg.jp]
    groups: [somu]
  bob:
    email: [bob@city.example.lg.jp]
    groups: [zeimu]
  boss:
    email: [boss@city.example.lg.jp]
    role: approver
    groups: [somu]
  zboss:
    email: [zboss@city.example.lg.jp]
    role: approver
    groups: [zeimu]
  admin:
    role: security_admin
  kansa:
    role: auditor
groups:
  somu:
    approvers: [boss]
  zeimu:
    approvers: [zboss]
)";

inline vault::NewRecord makeRecord(const std::string& id, const std::string& rcpt,
                                   const std::string& subject, const std::string& filename,
                                   const std::string& reason, vault::Tier tier,
                                   const std::string& sender = "partner@example.co.jp") {
  vault::NewRecord r;
  r.id = id;
  r.kind = "mail";
  r.created = 1765000000;
  r.envelope.sender = sender;
  r.envelope.recipients = {rcpt};
  r.envelope.client_addr = "192.0.2.7";
  r.envelope.helo = "mx.example.co.jp";
  r.subject = subject;
  r.from = sender;
  r.filename = filename;
  r.verdict = "sanitized";
  r.reason = reason;
  r.reasons = {reason};
  r.report_json = "{\"id\":\"" + id + "\",\"elapsed_ms\":12.5}";
  r.original = "From: " + sender + "\r\nSubject: test\r\n\r\nORIGINAL BYTES OF " + id + "\r\n";
  r.objects.push_back({"2", "vbaProject.bin", "removed", reason,
                       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"});
  r.tier = tier;
  return r;
}

class ConsoleRig {
 public:
  explicit ConsoleRig(std::function<std::int64_t()> clock = nullptr, std::string tls_cert = "",
                      std::string tls_key = "") {
    writeFile(dir_.path() / "directory.yaml", kDirectoryYaml);
    rules_text_ = "version: 1\nvault:\n  directory: " + (dir_.path() / "directory.yaml").string() + "\n";
    std::string err;
    vault_ = vault::openVault("sqlite:" + (dir_.path() / "vault.db").string(), &err);
    REQUIRE(vault_);
    users_ = console::UserStore::open((dir_.path() / "users.db").string(), &err);
    REQUIRE(users_);
    for (const char* u : {"alice", "bob", "boss", "zboss", "admin", "kansa", "carol"}) {
      REQUIRE(users_->add(u, kPassword, &err));
    }
    start(clock, tls_cert, tls_key);
  }
  /// Stops the console and starts a new one on the same vault and accounts file (a restart of
  /// mugai-console); the port changes.
  void restart() {
    server_.reset();
    console_.reset();
    start(clock_, tls_cert_, tls_key_);
  }
  void start(std::function<std::int64_t()> clock, std::string tls_cert, std::string tls_key) {
    clock_ = clock;
    tls_cert_ = tls_cert;
    tls_key_ = tls_key;
    std::string err;
    std::vector<std::string> errors;
    auto rules = policy::loadVaultRules(rules_text_, "test.yaml", dir_.path().string(), errors);
    for (const auto& e : errors) INFO(e);
    REQUIRE(rules);
    console::ConsoleDeps d;
    d.vault = vault_.get();
    d.users = users_.get();
    d.rules = *rules;
    d.directory = vault::Directory::load(rules->directory, errors);
    REQUIRE(d.directory);
    d.rules_text = rules_text_;
    d.rules_name = "test.yaml";
    d.mugai_binary = MUGAI_BINARY;
    d.clock = clock;
    d.after_change = [this](const vault::RecordInfo& r, const vault::Request& q,
                            const std::string& state, const vault::User& actor) {
      std::lock_guard lock(changes_mu_);
      changes_.push_back(r.id + " " + std::to_string(q.id) + " " + state + " " + actor.login);
    };
    console_ = std::make_unique<console::Console>(std::move(d));
    server_ = console::Server::start(*console_, "127.0.0.1:0", tls_cert, tls_key, &err);
    INFO(err);
    REQUIRE(server_);
  }
  vault::Vault& vault() { return *vault_; }
  /// "RECORD REQUEST STATE ACTOR" for each after_change call (the release work's hook).
  std::vector<std::string> changes() {
    std::lock_guard lock(changes_mu_);
    return changes_;
  }
  console::UserStore& users() { return *users_; }
  std::uint16_t port() const { return server_->port(); }
  const std::filesystem::path& dir() const { return dir_.path(); }
  void put(const vault::NewRecord& r) {
    std::string err;
    INFO(err);
    REQUIRE(vault_->put(r, &err));
  }
  /// Audit rows with this action (and actor, when given).
  std::size_t auditRows(const std::string& action, const std::string& actor = "",
                        const std::string& record = "") {
    std::vector<vault::AuditRow> rows;
    std::string err;
    vault_->audit(0, rows, &err);
    std::size_t n = 0;
    for (const auto& r : rows) {
      n += r.action == action && (actor.empty() || r.actor == actor) &&
           (record.empty() || r.record_id == record);
    }
    return n;
  }

 private:
  TempDir dir_;
  std::mutex changes_mu_;
  std::vector<std::string> changes_;
  std::string rules_text_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<console::UserStore> users_;
  std::unique_ptr<console::Console> console_;
  std::unique_ptr<console::Server> server_;
  std::function<std::int64_t()> clock_;
  std::string tls_cert_, tls_key_;
};

struct Page {
  int status = 0;
  std::string body;
  Poco::Net::NameValueCollection headers;
  std::vector<std::string> set_cookies;
  std::string header(const std::string& k) const { return headers.get(k, ""); }
};

class Browser {
 public:
  explicit Browser(std::uint16_t port, bool https = false) : port_(port), https_(https) {}

  Page get(const std::string& path) { return send("GET", path, {}, false); }
  /// POST with the CSRF token of the last page seen (unless `with_csrf` is false).
  Page post(const std::string& path, std::map<std::string, std::string> fields,
            bool with_csrf = true) {
    if (with_csrf && !fields.count("csrf")) fields["csrf"] = csrf_;
    return send("POST", path, fields, true);
  }
  /// A multipart POST (file uploads: field -> (file name, bytes)) with the CSRF token.
  Page upload(const std::string& path, const std::map<std::string, std::pair<std::string, std::string>>& files) {
    Poco::Net::HTTPClientSession s("127.0.0.1", port_);
    Poco::Net::HTTPRequest rq("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::NameValueCollection c;
    for (const auto& [k, v] : cookies_) c.add(k, v);
    rq.setCookies(c);
    Poco::Net::HTMLForm form(Poco::Net::HTMLForm::ENCODING_MULTIPART);
    form.add("csrf", csrf_);
    for (const auto& [field, f] : files) {
      form.addPart(field, new Poco::Net::StringPartSource(f.second, "application/octet-stream", f.first));
    }
    form.prepareSubmit(rq);
    form.write(s.sendRequest(rq));
    Poco::Net::HTTPResponse res;
    Page p;
    Poco::StreamCopier::copyToString(s.receiveResponse(res), p.body);
    p.status = static_cast<int>(res.getStatus());
    return p;
  }
  Page login(const std::string& user, const std::string& password = kPassword) {
    get("/login");
    return post("/login", {{"user", user}, {"password", password}});
  }
  std::string cookie(const std::string& name) const {
    auto it = cookies_.find(name);
    return it == cookies_.end() ? "" : it->second;
  }
  void setCookie(const std::string& name, const std::string& value) { cookies_[name] = value; }
  const std::string& csrf() const { return csrf_; }

 private:
  Page send(const std::string& method, const std::string& path,
            const std::map<std::string, std::string>& fields, bool body) {
    std::unique_ptr<Poco::Net::HTTPClientSession> s;
    if (https_) {
      Poco::Net::Context::Ptr ctx = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE);
      s = std::make_unique<Poco::Net::HTTPSClientSession>("127.0.0.1", port_, ctx);
    } else {
      s = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port_);
    }
    Poco::Net::HTTPRequest rq(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::NameValueCollection c;
    for (const auto& [k, v] : cookies_) c.add(k, v);
    if (!c.empty()) rq.setCookies(c);
    Poco::Net::HTMLForm form;
    for (const auto& [k, v] : fields) form.add(k, v);
    if (body) {
      form.prepareSubmit(rq);
      form.write(s->sendRequest(rq));
    } else {
      s->sendRequest(rq);
    }
    Poco::Net::HTTPResponse res;
    auto& is = s->receiveResponse(res);
    Page p;
    p.status = static_cast<int>(res.getStatus());
    Poco::StreamCopier::copyToString(is, p.body);
    for (const auto& [k, v] : res) {
      p.headers.add(k, v);
      if (Poco::icompare(k, "Set-Cookie") == 0) {
        p.set_cookies.push_back(v);
        const auto eq = v.find('='), semi = v.find(';');
        const std::string name = v.substr(0, eq), value = v.substr(eq + 1, semi - eq - 1);
        if (v.find("Max-Age=0") != std::string::npos) {
          cookies_.erase(name);
        } else {
          cookies_[name] = value;
        }
      }
    }
    static const std::regex kCsrf("name=\"csrf\" value=\"([0-9a-f]+)\"");
    std::smatch m;
    if (std::regex_search(p.body, m, kCsrf)) csrf_ = m[1];
    return p;
  }

  std::uint16_t port_;
  bool https_;
  std::map<std::string, std::string> cookies_;
  std::string csrf_;
};

}  // namespace mugai::test
