# sanitizer.pdf needs qpdf (parse, scrub, write) and poppler (flatten mode: poppler-cpp reads the
# document; poppler's core renders the pages, because only its displayPageSlice() takes an abort
# callback: libpoppler-private-dev's headers, pinned to Debian 12's poppler 22.12).
pkg_check_modules(QPDF REQUIRED IMPORTED_TARGET libqpdf)
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
pkg_check_modules(POPPLER REQUIRED IMPORTED_TARGET poppler)
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::QPDF PkgConfig::POPPLER_CPP
                                                 PkgConfig::POPPLER)
# qpdf 11: use std::shared_ptr everywhere, no PointerHolder (and no #warning per file).
target_compile_definitions(${SANITIZER_TARGET} PUBLIC POINTERHOLDER_TRANSITION=4)
# clang 14 (the fuzz build, fuzz/README.md) cannot compile qpdf 11's JSON.hh as C++20: a defaulted
# virtual destructor instantiates std::vector<JSON> while JSON is incomplete. This folder is
# C++17-clean, so clang builds it as C++17; gcc keeps C++20.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set_target_properties(${SANITIZER_TARGET} PROPERTIES CXX_STANDARD 17)
endif()
