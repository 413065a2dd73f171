// bento-probe-dump [--pid-filter PID]: prints the probes' events (every type in events.h,
// "event": fork, exec, exit, open, pipe, dup, close, fd_send, fd_recv, pipe_read,
// pipe_write, sock_send, sock_recv, connect, accept, bind, socketpair, mmap, munmap,
// file_read, file_write, truncate, rename, link, unlink, cred, kill) as JSON lines until
// SIGINT. What this kernel could not enable goes to stderr.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bento_bpf/events.h"
#include "bento_bpf/probes.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  long filter = 0;
  if (argc == 3 && std::strcmp(argv[1], "--pid-filter") == 0) {
    filter = std::atol(argv[2]);
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: bento-probe-dump [--pid-filter PID]\n");
    return 2;
  }
  std::string err;
  bento::bpf::ProbeOptions o;
  o.ignore_tgids.push_back(static_cast<uint32_t>(getpid()));
  auto probes = bento::bpf::Probes::open(o, &err);
  if (!probes) {
    std::fprintf(stderr, "bento-probe-dump: %s\n", err.c_str());
    return 3;
  }
  for (const auto& w : probes->warnings())
    std::fprintf(stderr, "bento-probe-dump: %s\n", w.c_str());
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  while (!g_stop) {
    probes->poll(200, [&](const void* d, size_t n) {
      const auto* h = static_cast<const bento_event_header*>(d);
      if (filter != 0 && h->pid != filter) return;
      std::printf("%s\n", bento::bpf::event_to_json(d, n).c_str());
    });
    std::fflush(stdout);
  }
  auto s = probes->stats();
  std::fprintf(stderr, "bento-probe-dump: %llu events, %llu lost\n",
               static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.lost));
  return 0;
}
