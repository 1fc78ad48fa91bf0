# bursar_area(NAME [HOT] DEPS dep...)
#
# Declares one area of the code base: every *.cc in the calling folder except *_test.cc and
# *_fuzz.cc becomes the static library bursar_NAME; every *_test.cc becomes part of the test
# binary NAME_test (GoogleTest, discovered by ctest); every *_fuzz.cc becomes a libFuzzer target
# NAME_fuzz when BURSAR_FUZZ is on. Adding a file needs no edit here (CONFIGURE_DEPENDS).
# HOT: the area is on the gateway's request path; its library is compiled with -O3 in the
# optimised build types (bench/gateway_instructions.sh: about 4.5 % fewer worker instructions
# per request than -O2; the tests and the other areas keep -O2, which builds faster).
function(bursar_area name)
  cmake_parse_arguments(ARG "HOT" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(lib_sources "")
  set(test_sources "")
  set(fuzz_sources "")
  foreach(src ${all_sources})
    if(src MATCHES "_test\\.cc$")
      list(APPEND test_sources ${src})
    elseif(src MATCHES "_fuzz\\.cc$")
      list(APPEND fuzz_sources ${src})
    else()
      list(APPEND lib_sources ${src})
    endif()
  endforeach()

  add_library(bursar_${name} STATIC ${lib_sources})
  target_include_directories(bursar_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(bursar_${name} PUBLIC ${ARG_DEPS})
  if(ARG_HOT)
    target_compile_options(bursar_${name} PRIVATE $<$<CONFIG:Release,RelWithDebInfo>:-O3>)
  endif()

  if(BURSAR_TESTS AND test_sources AND NOT BURSAR_FUZZ)
    add_executable(${name}_test ${test_sources})
    target_link_libraries(${name}_test PRIVATE bursar_${name} ${ARG_TEST_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    target_compile_definitions(${name}_test PRIVATE
      BURSAR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60
      PROPERTIES ENVIRONMENT "BURSAR_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  endif()

  if(BURSAR_FUZZ)
    foreach(src ${fuzz_sources})
      get_filename_component(target ${src} NAME_WE)
      add_executable(${target} ${src})
      target_link_libraries(${target} PRIVATE bursar_${name})
      target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    endforeach()
  endif()
endfunction()
