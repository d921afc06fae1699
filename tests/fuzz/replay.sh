#!/usr/bin/env bash
# Replay the committed fuzz corpus (and any extra files given) through the
# order/webhook parsers without libFuzzer; SAN=1 builds with ASan+UBSan.
#   tests/fuzz/replay.sh [FILE...]
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory -f tests/fuzz/fuzz.mk SAN="${SAN:-}" \
  "build-fuzz/replay_orders${SAN:+_san}" >/dev/null
"build-fuzz/replay_orders${SAN:+_san}" tests/fuzz/corpus/* "$@"
