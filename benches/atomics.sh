#!/usr/bin/env bash
# Atomic instructions and clock reads per request of the client alone, with callgrind: what
# instruction counts understate (an uncontended atomic costs about 2 ns, a clock read 26 ns on
# the build machine). Raw hyper, oktower's default stack and its connection machinery alone
# (`oktower-connect`), in one scenario (S2 by default: 64 tasks over HTTP/1.1).
#
# As benches/callgrind.sh: the server runs natively (`compare serve`), the client process runs
# under valgrind with N and 2N measured requests, and per request = (count(2N) - count(N)) / N.
# benches/atomics.py matches every executed instruction against the `lock`-prefixed (and
# memory `xchg`) instructions `objdump -d` finds in the binary and the libraries it loads.
#
# Usage: benches/atomics.sh [SCENARIO] [N]   (default s2 2000; needs valgrind, objdump, python3)
# Environment: CARGO_TARGET_DIR as usual; KEEP=1 keeps the callgrind.out files.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO="${1:-s2}"
N="${2:-2000}"
VALGRIND="${VALGRIND:-/usr/bin/valgrind}"
# shellcheck source=benches/compare_server.sh
source benches/compare_server.sh

profile() {
    local client="$1" requests="$2"
    "$VALGRIND" --tool=callgrind --dump-instr=yes \
        --callgrind-out-file="$WORK/$client.$requests.out" \
        "$COMPARE" one --server-info-file "$WORK/server-info" \
        --scenario "$SCENARIO" --client "$client" --requests "$requests" \
        > /dev/null 2> "$WORK/valgrind.log"
}

printf '| scenario | client | atomic instructions/request | clock reads/request |\n|---|---|---|---|\n'
for client in raw-hyper oktower-connect oktower; do
    profile "$client" "$N"
    profile "$client" "$((2 * N))"
    read -r atomic clock < <(python3 benches/atomics.py \
        "$WORK/$client.$N.out" "$WORK/$client.$((2 * N)).out" "$N")
    printf '| %s | %s | %s | %s |\n' "${SCENARIO^^}" "$client" "$atomic" "$clock"
done
if [ "${KEEP:-0}" = 1 ]; then echo "callgrind files kept in $WORK" >&2; fi
