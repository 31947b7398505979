# Run by `cmake --install` and by CPack (install(SCRIPT) in
# cmake/install.cmake): copies deploy/systemd's units to
# PREFIX/lib/systemd/system with ExecStart naming the installed programs
# (PREFIX/bin instead of the /usr/local/bin the repository's copies say), and
# the sysusers file to PREFIX/lib/sysusers.d/edgefl.conf.
# Expects EDGEFL_UNIT_DIR (the source's deploy/systemd) and
# EDGEFL_INSTALL_BINDIR (bin) set by the install(CODE) before it.
set(prefix "${CMAKE_INSTALL_PREFIX}")
set(root "$ENV{DESTDIR}${prefix}")
foreach(unit IN ITEMS edgefl-coordinator.service edgefl-client@.service)
  file(READ "${EDGEFL_UNIT_DIR}/${unit}" text)
  string(REPLACE "/usr/local/bin/" "${prefix}/${EDGEFL_INSTALL_BINDIR}/" text "${text}")
  message(STATUS "Installing: ${root}/lib/systemd/system/${unit}")
  file(WRITE "${root}/lib/systemd/system/${unit}" "${text}")
endforeach()
message(STATUS "Installing: ${root}/lib/sysusers.d/edgefl.conf")
file(MAKE_DIRECTORY "${root}/lib/sysusers.d")
file(COPY_FILE "${EDGEFL_UNIT_DIR}/edgefl.sysusers.conf" "${root}/lib/sysusers.d/edgefl.conf")
