#!/usr/bin/env bash
# The local stack behind `make run`: Temporal dev server (Web UI :8233),
# migrations, the Airtable, SMS and LLM emulators, worker and API. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
DATA=$ROOT/.data
mkdir -p "$DATA/logs"

[ -f .env ] && { set -a; . ./.env; set +a; }
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
export HTTP_ADDR=${HTTP_ADDR:-:8080}
export LOG_FORMAT=${LOG_FORMAT:-console}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
export TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://localhost:$TEMPORAL_UI_PORT}
API_PORT=${HTTP_ADDR##*:}
API_URL_DEFAULT="http://127.0.0.1:${API_PORT}"
TEMPORAL_PORT=${TEMPORAL_ADDRESS##*:}

pids=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo ">> stopping: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  echo ">> stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Postgres and migrations (one clear line if Postgres is not there).
if ! "$BIN/starter" migrate up; then
  exit 1
fi

# 2. Temporal dev server with our search attributes, state under .data/.
sa_args=()
for sa in $("$BIN/starter" search-attributes); do sa_args+=(--search-attribute "$sa"); done
"$BIN/temporal" server start-dev \
  --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$DATA/temporal.db" --log-level warn "${sa_args[@]}" \
  >"$DATA/logs/temporal.log" 2>&1 &
pids+=($!)
echo ">> waiting for Temporal on $TEMPORAL_ADDRESS"
for i in $(seq 1 120); do
  if "$BIN/temporal" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "Temporal dev server exited; see $DATA/logs/temporal.log"; tail -5 "$DATA/logs/temporal.log"; exit 1; fi
  sleep 0.5
done

# 3. Airtable emulator with demo data (the local stand-in for api.airtable.com).
if [ -x "$BIN/airtable-emulator" ]; then
  export AIRTABLE_BASE_URL=${AIRTABLE_BASE_URL:-http://127.0.0.1:8181/v0}
  export AIRTABLE_API_KEY=${AIRTABLE_API_KEY:-emulator-key}
  "$BIN/airtable-emulator" -addr 127.0.0.1:8181 -seed >"$DATA/logs/airtable-emulator.log" 2>&1 &
  pids+=($!)
fi

# 3b. SMS emulator (the local stand-in for api.twilio.com): the worker sends
#     through it, and it posts inbound replies (POST /_emulator/inbound) and
#     signed delivery callbacks to the API.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-$API_URL_DEFAULT}
if [ -x "$BIN/sms-emulator" ]; then
  export TWILIO_BASE_URL=${TWILIO_BASE_URL:-http://127.0.0.1:8182}
  "$BIN/sms-emulator" -addr 127.0.0.1:8182 -inbound-url "$PUBLIC_BASE_URL/v1/webhooks/sms/inbound" >"$DATA/logs/sms-emulator.log" 2>&1 &
  pids+=($!)
fi

# 3c. LLM emulator (the local stand-in for api.openai.com): drafts go
#     through the real go-openai client path to it. Used when LLM_PROVIDER
#     is empty or unset, or when LLM_BASE_URL points at the emulator's
#     address (LLM_EMULATOR_ADDR, default 127.0.0.1:8183); another
#     configured provider is left alone. LLM_EMULATOR=0 keeps the
#     template-only behaviour.
LLM_EMULATOR_ADDR=${LLM_EMULATOR_ADDR:-127.0.0.1:8183}
case "${LLM_EMULATOR:-1}" in 0|false|no|off) use_llm_emu=0 ;; *) use_llm_emu=1 ;; esac
if [ -n "${LLM_PROVIDER:-}" ] && [ "${LLM_BASE_URL:-}" != "http://$LLM_EMULATOR_ADDR/v1" ]; then use_llm_emu=0; fi
if [ -x "$BIN/llm-emulator" ] && [ $use_llm_emu = 1 ]; then
  export LLM_PROVIDER=openai
  export LLM_BASE_URL="http://$LLM_EMULATOR_ADDR/v1"
  export LLM_API_KEY=${LLM_API_KEY:-emulator-key}
  "$BIN/llm-emulator" -addr "$LLM_EMULATOR_ADDR" >"$DATA/logs/llm-emulator.log" 2>&1 &
  pids+=($!)
  LLM_LINE="LLM emulator $LLM_BASE_URL   (requests: /_emulator/requests, faults: POST /_emulator/faults)"
elif [ -n "${LLM_PROVIDER:-}" ] && [ -n "${LLM_API_KEY:-}" ]; then
  LLM_LINE="LLM          $LLM_PROVIDER ${LLM_BASE_URL:-}"
else
  LLM_LINE="LLM          none (drafts use the template)"
fi

# 4. Worker and API.
"$BIN/worker" >"$DATA/logs/worker.log" 2>&1 &
pids+=($!)
"$BIN/api" >"$DATA/logs/api.log" 2>&1 &
pids+=($!)
API_URL="http://localhost${HTTP_ADDR#0.0.0.0}"
for i in $(seq 1 60); do
  curl -fsS "$API_URL/healthz" >/dev/null 2>&1 && break
  sleep 0.25
done

# 5. Demo clients (idempotent), a super-admin token, and each demo client's
#    first Airtable sync (from the emulator), so leads show up at once.
"$BIN/starter" demo setup || echo ">> demo setup failed; see above"
TOKEN=$("$BIN/starter" token create --role super_admin --name make-run -q)
for id in $("$BIN/starter" demo setup -q); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST "$API_URL/v1/syncs" -d "{\"client_id\":\"$id\"}")
  echo ">> first sync of demo client $id: HTTP $code (409 = one is already running)"
  "$BIN/starter" sync schedule --client-id "$id" --every "${SYNC_INTERVAL:-1h}" >/dev/null && echo ">> sync schedule for $id: every ${SYNC_INTERVAL:-1h}"
  # The Airtable webhook (incremental sync, issue 12): changes in the emulator reach the leads within a second.
  "$BIN/starter" sync webhook register --client-id "$id" >/dev/null && echo ">> airtable webhook for $id registered" || echo ">> airtable webhook for $id: registration failed (the hourly sync still runs)"
done

cat <<MSG

  Nurture is up.
    Console      $API_URL/   (sign in with the token below)
    API          $API_URL   (OpenAPI: $API_URL/openapi.yaml)
    Temporal UI  http://localhost:$TEMPORAL_UI_PORT
    SMS emulator http://127.0.0.1:8182   (messages: /_emulator/messages, reply as a lead: POST /_emulator/inbound)
    $LLM_LINE
    Temporal     $TEMPORAL_ADDRESS
    Postgres     $DATABASE_URL
    Logs         $DATA/logs/

  Super-admin token (new each run):
    export T=$TOKEN
    curl -H "Authorization: Bearer \$T" $API_URL/v1/leads

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo ">> a process exited; stopping the rest (logs in $DATA/logs/)"
