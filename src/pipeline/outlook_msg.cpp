// Outlook .msg (an OLE2 compound file, MS-OXMSG): subject, sender, body and attachments read
// with libgsf, after the compound-file directory check (src/office/compound_file.h). Only named
// streams are read. A message attached as a message (its storage `__substg1.0_3701000D` laid out
// like the file's root) is read the same way, to archive_depth_limit; OLE objects are counted,
// not extracted.
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-utils.h>

#include <cstdint>
#include <memory>

#include "mugai/text/charset.h"
#include "src/office/compound_file.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

struct Unref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

class MsgReader {
 public:
  MsgReader(Budget& budget, MsgContents& out) : budget_(budget), out_(out) {}

  /// The bytes of stream `name` in `dir`; nullopt when absent. Charged to the budget first.
  std::optional<std::string> stream(GsfInfile* dir, const std::string& name) {
    GPtr<GsfInput> in(gsf_infile_child_by_name(dir, name.c_str()));
    if (!in || (GSF_IS_INFILE(in.get()) && gsf_infile_num_children(GSF_INFILE(in.get())) >= 0)) return std::nullopt;
    gsf_off_t size = gsf_input_size(in.get());
    if (size < 0) return std::nullopt;
    if (auto over = budget_.chargeDecoded(static_cast<std::uint64_t>(size))) {
      out_.failure = *over;
      out_.detail = "a stream is too large";
      return std::nullopt;
    }
    std::string data(static_cast<std::size_t>(size), '\0');
    if (size > 0 && !gsf_input_read(in.get(), static_cast<std::size_t>(size), reinterpret_cast<guint8*>(data.data())))
      return std::nullopt;
    return data;
  }

  /// A string property: the Unicode (001F) stream, else the 8-bit (001E) one; UTF-8 out.
  std::string text(GsfInfile* dir, const std::string& prop) {
    if (auto u = stream(dir, "__substg1.0_" + prop + "001F")) return strip(text::toUtf8(*u, "UTF-16LE").utf8);
    if (auto a = stream(dir, "__substg1.0_" + prop + "001E")) return strip(text::toUtf8(*a, "").utf8);
    return {};
  }

 private:
  static std::string strip(std::string s) {
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
  }
  Budget& budget_;
  MsgContents& out_;
};

}  // namespace

std::size_t MsgContents::totalFiles() const {
  std::size_t n = files.size();
  for (const auto& m : embedded) n += m.totalFiles();
  return n;
}

namespace {

std::uint32_t le32(std::string_view s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

/// PidTagAttachMethod (tag 0x37050003) from an attachment's property stream (an 8-byte header,
/// then 16-byte entries: tag, flags, value); 0 when it is not there. 5: an attached message;
/// 6: an OLE object, whose storage has the same name (__substg1.0_3701000D).
std::uint32_t attachMethod(std::string_view props) {
  for (std::size_t at = 8; at + 16 <= props.size(); at += 16) {
    if (le32(props, at) == 0x37050003) return le32(props, at + 8);
  }
  return 0;
}

constexpr std::uint32_t kAttachEmbeddedMsg = 5;

/// One message (the file's root at depth 1, or an attached message's storage) into `out`;
/// `files_seen` counts the files and attached messages of every level
/// (archive_member_count_limit).
void readMessage(GsfInfile* root, unsigned depth, const Limits& limits, Budget& budget,
                 std::size_t& files_seen, MsgContents& out) {
  MsgReader r(budget, out);
  out.subject = r.text(root, "0037");
  out.sender_name = r.text(root, "0C1A");
  out.sender_address = r.text(root, "0C1F");
  out.body_text = r.text(root, "1000");
  if (auto html = r.stream(root, "__substg1.0_10130102")) out.body_html = std::move(*html);
  int n = gsf_infile_num_children(root);
  auto oneMore = [&] {  // false (and the failure set) once the limit is reached
    if (files_seen < limits.archive_member_count_limit) {
      ++files_seen;
      return true;
    }
    out.failure = Reason::LimitArchiveMembers;
    out.detail = "too many attachments";
    return false;
  };
  for (int i = 0; i < n && !out.failure; ++i) {
    const char* name = gsf_infile_name_by_index(root, i);
    if (!name || std::string_view(name).rfind("__attach_version1.0_#", 0) != 0) continue;
    GPtr<GsfInput> child(gsf_infile_child_by_index(root, i));
    if (!child || !GSF_IS_INFILE(child.get())) continue;
    auto* dir = GSF_INFILE(child.get());
    if (auto bytes = r.stream(dir, "__substg1.0_37010102")) {
      if (!oneMore()) break;
      std::string fname = r.text(dir, "3707");
      if (fname.empty()) fname = r.text(dir, "3704");
      out.files.push_back({std::move(fname), std::move(*bytes)});
      continue;
    }
    if (out.failure) break;  // the stream was over the budget
    const auto props = r.stream(dir, "__properties_version1.0");
    GPtr<GsfInput> sub(gsf_infile_child_by_name(dir, "__substg1.0_3701000D"));
    if (!props || attachMethod(*props) != kAttachEmbeddedMsg || !sub || !GSF_IS_INFILE(sub.get())) {
      if (!out.failure) ++out.objects_not_extracted;  // an OLE object, or a damaged attachment
      continue;
    }
    if (depth + 1 > limits.archive_depth_limit) {
      out.failure = Reason::LimitArchiveDepth;
      out.detail = "messages attached inside messages deeper than archive_depth_limit";
      break;
    }
    if (!oneMore()) break;
    MsgContents inner;
    inner.attachment_name = r.text(dir, "3001");
    readMessage(GSF_INFILE(sub.get()), depth + 1, limits, budget, files_seen, inner);
    if (inner.failure) {
      out.failure = inner.failure;
      out.detail = "an attached message: " + inner.detail;
      break;
    }
    out.embedded.push_back(std::move(inner));
  }
}

}  // namespace

MsgContents readOutlookMsg(std::string_view data, const Limits& limits, Budget& budget) {
  MsgContents out;
  if (auto f = office::precheckCompoundFile(data, limits)) {
    out.failure = f->first;
    out.detail = f->second;
    return out;
  }
  GPtr<GsfInput> input(gsf_input_memory_new(reinterpret_cast<const guint8*>(data.data()),
                                            static_cast<gsf_off_t>(data.size()), FALSE));
  GError* err = nullptr;
  GPtr<GsfInfile> ole(input ? gsf_infile_msole_new(input.get(), &err) : nullptr);
  if (err) g_error_free(err);
  if (!ole) {
    out.failure = Reason::ParseMalformed;
    out.detail = "not a compound file";
    return out;
  }
  std::size_t files_seen = 0;
  readMessage(ole.get(), 1, limits, budget, files_seen, out);  // the file is level 1, as archives
  if (!out.failure) out.ok = true;
  return out;
}

}  // namespace mugai::pipeline
