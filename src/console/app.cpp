// The console's request routing, sessions, log-in and page frame (app.h).
#include "src/console/app.h"

#include <yaml-cpp/yaml.h>

#include <ctime>
#include <iomanip>
#include <sstream>

#include "mugai/core/verdict.h"
#include "mugai/vault/actions.h"
#include "src/console/internal.h"

namespace mugai::console {

using internal::redirect;

std::string HttpRequest::field(const std::string& name) const {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

std::vector<std::string> HttpRequest::fields(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = form.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

std::string HttpRequest::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

namespace internal {

std::string localTime(std::int64_t t, bool with_seconds) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, with_seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string tierWords(vault::Tier t, bool en) {
  switch (t) {
    case vault::Tier::Self: return en ? "you may take it" : "本人が取り出せます";
    case vault::Tier::Approval: return en ? "with approval" : "上長の承認で取り出せます";
    case vault::Tier::Admin: return en ? "security team only" : "情報セキュリティ担当のみ";
    case vault::Tier::Never: return en ? "never released" : "取り出せません";
  }
  return "?";
}

std::string stateWords(const std::string& s, bool en) {
  if (s == "withheld") return en ? "withheld" : "保留中";
  if (s == "requested") return en ? "requested" : "申請中";
  if (s == "pending") return en ? "waiting for approval" : "承認待ち";
  if (s == "approved") return en ? "approved" : "承認済み";
  if (s == "denied") return en ? "denied" : "却下";
  if (s == "released") return en ? "released" : "送付済み";
  return escapeHtml(s);
}

std::string verdictWords(const std::string& v, bool en) {
  if (v == "sanitized") return en ? "delivered sanitized" : "無害化して配信";
  if (v == "blocked") return en ? "stopped" : "配信停止";
  if (v == "clean") return en ? "clean" : "問題なし";
  return escapeHtml(v);
}

std::string actionWords(const std::string& a, bool en) {
  if (a == "removed") return en ? "removed" : "削除";
  if (a == "rebuilt") return en ? "rebuilt" : "作り直し";
  if (a == "converted") return en ? "converted" : "変換";
  if (a == "renamed") return en ? "renamed" : "名前を変更";
  if (a == "blocked") return en ? "stopped" : "配信停止";
  if (a == "neutralised") return en ? "neutralised" : "無効化";
  return escapeHtml(a, false, 30);
}

std::string roleWords(vault::Role r, bool en) {
  switch (r) {
    case vault::Role::Staff: return en ? "staff" : "職員";
    case vault::Role::Approver: return en ? "approver" : "承認者";
    case vault::Role::SecurityAdmin: return en ? "security admin" : "情報セキュリティ担当";
    case vault::Role::Auditor: return en ? "auditor" : "監査担当";
  }
  return "?";
}

bool parseDate(const std::string& s, std::int64_t& out) {
  if (s.size() != 10) return false;
  std::tm tm{};
  std::istringstream in(s);
  in >> std::get_time(&tm, "%Y-%m-%d");
  if (in.fail()) return false;
  tm.tm_isdst = -1;
  out = static_cast<std::int64_t>(std::mktime(&tm));
  return out > 0;
}

HttpResponse redirect(const std::string& to) {
  HttpResponse r;
  r.status = 303;
  r.headers.emplace_back("Location", to);
  r.body = "";
  return r;
}

}  // namespace internal

std::map<std::string, std::string> reasonTextsJa(const std::string& rules_text) {
  std::map<std::string, std::string> out;
  try {
    YAML::Node root = YAML::Load(rules_text);
    YAML::Node r = root["notice"]["reasons"];
    if (r && r.IsMap()) {
      for (const auto& kv : r) out[kv.first.as<std::string>("")] = kv.second.as<std::string>("");
    }
  } catch (const YAML::Exception&) {
  }
  return out;
}

Console::Console(ConsoleDeps deps)
    : d_(std::move(deps)),
      sessions_(static_cast<std::int64_t>(d_.config.idle_minutes) * 60, d_.users),
      throttle_(d_.config.login_limit_per_user, d_.config.login_limit_per_address,
                static_cast<std::int64_t>(d_.config.login_window_minutes) * 60) {
  refreshDirectory();
  if (!d_.clock) {
    d_.clock = [] {
      return static_cast<std::int64_t>(std::time(nullptr));
    };
  }
}

std::shared_ptr<const vault::Directory> Console::directory() const {
  std::lock_guard lock(dir_mu_);
  return dir_;
}

void Console::refreshDirectory() {
  std::vector<vault::User> seen;
  if (d_.users) d_.users->ldapUsers(seen);
  auto merged = seen.empty() ? d_.directory : vault::Directory::withUsers(d_.directory.get(), seen);
  std::lock_guard lock(dir_mu_);
  dir_ = merged;
}

const vault::User* Console::lookup(const std::string& login, vault::User& storage) {
  if (auto dir = directory()) {
    if (const vault::User* u = dir->find(login)) {
      storage = *u;
      return &storage;
    }
  }
  if (d_.users) {
    if (auto u = d_.users->ldapUser(login)) {
      storage = *u;
      return &storage;
    }
  }
  return nullptr;
}

std::optional<vault::User> Console::userFor(const Session& s) {
  if (s.login.empty()) return std::nullopt;
  if (s.source == "ldap") return s.ldap_user;
  // A local account: enabled in the account file now (a disabled account's sessions stop at
  // their next request), its role and addresses from the directory.
  auto acc = d_.users ? d_.users->find(s.login) : std::nullopt;
  if (!acc || acc->disabled) return std::nullopt;
  if (d_.directory) {
    if (const vault::User* u = d_.directory->find(s.login)) {
      if (u->disabled) return std::nullopt;
      return *u;
    }
  }
  vault::User u;  // an account the directory does not know: staff with no address (sees nothing)
  u.login = s.login;
  return u;
}

std::string Console::reasonWords(Ctx& c, const std::string& reason) const {
  if (!c.en) {
    if (auto it = d_.reason_ja.find(reason); it != d_.reason_ja.end()) return escapeHtml(it->second);
  }
  if (auto r = reasonByName(reason)) return escapeHtml(reasonInfo(*r).public_text);
  return escapeHtml(reason);
}

std::string Console::csrfField(const Ctx& c) const {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" +
         (c.session ? escapeAttr(c.session->csrf) : std::string()) + "\">";
}

void Console::audit(const Ctx& c, const std::string& action, const std::string& id,
                    const std::string& detail) {
  std::string err;
  const std::string actor = c.user ? c.user->login : "anonymous";
  const std::string role = c.user ? vault::roleName(c.user->role) : "none";
  d_.vault->appendAudit(actor, role, action, id, detail + " (console, from " + c.req.peer + ")",
                        &err);
}

HttpResponse Console::handle(const HttpRequest& req) {
  Ctx c{req};
  const std::string lang = req.param("lang");
  if (lang == "en" || lang == "ja") {
    c.en = lang == "en";
    c.set_cookies.emplace_back("mugai_lang",
                               lang + "; Path=/; Max-Age=31536000; SameSite=Strict" +
                                   std::string(req.secure ? "; Secure" : ""));
  } else if (auto it = req.cookies.find("mugai_lang"); it != req.cookies.end()) {
    c.en = it->second == "en";
  }
  if (auto it = req.cookies.find("mugai_session"); it != req.cookies.end()) {
    c.session = sessions_.find(it->second, now());
    if (c.session) {
      c.user = userFor(*c.session);
      if (!c.session->login.empty() && !c.user) {  // disabled since: the session ends
        sessions_.remove(c.session->token);
        c.session.reset();
      }
    }
  }
  HttpResponse r;
  try {
    r = route(c);
  } catch (const std::exception& e) {
    r = page(c, c.tr("エラー", "Error"),
             "<p class=\"error\">" +
                 c.tr("処理できませんでした。管理者にお問い合わせください。",
                      "The request could not be handled. Ask the administrator.") +
                 "</p>",
             500);
  }
  for (const auto& [name, value] : c.set_cookies) r.headers.emplace_back("Set-Cookie", name + "=" + value);
  return r;
}

HttpResponse Console::route(Ctx& c) {
  const HttpRequest& q = c.req;
  const bool post = q.method == "POST";
  if (q.method != "GET" && q.method != "POST" && q.method != "HEAD") {
    HttpResponse r;
    r.status = 405;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "405 method not allowed\n";
    return r;
  }
  if (q.path == "/static/console.css") {
    HttpResponse r;
    r.content_type = "text/css; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "max-age=3600");
    r.body = stylesheet();
    return r;
  }
  // Every POST repeats its session's CSRF token (the log-in form's too).
  if (post) {
    if (!c.session || !tokensEqual(q.field("csrf"), c.session->csrf)) {
      if (c.user) audit(c, "refused", "", "POST " + q.path.substr(0, 100) + ": CSRF token missing or wrong");
      return page(c, c.tr("送信を受け付けませんでした", "Form refused"),
                  "<p class=\"error\">" +
                      c.tr("フォームの有効期限が切れたか、別のサイトから送られました。もう一度画面を開いてやり直してください。",
                           "The form has expired or was sent from another site. Open the page again and retry.") +
                      "</p><p><a href=\"/\">" + c.tr("トップへ", "Home") + "</a></p>",
                  403);
    }
  }
  if (q.path == "/login") return post ? login(c) : loginPage(c);
  if (!c.user) return redirect("/login");
  if (q.path == "/logout" && post) return logout(c);
  if (q.path == "/" ) return redirect("/items");
  if (q.path == "/items") return listPage(c);
  if (q.path == "/items/bulk" && post) return bulk(c);
  if (q.path == "/approvals") return approvalsPage(c);
  if (q.path == "/stats") return statsPage(c);
  if (q.path == "/rules") return rulesPage(c);
  if (q.path == "/rules/check" && post) return rulesCheck(c, false);
  if (q.path == "/rules/dryrun" && post) return rulesCheck(c, true);
  if (q.path == "/audit") return auditPage(c);
  if (q.path == "/audit/export") return auditExport(c);
  if (q.path.rfind("/items/", 0) == 0) {
    std::string rest = q.path.substr(7);
    std::string action;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    if (rest.empty() || rest.size() > 128) return notFound(c);
    if (action.empty()) return itemPage(c, rest);
    if (action == "original") return original(c, rest);
    if (post) return itemAction(c, rest, action);
  }
  return notFound(c);
}

HttpResponse Console::loginPage(Ctx& c, const std::string& msg_ja, const std::string& msg_en,
                                int status) {
  if (!c.session || !c.session->login.empty()) {
    Session s = sessions_.create(now());
    c.session = s;
    c.set_cookies.emplace_back("mugai_session", s.token + "; Path=/; HttpOnly; SameSite=Strict" +
                                                    std::string(c.req.secure ? "; Secure" : ""));
  }
  std::string body = "<section class=\"login\"><h1>" + c.tr("ログイン", "Log in") + "</h1>";
  if (!msg_ja.empty()) body += "<p class=\"error\">" + escapeHtml(c.tr(msg_ja, msg_en)) + "</p>";
  body += "<form method=\"post\" action=\"/login\">" + csrfField(c) + "<label>" +
          c.tr("ユーザー名", "User name") +
          "<input name=\"user\" autocomplete=\"username\" required maxlength=\"64\"></label><label>" +
          c.tr("パスワード", "Password") +
          "<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required "
          "maxlength=\"1024\"></label><button type=\"submit\">" +
          c.tr("ログイン", "Log in") + "</button></form></section>";
  c.user.reset();
  return page(c, c.tr("ログイン", "Log in"), body, status);
}

HttpResponse Console::login(Ctx& c) {
  const std::string login = c.req.field("user"), password = c.req.field("password");
  const std::int64_t t = now();
  std::string err;
  if (!throttle_.allowed(login, c.req.peer, t)) {
    d_.vault->appendAudit(login.substr(0, 64), "none", "login.throttled", "",
                          "from " + c.req.peer, &err);
    return loginPage(c, "ログインの失敗が続いたため、しばらく受け付けません。時間をおいてやり直してください。",
                     "Too many failed log-ins: try again later.", 429);
  }
  std::optional<vault::User> ldap_user;
  std::string source;
  bool ok = false;
  if (UserStore::validLogin(login) && !password.empty() && password.size() <= 1024) {
    if (d_.users && d_.users->find(login)) {
      ok = d_.users->verify(login, password);
      source = "local";
    } else if (d_.ldap) {
      std::string why;
      ldap_user = d_.ldap->authenticate(login, password, &why);
      ok = ldap_user.has_value();
      source = "ldap";
      if (ok && d_.users->rememberLdapUser(*ldap_user, &err)) refreshDirectory();
    } else if (d_.users) {
      d_.users->verify(login, password);  // the same work as for a known login
    }
  }
  if (!ok) {
    throttle_.failed(login, c.req.peer, t);
    d_.vault->appendAudit(UserStore::validLogin(login) ? login : "(invalid login)", "none",
                          "login.failed", "", "from " + c.req.peer, &err);
    return loginPage(c, "ユーザー名またはパスワードが違います。", "Wrong user name or password.", 401);
  }
  throttle_.succeeded(login);
  auto s = sessions_.login(c.session ? c.session->token : "", login, source, ldap_user, t);
  c.session = s;
  c.user = userFor(*s);
  if (!c.user) {
    sessions_.remove(s->token);
    return loginPage(c, "このアカウントは無効です。", "This account is disabled.", 403);
  }
  c.set_cookies.emplace_back("mugai_session", s->token + "; Path=/; HttpOnly; SameSite=Strict" +
                                                  std::string(c.req.secure ? "; Secure" : ""));
  audit(c, "login", "", source);
  return redirect(c.user->role == vault::Role::Approver ? "/approvals" : "/items");
}

HttpResponse Console::logout(Ctx& c) {
  audit(c, "logout", "", "");
  sessions_.remove(c.session->token);
  c.session.reset();
  c.user.reset();
  c.set_cookies.emplace_back("mugai_session", "; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  return redirect("/login");
}

HttpResponse Console::page(Ctx& c, const std::string& title, const std::string& body, int status) {
  HttpResponse r;
  r.status = status;
  std::string nav;
  if (c.user) {
    const vault::Role role = c.user->role;
    auto link = [&](const char* href, const std::string& text) {
      const bool here = c.req.path == href || (std::string(href) == "/items" &&
                                                c.req.path.rfind("/items", 0) == 0);
      nav += std::string("<a href=\"") + href + "\"" + (here ? " class=\"here\"" : "") + ">" + text +
             "</a>";
    };
    link("/items", c.tr("隔離一覧", "Withheld items"));
    if (role == vault::Role::Approver || role == vault::Role::SecurityAdmin) {
      link("/approvals", c.tr("承認待ち", "Approvals"));
    }
    if (role == vault::Role::SecurityAdmin || role == vault::Role::Auditor) {
      link("/stats", c.tr("統計", "Statistics"));
      link("/rules", c.tr("ルール", "Rules"));
      link("/audit", c.tr("監査ログ", "Audit log"));
    }
  }
  std::string who;
  if (c.user) {
    who = "<span class=\"who\">" + escapeHtml(c.user->login) + c.tr("（", " (") +
          internal::roleWords(c.user->role, c.en) + c.tr("）", ")") + "</span><form method=\"post\" "
          "action=\"/logout\" class=\"inline\">" + csrfField(c) + "<button type=\"submit\" "
          "class=\"link\">" + c.tr("ログアウト", "Log out") + "</button></form>";
  }
  const std::string other = c.en ? "<a href=\"?lang=ja\" lang=\"ja\">日本語</a>"
                                 : "<a href=\"?lang=en\" lang=\"en\">English</a>";
  r.body = "<!DOCTYPE html>\n<html lang=\"" + std::string(c.en ? "en" : "ja") +
           "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
           "content=\"width=device-width, initial-scale=1\"><title>" + title + " - mugai</title>"
           "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><header>"
           "<span class=\"brand\">mugai <small>" + c.tr("無害化コンソール", "sanitizing gateway console") +
           "</small></span><nav>" + nav + "</nav><span class=\"account\">" + who + other +
           "</span></header><main><h1>" + title + "</h1>" + body + "</main></body></html>\n";
  return r;
}

HttpResponse Console::notFound(Ctx& c) {
  return page(c, c.tr("見つかりません", "Not found"),
              "<p>" + c.tr("この項目はないか、表示する権限がありません。",
                           "This item does not exist or you may not see it.") +
                  "</p><p><a href=\"/items\">" + c.tr("隔離一覧へ", "To the list") + "</a></p>",
              404);
}

HttpResponse Console::refused(Ctx& c, const std::string& action, const std::string& id,
                              const vault::Decision& d, int status) {
  vault::auditRefusal(*d_.vault, *c.user, action, id, d);
  if (status == 404) return notFound(c);
  return page(c, c.tr("できません", "Not allowed"),
              "<p class=\"error\">" + escapeHtml(c.tr(d.why_ja, d.why_en)) + "</p>", status);
}

}  // namespace mugai::console
