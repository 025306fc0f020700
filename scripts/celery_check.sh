#!/usr/bin/env bash
# Run the nightly DAG for real on the CeleryExecutor and check that the mapped ingest spreads out.
#
#   Redis broker on 127.0.0.1:6379 (db 0), PostgreSQL for Airflow's metadata and for the warehouse
#   (two throw-away databases this script creates and drops), an api-server, a scheduler, a
#   dag-processor and two Celery workers (concurrency 1, distinct hostnames worker-a / worker-b).
#   It triggers yingshang_nightly over a generated sample month, waits for the run (bounded), and
#   checks: the run succeeded, every mapped ingest task succeeded, both workers ran ingest tasks,
#   and the warehouse holds the sample's feedback. Everything it started is stopped on exit.
#
# Usage: scripts/celery_check.sh            (exit 0 = passed, 1 = failed, 77 = Redis/PostgreSQL unreachable)
# Environment:
#   AIRFLOW_VENV                   venv with Airflow + the project (default .venv-airflow)
#   YINGSHANG_CELERY_PG_ADMIN_URL  a PostgreSQL URL allowed to CREATE DATABASE
#                                  (default $YINGSHANG_TEST_PG_URL, else postgresql://127.0.0.1:5432/postgres)
#   YINGSHANG_CELERY_REDIS_URL     broker (default redis://127.0.0.1:6379/0)
#   YINGSHANG_CELERY_TIMEOUT       seconds to wait for the run (default 600)
#   KEEP_WORK=1                    keep the work folder (logs) after the run
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${AIRFLOW_VENV:-$REPO/.venv-airflow}
PY=$VENV/bin/python
AF=$VENV/bin/airflow
REDIS_URL=${YINGSHANG_CELERY_REDIS_URL:-redis://127.0.0.1:6379/0}
PG_ADMIN=${YINGSHANG_CELERY_PG_ADMIN_URL:-${YINGSHANG_TEST_PG_URL:-postgresql://127.0.0.1:5432/postgres}}
RUN_TIMEOUT=${YINGSHANG_CELERY_TIMEOUT:-600}
TAG="ys_$$_$(date +%s)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/yingshang_celery.XXXXXX")
mkdir -p "$WORK/logs"

say() { printf '[celery-check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "FAILED: $*"; exit 1; }

[ -x "$AF" ] || { say "no Airflow in $VENV (make airflow-install, or set AIRFLOW_VENV)"; exit 77; }

# ------------------------------------------------------------------ services reachable?
if ! "$PY" - "$REDIS_URL" <<'EOF'
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
EOF
then say "Redis at $REDIS_URL is not reachable: skipped"; exit 77; fi

# Create the two databases; print their URLs (metadata, warehouse).
read -r META_URL WH_URL < <("$PY" - "$PG_ADMIN" "$TAG" <<'EOF'
import sys
import psycopg
from sqlalchemy.engine import make_url
admin = make_url(sys.argv[1].replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://"))
dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
try:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        for kind in ("meta", "wh"):
            conn.execute(f'CREATE DATABASE "yingshang_af_{kind}_{sys.argv[2]}"')
except Exception as exc:
    print(f"UNREACHABLE {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    sys.exit(0)
print(*(admin.set(drivername="postgresql+psycopg", database=f"yingshang_af_{k}_{sys.argv[2]}")
        .render_as_string(hide_password=False) for k in ("meta", "wh")))
EOF
) || true
if [ -z "${META_URL:-}" ] || [ "$META_URL" = UNREACHABLE ]; then
    say "PostgreSQL at $PG_ADMIN is not usable (${WH_URL:-no answer}): skipped"
    rm -rf "$WORK"; exit 77
fi

PIDS=()
NAMES=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for i in "${!PIDS[@]}"; do
        # Each component runs in its own process group (setsid): TERM the group, then KILL what is left.
        kill -TERM -- "-${PIDS[$i]}" 2>/dev/null || true
    done
    for _ in $(seq 1 30); do
        local alive=0
        for p in "${PIDS[@]}"; do kill -0 -- "-$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 1
    done
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    [ ${#PIDS[@]} -gt 0 ] && say "stopped ${NAMES[*]}"
    "$PY" - "$PG_ADMIN" "$TAG" <<'EOF' || true
import sys, psycopg
from sqlalchemy.engine import make_url
admin = make_url(sys.argv[1].replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://"))
with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as c:
    for kind in ("meta", "wh"):
        c.execute(f'DROP DATABASE IF EXISTS "yingshang_af_{kind}_{sys.argv[2]}" WITH (FORCE)')
EOF
    say "dropped databases yingshang_af_{meta,wh}_$TAG"
    if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc != 0 ]; then say "logs kept in $WORK/logs"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ configuration (environment only)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
QUEUE="yingshang_check_$TAG"   # a private queue: other users of Redis db 0 never see these tasks
SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
WH_PG=${WH_URL/postgresql+psycopg:/postgres:}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__CORE__HOSTNAME_CALLABLE=pipeline.airflow_support.worker_hostname
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$META_URL"
# Airflow would derive postgresql+asyncpg for its async engine; psycopg 3 does async itself.
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="${META_URL/postgresql+psycopg:/postgresql+psycopg_async:}"
export AIRFLOW__CELERY__BROKER_URL="$REDIS_URL"
export AIRFLOW__CELERY__RESULT_BACKEND="db+$META_URL"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=1
export AIRFLOW__OPERATORS__DEFAULT_QUEUE="$QUEUE"
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False  # only the run we trigger, no scheduled one
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__API__SECRET_KEY="$SECRET"
export AIRFLOW__API_AUTH__JWT_SECRET="$SECRET"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW_CONN_YINGSHANG_WAREHOUSE="$WH_PG"  # the warehouse, as an ordinary Airflow connection
export YINGSHANG_LANDING="$WORK/landing"
export YINGSHANG_SALT_FILE="$WORK/hash_salt"      # every worker must hash with the same salt
export YINGSHANG_TASK_RETRIES=0

# A sample month: 10 exports of four sources -> four ingest lanes for two workers.
say "generating sample landing files in $YINGSHANG_LANDING"
"$PY" -c "from pipeline.sample import generate_sample; generate_sample('$YINGSHANG_LANDING', '2026-10', seed=7, scale=0.05)"

say "airflow db migrate (metadata in PostgreSQL ${META_URL##*/})"
timeout 300 "$AF" db migrate >"$WORK/logs/db-migrate.log" 2>&1 || die "airflow db migrate (see $WORK/logs/db-migrate.log)"

start() {  # start NAME [VAR=value ...] -- command...
    local name=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    setsid env "${envs[@]}" "$@" >"$WORK/logs/$name.log" 2>&1 < /dev/null &
    PIDS+=($!)
    NAMES+=("$name")
}
start api-server      -- "$AF" api-server --port "$PORT"
start scheduler       -- "$AF" scheduler
start dag-processor   -- "$AF" dag-processor
start worker-a YINGSHANG_WORKER_NAME=worker-a AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((PORT + 1)) \
    -- "$AF" celery worker --celery-hostname "worker-a@%h" --concurrency 1 --queues "$QUEUE"
start worker-b YINGSHANG_WORKER_NAME=worker-b AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((PORT + 2)) \
    -- "$AF" celery worker --celery-hostname "worker-b@%h" --concurrency 1 --queues "$QUEUE"
say "started ${NAMES[*]} (api-server on port $PORT, queue $QUEUE)"

sql() {  # sql URL QUERY -> rows, tab-separated
    "$PY" - "$1" "$2" <<'EOF'
import sys, psycopg
with psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://")) as c:
    for row in c.execute(sys.argv[2]):
        print("\t".join("" if v is None else str(v) for v in row))
EOF
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        for i in "${!PIDS[@]}"; do
            kill -0 "${PIDS[$i]}" 2>/dev/null || die "${NAMES[$i]} exited (see $WORK/logs/${NAMES[$i]}.log)"
        done
        [ $SECONDS -lt $deadline ] || die "timed out after ${secs}s waiting for $what"
        sleep 2
    done
}
api_up() { "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/api/v2/monitor/health', timeout=3)"; }
dag_parsed() { [ "$(sql "$META_URL" "select count(*) from serialized_dag where dag_id = 'yingshang_nightly'")" -ge 1 ]; }
workers_up() {
    "$PY" - "$REDIS_URL" <<'EOF'
import sys
from celery import Celery
replies = Celery(broker=sys.argv[1]).control.ping(timeout=2) or []
names = {n for r in replies for n in r}
sys.exit(0 if any(n.startswith("worker-a@") for n in names) and any(n.startswith("worker-b@") for n in names) else 1)
EOF
}

wait_for 120 "the api-server" api_up
wait_for 180 "the dag-processor to parse yingshang_nightly" dag_parsed
wait_for 120 "both Celery workers" workers_up
say "api-server, dag-processor and workers worker-a, worker-b are up"

RUN_ID="celery_check_$TAG"
timeout 120 "$AF" dags trigger yingshang_nightly --run-id "$RUN_ID" --logical-date "2026-11-01T02:00:00+08:00" \
    --conf "{\"landing\": \"$YINGSHANG_LANDING\"}" >"$WORK/logs/trigger.log" 2>&1 \
    || die "airflow dags trigger (see $WORK/logs/trigger.log)"
say "triggered yingshang_nightly run $RUN_ID; waiting up to ${RUN_TIMEOUT}s"

run_state() { sql "$META_URL" "select state from dag_run where dag_id = 'yingshang_nightly' and run_id = '$RUN_ID'"; }
run_done() { case "$(run_state)" in success|failed) return 0;; *) return 1;; esac; }
wait_for "$RUN_TIMEOUT" "the DAG run to finish" run_done
STATE=$(run_state)

echo
echo "task instances of $RUN_ID:"
printf '%-24s %-4s %-10s %-28s %s\n' task map state hostname "map index label"
sql "$META_URL" "select task_id, map_index, state, coalesce(hostname, ''), coalesce(rendered_map_index, '')
                 from task_instance where dag_id = 'yingshang_nightly' and run_id = '$RUN_ID'
                 order by start_date nulls last, task_id, map_index" |
    while IFS=$'\t' read -r t m s h r; do printf '%-24s %-4s %-10s %-28s %s\n' "$t" "$m" "$s" "$h" "$r"; done
echo

[ "$STATE" = success ] || die "the DAG run ended $STATE"
INGEST=$(sql "$META_URL" "select state, hostname from task_instance where dag_id = 'yingshang_nightly'
                          and run_id = '$RUN_ID' and task_id = 'ingest'")
N=$(printf '%s\n' "$INGEST" | grep -c . || true)
[ "$N" -ge 2 ] || die "expected several mapped ingest tasks, found $N"
BAD=$(printf '%s\n' "$INGEST" | awk -F'\t' '$1 != "success"' | wc -l)
[ "$BAD" = 0 ] || die "$BAD ingest task(s) did not succeed"
A=$(printf '%s\n' "$INGEST" | awk -F'\t' '$2 ~ /^worker-a@/' | wc -l)
B=$(printf '%s\n' "$INGEST" | awk -F'\t' '$2 ~ /^worker-b@/' | wc -l)
[ "$A" -ge 1 ] && [ "$B" -ge 1 ] || die "ingest tasks did not run on both workers (worker-a: $A, worker-b: $B)"
FEEDBACK=$(sql "$WH_URL" "select count(*) from feedback")
FILES=$(sql "$WH_URL" "select count(*) from ingest_file where status = 'loaded'")
[ "$FEEDBACK" -gt 0 ] || die "the warehouse has no feedback rows"
say "PASSED: run $STATE; $N mapped ingest tasks, worker-a ran $A and worker-b ran $B;" \
    "warehouse: $FILES files loaded, $FEEDBACK feedback rows"
