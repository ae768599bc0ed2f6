// Files hidden in text bodies (issue 10, class 5): a uuencoded, yEnc or BinHex executable (and
// EICAR) inside a text/plain body was delivered verbatim and never judged as a file, and an
// inline PGP message passed although encrypted MIME is blocked. Each block is decoded, handed
// to the whole attachment policy (scan, deny list, type rules) like an archive member, and
// taken out of the text with a note; a PGP message is treated like encrypted MIME.
#include <algorithm>
#include <array>
#include <cstdint>

#include "mugai/core/digest.h"
#include "mugai/mime/mime.h"
#include "mugai/text/filename.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

struct Line {
  std::size_t begin, end, next;  // content [begin, end), next line at `next`
};

std::vector<Line> splitLines(std::string_view t) {
  std::vector<Line> out;
  std::size_t p = 0;
  while (p < t.size()) {
    std::size_t nl = t.find('\n', p);
    std::size_t end = nl == std::string_view::npos ? t.size() : nl;
    std::size_t next = nl == std::string_view::npos ? t.size() : nl + 1;
    if (end > p && t[end - 1] == '\r') --end;
    out.push_back({p, end, next});
    p = next;
  }
  return out;
}

/// The lines of a block: a block indented or quoted ("  begin 644 x.exe", "> begin ...") is read
/// with that prefix taken off each line that carries it, as uudecode-like tools and readers who
/// copy it out do.
struct Lines {
  std::string_view text;
  const std::vector<Line>& lines;
  std::string_view prefix;
  std::size_t size() const { return lines.size(); }
  std::string_view operator[](std::size_t k) const {
    std::string_view l = text.substr(lines[k].begin, lines[k].end - lines[k].begin);
    if (!prefix.empty() && l.starts_with(prefix)) l.remove_prefix(prefix.size());
    return l;
  }
};

/// The quote and indent prefix of a line (" ", TAB, ">").
std::size_t prefixLength(std::string_view l) {
  std::size_t n = 0;
  while (n < l.size() && (l[n] == ' ' || l[n] == '\t' || l[n] == '>')) ++n;
  return n;
}

bool octalMode(std::string_view s) {
  return s.size() >= 3 && s.size() <= 4 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '7'; });
}

/// uuencode data lines (after "begin"), up to "end".
bool decodeUu(const Lines& lines, std::size_t& i, std::string& out) {
  for (; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l == "end") return true;
    if (l.empty()) continue;
    std::size_t n = static_cast<std::size_t>((l[0] - 32) & 63);
    if (n == 0) continue;  // the "`" line before "end"
    std::size_t got = 0;
    for (std::size_t k = 1; k + 3 < l.size() + 3 && got < n; k += 4) {
      unsigned v[4];
      for (int j = 0; j < 4; ++j) v[j] = k + j < l.size() ? static_cast<unsigned>((l[k + j] - 32) & 63) : 0;
      unsigned char b[3] = {static_cast<unsigned char>((v[0] << 2) | (v[1] >> 4)),
                            static_cast<unsigned char>((v[1] << 4) | (v[2] >> 2)),
                            static_cast<unsigned char>((v[2] << 6) | v[3])};
      for (int j = 0; j < 3 && got < n; ++j, ++got) out.push_back(static_cast<char>(b[j]));
    }
  }
  return false;  // no "end": damaged
}

/// "begin-base64" data lines up to "====".
bool decodeUuBase64(const Lines& lines, std::size_t& i, std::string& out) {
  std::string b64;
  for (; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l == "====") return mime::decodeBase64(b64, out);
    b64.append(l).append("\n");
  }
  return false;
}

/// yEnc data lines (after =ybegin, optional =ypart), up to =yend.
bool decodeYenc(const Lines& lines, std::size_t& i, std::string& out) {
  for (; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.rfind("=yend", 0) == 0) return true;
    if (l.rfind("=ypart", 0) == 0) continue;
    for (std::size_t k = 0; k < l.size(); ++k) {
      unsigned char c = static_cast<unsigned char>(l[k]);
      if (c == '=' && k + 1 < l.size()) c = static_cast<unsigned char>(static_cast<unsigned char>(l[++k]) - 64);
      out.push_back(static_cast<char>(static_cast<unsigned char>(c - 42)));
    }
  }
  return false;
}

/// BinHex 4.0: ':'-delimited 6-bit text, run-length coding, a header, the data fork.
bool decodeBinHex(std::string_view text, std::size_t from, std::size_t& end_pos, std::string& name, std::string& out) {
  static constexpr std::string_view kAlphabet =
      "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
  std::size_t open = text.find(':', from);
  if (open == std::string_view::npos) return false;
  std::string raw;
  unsigned acc = 0;
  int bits = 0;
  std::size_t p = open + 1;
  for (; p < text.size() && text[p] != ':'; ++p) {
    char c = text[p];
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    std::size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (p >= text.size()) return false;
  end_pos = p + 1;
  std::string data;  // run-length decoded
  for (std::size_t k = 0; k < raw.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(raw[k]);
    if (c != 0x90) {
      data.push_back(static_cast<char>(c));
      continue;
    }
    if (++k >= raw.size()) return false;
    unsigned n = static_cast<unsigned char>(raw[k]);
    if (n == 0) {
      data.push_back(static_cast<char>(0x90));
    } else if (!data.empty()) {
      if (data.size() + n > (64u << 20)) return false;
      data.append(n - 1, data.back());
    }
  }
  if (data.empty()) return false;
  std::size_t nlen = static_cast<unsigned char>(data[0]);
  std::size_t hdr = 1 + nlen + 1 + 4 + 4 + 2 + 4 + 4 + 2;
  if (data.size() < hdr) return false;
  name = data.substr(1, nlen);
  auto be32 = [&](std::size_t o) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(data[o])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(data[o + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(data[o + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(data[o + 3]));
  };
  std::size_t dlen = be32(1 + nlen + 1 + 4 + 4 + 2);
  if (data.size() < hdr + dlen) return false;
  out = data.substr(hdr, dlen);
  return true;
}

/// An armored PGP block that carries data we cannot read: a message (encrypted or signed inside),
/// an armored file, a multi-part message ("PGP MESSAGE, PART 1/2"). Clear-signed text, detached
/// signatures and keys carry no hidden content and stay.
bool pgpBlock(std::string_view l) {
  if (l.rfind("-----BEGIN PGP ", 0) != 0) return false;
  std::string_view what = l.substr(15);
  for (std::string_view shown : {"SIGNED MESSAGE-----", "SIGNATURE-----", "PUBLIC KEY BLOCK-----"}) {
    if (what.rfind(shown, 0) == 0) return false;
  }
  return true;
}

}  // namespace

std::vector<BodyBlock> findBodyBlocks(std::string_view text) {
  std::vector<BodyBlock> blocks;
  std::vector<Line> lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = text.substr(lines[i].begin, lines[i].end - lines[i].begin);
    const std::size_t indent = prefixLength(l);
    const Lines view{text, lines, l.substr(0, indent)};
    l.remove_prefix(indent);
    BodyBlock b;
    b.begin = lines[i].begin;
    std::size_t j = i + 1;
    if (l.rfind("begin ", 0) == 0 || l.rfind("begin-base64 ", 0) == 0) {
      bool b64 = l[5] == '-';
      std::string_view rest = l.substr(b64 ? 13 : 6);
      std::size_t sp = rest.find(' ');
      if (sp == std::string_view::npos || !octalMode(rest.substr(0, sp))) continue;
      b.kind = b64 ? "uuencode (base64)" : "uuencode";
      b.name = std::string(rest.substr(sp + 1));
      b.decoded = b64 ? decodeUuBase64(view, j, b.data) : decodeUu(view, j, b.data);
    } else if (l.rfind("=ybegin ", 0) == 0) {
      std::size_t at = l.find(" name=");
      b.kind = "yEnc";
      b.name = at == std::string_view::npos ? std::string() : std::string(l.substr(at + 6));
      b.decoded = decodeYenc(view, j, b.data);
    } else if (l.find("(This file must be converted with BinHex") != std::string_view::npos) {
      b.kind = "BinHex";
      std::size_t end_pos = text.size();
      b.decoded = decodeBinHex(text, lines[i].next, end_pos, b.name, b.data);
      // The block ends after the closing ':' (or runs to the end when it is damaged).
      while (j < lines.size() && lines[j].begin < end_pos) ++j;
      b.end = j < lines.size() ? lines[j].begin : text.size();
      blocks.push_back(std::move(b));
      i = j - 1;
      continue;
    } else if (pgpBlock(l)) {
      b.kind = "PGP message";
      b.pgp = true;
      while (j < lines.size() && view[j].rfind("-----END PGP ", 0) != 0) ++j;
      b.decoded = true;
    } else {
      continue;
    }
    // The block runs through its end line (or to the end of the text when none was found).
    b.end = j < lines.size() ? lines[j].next : text.size();
    blocks.push_back(std::move(b));
    i = j;
  }
  return blocks;
}

bool takeBodyBlocks(const Part& part, WalkState& s, std::string& text) {
  std::vector<BodyBlock> blocks = findBodyBlocks(part.data);
  if (blocks.empty()) return true;
  std::string out;
  std::size_t from = 0, n = 0;
  for (BodyBlock& b : blocks) {
    ++n;
    out.append(part.data, from, b.begin - from);
    from = b.end;
    std::string shown = text::sanitizeFilename(b.name);
    ActionRecord rec;
    rec.part = part.path.empty() ? std::to_string(n) : part.path + "/" + std::to_string(n);
    rec.filename = b.name;
    rec.body = false;
    rec.bytes_in = b.end - b.begin;
    rec.findings.push_back({"encoding", b.kind});
    // The file's own bytes as decoded; a PGP message or a block that would not decode, as written.
    rec.sha256 = sha256Hex(b.decoded && !b.pgp ? std::string_view(b.data)
                                               : std::string_view(part.data).substr(b.begin, b.end - b.begin));
    if (b.pgp) {  // like encrypted MIME (rules.encrypted_mime)
      Verdict v = s.policy.encrypted_action == policy::Action::Block
                      ? s.policy.verdictFor(Reason::ContentEncrypted, s.override_rules)
                      : Verdict::PartRemoved;
      rec.action = v >= Verdict::TempFail ? "blocked" : "removed";
      rec.reason = std::string(reasonInfo(Reason::ContentEncrypted).name);
      rec.sanitizer = "rules.encrypted_mime";
      rec.detail = "inline PGP message in the text body cannot be inspected";
      s.report.actions.push_back(std::move(rec));
      s.raise(std::max(v, Verdict::PartRemoved), Reason::ContentEncrypted);
      s.any_notice_item = true;
      if (s.stopped()) return false;
      out += "[暗号化された部分（PGP）を取り除きました / an encrypted (PGP) section was taken out]\n";
      continue;
    }
    if (auto over = s.budget.chargePart()) {
      rec.action = "blocked";
      rec.reason = std::string(reasonInfo(*over).name);
      rec.sanitizer = "pipeline.body_blocks";
      rec.detail = "too many encoded files in the text body";
      s.report.actions.push_back(std::move(rec));
      s.raise(std::max(s.policy.verdictFor(*over, s.override_rules), Verdict::TempFail), *over);
      return false;
    }
    MemberResult judged;
    bool judged_here = false;
    if (b.decoded && !b.data.empty() && !s.budget.chargeDecoded(b.data.size()) && s.ctx.members) {
      Part member;
      member.path = rec.part;
      member.filename = Untrusted<std::string>(b.name);
      member.data = std::move(b.data);
      judged = s.ctx.members->process(std::move(member));
      judged_here = true;
      if (judged.kind == MemberResult::Kind::Blocked || s.stopped()) return false;
    }
    // Whatever the rules said of the file, it leaves the text: a file sent as text is not
    // delivered as a file. When the rules removed it, that record already says why.
    if (!judged_here || judged.kind == MemberResult::Kind::Kept) {
      rec.action = "removed";
      rec.reason = std::string(reasonInfo(Reason::BodyEncodedFile).name);
      rec.sanitizer = "pipeline.body_blocks";
      rec.detail = judged_here ? b.kind + " file in the text body, taken out (the file rules let it pass)"
                               : b.kind + " block in the text body that could not be decoded, taken out";
      Verdict v = s.policy.verdictFor(Reason::BodyEncodedFile, s.override_rules);
      s.report.actions.push_back(std::move(rec));
      s.raise(std::max(v, Verdict::PartRemoved), Reason::BodyEncodedFile);
      s.any_notice_item = true;
      if (s.stopped()) return false;
    }
    out += "[本文中の符号化されたファイル「" + shown + "」（" + b.kind + "）を取り除きました / the " + b.kind +
           " file \"" + shown + "\" was taken out of the text]\n";
  }
  out.append(part.data, from, std::string::npos);
  text = std::move(out);
  return true;
}

}  // namespace mugai::pipeline
