// Must be rejected: printf is libc, not the kernel-services shim.
extern "C" int printf(const char*, ...);

void bad_libc_user(int v) {
  printf("%d\n", v);
}
