// sanitizer.pdf: a raw-bytes look at how many objects a PDF declares, before qpdf or poppler
// parse it.
//
// Trust: the bytes are hostile; this only reads them, linearly, and never allocates from them.
// Limits: none needed (one pass, O(1) memory).
// Errors: none; a malformed number just ends the token.
//
// Why: qpdf 11.3 has no limit of its own on an xref stream. A 26 KB file whose Flate-compressed
// xref stream declares 3 million entries made qpdf build a 380 MB table in 4-9 s before any
// object could be counted. The declared size lives in the xref stream's dictionary, which is
// never compressed: `/Size N` (one more than the highest object number) and `/Index [first count
// ...]`. A legitimate file declares about as many objects as it has.
#pragma once

#include <cstdint>
#include <string_view>

namespace mugai::sanitizers::pdf {

/// The largest number of objects any `/Size n` or `/Index [a n b m ...]` (sum of counts) in the
/// file's bytes declares; names are compared after #xx decoding (`/#53ize` is `/Size`).
/// Text that merely looks like such a key inside an uncompressed stream counts too (fail closed).
std::uint64_t declaredObjectCount(std::string_view pdf);

}  // namespace mugai::sanitizers::pdf
