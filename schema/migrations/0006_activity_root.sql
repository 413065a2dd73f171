-- Schema version 6: the root directory an activity ran under when it was not the host's
-- (chroot). `exe`, `program` and every path stay host paths (the probes send them so);
-- `root` says which of them the process saw as its "/", so that the answer judges its
-- runtime files as the process saw them (a jail's /usr/lib is runtime, its /bin/busybox
-- is no installation that holds the whole jail). NULL: the host's root.
ALTER TABLE activities ADD COLUMN root TEXT;
