-- Schema version 7: copies. For a file an activity wrote, the files whose bytes its writes
-- carried, when the probes saw every write of that activity to that file and each one
-- copied a single regular file's bytes (copy_file_range, sendfile, splice from a file, a
-- write of the buffer a read of a file had just filled: `cp`, `cat a > b`, `dd`). The
-- answer then lists, of that activity's reads, only those files as what went into it
-- (query-cli/LINEAGE.md §3). No row for an (activity, file): its writes were not all
-- copies, or not all seen: every read before counts.
-- Files are named by identity, as `files` names them: (source_id, ino) on a tracked mount
-- (dev 0), (dev, ino) outside the mounts (source_id NULL). provd writes an activity's rows
-- once it has ended.
CREATE TABLE copies (
  activity_id INTEGER NOT NULL REFERENCES activities(id),
  source_id INTEGER, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
  from_source_id INTEGER, from_dev INTEGER NOT NULL, from_ino INTEGER NOT NULL
);
CREATE INDEX copies_activity ON copies(activity_id);
