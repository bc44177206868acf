include(CMakePackageConfigHelpers)
install(TARGETS autograd EXPORT autogradTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY autograd/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/autograd FILES_MATCHING PATTERN "*.h")
install(DIRECTORY nn/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nn FILES_MATCHING PATTERN "*.h")
install(EXPORT autogradTargets NAMESPACE autograd:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/autograd)
configure_package_config_file(cmake/autogradConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/autogradConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/autograd)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/autogradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/autogradConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/autogradConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/autograd)
