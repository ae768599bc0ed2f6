# The core includes no sanitizer (docs/architecture.md, "The core and the sanitizers"): no file
# under src/ and no public header under include/ may include "sanitizers/...", except in the
# folders that wire the program together:
#   src/main     the executable (`mugai rules sanitizers` lists the registry's factories)
#   src/release  the release runner (maps a re-scan to a verdict with sanitizer.clamav_scan's
#                outcomeFor; runs in the service, after the engine)
# The engine reaches sanitizers only through the registry and the rules' chains.
#   cmake -DROOT=<source or fixture dir> -P layering_check.cmake
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "layering_check.cmake: -DROOT=<dir> is required")
endif()
file(GLOB_RECURSE _files "${ROOT}/src/*" "${ROOT}/include/*")
set(_checked 0)
set(_bad "")
foreach(_f IN LISTS _files)
  file(RELATIVE_PATH _rel "${ROOT}" "${_f}")
  if(_rel MATCHES "^src/(main|release)/" OR NOT _rel MATCHES "\\.(h|hpp|cpp|cc|in|def|inc)$")
    continue()
  endif()
  math(EXPR _checked "${_checked} + 1")
  file(STRINGS "${_f}" _lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]sanitizers/")
  foreach(_l IN LISTS _lines)
    list(APPEND _bad "${_rel}: ${_l}")
  endforeach()
endforeach()
message(STATUS "layering: ${_checked} files checked under ${ROOT}")
if(_checked EQUAL 0)
  message(FATAL_ERROR "layering: no files found under ${ROOT}/src (wrong ROOT?)")
endif()
if(_bad)
  string(REPLACE ";" "\n  " _text "${_bad}")
  message(FATAL_ERROR "the core must not include a sanitizer (reach it through the registry or "
                      "move what the core needs into src/office, src/text...):\n  ${_text}")
endif()
