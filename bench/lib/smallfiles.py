#!/usr/bin/env python3
"""Single-thread small-file creates / deletes in one directory.

    smallfiles.py create DIR N SIZE   creates DIR/f000000.. (O_CREAT|O_WRONLY, one write, close)
    smallfiles.py delete DIR N        unlinks them, then removes DIR

Prints the elapsed seconds of the loop only (no interpreter start-up) on stdout.
"""
import os
import sys
import time


def main():
    op, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = [os.path.join(d, f"f{i:06d}") for i in range(n)]
    if op == "create":
        data = b"x" * int(sys.argv[4])
        os.makedirs(d, exist_ok=True)
        t0 = time.perf_counter()
        for p in names:
            fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.close(fd)
        t1 = time.perf_counter()
    elif op == "delete":
        t0 = time.perf_counter()
        for p in names:
            os.unlink(p)
        os.rmdir(d)
        t1 = time.perf_counter()
    else:
        sys.exit(f"unknown op {op}")
    print(f"{t1 - t0:.6f}")


if __name__ == "__main__":
    main()
