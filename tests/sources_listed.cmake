# Fails when a *.h or *.cpp under the given directories is in no target's source list (sources and
# header sets are listed explicitly, not globbed: a file added to the tree but not to its
# CMakeLists.txt would otherwise be silently left out of the build, or a test file out of the suite).
#   cmake -DROOT=<project root> -DDIRS=<a,b> -DLISTED=<file, one absolute path a line>
#         [-DIGNORE=<regex over paths relative to ROOT>] -P sources_listed.cmake
cmake_minimum_required(VERSION 3.25)
file(STRINGS "${LISTED}" listed)
string(REPLACE "," ";" DIRS "${DIRS}")
set(missing "")
foreach(dir IN LISTS DIRS)
  file(GLOB_RECURSE found RELATIVE "${ROOT}" "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cpp")
  foreach(file IN LISTS found)
    if(DEFINED IGNORE AND file MATCHES "${IGNORE}")
      continue()
    endif()
    if(NOT "${ROOT}/${file}" IN_LIST listed)
      string(APPEND missing "  ${file}\n")
    endif()
  endforeach()
endforeach()
if(missing)
  message(FATAL_ERROR "in no target's source list (add them to the CMakeLists.txt of their directory):\n${missing}")
endif()
