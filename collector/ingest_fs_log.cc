// Ingest: the records of a tracked mount's provenance log (fs/format/prov_log.h).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "ingest.h"

namespace bento::collector {

namespace prov = bentofs::prov;
using prov::RecordType;

namespace {

bool writes(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY;
}
bool reads(uint32_t flags) {
  return (flags & O_ACCMODE) != O_WRONLY;
}

const char* created_kind(const prov::Record& r) {
  if (r.type == RecordType::kMkdir) return "dir";
  if (r.type == RecordType::kSymlink) return "symlink";
  if ((r.mode & S_IFMT) == S_IFIFO) return "fifo";
  if ((r.mode & S_IFMT) == S_IFREG || r.type == RecordType::kCreate) return "file";
  return "other";
}

const char* created_how(RecordType t) {
  switch (t) {
    case RecordType::kMkdir:
      return "mkdir";
    case RecordType::kSymlink:
      return "symlink";
    case RecordType::kMknod:
      return "mknod";
    default:
      return "create";
  }
}

}  // namespace

bool Ingest::on_fs_record(int64_t source, const prov::Record& r) {
  Mount& m = mounts_[source];
  if (r.seq <= m.last_seq) return false;  // stored before a restart
  if (r.type == RecordType::kReaddir && walker_tids_.count(r.tid) != 0) {
    m.last_seq = r.seq;  // this collector walking the mount for names: no one's input
    return true;
  }
  const uint64_t t = r.monotonic_ns;
  int64_t act = activity_for_tid(r.tid, r.uid, r.gid, t);
  make_relevant(act);
  switch (r.type) {
    case RecordType::kCreate:
    case RecordType::kMknod:
    case RecordType::kMkdir:
    case RecordType::kSymlink:
      fs_create(source, m, r, act);
      break;
    case RecordType::kLink: {
      // A new name for the file; its version keeps the name it had (a link adds a path).
      int64_t file = mount_file(source, r.ino, r.gen, "file", t);
      std::string was = store_.latest_name(file);
      std::string path = path_of(m, r.parent, r.name, r.name_len);
      store_.add_name(file, path, t);
      if (was.empty()) store_.name_unnamed_versions(file, path);  // an O_TMPFILE file published
      metadata_change(file, act, t, "link", was.empty() ? path : was);
      break;
    }
    case RecordType::kRename:
      fs_rename(source, m, r, act);
      break;
    case RecordType::kUnlink:
    case RecordType::kRmdir:
      fs_remove(source, m, r, act);
      break;
    case RecordType::kOpen:
    case RecordType::kHandleCarried:
      fs_open(source, m, r, act);
      break;
    case RecordType::kWrite:
      fs_write(source, m, r, act);
      if (threaded_.count(act) != 0) {
        auto it = m.handles.find(r.fh);
        const int64_t file =
            it != m.handles.end() ? it->second.file : mount_file(source, r.ino, r.gen, "file", t);
        store_.thread_io(act, current_entity(file, t), r.tid, /*write=*/true, t);
      }
      break;
    case RecordType::kRead: {
      auto it = m.handles.find(r.fh);
      int64_t file =
          it != m.handles.end() ? it->second.file : mount_file(source, r.ino, r.gen, "file", t);
      const int64_t read = current_entity(file, t);
      store_.used(act, read, t, "read");
      if (threaded_.count(act) != 0) store_.thread_io(act, read, r.tid, /*write=*/false, t);
      if (it != m.handles.end()) add_reader(m, it->second, act);
      break;
    }
    case RecordType::kRelease:
      if (auto it = m.handles.find(r.fh); it != m.handles.end()) end_handle(m, it, t, r.parent2);
      break;
    case RecordType::kTruncate: {
      auto it = r.fh != 0 ? m.handles.find(r.fh) : m.handles.end();
      const bool emptied = r.aux == 0;  // the new size: nothing of the old content is left
      if (emptied) {
        int64_t file =
            it != m.handles.end() ? it->second.file : mount_file(source, r.ino, r.gen, "file", t);
        end_session_emptied(m, file, t);
      }
      if (it != m.handles.end() && writes(it->second.flags) && !it->second.writing) {
        begin_writing(m, r.fh, it->second, act, t, "truncate", emptied);
        break;
      }
      if (it != m.handles.end()) add_writer(it->second, act);
      metadata_change(mount_file(source, r.ino, r.gen, "file", t), act, t, "truncate", "", emptied);
      break;
    }
    case RecordType::kChmod:
    case RecordType::kChown:
      metadata_change(mount_file(source, r.ino, r.gen, "file", t), act, t,
                      r.type == RecordType::kChmod ? "chmod" : "chown");
      break;
    case RecordType::kSetxattr:
      // An attribute's value is data the setter put in the file (user.* attributes carry
      // what a program chose to store there); a removal, like a chmod, puts nothing in.
      metadata_change(mount_file(source, r.ino, r.gen, "file", t), act, t,
                      (r.flags & prov::kXattrRemoved) ? "removexattr" : "setxattr");
      break;
    case RecordType::kGetxattr:
      store_.used(act, current_entity(mount_file(source, r.ino, r.gen, "file", t), t), t,
                  "getxattr");
      break;
    case RecordType::kReaddir:
      // A listing: the names in the directory are what its reader took in (`ls d >
      // listing`, a glob). The directory as it is now; its entries' makers are not walked.
      store_.used(act, current_entity(mount_file(source, r.ino, r.gen, "dir", t), t), t, "readdir");
      break;
    case RecordType::kTrackingStart:
    case RecordType::kTrackingStop:
      // A new session of the mount: handles from before are gone (carried ones follow),
      // and what was made while untracked needs a new walk.
      while (!m.handles.empty()) end_handle(m, m.handles.begin(), t, 0);
      m.walked = false;
      break;
    case RecordType::kGap:
      // The log was full: r.aux records (r.ino2 of them for mutating operations) between
      // these monotonic times were never written. Answers over that span say so.
      store_.gap(source, r.parent, r.parent2 != 0 ? r.parent2 : t, r.aux,
                 "{\"mutating\":" + std::to_string(r.ino2) + "}");
      break;
    default:
      break;
  }
  GraphStore::EventRow ev;
  ev.source = source;
  ev.seq = r.seq;
  ev.ts_ns = t;
  ev.wall_ns = r.realtime_ns;
  ev.type = prov::record_type_name(r.type);
  ev.tid = r.tid;
  ev.uid = r.uid;
  ev.activity = act;
  ev.ino = r.ino;
  ev.name.assign(r.name, r.name_len);
  ev.name2.assign(r.name2, r.name2_len);
  store_.event(ev);
  m.last_seq = r.seq;
  record_time_[source] = std::max(record_time_[source], t);
  return true;
}

// create, mknod, mkdir, symlink: a new file, version 1 by its creator. An O_TMPFILE file
// (no name) gets its name from the link that publishes it.
void Ingest::fs_create(int64_t source, Mount& m, const prov::Record& r, int64_t act) {
  const uint64_t t = r.monotonic_ns;
  int64_t file = store_.find_file(source, r.ino, r.gen);
  const bool fresh = file == 0;  // then the name added below is its only one
  if (fresh) file = store_.add_file(source, r.ino, r.gen, created_kind(r), t);
  std::string path;
  if (r.name_len > 0) {
    path = path_of(m, r.parent, r.name, r.name_len);
    store_.add_name(file, path, t);
  }
  if (r.type == RecordType::kMkdir) m.dirs[r.ino] = path;
  if (r.type != RecordType::kCreate) {
    int64_t v = new_version(file, t, path);
    store_.generated(v, act, t, created_how(r.type));
    store_.generated_last(v, act, t);
    return;
  }
  // create() opens the file: its handle writes version 1 until released.
  Handle& h = m.handles[r.fh];
  h = Handle{};
  h.file = file;
  h.flags = r.flags;
  h.opened = t;
  m.dirty_handles.insert(r.fh);
  if (writes(r.flags)) {
    begin_writing(m, r.fh, h, act, t, "create", false, fresh ? path : std::string());
  } else {
    int64_t v = new_version(file, t, path);
    store_.generated(v, act, t, "create");
    store_.generated_last(v, act, t);
  }
}

void Ingest::fs_rename(int64_t source, Mount& m, const prov::Record& r, int64_t act) {
  const uint64_t t = r.monotonic_ns;
  const bool is_dir = (r.mode & S_IFMT) == S_IFDIR || m.dirs.count(r.ino) != 0;
  int64_t file = mount_file(source, r.ino, r.gen, is_dir ? "dir" : "file", t);
  std::string from = path_of(m, r.parent, r.name, r.name_len);
  std::string to = path_of(m, r.parent2, r.name2, r.name2_len);
  name_if_never_named(file, from);
  // A file from before tracking that the walk found under its new name (the walk ran after
  // this rename: `sed -i.bak f` had moved f to f.bak): until now it had the old one.
  if (!(r.flags & 2) && from != to && !store_.has_open_name(file, from) &&
      store_.has_open_name(file, to))
    store_.retitle_open_name(file, to, from);
  store_.end_name(file, from, t);
  if (r.ino2 != 0) {
    int64_t other = mount_file(source, r.ino2, r.gen2, "file", t);
    name_if_never_named(other, to);
    store_.end_name(other, to, t);
    if (r.flags & 2) {  // RENAME_EXCHANGE: both move
      store_.add_name(other, from, t);
      metadata_change(other, act, t, "rename", from, false, to);
    } else if (r.aux & prov::kAuxDied) {
      store_.invalidated(current_entity(other, t, to), act, t, "rename-over");
      store_.set_file_died(other, t);
    }
  }
  store_.add_name(file, to, t);
  metadata_change(file, act, t, "rename", to, false, from);
  if (is_dir) rename_subtree(m, from, to, t);
}

// unlink, rmdir: the name ends; the inode's death invalidates its last version, a name
// removed from a file that lives on (other links, open handles) is a change of it.
void Ingest::fs_remove(int64_t source, Mount& m, const prov::Record& r, int64_t act) {
  const uint64_t t = r.monotonic_ns;
  const bool rmdir = r.type == RecordType::kRmdir;
  int64_t file = mount_file(source, r.ino, r.gen, rmdir ? "dir" : "file", t);
  std::string path = path_of(m, r.parent, r.name, r.name_len);
  name_if_never_named(file, path);
  store_.end_name(file, path, t);
  if (r.aux & prov::kAuxDied) {
    store_.invalidated(current_entity(file, t, path), act, t, rmdir ? "rmdir" : "unlink");
    store_.set_file_died(file, t);
  } else {
    metadata_change(file, act, t, rmdir ? "rmdir" : "unlink");
  }
  if (rmdir) m.dirs.erase(r.ino);
}

void Ingest::fs_open(int64_t source, Mount& m, const prov::Record& r, int64_t act) {
  const uint64_t t = r.monotonic_ns;
  int64_t file = mount_file(source, r.ino, r.gen, "file", t);
  if (auto old = m.handles.find(r.fh); old != m.handles.end()) end_handle(m, old, t, 0);
  Handle& h = m.handles[r.fh];
  h.file = file;
  h.flags = r.flags;
  h.opened = r.type == RecordType::kOpen ? t : 0;
  m.dirty_handles.insert(r.fh);
  if (r.type != RecordType::kOpen) return;  // carried over a live upgrade: opened earlier
  // Reading starts no earlier than the open; the probes' first-read events, when they
  // come, move this to the read itself.
  if (reads(r.flags)) {
    const int64_t opened = current_entity(file, t);
    store_.used(act, opened, t, "open");
    add_reader(m, h, act);
    // A thread's reads of a file it opened may all be served from the page cache (the log
    // has no read of it then): its open says it read it (thread_io).
    if (threaded_.count(act) != 0) store_.thread_io(act, opened, r.tid, /*write=*/false, t);
  }
  // O_TRUNC empties the file now: the write session (a new version) starts at the open.
  if (writes(r.flags) && (r.flags & O_TRUNC)) {
    end_session_emptied(m, file, t);
    begin_writing(m, r.fh, h, act, t, "truncate", /*emptied=*/true);
  }
}

// First write of a thread through a handle: the handle joins (or starts) its file's write
// session; the writer generated the session's version.
void Ingest::fs_write(int64_t source, Mount& m, const prov::Record& r, int64_t act) {
  const uint64_t t = r.monotonic_ns;
  auto it = m.handles.find(r.fh);
  if (it == m.handles.end()) {
    // A handle we never saw opened (the log was acknowledged without us): the write
    // still changes the file, as a version of its own.
    int64_t file = mount_file(source, r.ino, r.gen, "file", t);
    int64_t v = sessions_.count(file) ? sessions_[file].entity : new_version(file, t);
    store_.generated(v, act, t, "write");
    fs_writers_.insert({file, act});
    fs_data_writers_.insert({file, act});
    return;
  }
  Handle& h = it->second;
  if (!h.writing) {
    begin_writing(m, r.fh, h, act, t, "write");
    return;
  }
  Session& s = sessions_[h.file];
  if (s.entity == 0) {  // a handle writing since before a restart that lost its version
    s.entity = new_version(h.file, t);
    s.handles = std::max(s.handles, 1);
  }
  store_.generated(s.entity, act, t, "write");
  add_writer(h, act);
}

}  // namespace bento::collector
