// A shared object that is not a Bento module (no bento_module_info).
extern "C" __attribute__((visibility("default"))) int not_a_bento_module() {
  return 42;
}
