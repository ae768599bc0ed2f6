// The scanner options as they cross to the scanner process (both sides build from the same
// params.def, so Limits travels as its fields in table order, with their count checked).
#pragma once

#include "mugai/scan/scanner.h"
#include "src/ipc/wire.h"

namespace mugai::ipc {

inline void encodeScanOptions(WireWriter& w, const ClamavOptions& o) {
  w.u32(static_cast<std::uint32_t>(o.signature_paths.size()));
  for (const auto& p : o.signature_paths) w.str(p);
  w.u8(o.include_system_db ? 1 : 0);
  w.str(o.tmpdir);
  std::uint32_t n = 0;
#define MUGAI_PARAM(name, def, min, max, unit, doc) ++n;
#include "mugai/config/params.def"
#undef MUGAI_PARAM
  w.u32(n);
#define MUGAI_PARAM(name, def, min, max, unit, doc) w.u64(o.limits.name);
#include "mugai/config/params.def"
#undef MUGAI_PARAM
}

inline bool decodeScanOptions(WireReader& r, ClamavOptions& o) {
  std::uint32_t paths = r.count(4096);
  for (std::uint32_t i = 0; i < paths && r.ok(); ++i) o.signature_paths.push_back(r.str(4096));
  o.include_system_db = r.u8() != 0;
  o.tmpdir = r.str(4096);
  std::uint32_t n = 0;
#define MUGAI_PARAM(name, def, min, max, unit, doc) ++n;
#include "mugai/config/params.def"
#undef MUGAI_PARAM
  if (r.u32() != n) return false;
#define MUGAI_PARAM(name, def, min, max, unit, doc) o.limits.name = r.u64();
#include "mugai/config/params.def"
#undef MUGAI_PARAM
  return r.atEnd();
}

}  // namespace mugai::ipc
