// The console over HTTP (a real Poco server on 127.0.0.1, a cookie-keeping client): log-in, roles,
// IDOR, CSRF, disabled accounts, the log-in throttle, XSS payloads shown as text, the original's
// download, statistics, TLS, and "plain HTTP only on loopback".
#include <catch2/catch.hpp>

#include "console_fixture.h"
#include "src/console/html.h"
#include "support/tools.h"

using namespace mugai::test;
namespace mv = mugai::vault;

namespace {

void seed(ConsoleRig& rig) {
  rig.put(makeRecord("20261206T100000-aaaaaa", "alice@city.example.lg.jp", "見積書の件",
                     "見積書.docm", "content.active", mv::Tier::Approval));
  rig.put(makeRecord("20261206T100001-bbbbbb", "bob@city.example.lg.jp", "税務資料", "資料.xlsm",
                     "content.active", mv::Tier::Approval));
  rig.put(makeRecord("20261206T100002-cccccc", "alice@city.example.lg.jp", "請求書", "eicar.com",
                     "av.infected", mv::Tier::Admin));
}

const std::string kA = "20261206T100000-aaaaaa", kB = "20261206T100001-bbbbbb",
                  kEicar = "20261206T100002-cccccc";

}  // namespace

TEST_CASE("console: log-in with a local account, staff see only their own items") {
  ConsoleRig rig;
  seed(rig);
  Browser b(rig.port());
  auto login_page = b.get("/login");
  CHECK(login_page.status == 200);
  CHECK(login_page.body.find("ログイン") != std::string::npos);
  REQUIRE(login_page.set_cookies.size() == 1);
  CHECK(login_page.set_cookies[0].find("HttpOnly") != std::string::npos);
  CHECK(login_page.set_cookies[0].find("SameSite=Strict") != std::string::npos);
  CHECK(login_page.set_cookies[0].find("Secure") == std::string::npos);  // plain HTTP on loopback

  SECTION("a wrong password is refused and audited") {
    auto p = b.login("alice", "wrong password!");
    CHECK(p.status == 401);
    CHECK(rig.auditRows("login.failed", "alice") == 1);
    CHECK(b.get("/items").status == 303);
  }
  SECTION("the right one logs in with a new session token (no fixation)") {
    const std::string before = b.cookie("mugai_session");
    auto p = b.login("alice");
    CHECK(p.status == 303);
    CHECK(p.header("Location") == "/items");
    CHECK(b.cookie("mugai_session") != before);
    CHECK(rig.auditRows("login", "alice") == 1);
    auto list = b.get("/items");
    CHECK(list.status == 200);
    CHECK(list.body.find("見積書の件") != std::string::npos);
    CHECK(list.body.find("請求書") != std::string::npos);
    CHECK(list.body.find("税務資料") == std::string::npos);  // bob's
    // Reasons in plain words, tiers and states in Japanese.
    CHECK(list.body.find("上長の承認で取り出せます") != std::string::npos);
    CHECK(list.body.find("情報セキュリティ担当のみ") != std::string::npos);
    CHECK(list.body.find("保留中") != std::string::npos);
    // English on request, kept in a cookie.
    auto en = b.get("/items?lang=en");
    CHECK(en.body.find("Withheld items") != std::string::npos);
    CHECK(b.get("/items").body.find("lang=\"en\"") != std::string::npos);
  }
  SECTION("security headers on every page") {
    auto p = b.get("/login");
    CHECK(p.header("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
    CHECK(p.header("Content-Security-Policy").find("script-src 'none'") != std::string::npos);
    CHECK(p.header("X-Frame-Options") == "DENY");
    CHECK(p.header("X-Content-Type-Options") == "nosniff");
    CHECK(p.body.find("<script") == std::string::npos);
    auto css = b.get("/static/console.css");
    CHECK(css.status == 200);
    CHECK(css.header("Content-Type").find("text/css") != std::string::npos);
    CHECK(css.body.find("@import") == std::string::npos);
    CHECK(css.body.find("url(") == std::string::npos);  // no external fonts or images
  }
}

TEST_CASE("console: staff A changing the ID in the URL to B's item gets 404 and an audit row") {
  ConsoleRig rig;
  seed(rig);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  REQUIRE(alice.get("/items/" + kA).status == 200);
  SECTION("detail") {
    auto p = alice.get("/items/" + kB);
    CHECK(p.status == 404);
    CHECK(p.body.find("税務資料") == std::string::npos);
    CHECK(rig.auditRows("refused", "alice", kB) == 1);
  }
  SECTION("request on B's item") {
    alice.get("/items/" + kA);  // a CSRF token of a page of her own
    auto p = alice.post("/items/" + kB + "/request", {{"reason", "give it to me"}});
    CHECK(p.status == 404);
    CHECK(rig.auditRows("refused", "alice", kB) == 1);
    std::string err;
    CHECK(rig.vault().get(kB, &err)->state == "withheld");
  }
  SECTION("the original of her own item (admins only)") {
    auto p = alice.get("/items/" + kA + "/original");
    CHECK(p.status == 403);
    CHECK(p.body.find("ORIGINAL BYTES") == std::string::npos);
    CHECK(rig.auditRows("refused", "alice", kA) == 1);
    CHECK(alice.get("/items/" + kB + "/original").status == 404);
  }
  SECTION("an unknown id is the same 404") {
    CHECK(alice.get("/items/20990101T000000-ffffff").status == 404);
  }
  SECTION("pages for the security team") {
    CHECK(alice.get("/stats").status == 403);
    CHECK(alice.get("/audit").status == 403);
    CHECK(alice.get("/audit/export").status == 403);
    CHECK(alice.get("/rules").status == 403);
    auto p = alice.post("/items/bulk", {{"action", "hold"}, {"id", kB}});
    CHECK(p.status == 403);
    std::string err;
    CHECK_FALSE(rig.vault().get(kB, &err)->hold);
  }
}

TEST_CASE("console: a POST without the CSRF token (or with another session's) is refused") {
  ConsoleRig rig;
  seed(rig);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  alice.get("/items/" + kA);
  SECTION("missing") {
    auto p = alice.post("/items/" + kA + "/request", {{"reason", "need it"}}, false);
    CHECK(p.status == 403);
  }
  SECTION("another session's token") {
    Browser bob(rig.port());
    REQUIRE(bob.login("bob").status == 303);
    bob.get("/items");
    auto p = alice.post("/items/" + kA + "/request", {{"reason", "need it"}, {"csrf", bob.csrf()}});
    CHECK(p.status == 403);
  }
  SECTION("the log-in form too") {
    Browser x(rig.port());
    x.get("/login");
    auto p = x.post("/login", {{"user", "alice"}, {"password", kPassword}}, false);
    CHECK(p.status == 403);
    CHECK(x.get("/items").status == 303);
  }
  std::string err;
  CHECK(rig.vault().get(kA, &err)->state == "withheld");
  std::vector<mv::Request> reqs;
  rig.vault().requests(kA, reqs, &err);
  CHECK(reqs.empty());
  // And with the token it works.
  auto ok = alice.post("/items/" + kA + "/request", {{"reason", "取引先との契約に必要です"}});
  CHECK(ok.status == 200);
  CHECK(rig.vault().get(kA, &err)->state == "requested");
}

TEST_CASE("console: request, approval by the group's approver, and who may not decide") {
  ConsoleRig rig;
  seed(rig);
  Browser alice(rig.port()), boss(rig.port()), zboss(rig.port()), bob(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  alice.get("/items/" + kA);
  auto p = alice.post("/items/" + kA + "/request", {{"reason", "マクロが業務に必要です"}});
  CHECK(p.body.find("申請しました") != std::string::npos);
  CHECK(rig.auditRows("request", "alice", kA) == 1);
  // Staff cannot request the admin-tier EICAR item.
  alice.get("/items/" + kEicar);
  auto refused = alice.post("/items/" + kEicar + "/request", {{"reason", "please"}});
  CHECK(refused.status == 403);
  CHECK(refused.body.find("情報セキュリティ担当のみ") != std::string::npos);
  // Her own request is not hers to approve.
  auto self = alice.post("/items/" + kA + "/decide", {{"decision", "approve"}});
  CHECK(self.status == 403);

  REQUIRE(boss.login("boss").status == 303);
  auto waiting = boss.get("/approvals");
  CHECK(waiting.body.find("マクロが業務に必要です") != std::string::npos);
  // Another group's approver sees nothing and may not decide.
  REQUIRE(zboss.login("zboss").status == 303);
  CHECK(zboss.get("/approvals").body.find("マクロが業務に必要です") == std::string::npos);
  CHECK(zboss.get("/items/" + kA).status == 404);
  // Staff of another group: 404 as well.
  REQUIRE(bob.login("bob").status == 303);
  bob.get("/items");
  CHECK(bob.post("/items/" + kA + "/decide", {{"decision", "approve"}}).status == 404);

  auto detail = boss.get("/items/" + kA);
  CHECK(detail.body.find("承認する") != std::string::npos);
  SECTION("approve") {
    auto done = boss.post("/items/" + kA + "/decide", {{"decision", "approve"}, {"reason", "OK"}});
    CHECK(done.body.find("承認しました") != std::string::npos);
    std::string err;
    CHECK(rig.vault().get(kA, &err)->state == "approved");
    CHECK(rig.auditRows("approve", "boss", kA) == 1);
    // The release work's hook saw the request and the approval (it queues the release).
    CHECK(rig.changes() == std::vector<std::string>{kA + " 1 pending alice", kA + " 1 approved boss"});
  }
  SECTION("a denial needs a reason") {
    auto no = boss.post("/items/" + kA + "/decide", {{"decision", "deny"}});
    CHECK(no.body.find("却下には理由が必要です") != std::string::npos);
    auto denied = boss.post("/items/" + kA + "/decide", {{"decision", "deny"}, {"reason", "不要"}});
    CHECK(denied.body.find("却下しました") != std::string::npos);
    std::string err;
    CHECK(rig.vault().get(kA, &err)->state == "denied");
  }
}

TEST_CASE("console: a disabled account's session stops working at its next request") {
  ConsoleRig rig;
  seed(rig);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  REQUIRE(alice.get("/items").status == 200);
  std::string err;
  REQUIRE(rig.users().setDisabled("alice", true, &err));
  auto p = alice.get("/items");
  CHECK(p.status == 303);
  CHECK(p.header("Location") == "/login");
  CHECK(alice.get("/items/" + kA).status == 303);
  // And she cannot log in again.
  CHECK(alice.login("alice").status == 401);
  REQUIRE(rig.users().setDisabled("alice", false, &err));
  CHECK(alice.login("alice").status == 303);
}

TEST_CASE("console: sessions end after the idle timeout (clock given by the test)") {
  std::atomic<std::int64_t> t{1800000000};
  ConsoleRig rig([&] { return t.load(); });
  seed(rig);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  t += 14 * 60;
  CHECK(alice.get("/items").status == 200);  // touched: idle time starts again
  t += 14 * 60;
  CHECK(alice.get("/items").status == 200);
  t += 16 * 60;
  CHECK(alice.get("/items").status == 303);
}

TEST_CASE("console: sessions survive a console restart, and the accounts file keeps hashes of their tokens only") {
  std::atomic<std::int64_t> t{1800000000};
  ConsoleRig rig([&] { return t.load(); });
  seed(rig);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  REQUIRE(alice.get("/items/" + kA).status == 200);
  const std::string token = alice.cookie("mugai_session"), csrf = alice.csrf();
  REQUIRE(token.size() == 64);
  rig.restart();
  t += 5 * 60;
  Browser again(rig.port());
  again.setCookie("mugai_session", token);
  auto p = again.get("/items/" + kA);
  CHECK(p.status == 200);
  CHECK(p.body.find("見積書の件") != std::string::npos);
  CHECK(again.csrf() == csrf);  // derived from the token: the same after the restart
  CHECK(again.post("/items/" + kA + "/request", {{"reason", "再起動の後の申請"}}).status == 200);
  CHECK(rig.auditRows("request", "alice", kA) == 1);
  // Staff B's item stays out of reach for the restored session.
  CHECK(again.get("/items/" + kB).status == 404);
  // What the file holds: no token, no CSRF token, only their hashes' kind of row.
  for (const char* f : {"users.db", "users.db-wal"}) {
    if (!std::filesystem::exists(rig.dir() / f)) continue;
    const std::string bytes = readFile(rig.dir() / f);
    CHECK(bytes.find(token) == std::string::npos);
    CHECK(bytes.find(csrf) == std::string::npos);
  }
  SECTION("log-out ends it for good") {
    CHECK(again.post("/logout", {}).status == 303);
    rig.restart();
    Browser third(rig.port());
    third.setCookie("mugai_session", token);
    CHECK(third.get("/items").status == 303);
  }
  SECTION("a session idle past the timeout is not restored") {
    t += 16 * 60;
    rig.restart();
    Browser third(rig.port());
    third.setCookie("mugai_session", token);
    CHECK(third.get("/items").status == 303);
  }
  SECTION("a session of an account disabled meanwhile is not restored") {
    std::string err;
    REQUIRE(rig.users().setDisabled("alice", true, &err));
    rig.restart();
    Browser third(rig.port());
    third.setCookie("mugai_session", token);
    CHECK(third.get("/items").status == 303);
  }
  SECTION("a made-up token is not a session") {
    rig.restart();
    Browser third(rig.port());
    third.setCookie("mugai_session", std::string(64, 'a'));
    CHECK(third.get("/items").status == 303);
  }
}

TEST_CASE("console: log-in is throttled per login and per client address") {
  std::atomic<std::int64_t> t{1800000000};
  ConsoleRig rig([&] { return t.load(); });
  Browser x(rig.port());
  SECTION("per login: 5 failures, then even the right password waits") {
    for (int i = 0; i < 5; ++i) CHECK(x.login("carol", "wrong password " + std::to_string(i)).status == 401);
    auto p = x.login("carol");
    CHECK(p.status == 429);
    CHECK(p.body.find("しばらく受け付けません") != std::string::npos);
    CHECK(rig.auditRows("login.throttled", "carol") == 1);
    // Another login from the same address is still checked.
    CHECK(x.login("alice").status == 303);
    t += 15 * 60;  // the window has passed
    CHECK(x.login("carol").status == 303);
  }
  SECTION("per address: 20 failures over many logins") {
    for (int i = 0; i < 20; ++i) CHECK(x.login("user" + std::to_string(i), "wrong password!").status == 401);
    CHECK(x.login("alice").status == 429);
  }
}

TEST_CASE("console: subject, sender, file name and reason carrying markup and U+202E appear as inert text") {
  ConsoleRig rig;
  const std::string rlo = "\xE2\x80\xAE";  // U+202E RIGHT-TO-LEFT OVERRIDE
  auto r = makeRecord("20261206T100003-dddddd", "alice@city.example.lg.jp",
                      "<script>alert(1)</script>" + rlo + "fdp.exe", "\"><img src=x onerror=alert(2)>" + rlo + "cod.exe",
                      "<script>alert(3)</script>", mv::Tier::Approval,
                      "\"><img src=x onerror=alert(4)>@evil.example");
  r.reasons = {"<script>alert(3)</script>", "content.active" + rlo};
  r.objects = {{"2", "<b onmouseover=alert(5)>x" + rlo + "</b>", "removed", "<i>", "<svg/onload=alert(6)>"}};
  r.envelope.client_name = "<iframe src=//evil>";
  rig.put(r);
  for (const char* who : {"alice", "admin"}) {
    Browser b(rig.port());
    REQUIRE(b.login(who).status == 303);
    const std::vector<std::string> paths{"/items",
                                         "/items/" + r.id,
                                         "/items?q=%3Cscript%3E&since=2000-01-01",
                                         "/items?q=%E2%80%AE%22%3E%3Cimg%20src=x%3E",
                                         "/stats",
                                         "/audit"};
    for (const std::string& path : paths) {
      auto p = b.get(path);
      if (std::string(who) == "alice" && (path == "/stats" || path == "/audit")) continue;
      INFO(who << " " << path);
      CHECK(p.status == 200);
      CHECK(p.body.find("<script") == std::string::npos);
      CHECK(p.body.find("<img") == std::string::npos);
      CHECK(p.body.find("<iframe") == std::string::npos);
      CHECK(p.body.find("<b onmouseover") == std::string::npos);
      CHECK(p.body.find("<svg/onload") == std::string::npos);
      CHECK(p.body.find(rlo) == std::string::npos);  // never the raw control
      CHECK(p.body.find("value=\"<") == std::string::npos);  // no markup inside an attribute
      if (path == "/items" || path == "/items/" + r.id) {
        CHECK(p.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
        CHECK(p.body.find("&lt;U+202E&gt;") != std::string::npos);
        CHECK(p.body.find("&quot;&gt;&lt;img src=x onerror=alert(4)&gt;") != std::string::npos);
      }
    }
  }
}

TEST_CASE("console: escapeHtml shows markup, controls and bidi characters as text") {
  using mugai::console::escapeHtml;
  CHECK(escapeHtml("<a href=\"x\">'&") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
  CHECK(escapeHtml("a\xE2\x80\xAE" "b") == "a<span class=\"cp\">&lt;U+202E&gt;</span>b");
  CHECK(escapeHtml("\xE2\x81\xA6x") == "<span class=\"cp\">&lt;U+2066&gt;</span>x");
  CHECK(escapeHtml("a\nb") == "a<span class=\"cp\">&lt;U+000A&gt;</span>b");
  CHECK(escapeHtml("a\nb", true) == "a\nb");
  CHECK(escapeHtml("\xC0\xAF<") == "\xEF\xBF\xBD\xEF\xBF\xBD&lt;");  // overlong '/' is not '/'
  CHECK(escapeHtml("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
  CHECK(escapeHtml(std::string(5000, 'a'), false, 10) == "aaaaaaaaaa…");
  CHECK(escapeHtml(std::string("a\0b", 3)) == "a<span class=\"cp\">&lt;U+0000&gt;</span>b");
  // In an attribute or SVG text: the marker is plain text, no quote and no tag.
  using mugai::console::escapeAttr;
  CHECK(escapeAttr("x\xE2\x80\xAE\"><") == "x&lt;U+202E&gt;&quot;&gt;&lt;");
  CHECK(escapeAttr("a\nb") == "a&lt;U+000A&gt;b");
}

TEST_CASE("console: the security admin downloads the original only as an attachment, audited") {
  ConsoleRig rig;
  seed(rig);
  Browser admin(rig.port());
  REQUIRE(admin.login("admin").status == 303);
  auto list = admin.get("/items");
  CHECK(list.body.find("税務資料") != std::string::npos);  // everything
  CHECK(list.body.find("見積書の件") != std::string::npos);
  auto p = admin.get("/items/" + kA + "/original");
  CHECK(p.status == 200);
  CHECK(p.header("Content-Disposition") == "attachment; filename=\"20261206T100000-aaaaaa.eml.orig\"");
  CHECK(p.header("Content-Type") == "application/octet-stream");
  CHECK(p.header("X-Content-Type-Options") == "nosniff");
  CHECK(p.body.find("ORIGINAL BYTES OF " + kA) != std::string::npos);
  CHECK(rig.auditRows("download", "admin", kA) == 1);
  SECTION("bulk hold and release") {
    admin.get("/items");
    auto b = admin.post("/items/bulk", {{"action", "hold"}, {"id", kB}});
    CHECK(b.status == 200);
    std::string err;
    CHECK(rig.vault().get(kB, &err)->hold);
    auto rel = admin.post("/items/bulk", {{"action", "release"}, {"id", kA}});
    CHECK(rel.status == 200);
    CHECK(rig.vault().get(kA, &err)->state == "approved");
  }
  SECTION("the auditor reads, exports the audit log, and may not act") {
    Browser kansa(rig.port());
    REQUIRE(kansa.login("kansa").status == 303);
    CHECK(kansa.get("/items/" + kB).status == 200);
    CHECK(kansa.get("/items/" + kA + "/original").status == 403);
    auto audit = kansa.get("/audit");
    CHECK(audit.body.find("監査ログの連鎖は正常です") != std::string::npos);
    auto jsonl = kansa.get("/audit/export");
    CHECK(jsonl.header("Content-Disposition").find("attachment") != std::string::npos);
    CHECK(jsonl.body.find("\"action\":\"download\"") != std::string::npos);
    kansa.get("/items/" + kA);
    CHECK(kansa.post("/items/" + kA + "/request", {{"reason", "x"}}).status == 403);
    CHECK(kansa.post("/items/bulk", {{"action", "hold"}, {"id", kA}}).status == 403);
  }
}

TEST_CASE("console: statistics are drawn as inline SVG") {
  ConsoleRig rig([] { return std::int64_t{1765000000} + 3600; });
  seed(rig);
  Browser admin(rig.port());
  REQUIRE(admin.login("admin").status == 303);
  auto p = admin.get("/stats");
  CHECK(p.status == 200);
  CHECK(p.body.find("<svg class=\"chart\"") != std::string::npos);
  CHECK(p.body.find("partner@example.co.jp") != std::string::npos);
  CHECK(p.body.find("example.co.jp") != std::string::npos);
  CHECK(p.body.find("<strong>3</strong>") != std::string::npos);
  CHECK(p.body.find("12.5 ms") != std::string::npos);
}

TEST_CASE("console: plain HTTP is refused off loopback, HTTPS sets Secure cookies") {
  ConsoleRig rig;
  mugai::console::ConsoleDeps d;
  std::string err;
  SECTION("0.0.0.0 without a certificate") {
    mugai::console::ConsoleDeps deps;
    deps.vault = &rig.vault();
    mugai::console::Console c(std::move(deps));
    auto s = mugai::console::Server::start(c, "0.0.0.0:0", "", "", &err);
    CHECK_FALSE(s);
    CHECK(err.find("loopback") != std::string::npos);
    CHECK(err.find("ループバック") != std::string::npos);
    CHECK(mugai::console::isLoopbackHost("127.0.0.1"));
    CHECK(mugai::console::isLoopbackHost("::1"));
    CHECK_FALSE(mugai::console::isLoopbackHost("192.0.2.1"));
  }
  SECTION("HTTPS") {
    if (toolMissing("openssl")) return;
    const auto cert = rig.dir() / "cert.pem", key = rig.dir() / "key.pem";
    auto r = runTool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                      "-subj", "/CN=localhost", "-keyout", key.string(), "-out", cert.string()});
    REQUIRE(r.exit_code == 0);
    ConsoleRig tls(nullptr, cert.string(), key.string());
    Browser b(tls.port(), true);
    auto p = b.get("/login");
    CHECK(p.status == 200);
    REQUIRE_FALSE(p.set_cookies.empty());
    CHECK(p.set_cookies[0].find("; Secure") != std::string::npos);
    CHECK(p.header("Strict-Transport-Security").find("max-age") != std::string::npos);
    CHECK(b.login("alice").status == 303);
  }
}

TEST_CASE("console: accounts hash passwords with Argon2id and refuse short ones") {
  TempDir dir;
  std::string err;
  auto store = mugai::console::UserStore::open((dir.path() / "u.db").string(), &err);
  REQUIRE(store);
  CHECK_FALSE(store->add("x", "short", &err));
  CHECK(err.find("10") != std::string::npos);
  CHECK_FALSE(store->add("Bad Name", "long enough pw", &err));
  REQUIRE(store->add("tanaka", "long enough pw", &err));
  CHECK_FALSE(store->add("tanaka", "long enough pw", &err));
  CHECK(store->verify("tanaka", "long enough pw"));
  CHECK_FALSE(store->verify("tanaka", "long enough pX"));
  CHECK_FALSE(store->verify("nobody", "long enough pw"));
  std::string db = readFile(dir.path() / "u.db");  // and its write-ahead log
  if (std::filesystem::exists(dir.path() / "u.db-wal")) db += readFile(dir.path() / "u.db-wal");
  CHECK(db.find("long enough pw") == std::string::npos);
  CHECK(db.find("$argon2id$") != std::string::npos);
  REQUIRE(store->setPassword("tanaka", "another long one", &err));
  CHECK_FALSE(store->verify("tanaka", "long enough pw"));
  CHECK(store->verify("tanaka", "another long one"));
  REQUIRE(store->setDisabled("tanaka", true, &err));
  CHECK_FALSE(store->verify("tanaka", "another long one"));
}

TEST_CASE("console: the security admin checks a draft of the rules and dry-runs a message, in a mugai child process") {
  ConsoleRig rig;
  Browser admin(rig.port());
  REQUIRE(admin.login("admin").status == 303);
  auto page = admin.get("/rules");
  CHECK(page.status == 200);
  CHECK(page.body.find("ルール案の確認") != std::string::npos);
  SECTION("a broken draft: its errors, as text") {
    auto p = admin.upload("/rules/check", {{"draft", {"draft.yaml", "version: 1\nchains:\n  scan: [\"<script>\"]\n"}}});
    CHECK(p.status == 200);
    CHECK(p.body.find("ルール案に誤りがあります") != std::string::npos);
    CHECK(p.body.find("chains.text_body: is required") != std::string::npos);
    CHECK(p.body.find("<script>") == std::string::npos);
    CHECK(rig.auditRows("rules.check", "admin") == 1);
  }
  SECTION("the shipped rules pass; a dry run shows the report") {
    const std::string rules = readFile(sourceDir() / "rules" / "default.yaml");
    auto p = admin.upload("/rules/check", {{"draft", {"default.yaml", rules}}});
    CHECK(p.body.find("ルール案に問題はありません") != std::string::npos);
    auto d = admin.upload("/rules/dryrun",
                          {{"draft", {"default.yaml", rules}},
                           {"message", {"m.eml", "From: a@example.com\r\nTo: b@example.jp\r\nSubject: t\r\n"
                                                 "Content-Type: text/html\r\n\r\n<p>hi<script>x()</script></p>\r\n"}}});
    CHECK(d.body.find("--- report ---") != std::string::npos);
    CHECK(d.body.find("&quot;verdict&quot;") != std::string::npos);
    CHECK(rig.auditRows("rules.dryrun", "admin") == 1);
  }
  SECTION("staff may not") {
    Browser alice(rig.port());
    REQUIRE(alice.login("alice").status == 303);
    alice.get("/items");
    CHECK(alice.upload("/rules/check", {{"draft", {"d.yaml", "version: 1\n"}}}).status == 403);
  }
}

TEST_CASE("console: a search text of three characters finds items of every date through the index, a shorter one reads the last 31 days and says so") {
  ConsoleRig rig;  // the real clock: the seeded items are from 2025-12-06, older than 31 days
  seed(rig);
  Browser admin(rig.port());
  REQUIRE(admin.login("admin").status == 303);
  auto p = admin.get("/items?q=" + mugai::console::urlEncode("見積書"));
  REQUIRE(p.status == 200);
  CHECK(p.body.find("見積書の件") != std::string::npos);
  CHECK(p.body.find("税務資料") == std::string::npos);
  CHECK(p.body.find("直近31日分") == std::string::npos);
  // File names and senders too, any ASCII case.
  CHECK(admin.get("/items?q=ICAR.COM").body.find("請求書") != std::string::npos);
  CHECK(admin.get("/items?q=PARTNER%40").body.find("税務資料") != std::string::npos);
  // Two characters: no trigram, so the 31-day window (the items are older) and the note.
  p = admin.get("/items?q=" + mugai::console::urlEncode("見積"));
  REQUIRE(p.status == 200);
  CHECK(p.body.find("見積書の件") == std::string::npos);
  CHECK(p.body.find("2文字以下の検索語には索引が使えないため") != std::string::npos);
  // With a start date the short text reads from there.
  p = admin.get("/items?since=2025-01-01&q=" + mugai::console::urlEncode("見積"));
  CHECK(p.body.find("見積書の件") != std::string::npos);
  CHECK(p.body.find("2文字以下") == std::string::npos);
  // Staff search only their own items, through the index as well.
  Browser bob(rig.port());
  REQUIRE(bob.login("bob").status == 303);
  CHECK(bob.get("/items?q=" + mugai::console::urlEncode("見積書")).body.find("見積書の件") == std::string::npos);
  CHECK(bob.get("/items?q=" + mugai::console::urlEncode("税務資")).body.find("税務資料") != std::string::npos);
}

TEST_CASE("console: the detail page shows the delivered body text as text, never markup") {
  ConsoleRig rig;
  auto r = makeRecord("20261206T100009-dddddd", "alice@city.example.lg.jp", "本文つき", "a.docm",
                      "content.active", mv::Tier::Approval);
  r.body_text = "いつもお世話になっております。\n<script>alert(1)</script>\"><img src=x onerror=alert(2)>\n\u202Etxt.exe";
  rig.put(r);
  rig.put(makeRecord("20261206T100010-eeeeee", "alice@city.example.lg.jp", "本文なし", "b.docm",
                     "content.active", mv::Tier::Approval));
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  auto p = alice.get("/items/20261206T100009-dddddd");
  REQUIRE(p.status == 200);
  CHECK(p.body.find("本文（無害化後・配送されたもの・文字として表示）") != std::string::npos);
  CHECK(p.body.find("いつもお世話になっております。") != std::string::npos);
  CHECK(p.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(p.body.find("<script>") == std::string::npos);
  CHECK(p.body.find("<img") == std::string::npos);
  CHECK(p.body.find("\u202E") == std::string::npos);  // shown as a marker, not applied
  auto none = alice.get("/items/20261206T100010-eeeeee");
  CHECK(none.body.find("本文は記録されていません") != std::string::npos);
}

namespace {
std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
    if (out.size() % 77 == 76) out += "\r\n";
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}
}  // namespace

TEST_CASE("console: the detail page shows the SHA-256 of an object taken out of a document, as "
          "`mugai mail --vault` recorded it") {
  if (toolMissing("/usr/bin/sha256sum")) return;
  ConsoleRig rig;
  // An RTF whose embedded object's \objdata (hex) decodes to these bytes.
  const std::string objdata = std::string("\x01\x05\x00\x00\x02\x00\x00\x00", 8) + "inert OLE1 bytes <b>";
  std::string hex;
  for (unsigned char c : objdata) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  const std::string rtf = "{\\rtf1\\ansi Before.\\par{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " + hex +
                          "}{\\result {\\pict\\pngblip\\picw1\\pich1 00}}}\\par After.}\n";
  const std::string mail =
      "From: partner@example.co.jp\r\nTo: alice@city.example.lg.jp\r\nSubject: rtf\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: application/rtf; name=\"memo.rtf\"\r\nContent-Disposition: attachment; "
      "filename=\"memo.rtf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64(rtf) + "\r\n--b--\r\n";
  writeFile(rig.dir() / "in.eml", mail);
  writeFile(rig.dir() / "objdata.bin", objdata);
  auto sum = runTool({"/usr/bin/sha256sum", (rig.dir() / "objdata.bin").string()});
  REQUIRE(sum.exit_code == 0);
  const std::string expected = sum.output.substr(0, 64);
  auto sent = runTool({MUGAI_BINARY, "mail", (rig.dir() / "in.eml").string(), "-o", (rig.dir() / "out.eml").string(),
                       "--report", (rig.dir() / "report.json").string(), "--vault",
                       "sqlite:" + (rig.dir() / "vault.db").string(), "--rules", (rig.dir() / "rules.yaml").string(),
                       "--rcpt", "alice@city.example.lg.jp"});
  INFO(sent.output);
  REQUIRE((sent.exit_code == 0 || sent.exit_code == 3));
  const std::string report = readFile(rig.dir() / "report.json");
  const auto at = report.find("\"id\":\"");
  REQUIRE(at != std::string::npos);
  const std::string id = report.substr(at + 6, report.find('"', at + 6) - at - 6);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  auto p = alice.get("/items/" + id);
  REQUIRE(p.status == 200);
  INFO(p.body);
  const auto row = p.body.find("\\object (embedded object, class Package)");
  REQUIRE(row != std::string::npos);
  const auto hash = p.body.find(expected, row);
  CHECK(hash != std::string::npos);
  CHECK(hash < p.body.find("</tr>", row));  // in that object's row
}

TEST_CASE("console: the recipient opens a PPAP zip with its password, wrong ones are counted and audited as the CLI does, never logged") {
  ConsoleRig rig;
  // The generated fixture: secret.txt in a traditional-PKWARE zip, password "mugai".
  const std::string zip = readFile(generatedDir() / "encrypted.zip");
  const std::string id = "20261206T100011-ffffff";
  auto r = makeRecord(id, "alice@city.example.lg.jp", "パスワード付きZIP", "書類.zip", "content.encrypted",
                      mv::Tier::Approval);
  r.original = "From: partner@example.co.jp\r\nTo: alice@city.example.lg.jp\r\nSubject: ppap\r\n"
               "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
               "Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/zip; "
               "name=\"secret.zip\"\r\nContent-Disposition: attachment; filename=\"secret.zip\"\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n" + base64(zip) + "\r\n--b--\r\n";
  rig.put(r);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  auto p = alice.get("/items/" + id);
  REQUIRE(p.status == 200);
  CHECK(p.body.find("name=\"password\"") != std::string::npos);
  CHECK(p.body.find("type=\"password\"") != std::string::npos);
  // Without the CSRF token: refused before anything runs.
  CHECK(alice.post("/items/" + id + "/unlock", {{"password", "mugai"}}, false).status == 403);
  // A wrong password: refused, counted and audited by `mugai vault unlock` as alice.
  p = alice.post("/items/" + id + "/unlock", {{"password", "not-it-7c1"}});
  CHECK(p.status == 200);
  CHECK(p.body.find("解除できませんでした") != std::string::npos);
  CHECK(p.body.find("1 / 3") != std::string::npos);
  CHECK(rig.auditRows("unlock.wrong", "alice", id) == 1);
  // An approver who sees the item is not its recipient: no form, and the POST is refused.
  Browser boss(rig.port());
  REQUIRE(boss.login("boss").status == 303);
  auto bp = boss.get("/items/" + id);
  REQUIRE(bp.status == 200);
  CHECK(bp.body.find("name=\"password\"") == std::string::npos);
  CHECK(boss.post("/items/" + id + "/unlock", {{"password", "mugai"}}).status == 403);
  CHECK(rig.auditRows("unlock.wrong", "", id) == 1);
  // The right one: opened, sanitized, queued for alice only.
  p = alice.post("/items/" + id + "/unlock", {{"password", "mugai"}});
  CHECK(p.body.find("解除しました") != std::string::npos);
  CHECK(rig.auditRows("unlock", "alice", id) == 1);
  std::vector<mv::ReleaseJob> jobs;
  std::string err;
  REQUIRE(rig.vault().releases(id, "", jobs, &err));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].kind == "unlock");
  CHECK(jobs[0].recipients == std::vector<std::string>{"alice@city.example.lg.jp"});
  // The password is nowhere in the audit log.
  std::vector<mv::AuditRow> rows;
  REQUIRE(rig.vault().audit(0, rows, &err));
  for (const auto& a : rows) {
    CHECK(a.detail.find("not-it-7c1") == std::string::npos);
    CHECK(a.detail.find("mugai\n") == std::string::npos);
  }
}

TEST_CASE("console: a file-drop PPAP zip is seen and opened by the user whose folder it came from, not by other staff") {
  ConsoleRig rig;
  const std::string zip = readFile(generatedDir() / "encrypted.zip");
  const std::string id = "20261206T100012-eeeeee";
  // A file-drop record: its one recipient is the owner's login (the share folder's name).
  auto r = makeRecord(id, "alice", "", "書類.zip", "content.encrypted", mv::Tier::Approval, "");
  r.kind = "file";
  r.original = zip;
  rig.put(r);
  Browser alice(rig.port());
  REQUIRE(alice.login("alice").status == 303);
  auto list = alice.get("/items");
  REQUIRE(list.status == 200);
  CHECK(list.body.find(id) != std::string::npos);  // her own file is in her list
  auto p = alice.get("/items/" + id);
  REQUIRE(p.status == 200);
  CHECK(p.body.find("name=\"password\"") != std::string::npos);
  // Another member of staff neither sees it nor may open it.
  Browser bob(rig.port());
  REQUIRE(bob.login("bob").status == 303);
  CHECK(bob.get("/items/" + id).status == 404);
  CHECK(bob.post("/items/" + id + "/unlock", {{"password", "mugai"}}).status != 200);
  // A wrong password is counted and audited as alice; the right one opens it for her outbox.
  p = alice.post("/items/" + id + "/unlock", {{"password", "not-it-9d2"}});
  CHECK(p.body.find("解除できませんでした") != std::string::npos);
  CHECK(rig.auditRows("unlock.wrong", "alice", id) == 1);
  p = alice.post("/items/" + id + "/unlock", {{"password", "mugai"}});
  INFO(p.body);
  CHECK(p.body.find("受け取りフォルダー") != std::string::npos);
  CHECK(rig.auditRows("unlock", "alice", id) == 1);
  std::vector<mv::ReleaseJob> jobs;
  std::string err;
  REQUIRE(rig.vault().releases(id, "", jobs, &err));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].kind == "unlock");
}
