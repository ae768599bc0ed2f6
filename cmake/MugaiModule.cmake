# mugai_module(NAME DIRS dir... DEPS target...)
# Builds a static library mugai_<NAME> from the .cpp files in DIRS (relative to the source root),
# with include/ public. Each module compiles on its own, so work on one never breaks another.
function(mugai_module name)
  cmake_parse_arguments(M "" "" "DIRS;DEPS" ${ARGN})
  set(_srcs "")
  foreach(_d IN LISTS M_DIRS)
    file(GLOB _s CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/${_d}/*.cpp")
    list(APPEND _srcs ${_s})
  endforeach()
  set(_t mugai_${name})
  if(_srcs)
    add_library(${_t} STATIC ${_srcs})
    target_include_directories(${_t} PUBLIC "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}")
    target_link_libraries(${_t} PUBLIC ${M_DEPS})
    mugai_apply_flags(${_t})
  else()
    add_library(${_t} INTERFACE)
    target_include_directories(${_t} INTERFACE "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}")
    target_link_libraries(${_t} INTERFACE ${M_DEPS})
  endif()
endfunction()

# mugai_test_suite(NAME DEPS target...)
# One Catch2 executable mugai_<NAME>_tests from tests/unit/<NAME>/*.cpp, registered with ctest.
function(mugai_test_suite name)
  cmake_parse_arguments(T "" "" "DEPS;DIRS" ${ARGN})
  if(NOT T_DIRS)
    set(T_DIRS "unit/${name}")
  endif()
  set(_srcs "")
  foreach(_d IN LISTS T_DIRS)
    file(GLOB _s CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${_d}/*.cpp")
    list(APPEND _srcs ${_s})
  endforeach()
  if(NOT _srcs)
    return()
  endif()
  # ctest splits a discovered test name at ';', and the piece then matches no Catch test and
  # "passes" without running anything: refuse such names at configure time.
  foreach(_src IN LISTS _srcs)
    file(STRINGS "${_src}" _bad REGEX "TEST_CASE\\(\"[^\"]*;")
    # A name continued on the next line: an indented literal with ';' (no escapes: not a test's
    # mail text) that ends the name, followed by the tags or by ") {".
    if(NOT _bad)
      file(STRINGS "${_src}" _bad REGEX "^ +\"[^\"\\\\]*;[^\"\\\\]*\"(, \"\\[|\\) {)")
    endif()
    if(_bad)
      message(FATAL_ERROR "${_src}: a TEST_CASE name contains ';' (ctest would run nothing): ${_bad}")
    endif()
  endforeach()
  set(_t mugai_${name}_tests)
  add_executable(${_t} ${_srcs})
  target_link_libraries(${_t} PRIVATE mugai_test_main ${T_DEPS})
  mugai_apply_flags(${_t})
  # Tests assert behaviour, never speed (benchmarks print figures). A hang is caught by ctest's
  # timeout instead of a timing assertion that load can make flaky.
  catch_discover_tests(${_t} TEST_PREFIX "${name}: "
    PROPERTIES TIMEOUT 600
               ENVIRONMENT "MUGAI_SOURCE_DIR=${CMAKE_SOURCE_DIR};MUGAI_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
