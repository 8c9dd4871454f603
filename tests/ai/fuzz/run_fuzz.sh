#!/bin/sh
# run_fuzz.sh FUZZER CORPUS SECONDS -- runs a libFuzzer target for a bounded
# time from a scratch copy of the seed corpus (new inputs stay out of the
# repository).  Exits non-zero when the fuzzer finds a crash, a leak or an
# invariant violation (the target abort()s).
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") corpus=$2 secs=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/levbot-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$corpus"/* "$work"/
cd "$work"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 "$work"
