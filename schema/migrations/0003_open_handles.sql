-- Schema version 3: the collector's open handles survive its restarts. One row per fh
-- that was open on a tracked mount when provd last committed (written once per batch);
-- `session_entity` is the version a writing handle is producing. Tracking start/stop
-- records (a new mount session) clear a source's rows.
CREATE TABLE open_handles (
  source_id INTEGER NOT NULL REFERENCES sources(id),
  fh INTEGER NOT NULL,
  file_id INTEGER NOT NULL REFERENCES files(id),
  flags INTEGER NOT NULL,
  writing INTEGER NOT NULL,
  session_entity INTEGER,
  PRIMARY KEY (source_id, fh)
) WITHOUT ROWID;
