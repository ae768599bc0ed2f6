// Formats libmagic does not know (or knows only in old versions), recognised by their own
// structure; used by the libmagic adapter after libmagic has answered (magic_type_detector.cpp).
//
// Trust: the bytes are hostile. Every read is bounds-checked; nothing is decompressed or followed.
// Limits: one pass over 128-byte directory slots of a compound file (at most kMaxSlots), a few
//         TLV headers at both ends of a DocuWorks file.
#pragma once

#include <optional>
#include <string_view>

#include "mugai/core/part.h"

namespace mugai::detect {

/// 一太郎 (Ichitaro) in a compound file: a directory entry of its own (JustSystems'
/// "JSRV_SegmentInformation" / "JSRV_SummaryInformation" that every storage of a .jtd/.jtt
/// carries, or the "JSCompDocument" stream of a compressed .jttc). MIME application/x-ichitaro.
std::optional<TypeInfo> ichitaroCompound(std::string_view data);

/// DocuWorks (.xdw document, .xbd binder): tag-length-value elements, a header element (0x60)
/// holding a generation field (0x82), then a segment (0x61), and a trailer (0x68, or 0x65 in
/// generation 7) whose own length is the file's last four bytes and which ends the file.
/// MIME application/vnd.fujixerox.docuworks.
std::optional<TypeInfo> docuworks(std::string_view data);

}  // namespace mugai::detect
