/**
 * @file filedrop.h
 * @brief The file-drop service: files saved into inbox/<user>/ appear sanitized in outbox/<user>/.
 *
 * Trust: everything in the inbox (names, contents, file types, links) is hostile.
 * Limits: filedrop_settle_ms (stability), filedrop_rescan_ms (safety-net rescan); the engine
 *         applies every content limit.
 * Errors: a file that cannot be handled stays in processing/ and is retried; nothing is lost.
 *
 * Links: nothing below the inbox is reached by a path: scan and claim walk from the inbox handle
 * with openat(O_NOFOLLOW|O_DIRECTORY) per folder, and the claim checks each folder and the file
 * against the scan's device and inode before renameat() (openFolderAt, claimEntry).
 * Crash safety: a file is claimed by rename into processing/ (same filesystem as the inbox),
 * with a meta record written first; outputs are written to a temporary name and linked into
 * place (never overwriting); the chosen output names are recorded before delivery, so a retry
 * after a crash recognises what was already delivered and never delivers twice.
 * Group commit: the files ready in one pass go through these steps together, and each step is
 * made durable for the whole batch with one syncfs() per filesystem before the next step relies
 * on it (records -> claims -> names -> vault records and outputs -> removal from processing/).
 * Originals: a file whose original must be kept (blocked, removed, rebuilt; an entry refused as a
 * link or FIFO) gets its vault record through the disposition layer before it leaves
 * processing/; a vault that cannot be written leaves it there, retried like any failure.
 */
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mugai/disposition/disposition.h"
#include "mugai/pipeline/item_processor.h"
#include "mugai/pipeline/pipeline.h"

namespace mugai::filedrop {

struct Options {
  std::string inbox, outbox, state_dir;
  std::string processing;  ///< private claim folder; default state_dir/processing (same fs!)
  std::uint64_t settle_ms = 1500;  ///< as filedrop_settle_ms in params.def
  std::uint64_t rescan_ms = 2000;
  /// The service config's console_url: a note about a kept original names the item's page in
  /// the console (else the rules' vault.contact).
  std::string console_url;
  /// Tests only: runs in pass() between the scan and the claims, the window in which staff could
  /// swap a scanned folder or file (the symlink race test).
  std::function<void()> after_scan;
};

/// The current item processor (the engine, or the isolated worker pool), fetched once per file.
using EngineGetter = ItemProcessorGetter;

/// Stability rule: a file is ready once its size and mtime were seen unchanged for settle_ms.
struct Observation {
  std::int64_t size = -1;
  std::int64_t mtime_ns = -1;
  std::int64_t stable_since_ms = 0;
};
/// Updates `o` with a fresh stat at `now_ms`; true when the file may be taken.
bool observeStable(Observation& o, std::int64_t size, std::int64_t mtime_ns, std::int64_t now_ms,
                   std::uint64_t settle_ms);

/// Is some process still writing `name` in `dirfd`? Probed with a read lease (F_SETLEASE F_RDLCK),
/// which the kernel grants only when no one has the file open for writing: a slow SMB client that
/// pauses longer than the settle time still holds the file open, and smbd with it.
enum class Writers { None, Busy, Unknown };
/// Unknown when leases are not available (not the owner and no CAP_LEASE, NFS/CIFS mounts):
/// the settle time alone then decides.
Writers probeWriters(int dirfd, const std::string& name);

/// Why a claimed entry is refused ("" when it is a plain regular file with one link).
std::string refusalReason(const struct stat& lst);

/// Opens `name` in `dirfd` without following links or blocking (FIFOs); returns -1 with *why
/// set when it is not a regular file with one link, or when fstat and lstat disagree.
/// *reason (optional) gets the reason staff are told: type.blocked for links, FIFOs, devices and
/// sockets; internal.error when a system call failed (the detail in *why is for the log only).
int openClaimed(int dirfd, const std::string& name, std::string* why, Reason* reason = nullptr);

/// A folder or file as the scan saw it: the claim checks it is still the same one.
struct EntryId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const EntryId& o) const { return dev == o.dev && ino == o.ino; }
};

/// Opens the folder `rel` ("/user/sub", "" for root_fd itself) below `root_fd` one component at a
/// time, each with openat(O_NOFOLLOW|O_DIRECTORY): a component that is (or became) a symbolic
/// link is never followed. With `expect` (one id per component), each folder must still be the
/// one the scan saw (device and inode). Returns the folder's fd, or -1 with *why set.
int openFolderAt(int root_fd, const std::string& rel, const std::vector<EntryId>* expect,
                 std::string* why);

/// Claims inbox entry <rel>/<name> (below `root_fd`) by renameat() into to_fd/to_name, from a
/// handle on its own folder opened by openFolderAt: no path is resolved through a folder the
/// scan did not see, and the entry itself must still be `file`. 0 when moved; else an errno
/// value (ESTALE: something was swapped since the scan; the entry is looked at again next pass).
int claimEntry(int root_fd, const std::string& rel, const std::vector<EntryId>& folders,
               const std::string& name, EntryId file, int to_fd, const std::string& to_name,
               std::string* why);

/// Refuses (false, *error) an inbox, outbox and state folder of which two are the same folder or one
/// is inside another, compared as canonical paths (symbolic links resolved; folders not created
/// yet are resolved as far as they exist). An outbox inside the inbox would take every delivered
/// file back in, for ever.
bool separateFolders(const std::string& inbox, const std::string& outbox,
                     const std::string& state_dir, std::string* error);

/// A file or folder name from the inbox as UTF-8 text. Valid UTF-8 is kept as it is; any other
/// name (Shift_JIS from an old client or a server without UTF-8 names) is decoded as CP932 by the
/// text module (or as EUC-JP when it is clearly that); bytes that still do not decode become
/// U+FFFD.
struct DecodedName {
  std::string utf8;
  std::string charset;  ///< "" when the name was UTF-8; else the charset used ("CP932")
  bool lossy = false;   ///< some bytes could not be decoded and are U+FFFD
  bool converted() const { return !charset.empty() || lossy; }
};
DecodedName decodeName(const std::string& raw);

/// The name as Windows compares it on the share, for collisions: NFC, then Unicode case folding
/// (a little stricter than Windows' upper-casing: "ß" and "ss" are one name here too).
std::string windowsKey(const std::string& utf8);

/// First name in dir that no entry there has yet as Windows sees it ("a.txt", "a-1.txt"...):
/// "Report.TXT" and an NFD "レポート.txt" collide with "report.txt" and "レポート.txt".
/// `taken` (optional) skips names another worker has reserved but not written yet.
std::string pickFreeName(const std::string& dir, const std::string& name,
                         const std::function<bool(const std::string&)>& taken = {});

/// mugai's own note names (".note.txt", ".blocked.txt", any case) are kept for mugai: a staff
/// file named like one is delivered as "x.pdf_note.txt" / "y.exe_blocked.txt".
std::string notNoteName(const std::string& name);

/// The start checks that create nothing: the inbox exists and is a folder, and the three folders
/// are separate (separateFolders). Run before anything (the state folder) is created.
bool checkFolders(const std::string& inbox, const std::string& outbox,
                  const std::string& state_dir, std::string* error);
class Service {
 public:
  /// `disposition` keeps the originals (vault) and reports each finished file; it outlives this.
  Service(Options options, EngineGetter engine, disposition::Disposition& disposition);
  ~Service();
  /// Checks and creates the folders; false with *error when unusable.
  bool prepare(std::string* error);
  /// Watches and processes until stop(); the current file is finished first.
  void run();
  void stop() { stop_ = true; }
  /// One pass: recover processing/, scan the inbox, take stable files. For tests and bench.
  std::size_t pass();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace mugai::filedrop
