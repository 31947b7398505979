# cmake --install: the three programs, and the client library for apps
# (docs/embedding.md): one static archive libedgefl-client.a bundling the
# client library and the edgefl libraries it needs, the C header, a CMake
# package (find_package(edgefl) -> edgefl::client) and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS edgefl edgefl-coordinator edgefl-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT runtime)
install(CODE "set(EDGEFL_UNIT_DIR \"${PROJECT_SOURCE_DIR}/deploy/systemd\")
              set(EDGEFL_INSTALL_BINDIR \"${CMAKE_INSTALL_BINDIR}\")"
        COMPONENT runtime)
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/install_systemd_units.cmake COMPONENT runtime)

# What edgefl_client links, in link order (a library missing here fails the
# out-of-tree build in tests/scripts/install_test.cpp).
set(edgefl_bundled edgefl_client edgefl_algorithms edgefl_wire edgefl_train edgefl_nn
                   edgefl_datasets edgefl_privacy edgefl_compress edgefl_common)
set(bundle ${PROJECT_BINARY_DIR}/libedgefl-client.a)
set(mri ${PROJECT_BINARY_DIR}/libedgefl-client.mri)
set(script "CREATE ${bundle}\n")
foreach(lib IN LISTS edgefl_bundled)
  string(APPEND script "ADDLIB $<TARGET_FILE:${lib}>\n")
endforeach()
string(APPEND script "SAVE\nEND\n")
file(GENERATE OUTPUT ${mri} CONTENT "${script}")
add_custom_command(OUTPUT ${bundle}
                   COMMAND ${CMAKE_COMMAND} -E rm -f ${bundle}
                   COMMAND sh -c "'${CMAKE_AR}' -M < '${mri}'"
                   DEPENDS ${edgefl_bundled} ${mri}
                   COMMENT "Bundling libedgefl-client.a" VERBATIM)
add_custom_target(edgefl_client_bundle ALL DEPENDS ${bundle})
install(FILES ${bundle} DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/client/edgefl_client.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/edgefl COMPONENT dev)

set(EDGEFL_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/edgefl)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/edgeflConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/edgeflConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgefl
                              PATH_VARS CMAKE_INSTALL_LIBDIR EDGEFL_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/edgeflConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/edgeflConfig.cmake
              ${PROJECT_BINARY_DIR}/edgeflConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgefl COMPONENT dev)
configure_file(${PROJECT_SOURCE_DIR}/cmake/edgefl-client.pc.in
               ${PROJECT_BINARY_DIR}/edgefl-client.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/edgefl-client.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

include(${PROJECT_SOURCE_DIR}/cmake/package.cmake)
