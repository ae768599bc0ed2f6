/**
 * @file ppt.h
 * @brief PowerPoint 97-2003 "PowerPoint Document" stream: the VBA project cut out in place.
 *
 * Trust: the streams are hostile; every record and offset is bounds-checked.
 * What: a VBAInfoAtom ([MS-PPT] 2.4.10) names the project's storage by persist id; the persist
 *       directory (CurrentUserAtom -> UserEditAtom chain -> PersistDirectoryAtom) gives that
 *       id's stream offset, where an ExOleObjStg record holds the (compressed) VBA storage. Its
 *       body is overwritten with zeros and the atom's persistIdRef and fHasMacros with 0 (what
 *       LibreOffice writes into every .ppt). Nothing moves, so no offset in the stream changes.
 *       A project that cannot be located this way is refused by the caller (content.active).
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::sanitizers::ole2 {

struct PptVbaEdit {
  bool unchanged = true;  ///< no VBA project named: the stream is copied as it is
  std::string stream;     ///< the stream without the project (when !unchanged and no refusal)
  std::vector<Finding> findings;
  std::optional<std::string> refused;  ///< a project is named but cannot be cut out: why
};

PptVbaEdit stripPptVba(std::string_view document, std::string_view current_user);

/// True when an ExOleObjStg body is all zeros (a project cut out by stripPptVba).
bool pptEmptiedStorage(const unsigned char* body, std::size_t n);

}  // namespace mugai::sanitizers::ole2
