#!/usr/bin/env python3
"""One directory with N entries (bench/run.sh's `bigdir` workload), single thread.

    bigdir.py create DIR N                   mkdir DIR, then N empty files DIR/f0000000..
                                             (open O_CREAT|O_EXCL|O_WRONLY, close)
    bigdir.py lookup DIR N K MISSING SEED    stat K distinct random existing names (each must be
                                             an empty regular file), then MISSING names that do
                                             not exist (each must fail with ENOENT)
    bigdir.py list DIR                       count the entries with os.scandir (no stat)
    bigdir.py delete DIR N                   unlink the N files in creation order, then rmdir DIR
    bigdir.py free DIR                       free inodes of DIR's file system (statvfs f_favail;
                                             -1 if it reports none)

Names are relative to an O_DIRECTORY fd of DIR (short paths, no per-call path walk of DIR's
parents). Prints the elapsed seconds of the loop only (no interpreter start-up, no name
generation) on stdout: `lookup` prints "EXISTING_S MISSING_S", `list` prints "SECONDS COUNT".
On a failed operation it prints what failed (operation, name, how many succeeded before,
errno) on stderr and exits 1.
"""
import errno
import os
import random
import stat
import sys
import time


def name(i):
    return f"f{i:07d}"


def fail(op, nm, done, e):
    code = errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else "-"
    sys.exit(f"bigdir.py: {op} {nm} failed after {done} successful: {code} ({e})")


def main():
    op, d = sys.argv[1], sys.argv[2]
    if op == "free":
        st = os.statvfs(d)
        print(st.f_favail if st.f_files else -1)
        return
    if op == "create":
        n = int(sys.argv[3])
        names = [name(i) for i in range(n)]
        os.mkdir(d)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
        i = 0
        t0 = time.perf_counter()
        try:
            for i, nm in enumerate(names):
                os.close(os.open(nm, flags, 0o644, dir_fd=dfd))
        except OSError as e:
            fail("create", nm, i, e)
        t1 = time.perf_counter()
        print(f"{t1 - t0:.6f}")
    elif op == "lookup":
        n, k, missing, seed = (int(x) for x in sys.argv[3:7])
        rnd = random.Random(seed)
        present = [name(i) for i in rnd.sample(range(n), min(k, n))]
        # names that sort and hash like the real ones but were never created
        absent = [f"f{i:07d}x" for i in rnd.sample(range(n), min(missing, n))]
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        done = 0
        t0 = time.perf_counter()
        for nm in present:
            try:
                st = os.stat(nm, dir_fd=dfd, follow_symlinks=False)
            except OSError as e:
                fail("stat", nm, done, e)
            if not stat.S_ISREG(st.st_mode) or st.st_size != 0:
                sys.exit(f"bigdir.py: {nm}: mode {st.st_mode:o} size {st.st_size}, expected an empty regular file")
            done += 1
        t1 = time.perf_counter()
        for nm in absent:
            try:
                os.stat(nm, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                done += 1
                continue
            except OSError as e:
                fail("stat (missing name)", nm, done, e)
            sys.exit(f"bigdir.py: {nm} exists but was never created")
        t2 = time.perf_counter()
        print(f"{t1 - t0:.6f} {t2 - t1:.6f}")
    elif op == "list":
        count = 0
        t0 = time.perf_counter()
        with os.scandir(d) as it:
            for _ in it:
                count += 1
        t1 = time.perf_counter()
        print(f"{t1 - t0:.6f} {count}")
    elif op == "delete":
        n = int(sys.argv[3])
        names = [name(i) for i in range(n)]
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        i = 0
        t0 = time.perf_counter()
        try:
            for i, nm in enumerate(names):
                os.unlink(nm, dir_fd=dfd)
            i, nm = n, d
            os.close(dfd)
            os.rmdir(d)
        except OSError as e:
            fail("unlink" if nm != d else "rmdir", nm, i, e)
        t1 = time.perf_counter()
        print(f"{t1 - t0:.6f}")
    else:
        sys.exit(f"bigdir.py: unknown op {op}")


if __name__ == "__main__":
    main()
