-- Schema version 8: who logged in. `login_uid` is the task's audit login uid (set by
-- pam_loginuid when a user logs in, inherited by everything the login runs, kept across
-- sudo, su and setuid programs: the person behind a root shell); `session_id` its login
-- session. NULL when unset (daemons, boot-time tasks) or unknown (rows stored before v8).
ALTER TABLE activities ADD COLUMN login_uid INTEGER;
ALTER TABLE activities ADD COLUMN session_id INTEGER;
