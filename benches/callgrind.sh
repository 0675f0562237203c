#!/usr/bin/env bash
# Instructions per request of the client alone, with callgrind: S1 (sequential HTTP/1.1
# keep-alive) and S3 (256 streams on one h2c connection), oktower's default stack and its
# connection machinery alone (`oktower-connect`: ConnectLayer over CallServer) against raw hyper.
#
# The server runs natively in its own process (`compare serve`); only the client process
# (`compare one`) runs under valgrind. Each case runs twice, with N and 2N measured requests;
# instructions per request = (I(2N) - I(N)) / N, which cancels start-up, client construction and
# warm-up. Instruction counts repeat run to run, unlike timings.
#
# Usage: benches/callgrind.sh [N]   (default N = 2000; needs /usr/bin/valgrind)
# Environment: CARGO_TARGET_DIR as usual; KEEP=1 keeps the callgrind.out files (for
# callgrind_annotate) in the printed directory.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-2000}"
VALGRIND="${VALGRIND:-/usr/bin/valgrind}"
# shellcheck source=benches/compare_server.sh
source benches/compare_server.sh

# Total instructions (Ir) of one client run of `requests` measured requests.
instructions() {
    local scenario="$1" client="$2" requests="$3"
    local out="$WORK/callgrind.$scenario.$client.$requests.out"
    "$VALGRIND" --tool=callgrind --callgrind-out-file="$out" \
        "$COMPARE" one --server-info-file "$WORK/server-info" \
        --scenario "$scenario" --client "$client" --requests "$requests" \
        > /dev/null 2> "$WORK/valgrind.log"
    grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
}

printf '| scenario | client | instructions/request | vs raw hyper |\n|---|---|---|---|\n'
for scenario in s1 s3; do
    declare -A per_request=()
    for client in raw-hyper oktower oktower-connect; do
        single="$(instructions "$scenario" "$client" "$N")"
        double="$(instructions "$scenario" "$client" "$((2 * N))")"
        per_request[$client]=$(( (double - single) / N ))
    done
    for client in raw-hyper oktower oktower-connect; do
        ratio="$(awk -v a="${per_request[$client]}" -v b="${per_request[raw-hyper]}" 'BEGIN { printf "%.2f", a / b }')"
        printf '| %s | %s | %d | %s× |\n' "${scenario^^}" "$client" "${per_request[$client]}" "$ratio"
    done
    unset per_request
done
if [ "${KEEP:-0}" = 1 ]; then echo "callgrind files kept in $WORK" >&2; fi
