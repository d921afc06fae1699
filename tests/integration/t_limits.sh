# Connection-level limits: a slow-loris client is dropped after the
# inactivity timeout, and connections beyond the limit are refused, while
# well-behaved clients keep being served.
source "$(dirname "$0")/lib.sh"
new_db; start_server COHORTD_CONN_TIMEOUT=2 COHORTD_MAX_CONNECTIONS=8 || finish
port=${BASE##*:}

# Slow loris: half a request line, then silence. Expect the server to close.
exec 5<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/track HTTP/1.1\r\nHost: x\r\n' >&5
t0=$(date +%s)
timeout 10 cat <&5 >/dev/null   # returns when the server closes the socket
elapsed=$(( $(date +%s) - t0 ))
exec 5>&-
check "slow client closed after the 2 s timeout (took ${elapsed} s)" test "$elapsed" -ge 1 -a "$elapsed" -le 5

# Hold 8 idle connections (the limit), then a 9th request is not served.
for fd in 10 11 12 13 14 15 16 17; do eval "exec $fd<>/dev/tcp/127.0.0.1/$port"; done
sleep 0.3
# MHD stops accepting at the limit: the new client waits in the backlog.
code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$BASE/health")
check "connection over the limit is not served while the limit is reached (got '$code')" test "$code" != 200
for fd in 10 11 12 13 14 15 16 17; do eval "exec $fd>&-"; done
sleep 3   # idle connections time out and free their slots
req GET /health
check_eq "served again once the idle connections are gone" 200 "$STATUS"
finish
