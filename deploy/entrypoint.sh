#!/bin/sh
# levbot-entrypoint -- the container's entrypoint (Dockerfile ENTRYPOINT).
#
# `run` (the default command) first brings the database schema up to date
# with `levbot setup-db` (idempotent: it applies only missing migrations),
# retrying while the database is still starting, then replaces this shell
# with `levbot run` so the bot is the process Docker signals on stop.  Any
# other command is passed straight to levbot:
#   docker run --rm levbot backtest --data /usr/local/share/levbot/data/binance-um/BTCUSDT-5m-2022-04.csv
#
# LEVBOT_SETUP_DB=0 skips the setup step; LEVBOT_SETUP_DB_TRIES (default 10)
# and LEVBOT_SETUP_DB_DELAY (seconds between tries, default 3) bound the wait
# for the database.
# stdout is line-buffered (stdbuf) so `docker logs` shows every line at once;
# log lines go to stderr, which is never buffered.
set -eu

if [ "$#" -eq 0 ]; then set -- run; fi
case "$1" in -*) set -- run "$@" ;; esac

if [ "$1" = "run" ] && [ "${LEVBOT_SETUP_DB:-1}" != "0" ]; then
  tries=${LEVBOT_SETUP_DB_TRIES:-10}
  n=1
  until levbot setup-db; do
    rc=$?
    # 5 = database unreachable or refusing: worth waiting for; anything else
    # (bad configuration, a failed migration) will not fix itself.
    if [ "$rc" -ne 5 ] || [ "$n" -ge "$tries" ]; then
      echo "levbot-entrypoint: levbot setup-db failed (exit $rc, attempt $n of $tries)" >&2
      exit "$rc"
    fi
    echo "levbot-entrypoint: database not ready (attempt $n of $tries), retrying in ${LEVBOT_SETUP_DB_DELAY:-3} s" >&2
    n=$((n + 1))
    sleep "${LEVBOT_SETUP_DB_DELAY:-3}"
  done
fi

exec stdbuf -oL levbot "$@"
