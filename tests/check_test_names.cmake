# Fails if a doctest case name would be mangled by ctest registration:
# doctest_discover_tests passes the name to `--test-case=`, where ',' splits
# filters (the test then silently runs nothing) and ';' '[' ']' break CMake
# lists. Usage: cmake -DEXE=<suite> -P check_test_names.cmake
execute_process(COMMAND "${EXE}" --list-test-cases --no-version
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list-test-cases failed: ${rc}")
endif()
string(REPLACE ";" "<semicolon>" listing "${listing}")
string(REPLACE "\n" ";" lines "${listing}")
set(bad "")
foreach(line IN LISTS lines)
  if(line MATCHES "[,\\[\\]]" OR line MATCHES "<semicolon>")
    if(NOT line MATCHES "^\\[doctest\\]" AND NOT line MATCHES "^===")
      string(APPEND bad "  ${line}\n")
    endif()
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names must not contain , ; [ or ]:\n${bad}")
endif()
