// File drop: scanning, claiming into processing/, sanitizing, delivery, recovery; originals go to
// the vault through the disposition layer.
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
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "mugai/io/store.h"
#include "mugai/text/charset.h"
#include "mugai/text/filename.h"
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
  /// The outbox folder chosen for rel (below the outbox, "" for its top), once chosen.
  std::optional<std::string> outrel;
};


/// At most `max` bytes of fd (the rest is never read).
std::string readFd(int fd, std::uint64_t max = UINT64_MAX) {
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    ssize_t n = read(fd, buf, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, max - out.size())));
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
    out += "/" + text::sanitizeFilename(decodeName(part.string()).utf8);
  }
  return out;
}

enum class NoteKind { Changed, Renamed, Blocked, Refused };

/// The note staff read beside (or instead of) the file, Japanese then English. `reasons` are
/// reason names, worded from the rules texts; nothing internal is shown. Names are shown with
/// bidi and control characters visible (<U+202E>).
std::string noteText(NoteKind kind, const ShownPath& source, const std::string& delivered,
                     const std::string& id, const std::vector<std::string>& reasons,
                     const policy::Notice& wording, const std::string& original_block,
                     const std::string& folder_line = "") {
  using text::visibleName;
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
  t += folder_line;
  t += original_block;
  return t;
}

/// What a note says about the original once it is in the vault: that it is kept under the
/// reference, the release tier in words and where to ask (pipeline.h howToGetOriginal), Japanese
/// first. "" when nothing was recorded.
std::string originalBlock(bool recorded, const policy::VaultRules& vault,
                          const std::vector<std::string>& reasons, const std::string& console_link) {
  if (!recorded) return "";
  std::string t = "\r\n原本は保管されています。受付番号でお問い合わせください。\r\n";
  for (const auto& l : howToGetOriginal(vault, reasons, true, console_link)) t += l + "\r\n";
  t += "The original is kept; ask with the reference.\r\n";
  for (const auto& l : howToGetOriginal(vault, reasons, false, console_link)) t += l + "\r\n";
  return t;
}

/// A file seen ready in the inbox.
struct Found {
  std::string rel, name;
  std::uint64_t size = 0;
  std::vector<EntryId> folders;  ///< each folder of rel as scanned (device, inode)
  EntryId file;
};

/// Deepest inbox folder taken (one open handle per level while scanning).
constexpr std::size_t kMaxDepth = 64;

/// One file of a batch, from its claim to its removal from processing/.
struct Item {
  std::string id;
  Meta m;
  ShownPath shown;  ///< m.rel and m.name as text (set by prepare)
  enum class State { Claimed, Refused, Delivering, Done, Failed } state = State::Claimed;
  std::string why;  ///< Refused: why the entry is not a plain file (log and vault record only)
  Reason refusal = Reason::InternalError;  ///< Refused: the reason staff are told
  std::string data;
  ProcessResult r;
  ItemProcessorConstSharedPtr eng;
  bool blocked = false, changed = false;
  bool recorded = false;  ///< its original is in the vault (or needs no record)
  /// The file was larger than message_size_limit: only that much was read and is kept
  /// (fstat size first: a 2 GB sparse file is never read whole).
  bool over_limit = false;
  std::uint64_t original_size = 0;
  std::vector<EntryId> folders;  ///< fresh claims: the folders and the file as the scan saw them
  EntryId file;
};

/// The vault record's facts about where a file came from: the inbox path as text, and for a name
/// that was not UTF-8 its raw bytes in hex (the exact name can always be found again); a file
/// over message_size_limit says how much of it is kept. Said in the report's defects.
void sourceFacts(const Item& item, Report& report) {
  const ShownPath& p = item.shown;
  if (p.name_converted || p.folder_converted) {
    std::string f = "filedrop: source_charset=" + (p.lossy ? std::string("unknown") : p.charset);
    if (p.name_converted) f += " source_name_hex=" + hex(item.m.name);
    if (p.folder_converted) f += " source_folder_hex=" + hex(item.m.rel);
    report.defects.push_back(f);
  }
  if (item.over_limit) {
    report.defects.push_back("filedrop: truncated original_size=" +
                             std::to_string(item.original_size) +
                             " kept_size=" + std::to_string(item.data.size()));
  }
}

/// The staff member a file belongs to: the first folder below the inbox (the share's %U).
std::string owner(const ShownPath& p) {
  std::size_t end = p.folder.find('/', 1);
  return p.folder.empty() ? "" : p.folder.substr(1, end == std::string::npos ? end : end - 1);
}

disposition::Arrival arrivalOf(const Item& item) {
  disposition::Arrival a;
  a.kind = "file";
  if (std::string user = owner(item.shown); !user.empty()) a.envelope.recipients.push_back(user);
  a.source = item.shown.folder + "/" + item.shown.name;
  return a;
}

/// The report the file drop makes for an entry it refused before any engine ran (a link, a
/// FIFO, a device, a file with several links): blocked with its reason, the detail for the
/// administrator.
ProcessResult refusedResult(const Item& item, const std::string& note) {
  ProcessResult r;
  r.verdict = r.report.final_verdict = Verdict::Quarantine;
  r.report.kind = "file";
  r.report.id = item.id;
  r.report.reason = item.refusal;
  r.report.filename = item.shown.name;
  ActionRecord rec;
  rec.filename = item.shown.name;
  rec.action = "blocked";
  rec.reason = std::string(reasonInfo(item.refusal).name);
  rec.sanitizer = "filedrop";
  rec.detail = item.why;
  r.report.actions.push_back(std::move(rec));
  r.output_filename = note;
  return r;
}

/// The inbox path for a log line: bidi and control characters shown as <U+XXXX>.
std::string shownForLog(const Item& item) {
  return text::visibleName(item.shown.folder + "/" + item.shown.name);
}

/// The name of the entry of `dir` whose windowsKey is `key` ("" when none).
std::string entryByKey(const std::string& dir, const std::string& key) {
  std::string found;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (windowsKey(e->d_name) == key) {
        found = e->d_name;
        break;
      }
    }
    closedir(d);
  }
  return found;
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
  disposition::Disposition* disposition = nullptr;
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
  /// (`reserved` holds dir + "/" + windowsKey(name): one name as the share sees it.)
  std::string reserve(const std::string& dir, const std::string& name) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    std::string c = pickFreeName(dir, name, [&](const std::string& n) {
      return reserved.count(dir + "/" + windowsKey(n)) > 0;
    });
    reserved.insert(dir + "/" + windowsKey(c));
    return c;
  }
  void release(const std::string& dir, const Meta& m) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    reserved.erase(dir + "/" + windowsKey(m.out));
    reserved.erase(dir + "/" + windowsKey(m.note));
  }

  /// The outbox folder (below the outbox) for inbox folder `rel`, created as needed: each
  /// component made safe (safeRel); one whose name a file already has (a delivered "report",
  /// then a folder "report/") is the next free or folder name ("report-1"); a folder path too
  /// long for PATH_MAX with a file name in it is replaced by the first folder (the staff
  /// member's, which is never renamed). The note says so. Folders that cannot be made: "" is not returned,
  /// the write that follows fails and is retried.
  std::string outFolder(const std::string& rel) {
    std::lock_guard<std::mutex> lock(deliver_mutex);
    constexpr std::size_t kRoom = 256 + 32;  // a file name (200 bytes) with "-N" and ".blocked.txt"
    std::string out, first;
    for (const auto& part : fs::path(rel)) {
      if (part.empty() || part == "." || part == "/") continue;
      std::string c =
          text::sanitizeFilename(decodeName(part.string()).utf8);
      std::string chosen;
      for (int n = 0; n < 1000 && chosen.empty(); ++n) {
        std::string name = n == 0 ? c : c + "-" + std::to_string(n);
        if (o.outbox.size() + out.size() + 1 + name.size() + kRoom >= PATH_MAX) break;
        // The share sees one folder for "Report" and "report" (and NFC/NFD forms): an existing
        // entry with the same key is that folder (or a file in the way).
        if (reserved.count(o.outbox + out + "/" + windowsKey(name))) continue;  // a file's
        std::string existing = entryByKey(o.outbox + out, windowsKey(name));
        std::string p = o.outbox + out + "/" + (existing.empty() ? name : existing);
        struct stat st {};
        if (!existing.empty()) name = existing;
        if (lstat(p.c_str(), &st) != 0) {
          if (errno != ENOENT) break;
          if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) break;
          if (lstat(p.c_str(), &st) != 0) break;
        }
        if (S_ISDIR(st.st_mode)) chosen = name;  // else a file has the name: the next one
      }
      // The first folder is the staff member's (the share's %U): never renamed. When it cannot
      // be used (a file in its place, not creatable) the write fails and is retried.
      if (first.empty() && chosen != c && chosen != entryByKey(o.outbox, windowsKey(c))) {
        chosen = c;
      }
      if (chosen.empty()) return first.empty() ? out : first;  // too long: the first folder
      out += "/" + chosen;
      if (first.empty()) first = out;
    }
    return out;
  }

  std::string metaPath(const std::string& id) const { return o.processing + "/" + id + ".meta"; }

  bool writeMeta(const std::string& id, const Meta& m, io::Sync sync) const {
    std::string e;
    return io::writeFileAtomic(
        metaPath(id),
        hex(m.rel) + "\n" + hex(m.name) + "\n" + hex(m.out) + "\n" + hex(m.note) + "\n" +
            (m.outrel ? hex("+" + *m.outrel) + "\n" : std::string()),
        &e, 0600,
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
    if (f.size() != 4 && f.size() != 5) return false;  // 4: a record from before outrel
    m = Meta{f[0], f[1], f[2], f[3], std::nullopt};
    if (f.size() == 5 && !f[4].empty()) m.outrel = f[4].substr(1);
    return true;
  }

  /// Watches the folder open as `fd` (through /proc/self/fd: the folder itself, not its path).
  void watch(const std::string& rel, int fd) {
    if (inotify_fd < 0 || watched.count(rel)) return;
    int wd = inotify_add_watch(inotify_fd, ("/proc/self/fd/" + std::to_string(fd)).c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB | IN_ONLYDIR);
    if (wd >= 0) watched[rel] = wd;
  }

  void scan(int fd, const std::string& rel, const std::vector<EntryId>& folders,
            std::vector<Found>& ready, std::map<std::string, Observation>& next);
  bool claim(const Found& f, Item& item);
  void prepare(Item& item);
  void deliver(Item& item);
  void finish(Item& item);
  std::vector<std::string> recoverable();
  bool sync(std::initializer_list<const std::string*> dirs);
  bool keep(Item& item, const std::string& delivered);

  // One pass (Service::pass), step by step.
  void scanInbox(int root_fd, int proc_fd, std::vector<Found>& ready);
  void fillBatch(std::vector<std::string>& recovered, const std::vector<Found>& ready,
                 std::size_t& at, std::vector<Item>& batch, std::vector<std::size_t>& fresh);
  std::vector<Item> claimBatch(int root_fd, int proc_fd, std::vector<Item>& batch,
                               const std::vector<std::size_t>& fresh);
  bool processClaimed(std::vector<Item>& claimed);
};

void Service::Impl::scan(int fd, const std::string& rel, const std::vector<EntryId>& folders,
                         std::vector<Found>& ready, std::map<std::string, Observation>& next) {
  // Every folder is opened from its parent's handle without following links (openFolderAt's
  // rule), and the ids seen here are what the claim checks again: a folder swapped for a link
  // after this scan can neither be listed nor claimed through.
  watch(rel, fd);
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  std::vector<std::pair<std::string, EntryId>> dirs;
  const std::int64_t now = nowMs();
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(".mugai-", 0) == 0) continue;
    struct stat st {};
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      dirs.push_back({name, EntryId{st.st_dev, st.st_ino}});
      continue;
    }
    std::string key = rel + "/" + name;
    EntryId id{st.st_dev, st.st_ino};
    if (!refusalReason(st).empty()) {  // links, FIFOs, devices: taken at once, refused after
      ready.push_back({rel, name, 0, folders, id});
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
      ready.push_back({rel, name, static_cast<std::uint64_t>(st.st_size), folders, id});
    } else {
      next[key] = ob;
    }
  }
  for (const auto& [name, id] : dirs) {
    std::string sub = rel + "/" + name;
    if (folders.size() >= kMaxDepth) {
      if (unreadable.insert(sub).second) {
        logLine("inbox folder " + text::logEscape(sub) + " is nested deeper than " +
                std::to_string(kMaxDepth) + " levels: its files are not taken (move them up)");
      }
      continue;
    }
    int cfd = openat(dirfd(d), name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat cst {};
    if (cfd >= 0 && (fstat(cfd, &cst) != 0 || !(EntryId{cst.st_dev, cst.st_ino} == id))) {
      close(cfd);  // replaced between readdir and open: looked at again next pass
      continue;
    }
    if (cfd < 0) {
      // A folder the service may not list (Samba's directory mask without read for its group,
      // no CAP_DAC_READ_SEARCH) would hold files forever without a word: say so, once.
      int err = errno;
      if (err != ENOENT && err != ELOOP && err != ENOTDIR && unreadable.insert(sub).second) {
        logLine("cannot read inbox folder " + text::logEscape(sub) + ": " + std::strerror(err) +
                " (its files wait there; give the service read access, docs/filedrop.md)");
      }
      continue;
    }
    unreadable.erase(sub);
    std::vector<EntryId> chain = folders;
    chain.push_back(id);
    scan(cfd, sub, chain, ready, next);
  }
  closedir(d);
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
  item.m = Meta{f.rel, f.name, "", "", std::nullopt};
  item.folders = f.folders;
  item.file = f.file;
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
  if (!item.m.outrel) item.m.outrel = outFolder(item.m.rel);
  std::string outdir = o.outbox + *item.m.outrel;
  std::error_code ec;
  fs::create_directories(outdir, ec);  // again on a retry: the folder may have been in the way
  if (*item.m.outrel != safeRel(item.m.rel)) item.changed = true;  // the note says where
  if (fd < 0) {
    item.state = Item::State::Refused;
    if (item.m.note.empty()) {
      item.m.note =
          reserve(outdir, text::sanitizeFilename(item.shown.name) +
                              ".blocked.txt");
    }
  } else {
    item.eng = engine();
    // The size limit is applied before reading: at most limit + 1 bytes are read (the engine then
    // blocks with limit.message_size) and only the first `limit` bytes are kept in the vault,
    // whatever fstat says or a writer still holding the file open appends.
    const std::uint64_t limit = item.eng->policy().limits.message_size_limit;
    struct stat st {};
    item.original_size = fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    item.data = readFd(fd, limit + 1);
    close(fd);
    item.over_limit = item.data.size() > limit;
    item.original_size = std::max<std::uint64_t>(item.original_size, item.data.size());
    item.r = item.eng->processFile(item.data, item.shown.name, item.id);
    if (item.over_limit) item.data.resize(limit);
    if (item.r.verdict == Verdict::TempFail) {  // not decided (scanner down, internal error): retry
      item.state = Item::State::Failed;
      failed(item.id, "not decided (" + std::string(reasonInfo(item.r.report.reason).name) + ")");
      return;
    }
    std::string safe = text::sanitizeFilename(item.shown.name);
    item.blocked = item.r.blocked();
    bool acted = false;
    for (const auto& a : item.r.report.actions) acted = acted || a.action != "kept";
    item.changed = item.changed || item.blocked || acted || item.r.output != item.data ||
                   item.r.output_filename != item.m.name || item.shown.name_converted ||
                   item.shown.folder_converted;
    // Names like mugai's own notes are mugai's: a staff "x.pdf.note.txt" arrives as
    // "x.pdf_note.txt", with a note saying its name changed.
    std::string out_name = notNoteName(item.r.output_filename);
    item.changed = item.changed || out_name != item.r.output_filename;
    if (item.m.out.empty() && !item.blocked) item.m.out = reserve(outdir, out_name);
    if (item.m.note.empty() && item.changed) {
      item.m.note = reserve(outdir, (item.blocked ? safe : item.m.out) +
                                        (item.blocked ? ".blocked.txt" : ".note.txt"));
    }
    item.state = Item::State::Delivering;
  }
  if (!writeMeta(item.id, item.m, io::Sync::Deferred)) item.state = Item::State::Failed;
}

/// The vault record for an item whose original must be kept (through the disposition layer),
/// before anything is delivered: false (the item stays in processing/ and is retried) when the
/// vault cannot be written. A record with this id from an earlier attempt counts as written.
bool Service::Impl::keep(Item& item, const std::string& delivered) {
  if (item.recorded) return true;
  std::string original = item.data, err;
  ProcessResult refused;
  const ProcessResult* result = &item.r;
  if (item.state == Item::State::Refused) {
    refused = refusedResult(item, item.m.note);
    result = &refused;
    // A symbolic link's "content" is where it points; a FIFO, a device or a file with other
    // links has nothing of the staff's to keep (the other links keep the file).
    char target[PATH_MAX];
    ssize_t n = readlink((o.processing + "/" + item.id + ".data").c_str(), target, sizeof target);
    original = n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
  } else if (!item.changed) {
    return true;  // clean and delivered under its own name: nothing to keep, like clean mail
  }
  ProcessResult with_facts = *result;
  sourceFacts(item, with_facts.report);
  const policy::Policy& pol = (item.eng ? item.eng : engine())->policy();
  if (disposition->record(item.id, original, arrivalOf(item), with_facts, pol, delivered, &err) ==
      disposition::Stored::Failed) {
    item.state = Item::State::Failed;
    failed(item.id, "original not recorded: " + err);
    return false;
  }
  item.recorded = true;
  return true;
}

/// Outputs and notes, written without fsync: the batch's syncfs follows. The vault record first.
void Service::Impl::deliver(Item& item) {
  if (item.state != Item::State::Delivering && item.state != Item::State::Refused) return;
  const Meta& m = item.m;
  std::string outdir = o.outbox + m.outrel.value_or(safeRel(m.rel));
  std::string err;
  auto present = [&](const std::string& n) {
    return access((outdir + "/" + n).c_str(), F_OK) == 0;
  };
  const io::Sync later = io::Sync::Deferred;
  const policy::Notice& wording = (item.eng ? item.eng : engine())->policy().notice;
  const policy::VaultRules& pol_vault = (item.eng ? item.eng : engine())->policy().vault;
  std::string folder_line;
  if (m.outrel && *m.outrel != safeRel(m.rel)) {
    using text::visibleName;
    std::string want = visibleName(safeRel(m.rel)), got = visibleName(m.outrel->empty() ? "/" : *m.outrel);
    folder_line = "・フォルダー「" + want + "」は使えなかったため（同じ名前のファイルがある、またはパスが長すぎる）、「" +
                  got + "」に届けました / The folder \"" + want +
                  "\" could not be used (a file has that name, or the path is too long); delivered in \"" +
                  got + "\".\r\n";
  }
  const std::string out_path = m.outrel.value_or(safeRel(m.rel)) + "/";
  if (!keep(item, out_path + (m.out.empty() ? m.note : m.out))) return release(outdir, m);
  if (item.state == Item::State::Refused) {
    // Staff get the reason in their words; the detail (errno text, entry type) is for the
    // administrator: the log line and the vault record.
    std::string reason(reasonInfo(item.refusal).name);
    std::string note = noteText(NoteKind::Refused, item.shown, "", item.id, {reason}, wording,
                                originalBlock(item.recorded, pol_vault, {reason}, consoleItemLink(o.console_url, item.id)), folder_line);
    if (!present(m.note) && io::writeFileNew(outdir, m.note, note, &err, 0644, later) < 0) {
      item.state = Item::State::Failed;
      release(outdir, m);
      return failed(item.id, "note not delivered: " + err);
    }
    release(outdir, m);
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
    // A note is delivered like a file: when it cannot be written (disk full, folder gone) the
    // item stays in processing/ and is retried; it is never marked done without its note.
    if (io::writeFileNew(outdir, m.note,
                         noteText(item.blocked                 ? NoteKind::Blocked
                                  : item.r.output == item.data ? NoteKind::Renamed
                                                               : NoteKind::Changed,
                                  item.shown, m.out, item.id, reasons, wording,
                                  originalBlock(item.recorded, pol_vault, reasons, consoleItemLink(o.console_url, item.id)), folder_line),
                         &err, 0644, later) < 0) {
      item.state = Item::State::Failed;
      release(outdir, m);
      return failed(item.id, "note not delivered: " + err);
    }
  }
  release(outdir, m);
}

/// After the outputs are durable: the file leaves processing/, and the disposition layer hears
/// that it is finished (its log line, the metrics call point).
void Service::Impl::finish(Item& item) {
  const Meta& m = item.m;
  disposition::ItemOutcome out;
  out.id = item.id;
  out.kind = "file";
  out.envelope = arrivalOf(item).envelope;
  out.recorded = item.recorded && (item.state == Item::State::Refused || item.changed);
  if (item.state == Item::State::Refused) {
    // Its record (the link's target, the reason) is in the vault: the entry itself goes.
    unlink((o.processing + "/" + item.id + ".data").c_str());
    unlink(metaPath(item.id).c_str());
    const ProcessResult refused = refusedResult(item, m.note);
    out.report = &refused.report;
    out.verdict = "refused";
    out.filename = item.shown.folder + "/" + item.shown.name;
    out.reason = std::string(reasonInfo(item.refusal).name);
    out.reasons = {out.reason};
    out.line = "filedrop: " + item.id + " refused " + shownForLog(item) + " reason=" + out.reason +
               " detail=" + jsonString(item.why, 200) +
               (out.recorded ? " recorded=" + item.id : "");
    disposition->finished(out);
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
  // The log says what the note says: a file whose content passed but whose name (or folder)
  // changed is "renamed", not "clean ... reason=kept".
  std::string word = item.r.report.verdictWord();
  std::string reason(reasonInfo(item.r.report.reason).name);
  if (!item.blocked && item.changed && item.r.report.reason == Reason::Kept) {
    word = item.r.output == item.data ? "renamed" : "sanitized";
    reason = std::string(reasonInfo(Reason::FilenameChanged).name);
  }
  out.report = &item.r.report;
  out.verdict = word;
  out.reason = reason;
  out.filename = item.shown.folder + "/" + item.shown.name;
  for (const auto& a : item.r.report.actions) {
    if (a.action != "kept" && !a.reason.empty() &&
        std::find(out.reasons.begin(), out.reasons.end(), a.reason) == out.reasons.end())
      out.reasons.push_back(a.reason);
  }
  out.bytes_in = item.data.size();
  out.bytes_out = item.r.output.size();
  out.elapsed_ms = item.r.report.elapsed_ms;
  out.line = "filedrop: " + item.id + " " + word + " " + shownForLog(item) +
             (m.out.empty() ? "" : " -> " + text::visibleName(m.out)) +
             " reason=" + reason +
             (m.note.empty() ? "" : " note=" + text::visibleName(m.note)) +
             (out.recorded ? " recorded=" + item.id : "");
  disposition->finished(out);
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

Service::Service(Options options, EngineGetter engine, disposition::Disposition& disposition)
    : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->engine = std::move(engine);
  impl_->disposition = &disposition;
  if (impl_->o.processing.empty()) impl_->o.processing = impl_->o.state_dir + "/processing";
}

Service::~Service() {
  if (impl_->inotify_fd >= 0) close(impl_->inotify_fd);
}

bool Service::prepare(std::string* error) {
  const Options& o = impl_->o;
  std::error_code ec;
  if (!checkFolders(o.inbox, o.outbox, o.state_dir, error)) return false;
  if (access(o.inbox.c_str(), W_OK) != 0) {
    *error = "cannot use the inbox " + o.inbox + ": not writable for this user (files are " +
             "claimed by moving them out of it)";
    return false;
  }
  // The outbox and the state folder are created when missing (said in the log: check the owner
  // and mode, docs/filedrop.md); processing/ is the service's own.
  for (const auto* d : {&o.outbox, &o.state_dir, &o.processing}) {
    bool existed = fs::exists(*d, ec);
    fs::create_directories(*d, ec);
    if (!fs::is_directory(*d, ec) || access(d->c_str(), W_OK) != 0) {
      *error = "cannot use folder " + *d;
      return false;
    }
    if (!existed && d != &o.processing) {
      logLine("created the " + std::string(d == &o.outbox ? "outbox" : "state") + " folder " +
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

namespace {

/// Runs `fn` on every item, on up to four threads (the engine is the CPU part).
template <typename Fn>
void forEachParallel(std::vector<Item>& items, Fn&& fn) {
  std::size_t workers =
      std::min<std::size_t>({4, items.size(), std::max(1u, std::thread::hardware_concurrency())});
  std::atomic<std::size_t> next_item{0};
  auto work = [&] {
    for (std::size_t i; (i = next_item++) < items.size();) fn(items[i]);
  };
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

}  // namespace

/// The files that have settled in the inbox (`ready`); what was seen is remembered for the next
/// pass.
void Service::Impl::scanInbox(int root_fd, int proc_fd, std::vector<Found>& ready) {
  std::map<std::string, Observation> next;
  if (root_fd >= 0 && proc_fd >= 0) {
    int scan_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (scan_fd >= 0) scan(scan_fd, "", {}, ready, next);
  } else {
    logLine(std::string("cannot open the inbox or processing/: ") + std::strerror(errno));
  }
  seen.swap(next);
  if (o.after_scan) o.after_scan();
}

/// The next batch: what a killed run left in processing/ first, then ready files from `at` on,
/// bounded in files and bytes (what one batch holds in memory: inputs and outputs). `fresh`:
/// the indexes in `batch` of the files whose records were written now (claimed below).
void Service::Impl::fillBatch(std::vector<std::string>& recovered, const std::vector<Found>& ready,
                              std::size_t& at, std::vector<Item>& batch,
                              std::vector<std::size_t>& fresh) {
  constexpr std::size_t kBatchFiles = 128;
  constexpr std::uint64_t kBatchBytes = 64ull << 20;
  for (auto& id : recovered) batch.push_back(Item{id});
  recovered.clear();
  std::uint64_t bytes = 0;
  for (; at < ready.size() && batch.size() < kBatchFiles && (bytes < kBatchBytes || batch.empty());
       ++at) {
    Item item;
    if (!claim(ready[at], item)) continue;
    bytes += ready[at].size;
    fresh.push_back(batch.size());
    batch.push_back(std::move(item));
  }
}

/// Claims the fresh files by rename (same filesystem), through the folders the scan saw; a file
/// gone or swapped meanwhile loses its record and is looked at again next pass.
std::vector<Item> Service::Impl::claimBatch(int root_fd, int proc_fd, std::vector<Item>& batch,
                                            const std::vector<std::size_t>& fresh) {
  std::vector<Item> claimed;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    bool is_fresh = std::find(fresh.begin(), fresh.end(), i) != fresh.end();
    if (is_fresh) {
      const Meta& m = batch[i].m;
      std::string why;
      int rc = claimEntry(root_fd, m.rel, batch[i].folders, m.name, batch[i].file, proc_fd,
                          batch[i].id + ".data", &why);
      if (rc != 0) {
        if (rc == EXDEV) logLine("processing folder must be on the inbox filesystem");
        if (rc == ESTALE || rc == ELOOP || rc == ENOTDIR) {
          logLine("not claimed " + text::logEscape(m.rel + "/" + m.name) + ": " + why +
                  " (looked at again next pass)");
        }
        unlink(metaPath(batch[i].id).c_str());
        continue;
      }
    }
    claimed.push_back(std::move(batch[i]));
  }
  return claimed;
}

/// Steps 3 to 5 for the claimed files; false when a sync failed (the batch stays in
/// processing/ for the next start).
bool Service::Impl::processClaimed(std::vector<Item>& claimed) {
  // 3. Engine and output names.
  forEachParallel(claimed, [this](Item& item) { prepare(item); });
  // The claims and the chosen names are durable before anything is delivered, so a retry
  // after a crash finds the names and never delivers twice.
  if (!sync({&o.processing})) return false;
  // 4. Vault records (each durable when written), outputs and notes; then one syncfs for the
  // outbox.
  forEachParallel(claimed, [this](Item& item) { deliver(item); });
  if (!sync({&o.outbox})) return false;
  // 5. Only now does a file leave processing/.
  for (auto& item : claimed) finish(item);
  return true;
}

std::size_t Service::pass() {
  Impl& d = *impl_;
  std::vector<std::string> recovered = d.recoverable();
  std::vector<Found> ready;
  // The inbox and processing/ are opened once per pass; everything below the inbox is reached
  // from this handle only (the claim walks the same folders the scan saw).
  int root_fd = open(d.o.inbox.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int proc_fd = open(d.o.processing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  struct Closer {
    int& a;
    int& b;
    ~Closer() {
      if (a >= 0) close(a);
      if (b >= 0) close(b);
    }
  } closer{root_fd, proc_fd};
  d.scanInbox(root_fd, proc_fd, ready);
  const std::size_t total = recovered.size() + ready.size();
  std::size_t at = 0;
  while (!stop_ && (at < ready.size() || !recovered.empty())) {
    std::vector<Item> batch;
    std::vector<std::size_t> fresh;
    d.fillBatch(recovered, ready, at, batch, fresh);
    // 1. The records are durable before any claim: a crash never leaves a claimed file unknown.
    if (!fresh.empty() && !d.sync({&d.o.processing})) return total;
    // 2. Claim by rename.
    std::vector<Item> claimed = d.claimBatch(root_fd, proc_fd, batch, fresh);
    if (!d.processClaimed(claimed)) return total;
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
