# ag_target_files(<target> <var>): the absolute paths of <target>'s sources and header-set files.
function(ag_target_files target var)
  get_target_property(dir ${target} SOURCE_DIR)
  get_target_property(files ${target} SOURCES)
  if(NOT files)
    set(files "")
  endif()
  get_target_property(sets ${target} HEADER_SETS)
  foreach(set IN LISTS sets)
    if(set STREQUAL "HEADERS")
      get_target_property(headers ${target} HEADER_SET)
    else()
      get_target_property(headers ${target} HEADER_SET_${set})
    endif()
    list(APPEND files ${headers})
  endforeach()
  set(absolute "")
  foreach(file IN LISTS files)
    cmake_path(ABSOLUTE_PATH file BASE_DIRECTORY "${dir}" NORMALIZE)
    list(APPEND absolute "${file}")
  endforeach()
  set(${var} "${absolute}" PARENT_SCOPE)
endfunction()

# ag_check_layering(<target>): checks, before <target> compiles and again whenever one of its files
# or the rules change, the #include lines of its sources and header sets against the layering rules
# of cmake/layering_rules.cmake (cmake/CheckLayering.cmake). A violation fails the build, naming
# file:line, the include and the rule.
function(ag_check_layering target)
  ag_target_files(${target} files)
  set(relative "")
  foreach(file IN LISTS files)
    cmake_path(RELATIVE_PATH file BASE_DIRECTORY "${PROJECT_SOURCE_DIR}" OUTPUT_VARIABLE rel)
    list(APPEND relative "${rel}")
  endforeach()
  list(JOIN relative "\n" content)
  set(list_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_layering_files.txt")
  file(CONFIGURE OUTPUT "${list_file}" CONTENT "${content}\n" @ONLY)
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${target}_layering.stamp")
  set(script "${PROJECT_SOURCE_DIR}/cmake/CheckLayering.cmake")
  set(rules "${PROJECT_SOURCE_DIR}/cmake/layering_rules.cmake")
  add_custom_command(OUTPUT "${stamp}"
    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -DRULES=${rules} -DFILE_LIST=${list_file}
            -DSTAMP=${stamp} -P ${script}
    DEPENDS ${script} ${rules} ${list_file} ${files}
    COMMENT "Checking the layering of ${target}"
    VERBATIM)
  add_custom_target(${target}_layering DEPENDS "${stamp}")
  add_dependencies(${target} ${target}_layering)
endfunction()
