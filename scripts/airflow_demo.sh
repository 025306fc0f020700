#!/usr/bin/env bash
# make airflow-demo: Airflow standalone on this machine with the Yingshang DAGs and a sample month.
#
# Starts `airflow standalone` (api-server + UI, scheduler, dag-processor, triggerer; SQLite metadata)
# with AIRFLOW_HOME=$DEMO_DIR/airflow, the DAGs of dags/, a generated sample landing folder and a
# SQLite warehouse, prints the URL and the login, and stops everything cleanly on Ctrl+C.
#
# Environment: AIRFLOW_VENV (default .venv-airflow), DEMO_DIR (default var), DEMO_MONTH (2026-10),
# DEMO_SEED (7), AIRFLOW_PORT (8080).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${AIRFLOW_VENV:-$REPO/.venv-airflow}
DEMO_DIR=$(mkdir -p "${DEMO_DIR:-$REPO/var}" && cd "${DEMO_DIR:-$REPO/var}" && pwd)
MONTH=${DEMO_MONTH:-2026-10}
SEED=${DEMO_SEED:-7}
PORT=${AIRFLOW_PORT:-8080}

[ -x "$VENV/bin/airflow" ] || { echo "no Airflow in $VENV: run 'make airflow-install' first" >&2; exit 2; }

export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$VENV/bin:$PATH"  # standalone starts its parts as `airflow ...`
export AIRFLOW_HOME="$DEMO_DIR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT"
export YINGSHANG_LANDING="$DEMO_DIR/landing"
export YINGSHANG_OUT="$DEMO_DIR/out"
export YINGSHANG_DB_URL="sqlite:///$DEMO_DIR/warehouse-airflow.db"
export YINGSHANG_SALT_FILE="$DEMO_DIR/hash_salt"
# The demo warehouse is SQLite: one writer at a time, so every Yingshang task shares a 1-slot pool.
export YINGSHANG_POOL=yingshang_sqlite
mkdir -p "$AIRFLOW_HOME"

if [ -z "$(find "$YINGSHANG_LANDING" -type f \( -name '*.csv' -o -name '*.xlsx' \) 2>/dev/null | head -1)" ]; then
    echo "generating a sample month ($MONTH, seed $SEED) in $YINGSHANG_LANDING"
    "$VENV/bin/python" -c "from pipeline.sample import generate_sample; \
generate_sample('$YINGSHANG_LANDING', '$MONTH', seed=$SEED, scale=0.2)"
fi

LOG="$AIRFLOW_HOME/standalone.log"
echo "preparing Airflow's metadata database in $AIRFLOW_HOME ..."
"$VENV/bin/airflow" db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
"$VENV/bin/airflow" pools set yingshang_sqlite 1 "SQLite warehouse: one writer at a time" >/dev/null
setsid "$VENV/bin/airflow" standalone >"$LOG" 2>&1 < /dev/null &
PID=$!

stop() {  # stop [EXIT_CODE]: Ctrl+C is a normal way to end the demo (exit 0)
    local rc=${1:-$?}
    trap - INT TERM EXIT
    echo
    echo "stopping Airflow (process group $PID) ..."
    kill -TERM -- "-$PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 -- "-$PID" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$PID" 2>/dev/null || true
    echo "stopped. Warehouse: $YINGSHANG_DB_URL  outputs: $YINGSHANG_OUT  logs: $AIRFLOW_HOME/logs"
    exit "$rc"
}
trap 'stop 0' INT TERM
trap stop EXIT

echo "starting Airflow standalone (log: $LOG) ..."
deadline=$((SECONDS + 240))
until "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://localhost:$PORT/api/v2/monitor/health', timeout=3)" 2>/dev/null; do
    kill -0 "$PID" 2>/dev/null || { echo "Airflow exited; last lines of $LOG:"; tail -20 "$LOG"; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "Airflow did not come up in 240 s; see $LOG"; exit 1; }
    sleep 2
done
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
for _ in $(seq 1 15); do [ -s "$PASSWORDS" ] && break; sleep 1; done
LOGIN=$("$VENV/bin/python" -c "import json,sys; d=json.load(open(sys.argv[1])); u=sorted(d)[0]; print(u, d[u])" \
    "$PASSWORDS" 2>/dev/null || echo "admin (password: see $LOG)")

cat <<EOF

  Airflow is up:  http://localhost:$PORT
  login:          ${LOGIN% *} / ${LOGIN#* }

  DAGs (paused until you switch them on): yingshang_nightly, yingshang_monthly, yingshang_retrain
  landing folder: $YINGSHANG_LANDING
  warehouse:      $YINGSHANG_DB_URL      outputs: $YINGSHANG_OUT
  try:  trigger yingshang_nightly (▶ in the UI), then yingshang_monthly with month = $MONTH

  Ctrl+C stops everything.
EOF
wait "$PID" || true
