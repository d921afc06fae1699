# Predictive and historical LTV over HTTP + SQL (docs/ltv-api.md).
#
# The CDNOW purchase log (../shared/data/cdnow, 6919 rows, 2357 customers) is
# loaded through POST /v1/batch as generic orders, so every number below went
# through the whole path: HTTP -> orders -> the summary SQL -> the C fit.
# References:
#  - BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy
#    Way", Marketing Science 24(2), p. 281: r = 0.243, alpha = 4.414,
#    a = 0.793, b = 2.426, LL = -9582.4 (39-week calibration to 1997-09-30,
#    time in weeks).
#  - Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value
#    Curves for Customer Base Analysis", JMR 42(4), p. 419: p = 6.25,
#    q = 3.74, gamma = 15.44 (and lifetimes' GammaGammaFitter on the same data).
#  - Cohort curves, backtest actuals: plain SQL written differently below.
#  - Growth: a generated logistic series with known K, t0, g.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CDNOW=$ROOT/../shared/data/cdnow/CDNOW_sample.txt
new_db; start_server || finish
[ -f "$CDNOW" ] || { fail "CDNOW data present" "$CDNOW missing"; finish; }

num() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const v=JSON.parse(d);const f=new Function("v","return "+process.argv[1]);console.log(f(v))})' "$1"; }
rpost() { req POST "$1" "$2" "${JSON[@]}" -H "Authorization: Bearer $RK"; }
# wait_run ID: poll GET /v1/models/runs/ID until it is no longer running.
wait_run() {
  for _ in $(seq 300); do
    rget "/v1/models/runs/$1"
    [ "$(jget status <<<"$BODY")" != running ] && return 0
    sleep 0.1
  done
  return 1
}
# sig3 X: X to 3 significant digits (what the papers print).
sig3() { node -e 'console.log(Number(Number(process.argv[1]).toPrecision(3)))' -- "$1"; }

# ---- load CDNOW: one order per row, at noon UTC of its date -----------------
tmp=$(mktemp -d)
node - "$CDNOW" "$tmp" <<'EOF'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(l => l.trim().split(/\s+/));
let batch = [], n = 0;
const flush = () => { if (batch.length) fs.writeFileSync(`${process.argv[3]}/b${n++}.json`, JSON.stringify({ batch })); batch = []; };
rows.forEach((r, i) => {
  const d = r[2];
  batch.push({ type: "order", orderId: `cdnow-${i + 1}`, userId: `cdnow-${r[1]}`, status: "paid",
               currency: "USD", amount: r[4], timestamp: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T12:00:00Z` });
  if (batch.length === 1000) flush();
});
flush();
EOF
load_ok=0
for f in "$tmp"/b*.json; do
  # 1000 orders are ~140 KB: too long for an argument, so curl reads the file.
  STATUS=$(curl -s -o "$f.out" -w '%{http_code}' -X POST "$BASE/v1/batch" "${JSON[@]}" -u "$WK:" --data-binary @"$f")
  [ "$STATUS" = 200 ] || { load_ok=1; echo "  # batch $f: $STATUS $(head -c 300 "$f.out")"; }
done
rm -rf "$tmp"
check_eq "CDNOW loaded through POST /v1/batch" "0 6919 2357" \
  "$load_ok $(sql "SELECT count(*) FROM orders") $(sql "SELECT count(DISTINCT person_id) FROM orders")"

# ---- BG/NBD + Gamma-Gamma fit, 39 weeks, weeks ---------------------------------
rpost /v1/models/ltv/fit '{"model":"bgnbd","spend":"gammagamma","calibration_end":"1997-09-30","time_unit":"week","penalizer":0}'
check_eq "POST fit: 202 running" "202 running" "$STATUS $(jget status <<<"$BODY")"
run=$(jget id <<<"$BODY")
check "run finishes" wait_run "$run"
check_eq "run done, converged, usable" "done true true" \
  "$(jget status <<<"$BODY") $(jget converged <<<"$BODY") $(jget usable <<<"$BODY")"
check_eq "BG/NBD r, alpha, a, b to 3 significant digits (FHL 2005: 0.243 4.41 0.793 2.43)" \
  "0.243 4.41 0.793 2.43" \
  "$(sig3 "$(jget parameters.r <<<"$BODY")") $(sig3 "$(jget parameters.alpha <<<"$BODY")") $(sig3 "$(jget parameters.a <<<"$BODY")") $(sig3 "$(jget parameters.b <<<"$BODY")")"
check_eq "BG/NBD alpha and b to 4 digits as printed (4.414, 2.426)" "4.414 2.426" \
  "$(num 'v.parameters.alpha.toFixed(3)' <<<"$BODY") $(num 'v.parameters.b.toFixed(3)' <<<"$BODY")"
check_eq "BG/NBD log-likelihood -9582.4" "-9582.4" "$(num 'v.log_likelihood.toFixed(1)' <<<"$BODY")"
check_eq "Gamma-Gamma p, q, gamma to 3 significant digits (6.25 3.74 15.4)" "6.25 3.74 15.4" \
  "$(sig3 "$(jget spend.parameters.p <<<"$BODY")") $(sig3 "$(jget spend.parameters.q <<<"$BODY")") $(sig3 "$(jget spend.parameters.gamma <<<"$BODY")")"
check_eq "Gamma-Gamma gamma 15.44 as printed" "15.44" "$(num 'v.spend.parameters.gamma.toFixed(2)' <<<"$BODY")"
check_eq "persons 2357, spend persons 946 (README: x > 0)" "2357 946" \
  "$(jget persons <<<"$BODY") $(jget spend.persons <<<"$BODY")"
check_eq "units stated: week of 7 days, gamma in USD" "week 7 USD" \
  "$(jget time_unit <<<"$BODY") $(jget days_per_time_unit <<<"$BODY") $(jget spend.gamma_unit <<<"$BODY")"
check_match "timings recorded" '"fit_ms":[0-9.]+' "$(jget timings <<<"$BODY")"
echo "  # CDNOW fit timings: $(jget timings <<<"$BODY")"
finish
