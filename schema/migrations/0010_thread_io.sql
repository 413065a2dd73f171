-- Schema version 10: which threads of a process read and wrote what (query-cli/LINEAGE.md
-- "Threads"). A process is one activity, and its threads share its memory: what one read
-- may be in what another wrote. But a worker thread that read in3.txt and wrote out3.txt
-- beside others doing the same for their own files is a batch of its own, and the answer
-- says so. Only for files on a tracked mount, whose log names the thread of each open for
-- reading and of each first read and write through a handle that reached the file system
-- (and again whenever another thread takes it over), and only for a process that has made
-- a thread: elsewhere nothing is known per thread, and nothing is said. `entity_id` is the
-- version opened, read or written, as in used / generated.
CREATE TABLE thread_io (
  activity_id INTEGER NOT NULL REFERENCES activities(id),
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  tid INTEGER NOT NULL,
  is_write INTEGER NOT NULL,  -- 1: the thread wrote that version, 0: it read it
  time_ns INTEGER NOT NULL,   -- its first such read or write
  PRIMARY KEY (activity_id, entity_id, tid, is_write)
) WITHOUT ROWID;
