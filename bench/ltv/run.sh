#!/usr/bin/env bash
# LTV model benchmark: C fits (bench_ltv) vs the scipy baseline (reference.py)
# on the same data, in one run. Prints medians and the ratio scipy / C.
#
#   bench/ltv/run.sh [C_REPS] [PY_REPS_CDNOW] [PY_REPS_1M]     (defaults 5 5 3)
#
# Run from the repository root. Needs cc and /usr/bin/python3 with numpy and
# scipy (Debian python3-numpy, python3-scipy). Uses one core at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
c_reps=${1:-5}
py_cdnow=${2:-5}
py_sim=${3:-3}
out=build/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wpedantic \
   -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -I. \
   -o "$out/bench_ltv" bench/ltv/bench_ltv.c model/btyd.c model/bgnbd.c model/gammagamma.c \
   model/specfun.c model/optim.c -lm

echo "== C (bench_ltv, median of $c_reps)"
"$out/bench_ltv" --reps "$c_reps" --dump "$tmp" | tee "$tmp/c.txt"

# field NAME=value from a line
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

run_py() { # file reps -> prints median total_ms, keeps lines in $tmp/py_$1.txt
  local f=$1 reps=$2
  : > "$tmp/py_$f.txt"
  for _ in $(seq "$reps"); do
    /usr/bin/python3 bench/ltv/reference.py bench "$tmp/$f.f64" >> "$tmp/py_$f.txt"
  done
}

echo "== scipy (reference.py bench: BFGS on per-customer arrays, median of $py_cdnow / $py_sim)"
run_py cdnow "$py_cdnow"
tail -1 "$tmp/py_cdnow.txt"
run_py sim "$py_sim"
tail -1 "$tmp/py_sim.txt"

c_cdnow=$(grep '^cdnow customers' "$tmp/c.txt" | field total_ms)
c_cdnow_fit=$(awk '/^cdnow customers/ {for(i=1;i<=NF;i++){split($i,a,"="); v[a[1]]=a[2]}; print v["bgnbd_ms"]+v["gg_ms"]}' "$tmp/c.txt")
c_sim=$(grep '^sim customers' "$tmp/c.txt" | field total_ms)
py_c=$(field total_ms < "$tmp/py_cdnow.txt" | median)
py_s=$(field total_ms < "$tmp/py_sim.txt" | median)
echo "== summary (wall ms, medians)"
awk -v cc="$c_cdnow" -v cf="$c_cdnow_fit" -v pc="$py_c" -v cs="$c_sim" -v ps="$py_s" 'BEGIN {
  printf "cdnow: C total %.3f ms (fits %.3f) | scipy %.1f ms | scipy/C %.0fx | target <= 20 ms: %s\n", cc, cf, pc, pc/cc, (cc <= 20 ? "met" : "MISSED");
  printf "1M:    C total %.1f ms | scipy %.1f ms | scipy/C %.0fx | target <= 2000 ms: %s\n", cs, ps, ps/cs, (cs <= 2000 ? "met" : "MISSED");
}'
