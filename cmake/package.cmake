# cpack -G DEB (in the build directory): two Debian packages of what
# cmake/install.cmake installs, under /usr.
#   edgefl      the three programs, the systemd units and the sysusers file
#               (postinst creates the edgefl user; no service is enabled);
#               Depends from dpkg-shlibdeps on the programs (libssl3,
#               libsqlite3-0, zlib1g, libtomlplusplus3, libstdc++6, ...)
#   edgefl-dev  the client library for apps: libedgefl-client.a, the C
#               header, the CMake package and the pkg-config file; it Depends
#               on the -dev packages of what the archive links
# tests/scripts/deb_package_test.cpp builds, inspects and unpacks both.
set(CPACK_PACKAGE_NAME edgefl)
set(CPACK_PACKAGE_VENDOR "edgefl")
set(CPACK_PACKAGE_CONTACT "edgefl maintainers <edgefl@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Federated learning for edge devices over mutual TLS")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Installed with DESTDIR and the real prefix, so the units' ExecStart says
# /usr/bin/... and not the staging directory (cmake/install_systemd_units.cmake).
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/edgefl/edgefl")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME edgefl)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/deb/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "edgefl (simulator and tools), edgefl-coordinator (the daemon) and edgefl-client (the device program), with systemd units")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME edgefl-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The archive's own libraries (edgefl-client.pc's Libs): what an app links.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libssl-dev, zlib1g-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "libedgefl-client.a with its C API header (edgefl_client.h), CMake package and pkg-config file")
include(CPack)
