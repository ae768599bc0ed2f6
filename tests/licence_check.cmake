# The licence matrix, checked on the binaries (LICENSE, docs/dependencies.md): no executable that
# is installed may link libclamav (GPL-2.0-only) together with qpdf or Gumbo (Apache-2.0).
#   cmake -DEXECUTABLES="path1|path2" -DCLAMAV_EXE=path -DAPACHE_EXE=path [-DCONSOLE_EXE=path]
#         -P licence_check.cmake
# CONSOLE_EXE (mugai-console) parses no content: it may link none of libclamav, qpdf, Gumbo, poppler.
# CLAMAV_EXE must link libclamav and APACHE_EXE qpdf and Gumbo: the check sees what it checks.
string(REPLACE "|" ";" _exes "${EXECUTABLES}")
set(_seen_clamav FALSE)
set(_seen_apache FALSE)
foreach(_exe IN LISTS _exes)
  execute_process(COMMAND ldd "${_exe}" OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "ldd ${_exe} failed: ${_err}")
  endif()
  set(_gpl2 FALSE)
  set(_apache FALSE)
  if(_out MATCHES "libclamav\\.so")
    set(_gpl2 TRUE)
  endif()
  if(_out MATCHES "libqpdf\\.so|libgumbo\\.so")
    set(_apache TRUE)
  endif()
  message(STATUS "${_exe}: libclamav=${_gpl2} qpdf/Gumbo=${_apache}")
  if(_gpl2 AND _apache)
    message(FATAL_ERROR "${_exe} links libclamav (GPL-2.0-only) together with qpdf or Gumbo "
                        "(Apache-2.0): move the scanning into mugai-scan (src/scanclient)")
  endif()
  if(DEFINED CONSOLE_EXE AND _exe STREQUAL CONSOLE_EXE AND
     (_gpl2 OR _apache OR _out MATCHES "libpoppler|libarchive|libgsf|libmagic"))
    message(FATAL_ERROR "${_exe} (the console) links a parser or libclamav; it must parse no content")
  endif()
  if(_exe STREQUAL CLAMAV_EXE AND _gpl2)
    set(_seen_clamav TRUE)
  endif()
  if(_exe STREQUAL APACHE_EXE AND _apache)
    set(_seen_apache TRUE)
  endif()
endforeach()
if(NOT _seen_clamav OR NOT _seen_apache)
  message(FATAL_ERROR "the check saw no libclamav in ${CLAMAV_EXE} or no qpdf/Gumbo in "
                      "${APACHE_EXE}: it would not notice anything (is ldd working?)")
endif()
