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
# callgrind_annotate) in the printed directory; CACHE_SIM=1 also simulates the caches and the
# branch predictor and adds, per request, the instruction-cache misses (I1), the data-cache
# misses (D1, reads and writes) and the mispredicted branches (conditional and indirect):
# what CPU time pays beyond the instruction count (about 3 times slower to run).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-2000}"
VALGRIND="${VALGRIND:-/usr/bin/valgrind}"
# shellcheck source=benches/compare_server.sh
source benches/compare_server.sh

SIMULATE=()
if [ "${CACHE_SIM:-0}" = 1 ]; then SIMULATE=(--cache-sim=yes --branch-sim=yes); fi

# The event totals of one client run of `requests` measured requests, in the order
# Ir [I1 D1 Bmispredicted] (the last three with CACHE_SIM=1).
events() {
    local scenario="$1" client="$2" requests="$3"
    local out="$WORK/callgrind.$scenario.$client.$requests.out"
    "$VALGRIND" --tool=callgrind "${SIMULATE[@]}" --callgrind-out-file="$out" \
        "$COMPARE" one --server-info-file "$WORK/server-info" \
        --scenario "$scenario" --client "$client" --requests "$requests" \
        > /dev/null 2> "$WORK/valgrind.log"
    awk '/^events:/ { for (i = 2; i <= NF; i++) name[i] = $i }
         /^(summary|totals):/ && !done {
             for (i = 2; i <= NF; i++) value[name[i]] = $i
             printf "%.0f %.0f %.0f %.0f\n", value["Ir"], value["I1mr"], \
                 value["D1mr"] + value["D1mw"], value["Bcm"] + value["Bim"]
             done = 1
         }' "$out"
}

header='| scenario | client | instructions/request | vs raw hyper |'
rule='|---|---|---|---|'
if [ ${#SIMULATE[@]} -gt 0 ]; then
    header+=' I1 misses | D1 misses | mispredicted branches |'
    rule+='---|---|---|'
fi
printf '%s\n%s\n' "$header" "$rule"
for scenario in s1 s3; do
    declare -A per_request=() misses=()
    for client in raw-hyper oktower oktower-connect; do
        read -r -a single <<< "$(events "$scenario" "$client" "$N")"
        read -r -a double <<< "$(events "$scenario" "$client" "$((2 * N))")"
        per_request[$client]=$(( (double[0] - single[0]) / N ))
        misses[$client]="$(( (double[1] - single[1]) / N )) | $(( (double[2] - single[2]) / N )) | $(( (double[3] - single[3]) / N ))"
    done
    for client in raw-hyper oktower oktower-connect; do
        ratio="$(awk -v a="${per_request[$client]}" -v b="${per_request[raw-hyper]}" 'BEGIN { printf "%.2f", a / b }')"
        row="| ${scenario^^} | $client | ${per_request[$client]} | ${ratio}× |"
        if [ ${#SIMULATE[@]} -gt 0 ]; then row+=" ${misses[$client]} |"; fi
        printf '%s\n' "$row"
    done
    unset per_request misses
done
if [ "${KEEP:-0}" = 1 ]; then echo "callgrind files kept in $WORK" >&2; fi
