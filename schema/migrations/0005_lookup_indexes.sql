-- Schema version 5: indexes for the collector's hot lookups (no table changes). A name
-- reused again and again (a file created and deleted in a loop, a rotated log) left every
-- `find by path` scanning all the ended names of that path, and an inode number reused
-- again and again every `newest file with this inode` scanning all its generations: both
-- grew with the database. Only open names (to_ns IS NULL) are looked up by path.
CREATE INDEX names_open_path ON names(path, from_ns) WHERE to_ns IS NULL;
CREATE INDEX files_source_ino ON files(source_id, ino);
