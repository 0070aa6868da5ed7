#!/usr/bin/env bash
# The main job on one machine: local Kafka + Elasticsearch, the worker, the query API,
# and the watcher indexing a folder (default: examples/). Prints a search and an answer,
# then keeps watching the folder until Ctrl-C (MMRAG_DEMO_EXIT=1: stop after the results).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-$HOME/.cache/mmrag/venv/bin}
FOLDER=${1:-examples}
STATE=${MMRAG_DEMO_DIR:-$HOME/.cache/mmrag/demo}
API_PORT=${MMRAG_API_PORT:-8000}
API="http://127.0.0.1:${API_PORT}"
mkdir -p "$STATE"
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TOKENIZERS_PARALLELISM=false
export MMRAG_WORKER_METRICS_PORT=${MMRAG_WORKER_METRICS_PORT:-9464}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$BIN/mmrag" stack up
"$BIN/mmrag" topics create

echo "· worker (log: $STATE/worker.log)"
(cd "$STATE" && exec "$BIN/mmrag" worker >"$STATE/worker.log" 2>&1) &
pids+=($!)
echo "· API on $API (log: $STATE/api.log)"
"$BIN/mmrag" serve --port "$API_PORT" >"$STATE/api.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 240); do
  grep -q "worker ready" "$STATE/worker.log" 2>/dev/null && curl -fs "$API/health" >/dev/null 2>&1 && break
  sleep 0.5
done
grep -q "worker ready" "$STATE/worker.log" || { echo "worker did not start:"; tail -20 "$STATE/worker.log"; exit 1; }
curl -fs "$API/health" >/dev/null || { echo "API did not start:"; tail -20 "$STATE/api.log"; exit 1; }

echo "· indexing $FOLDER"
summary=$("$BIN/mmrag" watch "$FOLDER" --once --resend --log-level warning 2>&1 | tee /dev/stderr | grep -E '[0-9]+ upserts' || true)
sent=$(echo "$summary" | grep -oE '[0-9]+ (upserts|deletes|moves)' | awk '{s+=$1} END {print s+0}')
# Wait until the worker has handled what the watcher sent (its Prometheus counters) and
# its consumer group has committed everything on the topic (lag 0, from the API's /health).
metrics="http://127.0.0.1:${MMRAG_WORKER_METRICS_PORT}/metrics"
for _ in $(seq 1 360); do
  handled=$(curl -fs "$metrics" 2>/dev/null | awk '/^mmrag_events_total/ {s+=$2} END {print s+0}')
  lag=$(curl -fs "$API/health" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("kafka_lag"))' 2>/dev/null || echo None)
  [ "${handled:-0}" -ge "$sent" ] && [ "$lag" = "0" ] && break
  sleep 0.5
done
echo "· the worker handled ${handled:-0} events; consumer lag: $lag"

echo; echo "· mmrag search \"red circle diagram\""
"$BIN/mmrag" search "red circle diagram" --api "$API" --k 5
echo; echo "· mmrag ask \"What does mmrag do when a file is deleted?\""
"$BIN/mmrag" ask "What does mmrag do when a file is deleted?" --api "$API"

if [ "${MMRAG_DEMO_EXIT:-0}" = "1" ]; then exit 0; fi
echo; echo "Watching $FOLDER (edit, add, rename, delete files; search at $API). Ctrl-C stops."
"$BIN/mmrag" watch "$FOLDER"
