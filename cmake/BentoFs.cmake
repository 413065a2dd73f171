# bento_add_fs(NAME SOURCES src...)
#
# Declares a Bento file system written against the File Operations API:
#   NAME_core   static library, for in-process tests (linked with bento_services)
#   NAME        MODULE (NAME.so) that the bentofs host loads
# and registers the sources with the freestanding check (kernel/freestanding/), which
# compiles them with the kernel's C++ flags and rejects forbidden dependencies.
#
# File system code is always compiled without exceptions and RTTI, in every build.
set(BENTO_FS_FLAGS -fno-exceptions -fno-rtti)
define_property(GLOBAL PROPERTY BENTO_FILE_SYSTEMS
  BRIEF_DOCS "file systems declared with bento_add_fs"
  FULL_DOCS "Names; each has BENTO_FS_SOURCES_<name> and BENTO_FS_INCLUDES_<name>.")

function(bento_add_fs name)
  cmake_parse_arguments(ARG "" "" "SOURCES;INCLUDES" ${ARGN})
  add_library(${name}_core STATIC ${ARG_SOURCES})
  target_compile_options(${name}_core PRIVATE ${BENTO_FS_FLAGS})
  target_include_directories(${name}_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
  target_link_libraries(${name}_core PUBLIC bento_api)

  add_library(${name} MODULE ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${BENTO_FS_FLAGS} -fvisibility=hidden)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
  target_link_libraries(${name} PRIVATE bento_api bento_services)
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/modules)

  # Each file system is checked as its own object (as each becomes its own kernel module).
  set_property(GLOBAL APPEND PROPERTY BENTO_FILE_SYSTEMS ${name})
  foreach(src ${ARG_SOURCES})
    get_filename_component(abs ${src} ABSOLUTE)
    set_property(GLOBAL APPEND PROPERTY BENTO_FS_SOURCES_${name} ${abs})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY BENTO_FS_INCLUDES_${name} ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
endfunction()
