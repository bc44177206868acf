# The installed package: one export set per component, autograd-<component>-targets.cmake, which
# cmake/autogradConfig.cmake.in loads as asked:
#   find_package(autograd)                     autograd::core, ::data, ::nn and autograd::autograd
#   find_package(autograd COMPONENTS core)     autograd::core only (and its dependencies)
#   find_package(autograd COMPONENTS data)     autograd::data and the core it links
#   find_package(autograd COMPONENTS nn)       autograd::nn and the data and core it links
#   find_package(autograd COMPONENTS distributed)  autograd::distributed (built with AG_WITH_MPI),
#                                              nn, data and core, and MPI (find_dependency)
include(CMakePackageConfigHelpers)
set(AG_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/autograd)

function(ag_install_component component target)
  install(TARGETS ${target} EXPORT autograd-${component}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT autograd-${component}-targets NAMESPACE autograd:: DESTINATION ${AG_INSTALL_CMAKEDIR})
endfunction()
ag_install_component(core autograd_core)
ag_install_component(data autograd_data)
ag_install_component(nn autograd_nn)
if(AG_WITH_MPI)
  ag_install_component(distributed autograd_distributed)
endif()
# the umbrella autograd::autograd (an INTERFACE target linking the components)
install(TARGETS autograd EXPORT autograd-targets)
install(EXPORT autograd-targets NAMESPACE autograd:: DESTINATION ${AG_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/autogradConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/autogradConfig.cmake
  INSTALL_DESTINATION ${AG_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/autogradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/autogradConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/autogradConfigVersion.cmake
  DESTINATION ${AG_INSTALL_CMAKEDIR})
