// The console's pages over a big vault: N records (default 1,000,000) bulk-inserted into a SQLite
// vault in one transaction, then the list page as the security admin (newest first, page 1 and
// page 100, a sender filter) and as a member of staff (their own items), and the approvals page,
// each fetched over HTTP from the real server. Prints the median and the slowest of 20 fetches.
//   mugai_bench_console [RECORDS] [DIR]      (DIR: where the vault goes; default a temp folder)
// Target (issue 13): the list page answers in < 200 ms with 1,000,000 records.
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/StreamCopier.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "mugai/vault/vault.h"
#include "src/console/app.h"
#include "src/console/server.h"
#include "src/console/users.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* kDirectory = R"(users:
  staff0:
    email: [staff0@city.example.lg.jp]
    groups: [g0]
  boss0:
    email: [boss0@city.example.lg.jp]
    role: approver
    groups: [g0]
  admin:
    role: security_admin
groups:
  g0:
    approvers: [boss0]
)";

bool exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::cerr << "sqlite: " << (msg ? msg : "?") << "\n";
    sqlite3_free(msg);
    return false;
  }
  return true;
}

/// The records the way put() writes them, without originals (the list never reads them), as fast
/// as SQLite takes them: one transaction, prepared statements. Record i goes to staff(i % 1000);
/// every 1000th is requested.
bool bulkInsert(const std::string& path, std::size_t n, std::int64_t start) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  exec(db, "PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL; BEGIN");
  sqlite3_stmt* rec = nullptr;
  sqlite3_stmt* rcpt = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO records(id, kind, created, expires, sender, recipients, client_addr, "
                     "client_name, helo, xforward, source, subject, from_header, filename, verdict, "
                     "reason, reasons, sha256, size, stored, delivered_id, tier, state, hold, report) "
                     "VALUES (?1,'mail',?2,?3,?4,?5,'192.0.2.1','','mx.example','','',?6,?4,?7,"
                     "'sanitized',?8,?8,'00',1000,500,'','approval',?9,0,'{}')",
                     -1, &rec, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO recipients(record_id, address) VALUES (?1, ?2)", -1, &rcpt,
                     nullptr);
  const char* reasons[] = {"cdr.rebuilt", "content.active", "type.removed", "av.infected"};
  char id[64], sender[64], rc[64], subject[96], file[64];
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t created = start + static_cast<std::int64_t>(i) * 30;
    std::snprintf(id, sizeof id, "%lldT-%08zx", static_cast<long long>(created), i);
    std::snprintf(sender, sizeof sender, "sender%zu@partner%zu.example.co.jp", i % 5000, i % 300);
    std::snprintf(rc, sizeof rc, "staff%zu@city.example.lg.jp", i % 1000);
    std::snprintf(subject, sizeof subject, "見積書 第%zu号", i);
    std::snprintf(file, sizeof file, "form%zu.docm", i);
    sqlite3_bind_text(rec, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(rec, 2, created);
    sqlite3_bind_int64(rec, 3, created + 90 * 86400);
    sqlite3_bind_text(rec, 4, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(rec, 5, rc, -1, SQLITE_STATIC);
    sqlite3_bind_text(rec, 6, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(rec, 7, file, -1, SQLITE_STATIC);
    sqlite3_bind_text(rec, 8, reasons[i % 4], -1, SQLITE_STATIC);
    sqlite3_bind_text(rec, 9, i % 1000 == 7 ? "requested" : "withheld", -1, SQLITE_STATIC);
    if (sqlite3_step(rec) != SQLITE_DONE) return false;
    sqlite3_reset(rec);
    sqlite3_bind_text(rcpt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(rcpt, 2, rc, -1, SQLITE_STATIC);
    if (sqlite3_step(rcpt) != SQLITE_DONE) return false;
    sqlite3_reset(rcpt);
  }
  sqlite3_finalize(rec);
  sqlite3_finalize(rcpt);
  exec(db, "COMMIT; ANALYZE;");
  sqlite3_close(db);
  return true;
}

struct Client {
  std::uint16_t port;
  std::string cookie, csrf;
  std::string fetch(const std::string& method, const std::string& path,
                    const std::map<std::string, std::string>& form = {}, int* status = nullptr) {
    Poco::Net::HTTPClientSession s("127.0.0.1", port);
    Poco::Net::HTTPRequest rq(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!cookie.empty()) {
      Poco::Net::NameValueCollection c;
      c.add("mugai_session", cookie);
      rq.setCookies(c);
    }
    Poco::Net::HTMLForm f;
    for (const auto& [k, v] : form) f.add(k, v);
    if (method == "POST") {
      f.prepareSubmit(rq);
      f.write(s.sendRequest(rq));
    } else {
      s.sendRequest(rq);
    }
    Poco::Net::HTTPResponse res;
    std::string body;
    Poco::StreamCopier::copyToString(s.receiveResponse(res), body);
    if (status) *status = res.getStatus();
    std::vector<Poco::Net::HTTPCookie> cookies;
    res.getCookies(cookies);
    for (const auto& c : cookies) {
      if (c.getName() == "mugai_session") cookie = c.getValue();
    }
    std::smatch m;
    static const std::regex kCsrf("name=\"csrf\" value=\"([0-9a-f]+)\"");
    if (std::regex_search(body, m, kCsrf)) csrf = m[1];
    return body;
  }
  void login(const std::string& user) {
    fetch("GET", "/login");
    fetch("POST", "/login", {{"csrf", csrf}, {"user", user}, {"password", "bench password 1"}});
  }
};

void measure(Client& c, const std::string& label, const std::string& path) {
  std::vector<double> ms;
  std::size_t rows = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    int status = 0;
    const std::string body = c.fetch("GET", path, {}, &status);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (status != 200) {
      std::cout << label << ": HTTP " << status << "\n";
      return;
    }
    rows = 0;
    for (std::size_t p = body.find("<tr><td"); p != std::string::npos; p = body.find("<tr><td", p + 1)) ++rows;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-46s median %7.1f ms   max %7.1f ms   (%zu rows)\n", label.c_str(), ms[ms.size() / 2],
              ms.back(), rows);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 1000000;
  std::string tmpl = (fs::temp_directory_path() / "mugai-console-bench-XXXXXX").string();
  const fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::path(mkdtemp(tmpl.data()));
  const std::string db = (dir / "vault.db").string();
  std::string err;
  {
    auto v = mugai::vault::openVault("sqlite:" + db, &err);  // the schema and indexes as shipped
    if (!v) {
      std::cerr << err << "\n";
      return 1;
    }
  }
  const auto t0 = Clock::now();
  // One record every 30 s up to now (1,000,000: the last 347 days).
  const std::int64_t start = static_cast<std::int64_t>(std::time(nullptr)) - static_cast<std::int64_t>(n) * 30;
  if (!bulkInsert(db, n, start)) {
    std::cerr << "bulk insert failed\n";
    return 1;
  }
  std::printf("inserted %zu records in %.1f s\n", n,
              std::chrono::duration<double>(Clock::now() - t0).count());
  auto vault = mugai::vault::openVault("sqlite:" + db, &err);
  auto users = mugai::console::UserStore::open((dir / "users.db").string(), &err);
  for (const char* u : {"admin", "staff0", "boss0"}) users->add(u, "bench password 1", &err);
  std::ofstream(dir / "directory.yaml") << kDirectory;
  std::vector<std::string> errors;
  mugai::console::ConsoleDeps d;
  d.vault = vault.get();
  d.users = users.get();
  d.directory = mugai::vault::Directory::load((dir / "directory.yaml").string(), errors);
  mugai::console::Console console(std::move(d));
  auto server = mugai::console::Server::start(console, "127.0.0.1:0", "", "", &err);
  if (!server) {
    std::cerr << err << "\n";
    return 1;
  }
  Client admin{server->port()}, staff{server->port()}, boss{server->port()};
  admin.login("admin");
  staff.login("staff0");
  boss.login("boss0");
  measure(admin, "admin: list, newest 50", "/items");
  measure(admin, "admin: list, page 100", "/items?page=99");
  measure(admin, "admin: list, one sender", "/items?sender=sender42%40partner42.example.co.jp");
  measure(admin, "admin: list, one reason", "/items?reason=av.infected");
  measure(admin, "admin: list, state requested", "/items?state=requested");
  measure(staff, "staff (1,000 items of theirs): own list", "/items");
  // Free-text search: three characters and more go through the vault's trigram index (every date).
  measure(admin, "admin: search, one subject (index, every date)", "/items?q=%E7%AC%AC999000%E5%8F%B7");
  measure(admin, "admin: search, an old subject (index)", "/items?q=%E7%AC%AC123456%E5%8F%B7");
  measure(admin, "admin: search, file name form9999 (index)", "/items?q=form9999");
  measure(admin, "admin: search, part of a sender (index)", "/items?q=sender42%40partner42.");
  measure(admin, "admin: search, in every subject (common)", "/items?q=%E8%A6%8B%E7%A9%8D%E6%9B%B8");
  measure(staff, "staff: search in their own items (index)", "/items?q=form1000");
  measure(admin, "admin: search, 2 characters (31-day scan)", "/items?q=%E7%AC%AC9");
  measure(admin, "admin: one item's detail", "/items/" + std::to_string(start + 30 * 7) + "T-00000007");
  measure(boss, "approver: approvals page", "/approvals");
  std::printf("(list page target: < 200 ms with 1,000,000 records)\n");
  if (argc <= 2) fs::remove_all(dir);
  return 0;
}
