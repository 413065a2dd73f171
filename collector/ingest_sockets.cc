// Ingest: sockets. A socket flow is a channel like a pipe (ingest_scope.cc), named after
// the SENDING end, so that the receiver's RECV finds it (events.h "How the two ends join"):
//   AF_UNIX   "unix <sender sock_id or inode>": the receiver's peer is the sender's socket
//             (a datagram whose sending socket is gone: the sending process's last one);
//   INET      "<proto> <netns> <sender local> > <sender remote>": the receiver's remote and
//             local, swapped (a wildcard local address matches any address with its port).
// A RECV that finds no local sender comes from a remote endpoint ("tcp 203.0.113.5:443"),
// an entity of its own: "received from 203.0.113.5:443 (tcp) by curl". connect, accept,
// bind and socketpair leave marks on the socket's channel or endpoint. A stream socket's
// and an AF_UNIX datagram socket's sends and receives (events.h v11, BENTO_SOCK_INSTANT) are
// instants, as a pipe's are, and a UDP socket's sends; a UDP receive, and a receive from a
// remote endpoint, last (the sender's later sends are not matched to them).
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bento_bpf/events.h"
#include "ingest.h"
#include "json_text.h"

namespace bento::collector {

namespace {

std::string proto_name(const bento_sock& s) {
  if (s.protocol == IPPROTO_TCP) return "tcp";
  if (s.protocol == IPPROTO_UDP) return "udp";
  return s.type == SOCK_STREAM  ? "tcp"
         : s.type == SOCK_DGRAM ? "udp"
                                : "ip" + std::to_string(s.protocol);
}

std::string inet_text(const bento_inet_addr& a) {
  if (a.family == 0) return "?";
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.family == AF_INET ? AF_INET : AF_INET6, a.addr, buf, sizeof buf);
  return (a.family == AF_INET6 ? "[" + std::string(buf) + "]" : std::string(buf)) + ":" +
         std::to_string(a.port);
}

bool wildcard(const bento_inet_addr& a) {
  const size_t n = a.family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < n; i++)
    if (a.addr[i] != 0) return false;
  return true;
}

std::string unix_id(const bento_sock& s) {
  if (s.sock_id != 0) return "s" + std::to_string(s.sock_id);
  if (s.ino != 0) return "i" + std::to_string(s.ino);
  return "";
}

// udp_flows_to_'s key: a destination port in a network namespace.
std::string udp_port_key(uint64_t netns, uint16_t port) {
  return std::to_string(netns) + " " + std::to_string(port);
}
constexpr size_t kUdpFlowsPerPort = 256;

std::string inet_key(const bento_sock& s, const std::string& from, const std::string& to) {
  return proto_name(s) + " " + std::to_string(s.netns) + " " + from + " > " + to;
}

}  // namespace

bool Ingest::on_sock(const void* data, size_t size) {
  if (size < sizeof(bento_sock_event)) return false;
  const auto* e = static_cast<const bento_sock_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  const bool unix_sock = e->sock.family == AF_UNIX;
  if (h->type == BENTO_EV_SOCK_END) {
    // A TCP endpoint sent its FIN: what it sent on the connection ended by then (a send
    // seen once, or the last of its reports, lasts until then; an instant ends where it
    // began). The channel is the one its sends named. No activity
    // is looked up: an exiting process closes its sockets after its EXIT event.
    if (unix_sock) return true;
    auto it = channels_.find(inet_key(e->sock, inet_text(e->local), inet_text(e->remote)));
    if (it == channels_.end() || it->second.kind != Channel::kSocket) return true;
    it->second.ended = t;
    if (it->second.file != 0) store_.end_sends(store_.latest_version(it->second.file).id, t);
    return true;
  }
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
  const std::string path(e->path, strnlen(e->path, std::min<size_t>(e->path_len, sizeof e->path)));
  std::string key;
  switch (h->type) {
    case BENTO_EV_SOCK_SEND: {
      if (unix_sock) {
        const std::string id = unix_id(e->sock);
        if (id.empty()) return true;
        key = "unix " + id;
        std::string name = unix_names_.count(key) ? unix_names_[key] : path;
        Channel& c = channel(
            key, Channel::kSocket, e->sock.ino,
            "unix " + (name.empty() ? "socket:[" + std::to_string(e->sock.ino) + "]" : name) +
                " #" + id);
        if (e->flags & BENTO_SOCK_INSTANT) c.instants = c.instant_sends = true;
        if (e->sock.type != SOCK_STREAM) {
          if (dgram_senders_.size() > 100000) dgram_senders_.clear();
          dgram_senders_[{h->pid, h->start_ns}] = key;
        }
      } else {
        const std::string from = inet_text(e->local), to = inet_text(e->remote);
        key = inet_key(e->sock, from, to);
        Channel& c = channel(key, Channel::kSocket, e->sock.ino,
                             proto_name(e->sock) + " " + from + " → " + to);
        if (c.ended != 0 && c.ended < t) c.ended = 0;  // the 4-tuple again: another connection
        if (e->flags & BENTO_SOCK_INSTANT) {
          c.instant_sends = true;
          if (e->sock.type == SOCK_STREAM) c.instants = true;  // UDP's receives last
        }
        if (e->sock.type != SOCK_STREAM && e->remote.family != 0) {
          if (udp_flows_to_.size() > 100000) udp_flows_to_.clear();
          auto& flows = udp_flows_to_[udp_port_key(e->sock.netns, e->remote.port)];
          auto f = std::find_if(flows.begin(), flows.end(),
                                [&](const UdpFlow& u) { return u.key == key; });
          if (f == flows.end()) {
            // A busy port (a local resolver: a new client port per query) keeps its latest
            // senders only.
            if (flows.size() >= kUdpFlowsPerPort) flows.erase(flows.begin());
            f = flows.insert(flows.end(), UdpFlow{to, key});
          }
          f->last_send = std::max(f->last_send, t);
        }
      }
      channel_io(key, act, t, true, false, (e->flags & BENTO_SOCK_LAST) != 0);
      return true;
    }
    case BENTO_EV_SOCK_RECV: {
      if (unix_sock) {
        const std::string id = unix_id(e->peer);
        if (!id.empty() && channels_.count("unix " + id)) {
          key = "unix " + id;
        } else if (auto s = dgram_senders_.find({e->peer_pid, e->peer_start_ns});
                   e->peer_pid != 0 && s != dgram_senders_.end()) {
          key = s->second;  // the sending socket is gone: its process's
        } else {
          // A sender the probes never saw (it started before them, or is filtered out).
          key = "endpoint unix " + (id.empty() ? "?" : id);
          std::string name = unix_names_.count("unix " + unix_id(e->sock))
                                 ? unix_names_["unix " + unix_id(e->sock)]
                                 : "";
          channel(key, Channel::kEndpoint, 0,
                  "unix peer of " +
                      (name.empty() ? "socket:[" + std::to_string(e->sock.ino) + "]" : name) +
                      (e->peer_pid != 0 ? " (pid " + std::to_string(e->peer_pid) + ")" : ""));
        }
      } else if (std::vector<std::string> senders = udp_senders_to(*e); !senders.empty()) {
        // An unconnected UDP socket's receive that asked for no source address: from the
        // local senders to its address that sent since its previous such receive.
        for (const std::string& k : senders)
          channel_io(k, act, t, false, runs_stdin(act, 0, e->sock.ino, e->fd),
                     (e->flags & BENTO_SOCK_LAST) != 0);
        return true;
      } else {
        const std::string remote = inet_text(e->remote), local = inet_text(e->local);
        key = inet_key(e->sock, remote, local);
        if (!channels_.count(key) && e->remote.family != 0) {
          bento_inet_addr any = e->remote;
          std::memset(any.addr, 0, sizeof any.addr);
          if (std::string k = inet_key(e->sock, inet_text(any), local); channels_.count(k)) key = k;
        }
        if (!channels_.count(key) && !wildcard(e->local)) {
          // Sent by an unbound local socket: any local address with that port.
          for (const char* local_any : {"0.0.0.0", "[::]"}) {
            std::string k = inet_key(e->sock, remote,
                                     std::string(local_any) + ":" + std::to_string(e->local.port));
            if (channels_.count(k)) key = k;
          }
        }
        if (!channels_.count(key)) {
          // No local sender: the remote endpoint.
          key = "endpoint " + proto_name(e->sock) + " " + remote;
          channel(key, Channel::kEndpoint, 0, proto_name(e->sock) + " " + remote);
        }
      }
      // A shell given its stdin socket runs what it receives (`nc -e /bin/sh`, `bash -i
      // >& /dev/tcp/...`: ingest_programs.cc).
      channel_io(key, act, t, false, runs_stdin(act, 0, e->sock.ino, e->fd),
                 (e->flags & BENTO_SOCK_LAST) != 0);
      return true;
    }
    default:
      break;
  }
  // connect, accept, bind: names and marks.
  const char* what = h->type == BENTO_EV_SOCK_CONNECT  ? "connect"
                     : h->type == BENTO_EV_SOCK_ACCEPT ? "accept"
                                                       : "bind";
  nlohmann::json detail = {{"fd", e->fd}};
  if (unix_sock) {
    if (!path.empty()) {
      detail["path"] = path;
      const std::string self = "unix " + unix_id(e->sock), peer = "unix " + unix_id(e->peer);
      if (unix_names_.size() > 100000) unix_names_.clear();
      if (h->type == BENTO_EV_SOCK_BIND) unix_names_[self] = path;
      // A client's socket is named by the path it connected to, as is the server's end
      // (/var/run/docker.sock both ways, not socket:[INO] for what the client sends).
      if (h->type == BENTO_EV_SOCK_CONNECT && unix_id(e->peer) != "") unix_names_[peer] = path;
      if (h->type == BENTO_EV_SOCK_CONNECT && unix_id(e->sock) != "") unix_names_[self] = path;
    }
    return true;  // the flows on it say the rest
  }
  detail["local"] = inet_text(e->local);
  detail["remote"] = inet_text(e->remote);
  if (h->type == BENTO_EV_SOCK_BIND || e->remote.family == 0) return true;
  // The peer as an endpoint, so the fact exists before any data.
  const std::string key_ep = "endpoint " + proto_name(e->sock) + " " + inet_text(e->remote);
  channel(key_ep, Channel::kEndpoint, 0, proto_name(e->sock) + " " + inet_text(e->remote));
  PendingItem mark{PendingItem::kAction};
  mark.t = t;
  mark.what = what;
  mark.path = key_ep;
  mark.detail = to_json_text(detail);
  fd_action_or_wait(act, std::move(mark));
  return true;
}

// For a receive that names no source: the flows of local UDP senders to the receiving
// socket's address (or to its port, for a socket bound to the wildcard address) that sent
// since the socket's previous such receive. The probes report one again only after a new
// send to its port (events.h v14), so these are the datagrams it may have taken since.
std::vector<std::string> Ingest::udp_senders_to(const bento_sock_event& e) {
  std::vector<std::string> keys;
  if (e.sock.type == SOCK_STREAM || e.remote.family != 0 || e.local.family == 0) return keys;
  auto it = udp_flows_to_.find(udp_port_key(e.sock.netns, e.local.port));
  if (it == udp_flows_to_.end()) return keys;
  if (udp_unnamed_recv_.size() > 100000) udp_unnamed_recv_.clear();
  uint64_t& previous = udp_unnamed_recv_[e.sock.ino];
  const std::string local = inet_text(e.local);
  for (const UdpFlow& f : it->second)
    if ((wildcard(e.local) || f.to == local) && f.last_send > previous && channels_.count(f.key))
      keys.push_back(f.key);
  previous = std::max<uint64_t>(previous, e.h.ts_ns);
  return keys;
}

bool Ingest::on_socketpair(const void* data, size_t size) {
  if (size < sizeof(bento_socketpair_event)) return false;
  // The flows on the pair are joined by their SEND/RECV events (each end's peer is the
  // other); the pair itself moves no data.
  (void)data;
  return true;
}

}  // namespace bento::collector
