# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt), after the
# binary: places the unit and feeds.conf for the prefix of this install,
# which is --prefix when one is given, so `cmake --install build --prefix P`
# puts everything under P, as it does the binary.
#
# Set by CMakeLists.txt before this runs: HF_SRC (source tree), HF_OUT
# (build tree), HF_BINDIR, HF_SYSCONFDIR, HF_DATADIR (GNUInstallDirs'
# relative or absolute dirs) and HF_UNITDIR.
#
#  - feeds.conf goes into SYSCONFDIR/helsefeed only when there is none: an
#    admin's edited file is never overwritten (the Debian package leaves
#    this to dpkg, which knows it as a conffile);
#  - its pristine copy goes into DATADIR/helsefeed, where the unit's
#    ExecCondition compares it with the one in use;
#  - the unit is made from systemd/helsefeed.service.in into the build
#    tree, its ExecStart naming the binary and feeds.conf of this prefix.

# GNUInstallDirs' absolute directory of `rel` (GNUInstallDirs_get_absolute_
# install_dir, for the install-time prefix): /etc rather than /usr/etc
# for the prefixes / and /usr, /etc/opt/NAME for /opt/NAME.
function(hf_absolute out rel kind)
  set(p "${CMAKE_INSTALL_PREFIX}")
  if(IS_ABSOLUTE "${rel}")
    set(dir "${rel}")
  elseif(kind STREQUAL "SYSCONFDIR" AND p MATCHES "^/(usr/?)?$")
    set(dir "/${rel}")
  elseif(kind STREQUAL "SYSCONFDIR" AND p MATCHES "^/opt/" AND NOT p MATCHES "^/opt/homebrew/")
    set(dir "/${rel}${p}")
  elseif(p STREQUAL "/" AND NOT rel MATCHES "^usr/")
    set(dir "/usr/${rel}")
  else()
    string(REGEX REPLACE "/$" "" p "${p}")
    set(dir "${p}/${rel}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

hf_absolute(HF_BINDIR "${HF_BINDIR}" BINDIR)
hf_absolute(HF_CONFDIR "${HF_SYSCONFDIR}/helsefeed" SYSCONFDIR)
hf_absolute(HF_DATADIR "${HF_DATADIR}/helsefeed" DATADIR)
hf_absolute(unitdir "${HF_UNITDIR}" UNITDIR)

file(INSTALL "${HF_SRC}/feeds.conf" DESTINATION "${HF_DATADIR}")
if(EXISTS "$ENV{DESTDIR}${HF_CONFDIR}/feeds.conf")
  message(STATUS "Kept: $ENV{DESTDIR}${HF_CONFDIR}/feeds.conf (the new one is ${HF_DATADIR}/feeds.conf)")
else()
  file(INSTALL "${HF_SRC}/feeds.conf" DESTINATION "${HF_CONFDIR}")
endif()

configure_file("${HF_SRC}/systemd/helsefeed.service.in"
               "${HF_OUT}/systemd/helsefeed.service" @ONLY)
file(INSTALL "${HF_OUT}/systemd/helsefeed.service" DESTINATION "${unitdir}")
