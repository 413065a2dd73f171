-- Schema version 2: files outside tracked mounts, seen by the probes' OPEN events.
-- They are (dev, ino) with source_id NULL and kind 'file'; dev is stat's st_dev.
ALTER TABLE files ADD COLUMN dev INTEGER;
