// Notification mails and the steps after a request or a decision (notify.h).
#include "src/notify/notify.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "src/notify/mail.h"

namespace mugai::release {
namespace {

std::string systemHost() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Subject and body of one notice, Japanese first.
struct Wording {
  std::string subject, ja, en;
};

Wording wording(Event e, const vault::RecordInfo& r, const vault::Request* q,
                const std::string& detail) {
  const std::string who = q ? quoteLine(q->requester, 80) : "";
  switch (e) {
    case Event::Waiting:
      return {"[mugai] 原本の申請が承認を待っています / A request for an original waits for you",
              who + " さんが、保留中の原本の受け取りを申請しました。内容を確認し、承認または却下してください。",
              who + " asked for a withheld original. Please look at the request and approve or deny it."};
    case Event::Approved:
      return {"[mugai] 原本の申請が承認されました / Your request was approved",
              "あなたの申請は承認されました。原本は解除時の再検査のあと、このアドレスに届けられます。",
              "Your request was approved. The original is checked again and then delivered to this address."};
    case Event::Denied:
      return {"[mugai] 原本の申請が却下されました / Your request was denied",
              "あなたの申請は却下されました。",
              "Your request was denied."};
    case Event::Released:
      return {"[mugai] 原本をお届けしました / The original was delivered",
              "保留されていた原本を、このアドレスに別のメールでお届けしました（件名の先頭に「[mugai 解除]」）。",
              "The withheld original was delivered to this address in a separate mail (subject starting \"[mugai 解除]\")."};
    case Event::Refused:
      return {"[mugai] 原本の解除は中止されました / The release was refused",
              "解除時の再検査で問題が見つかったため、原本はお届けしません。必要な場合は問い合わせ先に連絡してください。",
              "The check at release found a problem, so the original is not delivered. Ask the contact below if you need it."};
    case Event::Failed:
      return {"[mugai] 原本をお届けできませんでした / The original could not be delivered",
              "宛先のメールサーバーが受け取りを拒否したため、原本をお届けできませんでした。問い合わせ先に連絡してください。",
              "The mail server refused the delivery, so the original was not delivered. Please ask the contact below."};
  }
  (void)r;
  (void)detail;
  return {};
}

std::string body(Event e, const vault::RecordInfo& r, const vault::Request* q,
                 const NoticeOptions& o, const std::string& detail) {
  const Wording w = wording(e, r, q, detail);
  std::string t = w.ja + "\n\n";
  t += "  ID:        " + r.id + "\n";
  t += "  受信 / Received: " + shownTime(r.created) + "\n";
  t += "  差出人 / From:   " + quoteLine(r.envelope.sender.empty() ? "<>" : r.envelope.sender, 200) + "\n";
  if (!r.subject.empty()) t += "  件名 / Subject:  " + quoteLine(r.subject, 200) + "\n";
  if (!r.filename.empty()) t += "  ファイル / File: " + quoteLine(r.filename, 200) + "\n";
  t += "  保留の理由 / Why it was kept: " + quoteLine(r.reason, 80) + "\n";
  if (q) {
    t += "  申請 / Request: #" + std::to_string(q->id) + " " + quoteLine(q->requester, 80) + ": " +
         quoteLine(q->reason, 300) + "\n";
  }
  if (!detail.empty()) t += "  詳細 / Detail: " + quoteLine(detail, 300) + "\n";
  if (!o.console_url.empty()) {
    std::string base = o.console_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    t += "\n  " + base + "/items/" + r.id + "\n";  // the console's page of the item
  }
  if (!o.contact_ja.empty() || !o.contact_en.empty()) {
    t += "\n問い合わせ先: " + o.contact_ja + "\n";
  }
  t += "\n----\n" + w.en + "\n";
  if (!o.contact_en.empty()) t += "\nContact: " + o.contact_en + "\n";
  t += "\n(このメールは mugai が自動で送っています / sent automatically by mugai)\n";
  return t;
}

}  // namespace

const char* eventName(Event e) {
  switch (e) {
    case Event::Waiting: return "waiting";
    case Event::Approved: return "approved";
    case Event::Denied: return "denied";
    case Event::Released: return "released";
    case Event::Refused: return "refused";
    case Event::Failed: return "failed";
  }
  return "waiting";
}

std::string noticeMessage(Event event, const vault::RecordInfo& record,
                          const vault::Request* request, const std::string& to,
                          const NoticeOptions& o, std::int64_t now, const std::string& detail) {
  OutgoingMail m;
  m.message_id_domain = o.hostname.empty() ? systemHost() : o.hostname;
  m.from = o.sender.empty() ? "mugai@" + m.message_id_domain : o.sender;
  m.to = to;
  m.subject = wording(event, record, request, detail).subject;
  m.date = now;
  m.extra = {{"X-Mugai-Notice", std::string(eventName(event)) + "; id=" + record.id}};
  return textMail(m, body(event, record, request, o, detail));
}

bool queueNotices(vault::Vault& v, Event event, const vault::RecordInfo& record,
                  const vault::Request* request, const std::vector<std::string>& to,
                  const NoticeOptions& o, const std::string& detail, const std::string& key,
                  std::string* error) {
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& addr : to) {
    vault::ReleaseOrder n;
    n.record_id = record.id;
    n.kind = "notice";
    n.recipients = {addr};
    n.payload = noticeMessage(event, record, request, addr, o, now, detail);
    n.dedup = "notice:" + std::string(eventName(event)) + ":" + key + ":" + lower(addr);
    n.note = std::string("event=") + eventName(event);
    vault::ReleaseJob job;
    std::string err;
    if (!v.queueRelease(n, "mugai", "system", job, &err)) {
      if (err.find("queued already") != std::string::npos) continue;  // sent once
      if (error) *error = err;
      return false;
    }
  }
  return true;
}

std::vector<std::string> addressesOf(const vault::Directory* d, const std::string& login) {
  if (!d) return {};
  const vault::User* u = d->find(login);
  return u ? u->emails : std::vector<std::string>{};
}

std::string requesterAddress(const vault::Directory* d, const vault::RecordInfo& record,
                             const std::string& requester) {
  const auto mine = addressesOf(d, requester);
  for (const auto& a : mine) {
    for (const auto& r : record.envelope.recipients) {
      if (lower(r) == lower(a)) return r;
    }
  }
  return mine.empty() ? "" : mine.front();
}

bool afterRequest(vault::Vault& v, const vault::Directory* d, const vault::RecordInfo& record,
                  const vault::Request& request, const NoticeOptions& o, std::string* error) {
  if (!d) return true;
  std::vector<std::string> to;
  auto add = [&](const vault::User& u) {
    for (const auto& e : u.emails) {
      if (std::find(to.begin(), to.end(), e) == to.end()) to.push_back(e);
    }
  };
  if (record.tier == vault::Tier::Admin) {
    for (const auto& u : d->users()) {
      if (u.role == vault::Role::SecurityAdmin && !u.disabled) add(u);
    }
  } else if (const vault::User* requester = d->find(request.requester)) {
    for (const auto& login : d->approversFor(*requester)) {
      if (const vault::User* a = d->find(login); a && !a->disabled) add(*a);
    }
  }
  return queueNotices(v, Event::Waiting, record, &request, to, o, "",
                      "request=" + std::to_string(request.id), error);
}

bool afterDecision(vault::Vault& v, const vault::Directory* d, const vault::RecordInfo& record,
                   const vault::Request& request, const std::string& state,
                   const std::string& actor, const std::string& role, const NoticeOptions& o,
                   std::string* error, vault::ReleaseJob* job) {
  const std::string key = "request=" + std::to_string(request.id);
  const std::string to = requesterAddress(d, record, request.requester);
  if (state == "denied") {
    return to.empty() || queueNotices(v, Event::Denied, record, &request, {to}, o,
                                      request.decision_reason, key, error);
  }
  if (state != "approved") return true;
  if (to.empty()) return true;  // no address to send to: the admin releases with --to
  vault::ReleaseOrder order;
  order.record_id = record.id;
  order.request_id = request.id;
  order.recipients = {to};
  vault::ReleaseJob queued;
  if (!v.queueRelease(order, actor, role, queued, error)) return false;
  if (job) *job = queued;
  return queueNotices(v, Event::Approved, record, &request, {to}, o, "", key, error);
}

}  // namespace mugai::release
