# One precompiled header for every C++ target (EDGEFL_PCH, CMakeLists.txt).
# edgefl_pch builds it with the project's flags; every other library,
# program and bench target in the tree reuses it (REUSE_FROM), so it is
# compiled once; the test targets reuse edgefl_test_pch, the same headers
# built with the tests' flags (EDGEFL_TEST_O1). Included after every
# add_subdirectory: it walks the targets they defined.

# An object library needs a source; the headers come from
# target_precompile_headers.
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/edgefl_pch.cpp
     CONTENT "// Builds edgefl's precompiled header (cmake/precompiled_headers.cmake).\n")
add_library(edgefl_pch OBJECT ${PROJECT_BINARY_DIR}/edgefl_pch.cpp)
target_link_libraries(edgefl_pch PRIVATE edgefl_flags Eigen3::Eigen)
set(edgefl_pch_headers
  <algorithm> <array> <atomic> <chrono> <cmath> <cstddef> <cstdint> <cstdio> <cstdlib>
  <cstring> <filesystem> <fstream> <functional> <future> <limits> <map> <memory> <mutex>
  <numeric> <optional> <set> <span> <sstream> <stdexcept> <string> <string_view> <thread>
  <utility> <variant> <vector> <Eigen/Core>)
target_precompile_headers(edgefl_pch PRIVATE ${edgefl_pch_headers})

# The tests' code is compiled with other optimisation flags
# (tests/CMakeLists.txt, edgefl_test_opt), and a precompiled header is only
# valid with the flags it was built with: a second one, for the tests.
if(TARGET edgefl_test_opt)
  get_target_property(test_opt edgefl_test_opt INTERFACE_COMPILE_OPTIONS)
endif()
if(test_opt)
  add_library(edgefl_test_pch OBJECT ${PROJECT_BINARY_DIR}/edgefl_pch.cpp)
  target_link_libraries(edgefl_test_pch PRIVATE edgefl_flags edgefl_test_opt Eigen3::Eigen)
  target_precompile_headers(edgefl_test_pch PRIVATE ${edgefl_pch_headers})
endif()

# Every C++ target below `dir` except the precompiled headers' own.
function(edgefl_reuse_pch dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$"
       OR target MATCHES "^edgefl_(test_)?pch$")
      continue()
    endif()
    get_target_property(sources ${target} SOURCES)
    get_target_property(source_dir ${target} SOURCE_DIR)
    set(cxx FALSE)
    foreach(source ${sources})
      if(source MATCHES "\\.(cpp|cc|cxx)$")
        set(cxx TRUE)
        cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${source_dir})
        get_source_file_property(options ${source} DIRECTORY ${source_dir} COMPILE_OPTIONS)
        if(options)
          set_source_files_properties(${source} DIRECTORY ${source_dir}
                                      PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
        endif()
      endif()
    endforeach()
    string(FIND "${source_dir}/" "${PROJECT_SOURCE_DIR}/tests/" in_tests)
    if(cxx AND TARGET edgefl_test_pch AND in_tests EQUAL 0)
      target_precompile_headers(${target} REUSE_FROM edgefl_test_pch)
    elseif(cxx)
      target_precompile_headers(${target} REUSE_FROM edgefl_pch)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir ${subdirs})
    edgefl_reuse_pch(${subdir})
  endforeach()
endfunction()
edgefl_reuse_pch(${PROJECT_SOURCE_DIR})
