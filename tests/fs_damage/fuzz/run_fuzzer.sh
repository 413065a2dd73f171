#!/bin/bash
# run_fuzzer.sh FUZZER CORPUS_DIR SECONDS: runs a libFuzzer target for a bounded time on a
# copy of the committed seed corpus (new inputs go to a scratch directory, never into the
# repository). Exit status: the fuzzer's (non-zero on a crash, a leak or a timeout).
set -euo pipefail
fuzzer=$1 corpus=$2 secs=${3:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/bento-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"  # crash-* reproducers land here; shown below when there is one
set +e
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$work" "$corpus" 2>&1 | tail -25
rc=${PIPESTATUS[0]}
ls crash-* leak-* timeout-* 2>/dev/null && echo "reproducer(s) above were in $work"
exit "$rc"
