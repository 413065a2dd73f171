-- Lineage graph, schema version 1 (schema/SCHEMA.md explains the model and its PROV mapping).
-- Applied by the collector inside one transaction; meta.schema_version records it.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Where facts come from: one row per tracked file system (name = its uuid) and one for
-- the probes. cursor/last_seq are the fs log read position, updated in the same
-- transaction as the rows ingested from it: a restart neither loses nor repeats records.
CREATE TABLE sources (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('fs', 'probes')),
  name        TEXT NOT NULL UNIQUE,
  mountpoint  TEXT,
  dev         INTEGER,            -- st_dev of the mount as last seen
  cursor      INTEGER NOT NULL DEFAULT 0,
  last_seq    INTEGER NOT NULL DEFAULT 0,
  records     INTEGER NOT NULL DEFAULT 0,
  malformed   INTEGER NOT NULL DEFAULT 0,
  lost        INTEGER NOT NULL DEFAULT 0,
  updated_ns  INTEGER
);

-- PROV agents: users.
CREATE TABLE agents (
  uid   INTEGER PRIMARY KEY,
  name  TEXT
);

-- A process: (pid, start_ns). pids are reused; start_ns is not.
CREATE TABLE processes (
  id         INTEGER PRIMARY KEY,
  pid        INTEGER NOT NULL,
  start_ns   INTEGER NOT NULL,          -- CLOCK_MONOTONIC (boot-based)
  parent_id  INTEGER REFERENCES processes(id),
  uid        INTEGER,
  gid        INTEGER,
  exit_ns    INTEGER,
  exit_code  INTEGER,
  UNIQUE (pid, start_ns)
);
CREATE INDEX processes_pid ON processes(pid);

-- PROV activities: one per program image a process runs. A forked child runs its parent's
-- image until it execs: that is its own activity (exe copied from the parent).
CREATE TABLE activities (
  id          INTEGER PRIMARY KEY,
  process_id  INTEGER NOT NULL REFERENCES processes(id),
  exe_path    TEXT,
  argv        TEXT,                     -- JSON array of strings
  exe_dev     INTEGER,
  exe_ino     INTEGER,
  uid         INTEGER,
  gid         INTEGER,
  euid        INTEGER,
  start_ns    INTEGER NOT NULL,
  end_ns      INTEGER,
  start_wall_ns INTEGER                 -- wall clock of start_ns, for display
);
CREATE INDEX activities_process ON activities(process_id, start_ns);

-- Files: (source, ino, gen) on a tracked fs; (dev, ino) elsewhere (source_id NULL);
-- pipes and sockets are files of kind 'pipe' / 'socket' keyed by their pipefs/sockfs ino.
CREATE TABLE files (
  id          INTEGER PRIMARY KEY,
  source_id   INTEGER REFERENCES sources(id),
  dev         INTEGER,
  ino         INTEGER NOT NULL,
  gen         INTEGER NOT NULL DEFAULT 0,
  kind        TEXT NOT NULL,            -- file dir symlink fifo pipe socket other
  created_ns  INTEGER,
  died_ns     INTEGER
);
CREATE UNIQUE INDEX files_identity ON files(ifnull(source_id, 0), ifnull(dev, 0), ino, gen, created_ns);

-- PROV entities: versions of files. A version begins when a file is created and with each
-- write-open/close cycle (or truncate) that changes it.
CREATE TABLE entities (
  id          INTEGER PRIMARY KEY,
  file_id     INTEGER NOT NULL REFERENCES files(id),
  version     INTEGER NOT NULL,
  path        TEXT,                     -- a name it had when the version began
  created_ns  INTEGER NOT NULL,
  UNIQUE (file_id, version)
);

-- Names over time (paths are attributes, not identities).
CREATE TABLE names (
  id          INTEGER PRIMARY KEY,
  file_id     INTEGER NOT NULL REFERENCES files(id),
  path        TEXT NOT NULL,
  from_ns     INTEGER NOT NULL,
  to_ns       INTEGER                   -- NULL while the name exists
);
CREATE INDEX names_path ON names(path, from_ns);
CREATE INDEX names_file ON names(file_id);

-- PROV relations. time_ns is CLOCK_MONOTONIC; how says which fact produced the edge.
CREATE TABLE used (
  id           INTEGER PRIMARY KEY,
  activity_id  INTEGER NOT NULL REFERENCES activities(id),
  entity_id    INTEGER NOT NULL REFERENCES entities(id),
  time_ns      INTEGER NOT NULL,
  how          TEXT NOT NULL            -- open read pipe exec fd-passed carried
);
CREATE INDEX used_activity ON used(activity_id);
CREATE INDEX used_entity ON used(entity_id);

CREATE TABLE generated (
  id           INTEGER PRIMARY KEY,
  entity_id    INTEGER NOT NULL REFERENCES entities(id),
  activity_id  INTEGER NOT NULL REFERENCES activities(id),
  time_ns      INTEGER NOT NULL,
  how          TEXT NOT NULL            -- create write truncate mkdir symlink pipe
);
CREATE INDEX generated_entity ON generated(entity_id);
CREATE INDEX generated_activity ON generated(activity_id);

CREATE TABLE invalidated (
  id           INTEGER PRIMARY KEY,
  entity_id    INTEGER NOT NULL REFERENCES entities(id),
  activity_id  INTEGER REFERENCES activities(id),
  time_ns      INTEGER NOT NULL,
  how          TEXT NOT NULL            -- unlink rmdir rename-over new-version
);
CREATE INDEX invalidated_entity ON invalidated(entity_id);

CREATE TABLE informed (
  id            INTEGER PRIMARY KEY,
  informed_id   INTEGER NOT NULL REFERENCES activities(id),
  informant_id  INTEGER NOT NULL REFERENCES activities(id),
  time_ns       INTEGER NOT NULL,
  how           TEXT NOT NULL           -- fork exec
);
CREATE INDEX informed_informed ON informed(informed_id);
CREATE INDEX informed_informant ON informed(informant_id);

CREATE TABLE derived (
  id            INTEGER PRIMARY KEY,
  generated_id  INTEGER NOT NULL REFERENCES entities(id),
  used_id       INTEGER NOT NULL REFERENCES entities(id),
  activity_id   INTEGER REFERENCES activities(id),
  time_ns       INTEGER NOT NULL,
  how           TEXT NOT NULL           -- process rename link version
);
CREATE INDEX derived_generated ON derived(generated_id);
CREATE INDEX derived_used ON derived(used_id);

-- The raw facts, one row per fs record or probe event (audit trail; time-window views).
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  source_id  INTEGER NOT NULL REFERENCES sources(id),
  seq        INTEGER,                   -- fs log seq (NULL for probe events)
  ts_ns      INTEGER NOT NULL,          -- CLOCK_MONOTONIC
  wall_ns    INTEGER,
  type       TEXT NOT NULL,
  pid        INTEGER,
  tid        INTEGER,
  uid        INTEGER,
  detail     TEXT                       -- JSON
);
CREATE INDEX events_time ON events(ts_ns);
