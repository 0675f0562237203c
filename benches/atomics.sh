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
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO="${1:-s2}"
N="${2:-2000}"
VALGRIND="${VALGRIND:-/usr/bin/valgrind}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

cargo build --release -p oktower-benches --bin compare >&2
COMPARE="$TARGET_DIR/release/compare"

WORK="$(mktemp -d)"
"$COMPARE" serve > "$WORK/server-info" &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do
    grep -q '^oktower-benches-server' "$WORK/server-info" 2>/dev/null && break
    sleep 0.1
done

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
