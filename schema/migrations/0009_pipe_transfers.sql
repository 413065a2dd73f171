-- Schema version 9: a process's later reads and writes of a pipe or FIFO (events.h v10).
-- The probes report an image's read of a pipe again once someone's write of it was reported
-- since its last reported read, and a write again once the image reported an input since
-- its last reported write there. The first of each is the `used` / `generated` row (how
-- 'pipe', last_ns = time_ns: an instant); every later one is a row here. What a reader got
-- by its last reported read came from each writer's state at that writer's last reported
-- write before it (query-cli/LINEAGE.md §4).
CREATE TABLE pipe_transfers (
  id INTEGER PRIMARY KEY,
  activity_id INTEGER NOT NULL REFERENCES activities(id),
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  time_ns INTEGER NOT NULL,
  is_write INTEGER NOT NULL  -- 1: a write (a generated instant), 0: a read (a used one)
);
CREATE INDEX pipe_transfers_activity ON pipe_transfers(activity_id, is_write);
CREATE INDEX pipe_transfers_entity ON pipe_transfers(entity_id, is_write);
