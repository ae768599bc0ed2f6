/**
 * @file xml_lite.h
 * @brief A minimal, linear XML tag scanner and an edit list, for the package rebuilders.
 *
 * Trust: the XML is hostile. The scanner never expands entities, never follows a DTD (a DOCTYPE
 *        is refused: OOXML forbids it and ODF never needs one) and never recurses.
 * Limits: linear in the input; edits are applied in one pass. Element matching keeps a depth
 *         counter only for the element looked for (no stack).
 * Errors: malformed markup (unterminated tag, comment, CDATA, unbalanced element) sets `malformed`
 *         and the caller fails closed.
 *
 * Why not a full parser: the rebuilders change a handful of elements and attributes in a few
 * parts and must leave everything else byte-identical (namespaces, mc:Ignorable, whitespace),
 * which a parse-and-serialize round trip does not guarantee. Tags are read exactly as XML 1.0
 * delimits them (quoted attribute values may hold '>'), which is all these edits need.
 */
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mugai::zip::xml {

struct Attr {
  std::string_view name;           ///< qualified, e.g. "r:id"
  std::string_view value;          ///< raw (entities not decoded)
  std::size_t begin = 0, end = 0;  ///< absolute offsets of ` name="value"` (leading space included)
};

struct Tag {
  enum class Kind { Open, Close, Empty };
  Kind kind = Kind::Open;
  std::size_t begin = 0, end = 0;  ///< absolute [begin, end) of "<...>"
  std::string_view name;           ///< qualified name
  std::vector<Attr> attrs;
  std::string_view local() const {
    std::size_t c = name.find(':');
    return c == std::string_view::npos ? name : name.substr(c + 1);
  }
  const Attr* attr(std::string_view qname) const;
};

class Scanner {
 public:
  explicit Scanner(std::string_view xml) : xml_(xml) {}
  /// The next element tag; false at the end or when malformed() (then stop).
  bool next(Tag& tag);
  bool malformed() const { return malformed_; }
  std::size_t pos() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }
  /// Given an Open tag just returned, the offset just past its matching close tag (the scanner
  /// is left there); npos (and malformed) when it is never closed. For Empty tags: tag.end.
  std::size_t skipElement(const Tag& open);

 private:
  enum class Markup { Element, Skipped, Malformed };
  /// At '<' (offset lt): comments, CDATA and processing instructions are skipped (pos_ past
  /// them); a declaration (<!DOCTYPE ...) or an unterminated one is Malformed.
  Markup skipNonElement(std::size_t lt);
  /// The tag at lt: its name, then its attributes up to '>' or '/>'.
  bool readTag(std::size_t lt, Tag& tag);
  /// One attribute at p (name = "value" or 'value'), p moved past it; false when malformed.
  bool readAttr(std::size_t& p, Attr& a) const;
  bool fail() {
    malformed_ = true;
    return false;
  }

  std::string_view xml_;
  std::size_t pos_ = 0;
  bool malformed_ = false;
};

/// The byte range of a harmless document type declaration before the root element: `<!DOCTYPE`
/// with at most a public and a relative system identifier and no internal subset (no `[`, so no
/// entity can be declared), as OpenOffice.org 2 wrote in every manifest. {npos, npos} otherwise;
/// such a declaration (or any other) is then refused by the Scanner. Callers cut the range out
/// before scanning: nothing downstream should be invited to fetch a DTD.
std::pair<std::size_t, std::size_t> plainDoctype(std::string_view xml);

/// The entity or character reference starting at raw[i] ('&'): its code point in *cp and its
/// length (through ';'), or 0 when there is none. Read as an XML parser reads it: any number of
/// leading zeros (`&#x0000000057;` is 'W'), `x` or `X`; the five predefined entities. Linear: a
/// reference is looked at only as far as its own characters go.
std::size_t reference(std::string_view raw, std::size_t i, unsigned long* cp);

/// Decodes the five predefined entities and numeric character references (ASCII range only;
/// others become '?'). For comparing attribute values, never for output.
std::string decode(std::string_view raw);

/// Character data of an XML fragment (an element's content) as a parser hands it over: entities
/// and character references decoded (as by decode()), CDATA sections unwrapped, comments,
/// processing instructions and child tags dropped (`WEB<!-- -->SERVICE` is `WEBSERVICE`).
/// Unterminated markup ends the text. Linear.
std::string textContent(std::string_view raw);
std::string lower(std::string_view s);

/// Byte-range replacements applied in one pass (non-overlapping; an edit inside a range already
/// replaced is dropped).
class Edits {
 public:
  void replace(std::size_t begin, std::size_t end, std::string text) {
    edits_.push_back({begin, end, std::move(text)});
  }
  void erase(std::size_t begin, std::size_t end) { replace(begin, end, {}); }
  bool empty() const { return edits_.empty(); }
  std::size_t size() const { return edits_.size(); }
  std::string apply(std::string_view xml);

 private:
  struct Edit {
    std::size_t begin, end;
    std::string text;
  };
  std::vector<Edit> edits_;
};

/// Escapes text for an attribute value or element content.
std::string escape(std::string_view text);

}  // namespace mugai::zip::xml
