// File drop: scanning, claiming into processing/, sanitizing, delivery, quarantine, recovery.
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "mugai/io/store.h"
#include "mugai/text/charset.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "src/filedrop/filedrop.h"

namespace mugai::filedrop {
namespace {

namespace fs = std::filesystem;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void logLine(const std::string& s) { std::cerr << "mugai filedrop: " << s << std::endl; }

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) o += {d[c >> 4], d[c & 15]};
  return o;
}

std::string unhex(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    o += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  }
  return o;
}

/// The processing record: where the file came from and the output names chosen for it.
struct Meta {
  std::string rel, name, out, note;
};

std::string sha256(const std::string& data) {
  Poco::SHA2Engine e(Poco::SHA2Engine::SHA_256);
  e.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(e.digest());
}

std::string readFd(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// The inbox path <rel>/<name> as text: each component decoded (decodeName), and whether a
/// folder or the file name was not UTF-8.
struct ShownPath {
  std::string folder, name;  ///< UTF-8: "/user3/案件", "売上.txt"
  bool folder_converted = false, name_converted = false, lossy = false;
  std::string charset;  ///< of the first component that was not UTF-8
};

ShownPath shownPath(const std::string& rel, const std::string& name) {
  ShownPath p;
  auto note = [&p](const DecodedName& d) {
    p.lossy = p.lossy || d.lossy;
    if (p.charset.empty()) p.charset = d.charset;
  };
  for (const auto& part : fs::path(rel)) {
    if (part.empty() || part == "." || part == "/") continue;
    DecodedName d = decodeName(part.string());
    p.folder += "/" + d.utf8;
    p.folder_converted = p.folder_converted || d.converted();
    note(d);
  }
  DecodedName d = decodeName(name);
  p.name = d.utf8;
  p.name_converted = d.converted();
  note(d);
  return p;
}

/// The outbox folder mirroring inbox/<rel>: each component decoded, then made safe for the other
/// side.
std::string safeRel(const std::string& rel) {
  std::string out;
  for (const auto& part : fs::path(rel)) {
    if (part.empty() || part == "." || part == "/") continue;
    out += "/" + sanitizers::filename_sanitize::sanitizeFilename(decodeName(part.string()).utf8);
  }
  return out;
}

enum class NoteKind { Changed, Renamed, Blocked, Refused };

/// The note staff read beside (or instead of) the file, Japanese then English. `reasons` are
/// reason names, worded from the rules texts; nothing internal is shown. Names are shown with
/// bidi and control characters visible (<U+202E>).
std::string noteText(NoteKind kind, const ShownPath& source, const std::string& delivered,
                     const std::string& id, const std::vector<std::string>& reasons,
                     const policy::Notice& wording) {
  using sanitizers::filename_sanitize::visibleName;
  std::string t;
  switch (kind) {
    case NoteKind::Changed:
      t += "このファイルは無害化されました。内容の一部が変更または削除されています。\r\n"
           "This file was sanitized: some content was changed or removed.\r\n";
      break;
    case NoteKind::Renamed:
      t += "このファイルの内容は変更されていません。ファイル名だけを安全な名前に変更しました。\r\n"
           "The content of this file is unchanged; only its name was made safe.\r\n";
      break;
    case NoteKind::Blocked:
      t += "このファイルは無害化できなかったため、届けられませんでした。\r\n"
           "This file could not be made safe and was not delivered.\r\n";
      break;
    case NoteKind::Refused:
      t += "このファイルは受け付けられませんでした。\r\n"
           "This entry was not accepted and was not delivered.\r\n";
      break;
  }
  t += "\r\n元のファイル名 / Original name: " + visibleName(source.name) + "\r\n";
  if (!delivered.empty()) t += "届いたファイル / Delivered as: " + visibleName(delivered) + "\r\n";
  t += "受付番号 / Reference: " + id + "\r\n";
  // In words staff understand, from the same rules texts as the mail notice: Japanese from
  // notice.reasons, English from the reason table.
  for (const auto& name : reasons) {
    Reason r = reasonByName(name).value_or(Reason::InternalError);
    auto ja = wording.reason_ja.find(name);
    std::string en(reasonInfo(r).public_text);
    t += "・" + (ja != wording.reason_ja.end() ? ja->second : en) + " / " + en + "\r\n";
  }
  if (source.name_converted || source.folder_converted) {
    std::string what_ja = source.name_converted && source.folder_converted
                              ? "ファイル名とフォルダー名"
                          : source.name_converted ? "ファイル名"
                                                  : "フォルダー名";
    std::string what_en = source.name_converted && source.folder_converted ? "file and folder names"
                          : source.name_converted                          ? "file name"
                                                                           : "folder name";
    std::string was = source.name_converted && source.folder_converted ? " were" : " was";
    std::string cs = source.charset == "CP932" ? "CP932 (Shift_JIS)" : source.charset;
    if (source.lossy) {
      t += "・" + what_ja +
           "に文字として読めない部分があったため「\xEF\xBF\xBD」に置き換えました / The " + what_en +
           " contained bytes that are neither UTF-8 nor Shift_JIS text; they were " +
           "replaced with \"\xEF\xBF\xBD\".\r\n";
    } else {
      t += "・" + what_ja + "の文字コード（" + cs + "）をUTF-8に変換しました / The " + what_en +
           was + " not UTF-8; converted from " + cs + ".\r\n";
    }
  }
  t += "\r\n原本は隔離フォルダに保管されています。必要な場合は管理者に受付番号をお知らせください。"
       "\r\n";
  t += "The original is kept in quarantine; give the reference to the administrator if needed.\r\n";
  return t;
}

/// A file seen ready in the inbox.
struct Found {
  std::string rel, name;
  std::uint64_t size = 0;
};

/// One file of a batch, from its claim to its removal from processing/.
struct Item {
  std::string id;
  Meta m;
  ShownPath shown;  ///< m.rel and m.name as text (set by prepare)
  enum class State { Claimed, Refused, Delivering, Done, Failed } state = State::Claimed;
  std::string why;  ///< Refused: why the entry is not a plain file (log and quarantine only)
  Reason refusal = Reason::InternalError;  ///< Refused: the reason staff are told
  std::string data;
  ProcessResult r;
  ItemProcessorConstSharedPtr eng;
  bool blocked = false, changed = false;
};

/// The "source" of a quarantine record (the inbox path as text) and, for a name that was not
/// UTF-8, its raw bytes in hex: the exact name can always be found again.
std::string sourceJson(const Item& item) {
  const ShownPath& p = item.shown;
  std::string j = "\"source\":" + jsonString(p.folder + "/" + p.name, 4096);
  if (p.name_converted) j += ",\"source_name_hex\":\"" + hex(item.m.name) + "\"";
  if (p.folder_converted) j += ",\"source_folder_hex\":\"" + hex(item.m.rel) + "\"";
  if (p.name_converted || p.folder_converted) {
    j += ",\"source_charset\":\"" + (p.lossy ? std::string("unknown") : p.charset) + "\"";
  }
  return j;
}

/// The inbox path for a log line: bidi and control characters shown as <U+XXXX>.
std::string shownForLog(const Item& item) {
  return sanitizers::filename_sanitize::visibleName(item.shown.folder + "/" + item.shown.name);
}

/// Temporaries of a write cut short by a crash (never renamed or linked into place).
void removeTemporaries(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(".mugai-tmp-", 0) == 0) fs::remove(it->path(), ec);
  }
}

}  // namespace

struct Service::Impl {
  Options o;
  EngineGetter engine;
  int inotify_fd = -1;
  std::map<std::string, int> watched;
  std::map<std::string, Observation> seen;
  std::mutex deliver_mutex;        ///< guards `reserved`
  std::set<std::string> reserved;  ///< outbox paths chosen by a worker, not linked yet
  std::atomic<bool> lease_warned{false};
  std::set<std::string> unreadable;  ///< inbox folders that could not be listed (logged once each)
  /// Files whose handling failed (engine tempfail, outbox unwritable): retried with backoff
  /// (1 s, 2 s, 4 s ... 5 min), never dropped. Guarded by deliver_mutex.
  struct Retry {
    int attempts = 0;
    std::int64_t next_ms = 0;
  };
  std::map<std::string, Retry> retries;
  void failed(const std::string& id, const std::string& why) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    Retry& r = retries[id];
    ++r.attempts;
    std::int64_t wait = std::min<std::int64_t>(300000, 1000LL << std::min(r.attempts - 1, 9));
    r.next_ms = nowMs() + wait;
    logLine(id + " " + why + " (attempt " + std::to_string(r.attempts) + ", next in " +
            std::to_string(wait / 1000) + " s; the file stays in processing/)");
  }

  /// A free outbox name, reserved until release(): workers never pick the same one.
  std::string reserve(const std::string& dir, const std::string& name) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    std::string c = pickFreeName(
        dir, name, [&](const std::string& n) { return reserved.count(dir + "/" + n) > 0; });
    reserved.insert(dir + "/" + c);
    return c;
  }
  void release(const std::string& dir, const Meta& m) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    reserved.erase(dir + "/" + m.out);
    reserved.erase(dir + "/" + m.note);
  }

  std::string metaPath(const std::string& id) const { return o.processing + "/" + id + ".meta"; }

  bool writeMeta(const std::string& id, const Meta& m, io::Sync sync) const {
    std::string e;
    return io::writeFileAtomic(
        metaPath(id),
        hex(m.rel) + "\n" + hex(m.name) + "\n" + hex(m.out) + "\n" + hex(m.note) + "\n", &e, 0600,
        sync);
  }

  bool readMeta(const std::string& id, Meta& m) const {
    int fd = open(metaPath(id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    std::string s = readFd(fd);
    close(fd);
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t p; (p = s.find('\n', start)) != std::string::npos; start = p + 1) {
      f.push_back(unhex(s.substr(start, p - start)));
    }
    if (f.size() != 4) return false;
    m = Meta{f[0], f[1], f[2], f[3]};
    return true;
  }

  void watch(const std::string& rel) {
    if (inotify_fd < 0 || watched.count(rel)) return;
    int wd = inotify_add_watch(inotify_fd, (o.inbox + rel).c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB | IN_ONLYDIR);
    if (wd >= 0) watched[rel] = wd;
  }

  void scan(const std::string& rel, std::vector<Found>& ready,
            std::map<std::string, Observation>& next);
  bool claim(const Found& f, Item& item);
  void prepare(Item& item);
  void deliver(Item& item);
  void finish(Item& item);
  std::vector<std::string> recoverable();
  bool sync(std::initializer_list<const std::string*> dirs);
};

void Service::Impl::scan(const std::string& rel, std::vector<Found>& ready,
                         std::map<std::string, Observation>& next) {
  watch(rel);
  DIR* d = opendir((o.inbox + rel).c_str());
  if (!d) {
    // A folder the service may not list (Samba's directory mask without read for its group, no
    // CAP_DAC_READ_SEARCH) would hold files forever without a word: say so, once per folder.
    int err = errno;
    if (err != ENOENT && unreadable.insert(rel).second) {
      logLine("cannot read inbox folder " +
              (rel.empty() ? std::string("/") : text::logEscape(rel)) + ": " + std::strerror(err) +
              " (its files wait there; give the service read access, docs/filedrop.md)");
    }
    return;
  }
  unreadable.erase(rel);
  std::vector<std::string> dirs;
  const std::int64_t now = nowMs();
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(".mugai-", 0) == 0) continue;
    struct stat st {};
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      dirs.push_back(rel + "/" + name);
      continue;
    }
    std::string key = rel + "/" + name;
    if (!refusalReason(st).empty()) {  // links, FIFOs, devices: taken at once, refused after
      ready.push_back({rel, name, 0});
      continue;
    }
    Observation ob = seen.count(key) ? seen[key] : Observation{};
    std::int64_t mt = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    bool stable = observeStable(ob, st.st_size, mt, now, o.settle_ms);
    if (stable) {
      Writers w = probeWriters(dirfd(d), name);
      if (w == Writers::Busy) {
        stable = false;  // still open for writing: wait for the close, then settle again
        ob.stable_since_ms = now;
      } else if (w == Writers::Unknown && !lease_warned.exchange(true)) {
        logLine(
            "cannot probe for writers (leases need file ownership or CAP_LEASE, and a local "
            "filesystem): relying on filedrop_settle_ms alone");
      }
    }
    if (stable) {
      ready.push_back({rel, name, static_cast<std::uint64_t>(st.st_size)});
    } else {
      next[key] = ob;
    }
  }
  closedir(d);
  for (const auto& sub : dirs) scan(sub, ready, next);
}

bool Service::Impl::sync(std::initializer_list<const std::string*> dirs) {
  std::vector<std::string> list;
  for (const auto* d : dirs) list.push_back(*d);
  std::string err;
  if (io::syncFilesystems(list, &err)) return true;
  logLine("cannot make the batch durable, it stays in processing: " + err);
  return false;
}

/// Step 1 (before the batch's first syncfs): the record; step 2 (after it): the rename.
bool Service::Impl::claim(const Found& f, Item& item) {
  item.id = newItemId();
  item.m = Meta{f.rel, f.name, "", ""};
  if (!writeMeta(item.id, item.m, io::Sync::Deferred)) {
    logLine("cannot write " + metaPath(item.id));
    return false;
  }
  return true;
}

/// Reads the claimed file, runs the engine, reserves the output names and records them.
void Service::Impl::prepare(Item& item) {
  if (!readMeta(item.id, item.m)) {
    item.state = Item::State::Failed;
    return;
  }
  item.shown = shownPath(item.m.rel, item.m.name);
  int pfd = open(o.processing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = pfd >= 0 ? openClaimed(pfd, item.id + ".data", &item.why, &item.refusal) : -1;
  if (pfd >= 0) close(pfd);
  std::string outdir = o.outbox + safeRel(item.m.rel);
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (fd < 0) {
    item.state = Item::State::Refused;
    if (item.m.note.empty()) {
      item.m.note =
          reserve(outdir, sanitizers::filename_sanitize::sanitizeFilename(item.shown.name) +
                              ".blocked.txt");
    }
  } else {
    item.data = readFd(fd);
    close(fd);
    item.eng = engine();
    item.r = item.eng->processFile(item.data, item.shown.name, item.id);
    if (item.r.verdict == Verdict::TempFail) {  // not decided (scanner down, deadline): retry
      item.state = Item::State::Failed;
      failed(item.id, "not decided (" + std::string(reasonInfo(item.r.report.reason).name) + ")");
      return;
    }
    std::string safe = sanitizers::filename_sanitize::sanitizeFilename(item.shown.name);
    item.blocked = item.r.blocked();
    bool acted = false;
    for (const auto& a : item.r.report.actions) acted = acted || a.action != "kept";
    item.changed = item.blocked || acted || item.r.output != item.data ||
                   item.r.output_filename != item.m.name || item.shown.name_converted ||
                   item.shown.folder_converted;
    if (item.m.out.empty() && !item.blocked) item.m.out = reserve(outdir, item.r.output_filename);
    if (item.m.note.empty() && item.changed) {
      item.m.note = reserve(outdir, (item.blocked ? safe : item.m.out) +
                                        (item.blocked ? ".blocked.txt" : ".note.txt"));
    }
    item.state = Item::State::Delivering;
  }
  if (!writeMeta(item.id, item.m, io::Sync::Deferred)) item.state = Item::State::Failed;
}

/// Outputs, notes and the quarantine copy, written without fsync: the batch's syncfs follows.
void Service::Impl::deliver(Item& item) {
  if (item.state != Item::State::Delivering && item.state != Item::State::Refused) return;
  const Meta& m = item.m;
  std::string outdir = o.outbox + safeRel(m.rel);
  std::string err;
  auto present = [&](const std::string& n) {
    return access((outdir + "/" + n).c_str(), F_OK) == 0;
  };
  const io::Sync later = io::Sync::Deferred;
  const policy::Notice& wording = (item.eng ? item.eng : engine())->policy().notice;
  if (item.state == Item::State::Refused) {
    // Staff get the reason in their words; the detail (errno text, entry type) is for the
    // administrator: the log line and the quarantine record.
    std::string reason(reasonInfo(item.refusal).name);
    std::string note = noteText(NoteKind::Refused, item.shown, "", item.id, {reason}, wording);
    if (!present(m.note)) io::writeFileNew(outdir, m.note, note, &err, 0644, later);
    release(outdir, m);
    std::string json = "{\"id\":\"" + item.id + "\",\"verdict\":\"refused\",\"reason\":\"" +
                       reason + "\",\"detail\":" + jsonString(item.why) + "," + sourceJson(item) +
                       "}\n";
    io::writeFileAtomic(o.quarantine + "/" + item.id + ".json", json, &err, 0600, later);
    return;
  }
  if (!m.out.empty() && !present(m.out) &&
      io::writeFileNew(outdir, m.out, item.r.output, &err, 0644, later) != 0) {
    item.state = Item::State::Failed;
    release(outdir, m);
    return failed(item.id, "not delivered: " + err);
  }
  if (!m.note.empty() && !present(m.note)) {
    std::vector<std::string> reasons;
    for (const auto& a : item.r.report.actions) {
      if (a.action != "kept" && !a.reason.empty()) reasons.push_back(a.reason);
    }
    io::writeFileNew(outdir, m.note,
                     noteText(item.blocked                 ? NoteKind::Blocked
                              : item.r.output == item.data ? NoteKind::Renamed
                                                           : NoteKind::Changed,
                              item.shown, m.out, item.id, reasons, wording),
                     &err, 0644, later);
  }
  release(outdir, m);
  std::string json =
      "{\"id\":\"" + item.id + "\",\"sha256\":\"" + sha256(item.data) + "\"," + sourceJson(item) +
      ",\"outbox\":" + jsonString(m.out.empty() ? "" : safeRel(m.rel) + "/" + m.out) +
      ",\"note\":" + jsonString(m.note) + ",\"report\":" + item.r.report.toJson() + "}\n";
  if (!io::quarantineStore(o.quarantine, item.id, item.data, json, &err, later)) {
    item.state = Item::State::Failed;
    return failed(item.id, "quarantine failed: " + err);
  }
}

/// After the outputs are durable: the file leaves processing/ (a refused entry goes to quarantine).
void Service::Impl::finish(Item& item) {
  const Meta& m = item.m;
  if (item.state == Item::State::Refused) {
    rename((o.processing + "/" + item.id + ".data").c_str(),
           (o.quarantine + "/" + item.id + ".refused").c_str());
    unlink(metaPath(item.id).c_str());
    logLine(item.id + " refused " + shownForLog(item) + " reason=" +
            std::string(reasonInfo(item.refusal).name) + " detail=" + jsonString(item.why, 200));
    return;
  }
  if (item.state != Item::State::Delivering) return;
  unlink((o.processing + "/" + item.id + ".data").c_str());
  unlink(metaPath(item.id).c_str());
  item.state = Item::State::Done;
  {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    retries.erase(item.id);
  }
  logLine(item.id + " " + item.r.report.verdictWord() + " " + shownForLog(item) +
          (m.out.empty() ? "" : " -> " + sanitizers::filename_sanitize::visibleName(m.out)) +
          " reason=" + std::string(reasonInfo(item.r.report.reason).name));
}

/// Claimed files a crash (or a failed delivery) left in processing/; stale records are removed.
std::vector<std::string> Service::Impl::recoverable() {
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(o.processing)) {
    std::string n = e.path().filename().string();
    if (n.size() <= 5 || n.compare(n.size() - 5, 5, ".meta") != 0) continue;
    std::string id = n.substr(0, n.size() - 5);
    struct stat st {};
    if (lstat((o.processing + "/" + id + ".data").c_str(), &st) != 0) {
      unlink(metaPath(id).c_str());  // claim never happened, or already finished
      continue;
    }
    std::lock_guard<std::mutex> lock(deliver_mutex);
    auto r = retries.find(id);
    if (r == retries.end() || r->second.next_ms <= nowMs()) ids.push_back(id);
  }
  return ids;
}

Service::Service(Options options, EngineGetter engine) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->engine = std::move(engine);
  if (impl_->o.processing.empty()) impl_->o.processing = impl_->o.quarantine + "/processing";
}

Service::~Service() {
  if (impl_->inotify_fd >= 0) close(impl_->inotify_fd);
}

bool Service::prepare(std::string* error) {
  const Options& o = impl_->o;
  std::error_code ec;
  // The inbox is the staff share: created by the administrator with the owners and modes the
  // shares need (docs/filedrop.md), never here, where a typo would silently watch a new folder.
  if (!fs::is_directory(o.inbox, ec)) {
    *error = "the inbox " + o.inbox +
             " does not exist or is not a folder; create it with the owner and mode the share "
             "needs (docs/filedrop.md, \"Samba shares\") and start again";
    return false;
  }
  if (!separateFolders(o.inbox, o.outbox, o.quarantine, error)) return false;
  if (access(o.inbox.c_str(), W_OK) != 0) {
    *error = "cannot use the inbox " + o.inbox + ": not writable for this user (files are " +
             "claimed by moving them out of it)";
    return false;
  }
  // The outbox and the quarantine are created when missing (said in the log: check the owner
  // and mode, docs/filedrop.md); processing/ is the service's own.
  for (const auto* d : {&o.outbox, &o.quarantine, &o.processing}) {
    bool existed = fs::exists(*d, ec);
    fs::create_directories(*d, ec);
    if (!fs::is_directory(*d, ec) || access(d->c_str(), W_OK) != 0) {
      *error = "cannot use folder " + *d;
      return false;
    }
    if (!existed && d != &o.processing) {
      logLine("created the " + std::string(d == &o.outbox ? "outbox" : "quarantine") + " folder " +
              *d + " (check its owner and mode: docs/filedrop.md)");
    }
  }
  struct stat in {
  }, pr{};
  if (stat(impl_->o.inbox.c_str(), &in) != 0 || stat(impl_->o.processing.c_str(), &pr) != 0 ||
      in.st_dev != pr.st_dev) {
    *error = impl_->o.processing + " must be on the same filesystem as " + impl_->o.inbox +
             " (files are claimed by rename)";
    return false;
  }
  removeTemporaries(impl_->o.outbox);
  removeTemporaries(impl_->o.processing);
  impl_->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  return true;
}

std::size_t Service::pass() {
  Impl& d = *impl_;
  std::vector<std::string> recovered = d.recoverable();
  std::vector<Found> ready;
  std::map<std::string, Observation> next;
  d.scan("", ready, next);
  d.seen.swap(next);
  std::size_t total = recovered.size() + ready.size();
  // Batches bounded in files and bytes: what one batch holds in memory (inputs and outputs).
  constexpr std::size_t kBatchFiles = 128;
  constexpr std::uint64_t kBatchBytes = 64ull << 20;
  std::size_t at = 0;
  while (!stop_ && (at < ready.size() || !recovered.empty())) {
    std::vector<Item> batch;
    for (auto& id : recovered) batch.push_back(Item{id});
    recovered.clear();
    std::vector<std::size_t> fresh;  // indexes into batch of the files claimed now
    std::uint64_t bytes = 0;
    for (;
         at < ready.size() && batch.size() < kBatchFiles && (bytes < kBatchBytes || batch.empty());
         ++at) {
      Item item;
      if (!d.claim(ready[at], item)) continue;
      bytes += ready[at].size;
      fresh.push_back(batch.size());
      batch.push_back(std::move(item));
    }
    // 1. The records are durable before any claim: a crash never leaves a claimed file unknown.
    if (!fresh.empty() && !d.sync({&d.o.processing})) return total;
    // 2. Claim by rename (same filesystem); a file gone meanwhile just loses its record.
    std::vector<Item> claimed;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      bool is_fresh = std::find(fresh.begin(), fresh.end(), i) != fresh.end();
      if (is_fresh) {
        const Meta& m = batch[i].m;
        if (rename((d.o.inbox + m.rel + "/" + m.name).c_str(),
                   (d.o.processing + "/" + batch[i].id + ".data").c_str()) != 0) {
          if (errno == EXDEV) logLine("processing folder must be on the inbox filesystem");
          unlink(d.metaPath(batch[i].id).c_str());
          continue;
        }
      }
      claimed.push_back(std::move(batch[i]));
    }
    // 3. Engine and output names, a few workers (the engine is the CPU part).
    auto parallel = [&](auto&& fn) {
      std::size_t workers = std::min<std::size_t>(
          {4, claimed.size(), std::max(1u, std::thread::hardware_concurrency())});
      std::atomic<std::size_t> next_item{0};
      auto work = [&] {
        for (std::size_t i; (i = next_item++) < claimed.size();) fn(claimed[i]);
      };
      std::vector<std::thread> pool;
      for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
      work();
      for (auto& th : pool) th.join();
    };
    parallel([&](Item& item) { d.prepare(item); });
    // The claims and the chosen names are durable before anything is delivered, so a retry
    // after a crash finds the names and never delivers twice.
    if (!d.sync({&d.o.processing})) return total;
    // 4. Outputs, notes, quarantine copies; then one syncfs for the outbox and the quarantine.
    parallel([&](Item& item) { d.deliver(item); });
    if (!d.sync({&d.o.outbox, &d.o.quarantine})) return total;
    // 5. Only now does a file leave processing/.
    for (auto& item : claimed) d.finish(item);
  }
  return total;
}

void Service::run() {
  const int tick = static_cast<int>(std::min<std::uint64_t>(100, impl_->o.rescan_ms));
  std::int64_t last = 0;
  while (!stop_) {
    bool woken = false;
    if (impl_->inotify_fd >= 0) {
      pollfd p{impl_->inotify_fd, POLLIN, 0};
      if (poll(&p, 1, tick) > 0) {
        char buf[8192];
        while (read(impl_->inotify_fd, buf, sizeof buf) > 0) woken = true;
      }
    } else {
      usleep(tick * 1000);
    }
    std::int64_t now = nowMs();
    if (woken || !impl_->seen.empty() ||
        now - last >= static_cast<std::int64_t>(impl_->o.rescan_ms)) {
      pass();
      last = now;
    }
  }
}

}  // namespace mugai::filedrop
