# Sourced by benches/callgrind.sh and benches/atomics.sh: builds the `compare` binary, starts
# its server natively in its own process, and waits until the server has written its
# addresses. Sets COMPARE (the binary), WORK (a scratch directory holding `server-info`) and a
# trap that stops the server on exit and removes WORK unless KEEP=1.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -p oktower-benches --bin compare >&2
COMPARE="$TARGET_DIR/release/compare"

WORK="$(mktemp -d)"
"$COMPARE" serve > "$WORK/server-info" &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
for _ in $(seq 100); do
    grep -q '^oktower-benches-server' "$WORK/server-info" 2>/dev/null && break
    sleep 0.1
done
