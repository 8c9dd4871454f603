#!/usr/bin/env bash
# run.sh -- bench/backtest: levbot's backtest pipeline and the pandas baseline
# on the same real 1m candles, in one run, and the ratio of their throughput.
#
#   bench/backtest/run.sh [BUILD_DIR] [FILE...]
#
# BUILD_DIR defaults to build/ (a Release build: `make build`).  FILE
# defaults to the FTX BTC-PERP month in ../shared (45,031 1m candles), or the
# three bundled Binance days when ../shared is absent.  levbot replays the
# sample until 5,000,000 candles have run; the baseline (slower) replays it
# 10 times.  PYTHON overrides the interpreter (default /usr/bin/python3, the
# Debian one with python3-pandas).  Figures only; see bench/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
shift || true
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  shared=${LEVBOT_SHARED_DIR:-$root/../shared}/data/nautilus-testdata/btc-perp-20211231-20220201_1m.csv
  if [ -f "$shared" ]; then
    files=("$shared")
  else
    files=("$root"/data/binance-um/BTCUSDT-1m-2022-05-0{4,5,6}.csv)
  fi
fi
bench=$build/bench/backtest/bench_backtest
[ -x "$bench" ] || { echo "run.sh: $bench not built (make build)" >&2; exit 1; }
py=${PYTHON:-/usr/bin/python3}

echo "== levbot (C, one thread)"
c_out=$("$bench" "${files[@]}")
echo "$c_out"
echo
echo "== baseline: the same strategy as a pandas loop ($py)"
p_out=$("$py" "$root/bench/backtest/baseline.py" "${files[@]}" --passes 10)
echo "$p_out"
echo
c=$(awk '/^candles\/s/ {print $2}' <<<"$c_out")
p=$(awk '/^candles\/s/ {print $2}' <<<"$p_out")
awk -v c="$c" -v p="$p" 'BEGIN { printf "ratio          %.1fx (levbot %d candles/s, pandas %d candles/s)\n", c / p, c, p }'
