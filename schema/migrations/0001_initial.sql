-- Lineage graph, schema version 1. SCHEMA.md explains the model and its W3C PROV mapping.
-- Applied by bento_lineage_db (schema/database.cc) in one transaction.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Where facts come from: one row per tracked mount (fs log) and one for the probes.
-- cursor/last_seq: the fs log read position, stored in the same transaction as the rows
-- ingested from it, so a restart neither loses nor repeats a record.
CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('fs', 'probes')),
  name TEXT NOT NULL UNIQUE,         -- mountpoint for fs sources, 'probes'
  cursor INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0,
  malformed INTEGER NOT NULL DEFAULT 0,
  lost INTEGER NOT NULL DEFAULT 0,
  updated_ns INTEGER
);

-- A process is (pid, start_ns): pids are reused, start times are not.
CREATE TABLE processes (
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,         -- CLOCK_MONOTONIC
  parent_id INTEGER REFERENCES processes(id),
  uid INTEGER, gid INTEGER,
  exit_ns INTEGER, exit_code INTEGER,
  UNIQUE (pid, start_ns)
);

-- Threads (and each process's main thread): which process a tid meant, and when.
CREATE TABLE tasks (
  tid INTEGER NOT NULL,
  process_id INTEGER NOT NULL REFERENCES processes(id),
  start_ns INTEGER NOT NULL,
  end_ns INTEGER
);
CREATE INDEX tasks_tid ON tasks(tid, start_ns);

-- PROV activities: one per program image a process runs (a forked child runs its parent's
-- image until it execs: that is an activity of its own).
CREATE TABLE activities (
  id INTEGER PRIMARY KEY,
  process_id INTEGER NOT NULL REFERENCES processes(id),
  exe TEXT, argv TEXT,               -- argv: JSON array
  exe_ino INTEGER, exe_dev INTEGER,
  uid INTEGER, gid INTEGER, euid INTEGER,
  start_ns INTEGER NOT NULL, end_ns INTEGER,
  start_wall_ns INTEGER,
  origin TEXT NOT NULL               -- exec, fork, observed (seen first in the fs log)
);
CREATE INDEX activities_process ON activities(process_id, start_ns);

-- Files: (source, ino, gen) on a tracked mount; pipes: kind 'pipe', source NULL, pipefs ino.
CREATE TABLE files (
  id INTEGER PRIMARY KEY,
  source_id INTEGER REFERENCES sources(id),
  ino INTEGER NOT NULL, gen INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,                -- file dir symlink fifo pipe other
  created_ns INTEGER, died_ns INTEGER
);
CREATE INDEX files_identity ON files(source_id, ino, gen);

-- PROV entities: versions of files. Version 1 at creation (or when first seen); a new one
-- when a write session (first write through any handle while none was writing) or a
-- truncate changes it.
CREATE TABLE entities (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL REFERENCES files(id),
  version INTEGER NOT NULL,
  path TEXT,
  created_ns INTEGER NOT NULL,
  UNIQUE (file_id, version)
);

-- Names over time (paths are attributes of files, not identities).
CREATE TABLE names (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL REFERENCES files(id),
  path TEXT NOT NULL,
  from_ns INTEGER NOT NULL,
  to_ns INTEGER
);
CREATE INDEX names_path ON names(path, from_ns);
CREATE INDEX names_file ON names(file_id);

-- PROV relations; time_ns is CLOCK_MONOTONIC; how: which fact produced the edge.
CREATE TABLE used (
  id INTEGER PRIMARY KEY,
  activity_id INTEGER NOT NULL REFERENCES activities(id),
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  time_ns INTEGER NOT NULL, how TEXT NOT NULL,        -- open read pipe carried
  UNIQUE (activity_id, entity_id)
);
CREATE INDEX used_entity ON used(entity_id);
CREATE TABLE generated (
  id INTEGER PRIMARY KEY,
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  activity_id INTEGER NOT NULL REFERENCES activities(id),
  time_ns INTEGER NOT NULL, how TEXT NOT NULL,        -- create write truncate mkdir symlink pipe
  UNIQUE (entity_id, activity_id)
);
CREATE INDEX generated_activity ON generated(activity_id);
CREATE TABLE invalidated (
  id INTEGER PRIMARY KEY,
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  activity_id INTEGER REFERENCES activities(id),
  time_ns INTEGER NOT NULL, how TEXT NOT NULL         -- unlink rmdir rename-over
);
CREATE INDEX invalidated_entity ON invalidated(entity_id);
CREATE TABLE informed (
  id INTEGER PRIMARY KEY,
  informed_id INTEGER NOT NULL REFERENCES activities(id),
  informant_id INTEGER NOT NULL REFERENCES activities(id),
  time_ns INTEGER NOT NULL, how TEXT NOT NULL         -- fork exec
);
CREATE INDEX informed_informed ON informed(informed_id);
CREATE INDEX informed_informant ON informed(informant_id);
CREATE TABLE derived (
  id INTEGER PRIMARY KEY,
  generated_id INTEGER NOT NULL REFERENCES entities(id),
  used_id INTEGER NOT NULL REFERENCES entities(id),
  activity_id INTEGER REFERENCES activities(id),
  time_ns INTEGER NOT NULL, how TEXT NOT NULL,        -- process version
  UNIQUE (generated_id, used_id)
);
CREATE INDEX derived_used ON derived(used_id);

-- The raw fs records (audit trail, time-window views).
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES sources(id),
  seq INTEGER, ts_ns INTEGER NOT NULL, wall_ns INTEGER,
  type TEXT NOT NULL, tid INTEGER, uid INTEGER, activity_id INTEGER,
  ino INTEGER, name TEXT, name2 TEXT
);
CREATE INDEX events_time ON events(ts_ns);
