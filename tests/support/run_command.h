// Runs a command line through the shell and keeps what it printed: for the tests that
// drive the real binaries (prov, bentoctl, mkfs.bento ...).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace bento::test {

struct RunResult {
  int status = -1;  // exit code, or -1 if killed by a signal
  std::string output;
};

// Runs `cmd` through the shell, capturing stdout and stderr together.
inline RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace bento::test
