// 隔離一覧 (the list), 承認待ち (approvals), 詳細 (one item) and their actions (app.h).
#include <sodium.h>

#include <algorithm>
#include <set>

#include "mugai/vault/actions.h"
#include "src/console/internal.h"

namespace mugai::console {

using internal::localTime;
using internal::redirect;
using internal::stateWords;
using internal::tierWords;
using internal::verdictWords;

namespace {

constexpr std::size_t kPageRows = 50;
constexpr std::int64_t kTextSearchDays = 31;
constexpr std::uint64_t kHeaderOriginalLimit = 25 * 1024 * 1024;  ///< read for its header block
constexpr std::size_t kBodyTextShown = 1024 * 1024;  ///< vault_body_text_limit's maximum

bool seesAll(const vault::User& u) {
  return u.role == vault::Role::SecurityAdmin || u.role == vault::Role::Auditor;
}

std::string input(const std::string& name, const std::string& value, const std::string& label,
                  const char* type = "text") {
  return "<label>" + label + "<input type=\"" + type + "\" name=\"" + name + "\" value=\"" +
         escapeAttr(value, 200) + "\" maxlength=\"200\"></label>";
}

/// Overwrites a secret (libsodium: not optimised away) and empties it.
void wipeSecret(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

std::string lowered(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// A withheld item with a password-protected part (PPAP: content.encrypted) that `user` may try
/// to open: for mail a recipient of it (the password is theirs to give), for a file-drop item the
/// user whose folder it came from (its one recipient is that login), or the security admin. The
/// rest (who gets it, the attempt limit, the audit) is `mugai vault unlock`'s, which the form runs.
bool mayOfferUnlock(const vault::User& user, const vault::RecordInfo& r) {
  if ((r.kind != "mail" && r.kind != "file") || r.state == "released") return false;
  if (std::find(r.reasons.begin(), r.reasons.end(), "content.encrypted") == r.reasons.end() &&
      r.reason != "content.encrypted") {
    return false;
  }
  if (user.role == vault::Role::SecurityAdmin) return true;
  if (r.kind == "file") {
    return !r.envelope.recipients.empty() && lowered(r.envelope.recipients.front()) == lowered(user.login);
  }
  for (const auto& e : user.emails) {
    for (const auto& x : r.envelope.recipients) {
      if (lowered(x) == e) return true;
    }
  }
  return false;
}

}  // namespace

HttpResponse Console::listPage(Ctx& c) {
  const HttpRequest& q = c.req;
  vault::Query query;
  query.sender = q.param("sender");
  query.text = q.param("q");
  query.id_prefix = q.param("id");
  query.reason = q.param("reason");
  query.state = q.param("state");
  std::int64_t since = 0, until = 0;
  if (internal::parseDate(q.param("since"), since)) query.since = since;
  if (internal::parseDate(q.param("until"), until)) query.until = until + 86400;
  // A search text of three characters or more is looked up in the vault's trigram index. A
  // shorter one (it has no trigram), or any text on a vault without the index, reads every row of
  // its date range: without a start date that range is the last kTextSearchDays days.
  const bool indexed = d_.vault->textIndexed() && vault::textIndexable(query.text);
  const bool text_window = !query.text.empty() && !indexed && query.since == 0;
  if (text_window) query.since = now() - kTextSearchDays * 86400;
  std::size_t page_no = 0;
  if (auto p = q.param("page"); !p.empty() && p.size() < 6 &&
                                p.find_first_not_of("0123456789") == std::string::npos) {
    page_no = std::stoul(p);
  }
  const bool all = seesAll(*c.user) && q.param("mine") != "1";
  bool more = false;
  const std::vector<vault::RecordInfo> rows = listRows(c, query, all, page_no, more);
  const bool empty_account = !all && c.user->emails.empty() && rows.empty();
  return page(c, c.tr("隔離一覧", "Withheld items"),
              listFilters(c, query, all, text_window) + listTable(c, rows, empty_account) +
                  listPaging(c, page_no, more));
}

/// One page of the rows `c.user` may see: every item for those who see all, else their own (one
/// query per address of theirs and one for their login: the file-drop items from their share
/// folder), newest first. *more: there is a next page.
std::vector<vault::RecordInfo> Console::listRows(Ctx& c, vault::Query query, bool all,
                                                 std::size_t page_no, bool& more) {
  std::vector<vault::RecordInfo> rows;
  std::string err;
  if (all) {
    query.limit = kPageRows + 1;
    query.offset = page_no * kPageRows;
    if (!d_.vault->list(query, rows, &err)) throw std::runtime_error(err);
  } else {
    query.limit = (page_no + 1) * kPageRows + 1;
    std::set<std::string> seen;
    std::vector<std::string> owners = c.user->emails;
    owners.push_back(c.user->login);
    for (const auto& owner : owners) {
      std::vector<vault::RecordInfo> part;
      query.recipient = owner;
      if (!d_.vault->list(query, part, &err)) throw std::runtime_error(err);
      for (auto& r : part) {
        if (seen.insert(r.id).second) rows.push_back(std::move(r));
      }
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.created != b.created ? a.created > b.created : a.id > b.id;
    });
    const std::size_t from = std::min(rows.size(), page_no * kPageRows);
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(from));
  }
  more = rows.size() > kPageRows;
  if (more) rows.resize(kPageRows);
  // Defence in depth: whatever the query returned, a row is shown only when maySee allows it.
  std::erase_if(rows, [&](const vault::RecordInfo& r) {
    return !vault::maySee(*c.user, r, directory().get()).allowed;
  });
  return rows;
}

std::string Console::listFilters(Ctx& c, const vault::Query& query, bool all, bool text_window) {
  const HttpRequest& q = c.req;
  std::string body = "<form method=\"get\" action=\"/items\" class=\"filters\">" +
                     input("q", q.param("q"), c.tr("件名・差出人・ファイル名", "Subject, sender, file")) +
                     input("sender", query.sender, c.tr("差出人（完全一致）", "Sender (exact)")) +
                     input("id", query.id_prefix, c.tr("受付番号", "ID")) +
                     input("reason", query.reason, c.tr("理由（reason 名）", "Reason (name)")) +
                     input("since", q.param("since"), c.tr("開始日", "From"), "date") +
                     input("until", q.param("until"), c.tr("終了日", "Until"), "date");
  body += "<label>" + c.tr("状態", "State") + "<select name=\"state\"><option value=\"\">" +
          c.tr("すべて", "any") + "</option>";
  for (const char* s : {"withheld", "requested", "approved", "denied", "released"}) {
    body += std::string("<option value=\"") + s + "\"" + (query.state == s ? " selected" : "") +
            ">" + stateWords(s, c.en) + "</option>";
  }
  body += "</select></label>";
  if (seesAll(*c.user)) {
    body += "<label class=\"check\"><input type=\"checkbox\" name=\"mine\" value=\"1\"" +
            std::string(all ? "" : " checked") + ">" + c.tr("自分宛てのみ", "Mine only") + "</label>";
  }
  body += "<button type=\"submit\">" + c.tr("検索", "Search") + "</button></form>";
  if (text_window) {
    body += "<p class=\"note\">" +
            (d_.vault->textIndexed()
                 ? c.tr("2文字以下の検索語には索引が使えないため、直近31日分を順に調べます（開始日を指定すると変えられます。3文字以上なら全期間を索引で検索します）。",
                        "A search text of one or two characters cannot use the index: the last 31 days are read (set a start date for more; three characters or more search every date through the index).")
                 : c.tr("この保管庫には検索用の索引がないため、件名・差出人・ファイル名の検索は直近31日分が対象です（開始日を指定すると変えられます）。",
                        "This vault has no search index: the subject/sender/file search covers the last 31 days (set a start date for more).")) +
            "</p>";
  }
  return body;
}

/// The items table (with the bulk form for the security admin).
std::string Console::listTable(Ctx& c, const std::vector<vault::RecordInfo>& rows, bool empty_account) {
  std::string body;
  if (empty_account) {
    body += "<p class=\"note\">" +
            c.tr("このアカウントにはメールアドレスが登録されていないため、表示できる項目がありません。",
                 "This account has no mail address in the directory, so no item is yours.") +
            "</p>";
  }
  const bool admin = c.user->role == vault::Role::SecurityAdmin;
  if (admin) body += "<form method=\"post\" action=\"/items/bulk\">" + csrfField(c);
  body += "<table class=\"items\"><thead><tr>" + std::string(admin ? "<th></th>" : "") + "<th>" +
          c.tr("受信日時", "Received") + "</th><th>" + c.tr("差出人", "Sender") + "</th><th>" +
          c.tr("件名 / ファイル", "Subject / file") + "</th><th>" + c.tr("理由", "Reason") +
          "</th><th>" + c.tr("取り出し", "Release") + "</th><th>" + c.tr("状態", "State") +
          "</th></tr></thead><tbody>";
  for (const auto& r : rows) {
    const std::string href = "/items/" + urlEncode(r.id);
    body += "<tr>";
    if (admin) {
      body += "<td><input type=\"checkbox\" name=\"id\" value=\"" + escapeAttr(r.id) +
              "\" aria-label=\"" + escapeAttr(r.id) + "\"></td>";
    }
    std::string subject = r.subject.empty() ? r.filename : r.subject;
    if (subject.empty()) subject = c.tr("（件名なし）", "(no subject)");
    body += "<td class=\"nowrap\">" + localTime(r.created) + "</td><td class=\"addr\">" +
            escapeHtml(r.envelope.sender.empty() ? "<>" : r.envelope.sender, false, 200) +
            "</td><td><a href=\"" + href + "\">" + escapeHtml(subject, false, 200) + "</a>" +
            (r.filename.empty() || r.subject.empty()
                 ? ""
                 : "<br><small>" + escapeHtml(r.filename, false, 200) + "</small>") +
            "</td><td>" + reasonWords(c, r.reason) + "<br><small class=\"code\">" +
            escapeHtml(r.reason, false, 100) + "</small></td><td>" + tierWords(r.tier, c.en) +
            "</td><td class=\"state-" + escapeAttr(r.state, 20) + "\">" +
            stateWords(r.state, c.en) + (r.hold ? c.tr("（保全）", " (hold)") : "") + "</td></tr>";
  }
  if (rows.empty()) {
    body += "<tr><td colspan=\"7\" class=\"empty\">" + c.tr("該当する項目はありません。", "No items.") +
            "</td></tr>";
  }
  body += "</tbody></table>";
  if (admin) {
    body += "<div class=\"bulk\">" + c.tr("選択した項目を", "Selected items: ") +
            "<button name=\"action\" value=\"hold\">" + c.tr("保全", "Hold") +
            "</button><button name=\"action\" value=\"unhold\">" + c.tr("保全解除", "Unhold") +
            "</button><button name=\"action\" value=\"release\">" +
            c.tr("原本を送付（承認）", "Release (approve)") + "</button></div></form>";
  }
  return body;
}

/// Paging links that keep the filters.
std::string Console::listPaging(Ctx& c, std::size_t page_no, bool more) {
  std::string keep;
  for (const char* k : {"q", "sender", "id", "reason", "state", "since", "until", "mine"}) {
    if (!c.req.param(k).empty()) keep += std::string("&amp;") + k + "=" + urlEncode(c.req.param(k));
  }
  std::string nav = "<nav class=\"pages\">";
  if (page_no > 0) {
    nav += "<a href=\"/items?page=" + std::to_string(page_no - 1) + keep + "\">" +
           c.tr("← 前へ", "← Newer") + "</a>";
  }
  nav += "<span>" + c.tr("ページ ", "Page ") + std::to_string(page_no + 1) + "</span>";
  if (more) {
    nav += "<a href=\"/items?page=" + std::to_string(page_no + 1) + keep + "\">" +
           c.tr("次へ →", "Older →") + "</a>";
  }
  return nav + "</nav>";
}

HttpResponse Console::approvalsPage(Ctx& c) {
  vault::Query query;
  query.state = "requested";
  query.limit = 500;
  std::vector<vault::RecordInfo> rows;
  std::string err;
  if (!d_.vault->list(query, rows, &err)) throw std::runtime_error(err);
  std::string body = "<table class=\"items\"><thead><tr><th>" + c.tr("申請日時", "Requested") +
                     "</th><th>" + c.tr("申請者", "Requester") + "</th><th>" +
                     c.tr("申請理由", "Their reason") + "</th><th>" + c.tr("件名 / ファイル", "Subject / file") +
                     "</th><th>" + c.tr("理由", "Reason") + "</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (const auto& r : rows) {
    std::vector<vault::Request> reqs;
    if (!d_.vault->requests(r.id, reqs, &err)) continue;
    for (const auto& rq : reqs) {
      if (rq.state != "pending") continue;
      vault::User storage;
      const vault::User* requester = lookup(rq.requester, storage);
      if (!vault::mayDecide(*c.user, requester, r, directory().get()).allowed) continue;
      ++shown;
      std::string subject = r.subject.empty() ? r.filename : r.subject;
      body += "<tr><td class=\"nowrap\">" + localTime(rq.created) + "</td><td>" +
              escapeHtml(rq.requester, false, 100) + "</td><td>" + escapeHtml(rq.reason, false, 300) +
              "</td><td><a href=\"/items/" + urlEncode(r.id) + "\">" +
              escapeHtml(subject.empty() ? r.id : subject, false, 200) + "</a></td><td>" +
              reasonWords(c, r.reason) + "</td></tr>";
    }
  }
  if (shown == 0) {
    body += "<tr><td colspan=\"5\" class=\"empty\">" +
            c.tr("承認を待っている申請はありません。", "No request is waiting for you.") + "</td></tr>";
  }
  body += "</tbody></table>";
  return page(c, c.tr("承認待ち", "Waiting for approval"), body);
}

HttpResponse Console::bulk(Ctx& c) {
  if (auto d = vault::mayAdminister(*c.user); !d.allowed) return refused(c, "bulk", "", d, 403);
  const std::string action = c.req.field("action");
  if (action != "hold" && action != "unhold" && action != "release") return notFound(c);
  std::size_t done = 0, failed = 0;
  for (const auto& id : c.req.fields("id")) {
    if (done + failed >= 1000) break;
    std::string err;
    auto r = d_.vault->get(id, &err);
    if (!r) {
      ++failed;
      continue;
    }
    bool ok = false;
    if (action == "release") {
      auto res = vault::requestOriginal(*d_.vault, *c.user, *r, "console: released by the security team");
      if (res.ok && res.state == "pending") {
        res = vault::decideRequest(*d_.vault, *c.user, *r, res.request.id, true, "console bulk release",
                                   d_.rules, directory().get(), nullptr);
      }
      ok = res.ok;
      if (ok && d_.after_change) d_.after_change(*r, res.request, res.state, *c.user);
    } else {
      ok = d_.vault->setHold(id, action == "hold", c.user->login,
                             vault::roleName(c.user->role), &err);
    }
    (ok ? done : failed) += 1;
  }
  return page(c, c.tr("一括操作", "Bulk action"),
              "<p>" + std::to_string(done) + c.tr(" 件を処理しました。", " item(s) done.") +
                  (failed ? " " + std::to_string(failed) + c.tr(" 件はできませんでした。", " failed.") : "") +
                  "</p><p><a href=\"/items\">" + c.tr("隔離一覧へ", "To the list") + "</a></p>");
}

HttpResponse Console::itemPage(Ctx& c, const std::string& id, const std::string& notice) {
  std::string err;
  auto r = d_.vault->get(id, &err);
  if (!r) return notFound(c);
  if (auto d = vault::maySee(*c.user, *r, directory().get()); !d.allowed) {
    return refused(c, "show", id, d, 404);  // the same answer as "no such item", audited
  }
  std::string body;
  if (!notice.empty()) body += "<p class=\"notice\">" + notice + "</p>";
  body += itemSummary(c, *r) + itemTexts(c, *r) + itemRequests(c, *r) + itemAdmin(c, *r);
  return page(c, c.tr("詳細", "Details"), body);
}

namespace {

std::string kvRow(const std::string& k, const std::string& v) {
  return "<tr><th>" + k + "</th><td>" + (v.empty() || v == " " ? "-" : v) + "</td></tr>";
}

}  // namespace

/// The summary, what was removed or rewritten (with each object's SHA-256) and the envelope.
std::string Console::itemSummary(Ctx& c, const vault::RecordInfo& r) {
  std::string body;
  auto row = kvRow;
  std::string rcpts;
  for (const auto& x : r.envelope.recipients) rcpts += escapeHtml(x, false, 300) + "<br>";
  std::string reasons;
  for (const auto& x : r.reasons) {
    reasons += reasonWords(c, x) + " <small class=\"code\">" + escapeHtml(x, false, 100) + "</small><br>";
  }
  body += "<section class=\"card\"><h2>" + c.tr("概要", "Summary") + "</h2><table class=\"kv\">" +
          row(c.tr("受付番号", "ID"), "<span class=\"code\">" + escapeHtml(r.id) + "</span>") +
          row(c.tr("受信日時", "Received"), localTime(r.created, true)) +
          row(c.tr("件名", "Subject"), escapeHtml(r.subject, false, 1000)) +
          (r.filename.empty() ? "" : row(c.tr("ファイル名", "File name"), escapeHtml(r.filename, false, 1000))) +
          row(c.tr("処置", "Outcome"), verdictWords(r.verdict, c.en)) +
          row(c.tr("理由", "Reason"), reasons.empty() ? reasonWords(c, r.reason) : reasons) +
          row(c.tr("取り出し", "Release"), tierWords(r.tier, c.en)) +
          row(c.tr("状態", "State"), stateWords(r.state, c.en) + (r.hold ? c.tr("（訴訟保全）", " (legal hold)") : "")) +
          row(c.tr("保存期限", "Kept until"), r.expires ? localTime(r.expires) : c.tr("無期限", "no limit")) +
          row(c.tr("原本", "Original"), std::to_string(r.size) + " bytes, SHA-256 <span class=\"code\">" +
                                            escapeHtml(r.sha256) + "</span>") +
          "</table></section>";
  body += "<section class=\"card\"><h2>" + c.tr("取り除いた・作り直したもの", "Removed or rewritten") +
          "</h2><table class=\"objects\"><thead><tr><th>" + c.tr("部分", "Part") + "</th><th>" +
          c.tr("対象", "Object") + "</th><th>" + c.tr("処置", "Action") + "</th><th>" +
          c.tr("理由", "Reason") + "</th><th>SHA-256</th></tr></thead><tbody>";
  for (const auto& o : r.objects) {
    body += "<tr><td class=\"code\">" + escapeHtml(o.part, false, 50) + "</td><td>" +
            escapeHtml(o.what, false, 300) + "</td><td>" + internal::actionWords(o.action, c.en) +
            "</td><td>" + reasonWords(c, o.reason) + "</td><td class=\"code hash\">" +
            (o.sha256.empty() ? "-" : escapeHtml(o.sha256, false, 64)) + "</td></tr>";
  }
  if (r.objects.empty()) {
    body += "<tr><td colspan=\"5\" class=\"empty\">" + c.tr("記録はありません。", "None recorded.") + "</td></tr>";
  }
  body += "</tbody></table></section>";
  body += "<section class=\"card\"><h2>" + c.tr("封筒（エンベロープ）", "Envelope") +
          "</h2><table class=\"kv\">" +
          row(c.tr("差出人", "Sender"), escapeHtml(r.envelope.sender.empty() ? "<>" : r.envelope.sender, false, 300)) +
          row(c.tr("宛先", "Recipients"), rcpts) +
          row("From", escapeHtml(r.from, false, 300)) +
          row(c.tr("送信元", "Client"), escapeHtml(r.envelope.client_addr, false, 100) + " " +
                                           escapeHtml(r.envelope.client_name, false, 200)) +
          row("HELO", escapeHtml(r.envelope.helo, false, 200)) +
          (r.envelope.source.empty() ? "" : row(c.tr("共有フォルダ", "Share path"), escapeHtml(r.envelope.source, false, 500))) +
          "</table></section>";
  return body;
}

/// The original's header block and the delivered body, both as text (mail only).
std::string Console::itemTexts(Ctx& c, const vault::RecordInfo& r) {
  const std::string& id = r.id;
  std::string body, err;
  // The header block of the original mail, as text (the console reads no further: no body, no
  // attachment is parsed or rendered).
  if (r.kind == "mail" && r.size <= kHeaderOriginalLimit) {
    std::string original;
    if (d_.vault->original(id, original, &err)) {
      std::size_t end = original.find("\r\n\r\n");
      if (end == std::string::npos) end = original.find("\n\n");
      std::string head = original.substr(0, std::min<std::size_t>(end, 32 * 1024));
      std::erase(head, '\r');
      body += "<section class=\"card\"><h2>" + c.tr("ヘッダー（原本のまま・文字として表示）", "Headers (as received, shown as text)") +
              "</h2><pre class=\"headers\">" + escapeHtml(head, true, 32 * 1024) + "</pre></section>";
    }
  }
  // The sanitized text body as it was delivered (stored by the disposition layer; the console
  // parses nothing): escaped, in a <pre>, never markup.
  if (r.kind == "mail") {
    body += "<section class=\"card\"><h2>" +
            c.tr("本文（無害化後・配送されたもの・文字として表示）", "Body (sanitized, as delivered, shown as text)") +
            "</h2>";
    if (!r.body_text.empty()) {
      body += "<pre class=\"body-text\">" + escapeHtml(r.body_text, true, kBodyTextShown) + "</pre>";
    } else {
      body += "<p class=\"note\">" +
              (r.verdict == "blocked"
                   ? c.tr("このメールは配送されていないため、本文はありません。",
                          "This message was not delivered: there is no delivered body.")
                   : c.tr("本文は記録されていません（本文のないメール、または記録する設定のない時期のもの）。",
                          "No body text was recorded (a message without one, or recorded before bodies were kept).")) +
              "</p>";
    }
    body += "</section>";
  }
  return body;
}

/// The requests and decisions, and the forms this user may use now (request, PPAP, decide).
std::string Console::itemRequests(Ctx& c, const vault::RecordInfo& r) {
  const std::string& id = r.id;
  std::vector<vault::Request> reqs;
  std::string err;
  d_.vault->requests(id, reqs, &err);
  std::string body;
  // Requests and decisions, and what this user may do now.
  body += "<section class=\"card\"><h2>" + c.tr("原本の申請", "Requests for the original") + "</h2>";
  if (!reqs.empty()) {
    body += "<table class=\"items\"><thead><tr><th>#</th><th>" + c.tr("申請者", "Requester") +
            "</th><th>" + c.tr("申請理由", "Reason") + "</th><th>" + c.tr("状態", "State") +
            "</th><th>" + c.tr("判断", "Decision") + "</th></tr></thead><tbody>";
    for (const auto& q : reqs) {
      body += "<tr><td>" + std::to_string(q.id) + "</td><td>" + escapeHtml(q.requester, false, 100) +
              "<br><small>" + localTime(q.created) + "</small></td><td>" +
              escapeHtml(q.reason, false, 1000) + "</td><td>" + stateWords(q.state, c.en) +
              "</td><td>" + escapeHtml(q.decided_by, false, 100) +
              (q.decision_reason.empty() ? "" : "：" + escapeHtml(q.decision_reason, false, 1000)) +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  const vault::Request* pending = nullptr;
  for (const auto& q : reqs) {
    if (q.state == "pending" && !pending) pending = &q;
  }
  bool mine_pending = false;
  for (const auto& q : reqs) mine_pending |= q.state == "pending" && q.requester == c.user->login;
  if (vault::mayRequest(*c.user, r).allowed && !mine_pending && r.state != "approved" &&
      r.state != "released") {
    body += "<form method=\"post\" action=\"/items/" + urlEncode(id) + "/request\" class=\"action\">" +
            csrfField(c) + "<label>" + c.tr("原本が必要な理由", "Why you need the original") +
            "<textarea name=\"reason\" required maxlength=\"1000\" rows=\"3\"></textarea></label>"
            "<button type=\"submit\">" + c.tr("原本を申請する", "Request the original") + "</button></form>";
  }
  if (!d_.mugai_binary.empty() && mayOfferUnlock(*c.user, r)) {
    body += "<form method=\"post\" action=\"/items/" + urlEncode(id) + "/unlock\" class=\"action\" "
            "autocomplete=\"off\">" + csrfField(c) + "<label>" +
            c.tr("パスワード付きファイル（PPAP）のパスワード", "Password of the protected file (PPAP)") +
            "<input type=\"password\" name=\"password\" required maxlength=\"1024\" autocomplete=\"off\">"
            "</label><button type=\"submit\">" + c.tr("解除して無害化したものを受け取る", "Open it and receive it sanitized") +
            "</button><p class=\"note\">" +
            c.tr("パスワードは保存も記録もされません。解除した内容は無害化してから送られます。誤ったパスワードは回数が数えられ、上限を超えると解除できなくなります。",
                 "The password is neither stored nor logged. What it opens is sanitized before it is sent. Wrong passwords are counted; past the limit the item can no longer be opened here.") +
            "</p></form>";
  }
  if (pending) {
    vault::User storage;
    const vault::User* requester = lookup(pending->requester, storage);
    if (vault::mayDecide(*c.user, requester, r, directory().get()).allowed) {
      body += "<form method=\"post\" action=\"/items/" + urlEncode(id) + "/decide\" class=\"action\">" +
              csrfField(c) + "<input type=\"hidden\" name=\"request\" value=\"" +
              std::to_string(pending->id) + "\"><label>" +
              c.tr("判断の理由（却下では必須）", "Reason (required to deny)") +
              "<textarea name=\"reason\" maxlength=\"1000\" rows=\"2\"></textarea></label>"
              "<button type=\"submit\" name=\"decision\" value=\"approve\">" +
              c.tr("承認する", "Approve") + "</button><button type=\"submit\" name=\"decision\" "
              "value=\"deny\" class=\"danger\">" + c.tr("却下する", "Deny") + "</button></form>";
    }
  }
  body += "</section>";
  return body;
}

/// Hold and the original's download, for the security admin.
std::string Console::itemAdmin(Ctx& c, const vault::RecordInfo& r) {
  const std::string& id = r.id;
  std::string body;
  if (c.user->role == vault::Role::SecurityAdmin) {
    body += "<section class=\"card\"><h2>" + c.tr("管理", "Administration") + "</h2>"
            "<form method=\"post\" action=\"/items/" + urlEncode(id) + "/hold\" class=\"inline\">" +
            csrfField(c) + "<input type=\"hidden\" name=\"hold\" value=\"" + (r.hold ? "0" : "1") +
            "\"><button type=\"submit\">" +
            (r.hold ? c.tr("保全を解除", "Lift the legal hold") : c.tr("訴訟保全する", "Put on legal hold")) +
            "</button></form> <a class=\"button\" href=\"/items/" + urlEncode(id) + "/original\">" +
            c.tr("原本をファイルとして保存（記録されます）", "Download the original as a file (audited)") +
            "</a><p class=\"note\">" +
            c.tr("原本は無害化前のものです。この端末では開かないでください。",
                 "The original is unsanitized: do not open it on this PC.") +
            "</p></section>";
  }
  return body;
}

HttpResponse Console::itemAction(Ctx& c, const std::string& id, const std::string& action) {
  std::string err;
  auto r = d_.vault->get(id, &err);
  if (!r) return notFound(c);
  if (auto d = vault::maySee(*c.user, *r, directory().get()); !d.allowed) {
    return refused(c, action, id, d, 404);
  }
  std::string reason = c.req.field("reason");
  if (reason.size() > 1000) reason.resize(1000);
  if (action == "request") return requestAction(c, *r, reason);
  if (action == "decide") return decideAction(c, *r, reason);
  if (action == "unlock") return unlockAction(c, *r);
  if (action == "hold") {
    if (auto d = vault::mayAdminister(*c.user); !d.allowed) return refused(c, "hold", id, d, 403);
    const bool hold = c.req.field("hold") == "1";
    if (!d_.vault->setHold(id, hold, c.user->login, vault::roleName(c.user->role), &err)) {
      return itemPage(c, id, escapeHtml(err));
    }
    return itemPage(c, id, hold ? c.tr("訴訟保全にしました。", "On legal hold.")
                                : c.tr("保全を解除しました。", "Hold lifted."));
  }
  return notFound(c);
}

HttpResponse Console::requestAction(Ctx& c, const vault::RecordInfo& r, const std::string& reason) {
  const std::string& id = r.id;
  if (reason.empty()) {
    return itemPage(c, id, c.tr("申請には理由が必要です。", "A request needs a reason."));
  }
  auto res = vault::requestOriginal(*d_.vault, *c.user, r, reason);
  if (res.refused) return refused(c, "request", id, res.decision, 403);
  if (!res.ok) return itemPage(c, id, escapeHtml(res.error));
  if (d_.after_change) d_.after_change(r, res.request, res.state, *c.user);
  return itemPage(c, id, res.state == "approved"
                             ? c.tr("申請は認められました。", "Your request was granted.")
                             : c.tr("申請しました。承認をお待ちください。",
                                    "Requested: it waits for approval."));
}

HttpResponse Console::decideAction(Ctx& c, const vault::RecordInfo& r, const std::string& reason) {
  const std::string& id = r.id;
  const std::string decision = c.req.field("decision");
  if (decision != "approve" && decision != "deny") return notFound(c);
  const bool approve = decision == "approve";
  if (!approve && reason.empty()) {
    return itemPage(c, id, c.tr("却下には理由が必要です。", "A denial needs a reason."));
  }
  std::int64_t request_id = 0;
  const std::string rq = c.req.field("request");
  if (!rq.empty() && rq.size() < 18 && rq.find_first_not_of("0123456789") == std::string::npos) {
    request_id = std::stoll(rq);
  }
  auto look = [this](const std::string& login) -> const vault::User* {
    thread_local vault::User storage;
    return lookup(login, storage);
  };
  auto res = vault::decideRequest(*d_.vault, *c.user, r, request_id, approve, reason, d_.rules,
                                  directory().get(), look);
  if (res.refused) return refused(c, decision, id, res.decision, 403);
  if (!res.ok) return itemPage(c, id, escapeHtml(res.error));
  if (d_.after_change) d_.after_change(r, res.request, res.state, *c.user);
  return itemPage(c, id, res.state == "approved" ? c.tr("承認しました。", "Approved.")
                         : res.state == "denied" ? c.tr("却下しました。", "Denied.")
                                                 : c.tr("承認しました（ほかの承認者の承認を待っています）。",
                                                        "Approved (waiting for the other approvers)."));
}

HttpResponse Console::unlockAction(Ctx& c, const vault::RecordInfo& r) {
  const std::string& id = r.id;
  // PPAP: `mugai vault unlock` does it (who gets it, the wrong-password limit, the audit rows
  // unlock.wrong / unlock / refused, the engine on what the password opens): the console parses
  // nothing and keeps no second copy of those rules. The password goes to its stdin only (never
  // argv, a file, a log) and is wiped here after.
  if (d_.mugai_binary.empty()) return notFound(c);
  if (!mayOfferUnlock(*c.user, r)) {
    return refused(c, "unlock", id,
                   r.kind == "file"
                       ? vault::Decision{false, "この項目の持ち主ではないため、解除できません。",
                                         "only the user whose folder this file came from (or the "
                                         "security admin) may unlock it."}
                       : vault::Decision{false, "この項目の宛先ではないため、解除できません。",
                                         "only a recipient of this item (or the security admin) "
                                         "may unlock it."},
                   403);
  }
  std::string password = c.req.field("password");
  if (password.empty() || password.size() > 1024 || password.find_first_of("\r\n") != std::string::npos) {
    wipeSecret(password);
    return itemPage(c, id, c.tr("パスワードを入力してください（改行を含まない1024バイトまで）。",
                                "Enter the password (up to 1,024 bytes, no line breaks)."));
  }
  std::vector<std::string> argv{d_.mugai_binary, "vault", "--vault", d_.vault->url(), "--by", c.user->login};
  for (const auto& e : c.user->emails) {  // an LDAP user the rules' directory lacks (vault_cmd)
    argv.push_back("--by-email");
    argv.push_back(e);
  }
  if (!d_.config.rules.empty()) {
    argv.push_back("--rules");
    argv.push_back(d_.config.rules);
  }
  argv.push_back("unlock");
  argv.push_back(id);
  argv.push_back("--password-file");
  argv.push_back("-");
  password += "\n";
  std::string out;
  const int rc = internal::runCaptured(argv, out, 120, &password);
  wipeSecret(password);
  if (rc == 0) {
    return itemPage(c, id, (r.kind == "file"
                                ? c.tr("解除しました。無害化した内容を受け取りフォルダー（outbox）に置きます。",
                                       "Opened: the sanitized content goes to the owner's outbox folder.")
                                : c.tr("解除しました。無害化した内容をあなた宛てに送ります。",
                                       "Opened: the sanitized content is on its way to you.")) +
                               "<pre>" + escapeHtml(out, true, 4096) + "</pre>");
  }
  return itemPage(c, id, (rc == 3 ? c.tr("解除できませんでした。", "Not opened.")
                                  : c.tr("解除に失敗しました。", "Unlock failed.")) +
                             "<pre>" + escapeHtml(out, true, 4096) + "</pre>");
}

HttpResponse Console::original(Ctx& c, const std::string& id) {
  std::string err;
  auto r = d_.vault->get(id, &err);
  if (!r) return notFound(c);
  if (auto d = vault::mayAdminister(*c.user); !d.allowed) {
    const bool sees = vault::maySee(*c.user, *r, directory().get()).allowed;
    return refused(c, "download", id, d, sees ? 403 : 404);
  }
  HttpResponse out;
  if (!d_.vault->original(id, out.body, &err)) throw std::runtime_error(err);
  audit(c, "download", id, "original, " + std::to_string(out.body.size()) + " bytes, sha256 " + r->sha256);
  out.content_type = "application/octet-stream";
  // Our own name (the ID), never the sender's: a sender-chosen name never reaches a header.
  std::string safe;
  for (char ch : id) safe += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  out.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + safe + (r->kind == "mail" ? ".eml" : ".bin") +
                               ".orig\"");
  out.headers.emplace_back("Cache-Control", "no-store");
  return out;
}

}  // namespace mugai::console
