# The licence matrix, checked on the binaries (LICENSE, docs/dependencies.md): no executable that
# is installed may link libclamav (GPL-2.0-only) together with qpdf or Gumbo (Apache-2.0), nor
# libopendkim or libopendmarc (Sendmail Open Source License) together with poppler (GPL).
#   cmake -DEXECUTABLES="path1|path2" -DCLAMAV_EXE=path -DAPACHE_EXE=path -DAUTH_EXE=path
#         [-DCONSOLE_EXE=path] -P licence_check.cmake
# CONSOLE_EXE (mugai-console) parses no content: it may link none of libclamav, qpdf, Gumbo, poppler.
# AUTH_EXE (mugai-auth) may link none of libclamav, qpdf, Gumbo, poppler either.
# CLAMAV_EXE must link libclamav, APACHE_EXE qpdf, Gumbo and poppler, AUTH_EXE libopendkim and
# libopendmarc: the check sees what it checks.
string(REPLACE "|" ";" _exes "${EXECUTABLES}")
set(_seen_clamav FALSE)
set(_seen_apache FALSE)
set(_seen_poppler FALSE)
set(_seen_sendmail FALSE)
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
  set(_poppler FALSE)
  set(_sendmail FALSE)
  if(_out MATCHES "libpoppler")
    set(_poppler TRUE)
  endif()
  if(_out MATCHES "libopendkim\\.so|libopendmarc\\.so")
    set(_sendmail TRUE)
  endif()
  message(STATUS "${_exe}: libclamav=${_gpl2} qpdf/Gumbo=${_apache} poppler=${_poppler} "
                 "libopendkim/libopendmarc=${_sendmail}")
  if(_gpl2 AND _apache)
    message(FATAL_ERROR "${_exe} links libclamav (GPL-2.0-only) together with qpdf or Gumbo "
                        "(Apache-2.0): move the scanning into mugai-scan (src/scanclient)")
  endif()
  if(_sendmail AND _poppler)
    message(FATAL_ERROR "${_exe} links libopendkim or libopendmarc (Sendmail Open Source License) "
                        "together with poppler (GPL): move authentication into mugai-auth (src/authclient)")
  endif()
  if(DEFINED CONSOLE_EXE AND _exe STREQUAL CONSOLE_EXE AND
     (_gpl2 OR _apache OR _out MATCHES "libpoppler|libarchive|libgsf|libmagic"))
    message(FATAL_ERROR "${_exe} (the console) links a parser or libclamav; it must parse no content")
  endif()
  if(DEFINED AUTH_EXE AND _exe STREQUAL AUTH_EXE AND (_gpl2 OR _apache OR _poppler))
    message(FATAL_ERROR "${_exe} (mugai-auth) links libclamav, qpdf, Gumbo or poppler; it must link "
                        "the authentication libraries only")
  endif()
  if(_exe STREQUAL CLAMAV_EXE AND _gpl2)
    set(_seen_clamav TRUE)
  endif()
  if(_exe STREQUAL APACHE_EXE AND _apache)
    set(_seen_apache TRUE)
  endif()
  if(_exe STREQUAL APACHE_EXE AND _poppler)
    set(_seen_poppler TRUE)
  endif()
  if(_exe STREQUAL AUTH_EXE AND _out MATCHES "libopendkim\\.so" AND _out MATCHES "libopendmarc\\.so")
    set(_seen_sendmail TRUE)
  endif()
endforeach()
if(NOT _seen_clamav OR NOT _seen_apache)
  message(FATAL_ERROR "the check saw no libclamav in ${CLAMAV_EXE} or no qpdf/Gumbo in "
                      "${APACHE_EXE}: it would not notice anything (is ldd working?)")
endif()
if(NOT _seen_poppler OR NOT _seen_sendmail)
  message(FATAL_ERROR "the check saw no poppler in ${APACHE_EXE} or not both libopendkim and "
                      "libopendmarc in ${AUTH_EXE}: it would not notice anything (is AUTH_EXE installed?)")
endif()
