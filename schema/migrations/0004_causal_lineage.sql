-- Schema version 4: causal lineage. Every data-flow edge carries the interval in which the
-- transfer happened (time_ns = first, last_ns = last; NULL: not known, treated as "until
-- the activity ended"), so queries follow only time-respecting paths (query-cli/LINEAGE.md).
-- Calls that move no data (dup, close, pipe creation, signals, uid changes...) leave a
-- mark in `actions`; network peers and local sockets are files of kind 'endpoint' and
-- 'socket'; gaps in a mount's provenance log are kept in `gaps`.
ALTER TABLE used ADD COLUMN last_ns INTEGER;
ALTER TABLE generated ADD COLUMN last_ns INTEGER;

-- The program an activity ran, resolved (symlinks followed: a virtualenv's bin/python is
-- the interpreter it links to); exe keeps the path as exec'd.
ALTER TABLE activities ADD COLUMN program TEXT;

-- Endpoints and sockets: "tcp 203.0.113.5:443", "unix /run/x.sock", "udp 10.0.0.1:53".
ALTER TABLE files ADD COLUMN addr TEXT;
CREATE INDEX files_addr ON files(addr) WHERE addr IS NOT NULL;
CREATE INDEX files_outside ON files(dev, ino) WHERE source_id IS NULL;

-- Marks of calls that are not data flow (DESIGN.md §4: every call leaves a mark).
CREATE TABLE actions (
  id INTEGER PRIMARY KEY,
  activity_id INTEGER REFERENCES activities(id),
  time_ns INTEGER NOT NULL,
  what TEXT NOT NULL,                -- dup dup2 dup3 fcntl close close_range pipe signal setuid
                                     -- setgid rename link chmod chown truncate unlink rmdir
                                     -- mknod symlink mkdir exit mmap connect accept bind
  entity_id INTEGER REFERENCES entities(id),
  other_activity_id INTEGER REFERENCES activities(id),  -- a signal's target
  detail TEXT                        -- JSON: fds, signal number, ids, flags, paths
);
CREATE INDEX actions_activity ON actions(activity_id, time_ns);
CREATE INDEX actions_entity ON actions(entity_id);
CREATE INDEX actions_other ON actions(other_activity_id) WHERE other_activity_id IS NOT NULL;

-- Records a mount could not keep (a full provenance log): lineage in [from_ns, to_ns] on
-- that mount is incomplete, and answers touching it say so.
CREATE TABLE gaps (
  id INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES sources(id),
  from_ns INTEGER NOT NULL,
  to_ns INTEGER NOT NULL,
  records INTEGER NOT NULL,          -- records not written
  detail TEXT
);
CREATE INDEX gaps_source ON gaps(source_id, to_ns);

-- `prov process` lists a process's children; retention (collector/retention.h) finds
-- ended activities, what an activity removed, a process's threads.
CREATE INDEX processes_parent ON processes(parent_id);
CREATE INDEX activities_end ON activities(end_ns) WHERE end_ns IS NOT NULL;
CREATE INDEX invalidated_activity ON invalidated(activity_id) WHERE activity_id IS NOT NULL;
CREATE INDEX tasks_process ON tasks(process_id);
-- Retention's work list: informants of pruned activities, to look at again.
CREATE TABLE prune_recheck (id INTEGER PRIMARY KEY);
