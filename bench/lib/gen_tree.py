#!/usr/bin/env python3
"""Generates a deterministic, source-like file tree and tars it.

    gen_tree.py OUTDIR TARFILE --files N [--seed S]

Same arguments -> byte-identical tree and tarball (fixed seed, sorted names, fixed mtime
and owner). The tree looks like a C/C++ project: nested directories of .c/.h/.cc/.py/.md
files (sizes roughly log-normal, median ~4 KiB, a tail up to ~200 KiB), a few Makefiles and
symlinks. Exactly 7 files contain the grep needle "BENTO_BENCH_NEEDLE".
"""
import argparse
import math
import os
import random
import subprocess
import sys

WORDS = ("static int void struct return if else for while const unsigned char size_t "
         "buffer inode block journal lock unlock alloc free read write page cache dentry "
         "mount super sync flush commit handle error errno offset length count index").split()
EXTS = [(".c", 40), (".h", 25), (".cc", 10), (".py", 8), (".md", 5), (".S", 2), (".txt", 5),
        (".json", 5)]
NEEDLE = "BENTO_BENCH_NEEDLE"
NEEDLE_FILES = 7


def pick_ext(rng):
    total = sum(w for _, w in EXTS)
    x = rng.uniform(0, total)
    for ext, w in EXTS:
        x -= w
        if x <= 0:
            return ext
    return EXTS[-1][0]


def file_size(rng):
    # log-normal: median e^8.3 ~ 4 KiB; clamp to [64 B, 200 KiB]
    return int(min(200 * 1024, max(64, math.exp(rng.gauss(8.3, 1.1)))))


def make_corpus(rng, size=2 * 1024 * 1024):
    lines = []
    n = 0
    while n < size:
        indent = "  " * rng.randint(0, 3)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
        line = f"{indent}{words}({rng.randint(0, 9999)});\n"
        lines.append(line)
        n += len(line)
    return "".join(lines)


def body(rng, corpus, size):
    # a slice of a fixed corpus: cheap, deterministic, and different per file
    start = rng.randrange(0, len(corpus) - size - 1)
    start = corpus.find("\n", start) + 1
    return corpus[start:start + size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("tarfile")
    ap.add_argument("--files", type=int, default=10500)
    ap.add_argument("--seed", type=int, default=20210222)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    corpus = make_corpus(rng)
    root = os.path.join(a.outdir, "src")
    os.makedirs(root, exist_ok=True)
    # directories: ~30 files per leaf directory, two to four levels deep
    dirs = []
    ndirs = max(1, a.files // 30)
    for i in range(ndirs):
        depth = rng.randint(1, 3)
        parts = [f"mod{rng.randint(0, max(1, ndirs // 12)):03d}"]
        for d in range(depth):
            parts.append(f"{rng.choice(WORDS)}{rng.randint(0, 9)}")
        dirs.append(os.path.join(root, *parts))
    needle_at = set(rng.sample(range(a.files), min(NEEDLE_FILES, a.files)))
    total = 0
    for i in range(a.files):
        d = dirs[i % ndirs]
        os.makedirs(d, exist_ok=True)
        name = f"f{i:06d}_{rng.choice(WORDS)}{pick_ext(rng)}"
        size = file_size(rng)
        text = body(rng, corpus, size)
        if i in needle_at:
            text = text[: size // 2] + f"\n/* {NEEDLE} */\n" + text[size // 2:]
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        total += len(text)
    for j, d in enumerate(sorted(set(dirs))[:50]):
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write(f"all:\n\t$(CC) -c *.c\n# {j}\n")
        if j % 5 == 0:
            os.symlink("Makefile", os.path.join(d, "Makefile.link"))
    subprocess.run(["tar", "--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0",
                    "--numeric-owner", "-cf", a.tarfile, "-C", a.outdir, "src"], check=True)
    nfiles = sum(len(fs) for _, _, fs in os.walk(root))
    print(f"{nfiles} files, {len(set(dirs))} leaf dirs, {total / 1e6:.1f} MB of content")


if __name__ == "__main__":
    sys.exit(main())
