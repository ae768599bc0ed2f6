// ルール (the rules in force, readably) and 監査ログ (the audit log, its export) (app.h).
//
// The rules are shown from their YAML as data (the console does not load sanitizers). An
// uploaded draft is checked, and one uploaded message dry-run against it, by the mugai executable
// in a child process (`mugai rules check`; `mugai mail --isolated`, which parses the message in a
// sandboxed worker as serve does), never in the console process: the console parses no content.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "src/console/internal.h"

extern char** environ;

namespace mugai::console {
namespace {

namespace fs = std::filesystem;

/// The rules' type actions in words (the YAML word below it).
std::string ruleAction(const std::string& a, bool en) {
  std::string w = a == "keep"       ? (en ? "kept as it is" : "そのまま")
                  : a == "sanitize" ? (en ? "sanitized" : "無害化")
                  : a == "remove"   ? (en ? "removed" : "削除")
                  : a == "block"    ? (en ? "message stopped" : "配信停止")
                                    : "";
  return (w.empty() ? "" : w + "<br>") + "<small class=\"code\">" + escapeHtml(a, false, 40) + "</small>";
}

std::string scalarOr(const YAML::Node& n, const std::string& dflt = "") {
  try {
    if (n && n.IsScalar()) return n.as<std::string>();
    if (n && n.IsSequence()) {
      std::string s;
      for (const auto& x : n) s += (s.empty() ? "" : ", ") + scalarOr(x);
      return s;
    }
  } catch (...) {
  }
  return dflt;
}

}  // namespace

int internal::runCaptured(const std::vector<std::string>& argv, std::string& out, int seconds,
                          const std::string* input) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  int in[2] = {-1, -1};
  if (input && pipe2(in, O_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  if (input) {
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (input) {
    close(in[0]);
    // A password or a small text: less than a pipe's buffer, so this does not block.
    if (rc == 0) {
      std::size_t done = 0;
      while (done < input->size()) {
        const ssize_t n = write(in[1], input->data() + done, input->size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
    }
    close(in[1]);
  }
  if (rc != 0) {
    close(fds[0]);
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      out += "\n(stopped: took longer than " + std::to_string(seconds) + " s)";
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    if (out.size() < 256 * 1024) out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HttpResponse Console::rulesPage(Ctx& c, const std::string& result_html) {
  if (c.user->role != vault::Role::SecurityAdmin && c.user->role != vault::Role::Auditor) {
    return refused(c, "rules", "", {false, "ルールは情報セキュリティ担当と監査担当が見られます。",
                                    "The rules are for the security team and auditors."}, 403);
  }
  std::string body;
  if (!result_html.empty()) body += result_html;
  body += "<p>" + c.tr("使用中のルール", "Rules in force") + ": <span class=\"code\">" +
          escapeHtml(d_.rules_name) + "</span></p>";
  YAML::Node root;
  try {
    root = YAML::Load(d_.rules_text);
  } catch (const YAML::Exception& e) {
    body += "<p class=\"error\">" + escapeHtml(e.what()) + "</p>";
  }
  // Types -> action (first match wins).
  body += "<section class=\"card\"><h2>" + c.tr("ファイルの種類と処置", "File types and actions") +
          "</h2><p class=\"note\">" +
          c.tr("種類は中身から判定します（拡張子や申告された種類ではありません）。上から順に最初に一致したものが使われます。",
               "Types are detected from the content (not the name or declared type); the first match wins.") +
          "</p><table class=\"items\"><thead><tr><th>" + c.tr("種類", "Types") + "</th><th>" +
          c.tr("処置", "Action") + "</th><th>" + c.tr("処理の流れ", "Chain") + "</th></tr></thead><tbody>";
  if (root["types"] && root["types"].IsSequence()) {
    for (const auto& t : root["types"]) {
      body += "<tr><td class=\"code\">" + escapeHtml(scalarOr(t["match"]), false, 2000) +
              "</td><td class=\"nowrap\">" + ruleAction(scalarOr(t["action"]), c.en) +
              "</td><td class=\"code nowrap\">" + escapeHtml(scalarOr(t["chain"])) + "</td></tr>";
    }
  }
  body += "<tr><td>" + c.tr("（上記以外）", "(anything else)") + "</td><td>" +
          ruleAction(scalarOr(root["default"], "remove"), c.en) + "</td><td></td></tr></tbody></table></section>";
  body += "<section class=\"card\"><h2>" + c.tr("処理の流れ（チェーン）", "Chains") +
          "</h2><table class=\"kv\">";
  if (root["chains"] && root["chains"].IsMap()) {
    for (const auto& kv : root["chains"]) {
      body += "<tr><th class=\"code\">" + escapeHtml(scalarOr(kv.first)) + "</th><td class=\"code\">" +
              escapeHtml(scalarOr(kv.second), false, 2000) + "</td></tr>";
    }
  }
  body += "</table></section>";
  // Release tiers and retention: the loaded values (defaults included).
  body += "<section class=\"card\"><h2>" + c.tr("原本の取り出しと保存期間", "Release tiers and retention") +
          "</h2><table class=\"kv\"><tr><th>" + c.tr("既定の取り出し", "Default tier") + "</th><td>" +
          escapeHtml(d_.rules.release_default) + "</td></tr>";
  for (const auto& [reason, tier] : d_.rules.release_by_reason) {
    const std::string name(reasonInfo(reason).name);
    body += "<tr><th>" + reasonWords(c, name) + " <small class=\"code\">" + escapeHtml(name) +
            "</small></th><td>" + escapeHtml(tier) + "</td></tr>";
  }
  body += "<tr><th>" + c.tr("承認", "Approval") + "</th><td>" + escapeHtml(d_.rules.approval) +
          "</td></tr><tr><th>" + c.tr("既定の保存期間", "Default retention") + "</th><td>" +
          std::to_string(d_.rules.retention_default_days) + c.tr(" 日", " days") + "</td></tr>";
  for (const auto& [verdict, days] : d_.rules.retention_by_verdict) {
    body += "<tr><th>" + internal::verdictWords(verdict, c.en) + "</th><td>" + std::to_string(days) +
            c.tr(" 日", " days") + "</td></tr>";
  }
  for (const auto& [reason, days] : d_.rules.retention_by_reason) {
    const std::string name(reasonInfo(reason).name);
    body += "<tr><th>" + reasonWords(c, name) + "</th><td>" + std::to_string(days) +
            c.tr(" 日", " days") + "</td></tr>";
  }
  body += "</table></section>";
  if (!d_.mugai_binary.empty() && c.user->role == vault::Role::SecurityAdmin) {
    body += "<section class=\"card\"><h2>" + c.tr("ルール案の確認", "Check a draft") + "</h2>"
            "<form method=\"post\" action=\"/rules/check\" enctype=\"multipart/form-data\" class=\"action\">" +
            csrfField(c) + "<label>" + c.tr("ルール案（YAML）", "Draft rules (YAML)") +
            "<input type=\"file\" name=\"draft\" required></label><button type=\"submit\">" +
            c.tr("検査する", "Check") + "</button></form>"
            "<form method=\"post\" action=\"/rules/dryrun\" enctype=\"multipart/form-data\" class=\"action\">" +
            csrfField(c) + "<label>" + c.tr("ルール案（YAML）", "Draft rules (YAML)") +
            "<input type=\"file\" name=\"draft\" required></label><label>" +
            c.tr("試すメール（.eml）", "A message to try (.eml)") +
            "<input type=\"file\" name=\"message\" required></label><button type=\"submit\">" +
            c.tr("試しに処理する", "Dry run") + "</button></form><p class=\"note\">" +
            c.tr("検査と試しの処理は mugai の別プロセスで行います。結果は配信されません。",
                 "The check and the dry run run in a separate mugai process; nothing is delivered.") +
            "</p></section>";
  }
  return page(c, c.tr("ルール", "Rules"), body);
}

HttpResponse Console::rulesCheck(Ctx& c, bool dry_run) {
  if (auto d = vault::mayAdminister(*c.user); !d.allowed) return refused(c, "rules check", "", d, 403);
  if (d_.mugai_binary.empty()) return notFound(c);
  auto draft = c.req.files.find("draft");
  if (draft == c.req.files.end() || draft->second.bytes.empty()) {
    return rulesPage(c, "<p class=\"error\">" + c.tr("ルール案がありません。", "No draft was uploaded.") + "</p>");
  }
  std::error_code ec;
  char tmpl[] = "/tmp/mugai-console-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  const fs::path dir = tmpl;
  std::string out;
  int rc = -1;
  {
    std::ofstream(dir / "draft.yaml", std::ios::binary) << draft->second.bytes;
    if (!dry_run) {
      rc = internal::runCaptured({d_.mugai_binary, "rules", "check", (dir / "draft.yaml").string()}, out, 30);
    } else {
      auto msg = c.req.files.find("message");
      if (msg == c.req.files.end() || msg->second.bytes.empty()) {
        fs::remove_all(dir, ec);
        return rulesPage(c, "<p class=\"error\">" + c.tr("メールがありません。", "No message was uploaded.") + "</p>");
      }
      std::ofstream(dir / "in.eml", std::ios::binary) << msg->second.bytes;
      rc = internal::runCaptured({d_.mugai_binary, "mail", "--isolated", (dir / "in.eml").string(), "-o",
                        (dir / "out.eml").string(), "--rules", (dir / "draft.yaml").string(),
                        "--report", (dir / "report.json").string()},
                       out, 120);
      std::ifstream rep(dir / "report.json", std::ios::binary);
      std::string report((std::istreambuf_iterator<char>(rep)), {});
      if (!report.empty()) out += "\n--- report ---\n" + report.substr(0, 64 * 1024);
    }
  }
  fs::remove_all(dir, ec);
  audit(c, dry_run ? "rules.dryrun" : "rules.check", "", "exit " + std::to_string(rc));
  const std::string verdict =
      dry_run ? c.tr("試しの処理の結果（終了コード ", "Dry run result (exit ") + std::to_string(rc) + ")"
              : (rc == 0 ? c.tr("ルール案に問題はありません。", "The draft is valid.")
                         : c.tr("ルール案に誤りがあります。", "The draft has errors."));
  return rulesPage(c, "<section class=\"card result\"><h2>" + verdict + "</h2><pre>" +
                          escapeHtml(out, true, 256 * 1024) + "</pre></section>");
}

HttpResponse Console::auditPage(Ctx& c) {
  if (c.user->role != vault::Role::SecurityAdmin && c.user->role != vault::Role::Auditor) {
    return refused(c, "audit", "", {false, "監査ログは情報セキュリティ担当と監査担当が見られます。",
                                    "The audit log is for the security team and auditors."}, 403);
  }
  std::vector<vault::AuditRow> rows;
  std::string err;
  if (!d_.vault->audit(now() - 7 * 86400, rows, &err)) throw std::runtime_error(err);
  const auto check = d_.vault->verifyAudit();
  std::string body = "<p class=\"" + std::string(check.ok ? "notice" : "error") + "\">" +
                     (check.ok ? c.tr("監査ログの連鎖は正常です", "The audit chain verifies") + "（" +
                                     std::to_string(check.rows) + c.tr(" 行", " rows") + "）"
                               : c.tr("監査ログが改ざんされています: ", "The audit log was tampered with: ") +
                                     escapeHtml(check.problem)) +
                     "</p><p><a class=\"button\" href=\"/audit/export\">" +
                     c.tr("JSON Lines で書き出す（記録されます）", "Export as JSON lines (audited)") +
                     "</a></p><table class=\"items\"><thead><tr><th>#</th><th>" + c.tr("日時", "Time") +
                     "</th><th>" + c.tr("操作者", "Actor") + "</th><th>" + c.tr("操作", "Action") +
                     "</th><th>" + c.tr("項目", "Item") + "</th><th>" + c.tr("内容", "Detail") +
                     "</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (auto it = rows.rbegin(); it != rows.rend() && shown < 300; ++it, ++shown) {
    body += "<tr><td>" + std::to_string(it->seq) + "</td><td class=\"nowrap\">" +
            internal::localTime(it->time, true) + "</td><td>" + escapeHtml(it->actor, false, 100) +
            " <small>" + escapeHtml(it->role, false, 30) + "</small></td><td>" +
            escapeHtml(it->action, false, 40) + "</td><td class=\"code\">" +
            escapeHtml(it->record_id, false, 80) + "</td><td>" + escapeHtml(it->detail, false, 300) +
            "</td></tr>";
  }
  body += "</tbody></table>";
  return page(c, c.tr("監査ログ（直近7日）", "Audit log (last 7 days)"), body);
}

HttpResponse Console::auditExport(Ctx& c) {
  if (c.user->role != vault::Role::SecurityAdmin && c.user->role != vault::Role::Auditor) {
    return refused(c, "audit export", "", {false, "監査ログは情報セキュリティ担当と監査担当が見られます。",
                                           "The audit log is for the security team and auditors."}, 403);
  }
  std::vector<vault::AuditRow> rows;
  std::string err;
  if (!d_.vault->audit(0, rows, &err)) throw std::runtime_error(err);
  audit(c, "audit.export", "", std::to_string(rows.size()) + " rows");
  HttpResponse r;
  r.content_type = "application/x-ndjson; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"mugai-audit.jsonl\"");
  auto js = [](const std::string& s) {
    std::string o = "\"";
    for (unsigned char ch : s) {
      if (ch == '"' || ch == '\\') {
        o += '\\';
        o += static_cast<char>(ch);
      } else if (ch < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", ch);
        o += b;
      } else {
        o += static_cast<char>(ch);
      }
    }
    return o + "\"";
  };
  for (const auto& a : rows) {
    r.body += "{\"seq\":" + std::to_string(a.seq) + ",\"time\":" + std::to_string(a.time) +
              ",\"actor\":" + js(a.actor) + ",\"role\":" + js(a.role) + ",\"action\":" + js(a.action) +
              ",\"record\":" + js(a.record_id) + ",\"detail\":" + js(a.detail) +
              ",\"prev_hash\":" + js(a.prev_hash) + ",\"hash\":" + js(a.hash) + "}\n";
  }
  return r;
}

}  // namespace mugai::console
