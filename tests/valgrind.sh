#!/bin/sh
# make valgrind: the misuse battery (tests/lua/misuse_battery.lua: its quick set of bad values
# unless MISUSE_MODE=full, every group in one process) and tests/lua/test_limits.lua (each of
# its child processes) under valgrind's memcheck. Any invalid read or write, use of
# uninitialised memory, bad free or definitely lost block fails the run (--error-exitcode=1).
# One thread (memcheck serialises threads anyway, and OpenBLAS's and libgomp's pools would only
# add start-up time); tests/valgrind.supp holds the suppressions, each with its reason.
#
#   sh tests/valgrind.sh HOST        (HOST: a build without -march=native, e.g. build-vg/loupe)
set -u
host=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(pwd)
vg="valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
vg="$vg --show-leak-kinds=definite --num-callers=40"  # deep enough for the suppressions
vg="$vg --suppressions=$root/tests/valgrind.supp -q"
export LOUPE_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# the host re-executes itself to set this one, which valgrind does not follow
export OMP_WAIT_POLICY=passive LOUPE_LUA_PATH="$root/lua"

scratch=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/empty"
start=$(date +%s)
status=0

# MISUSE_MODE=full: the battery's full set (372,000 calls, about 3.5 minutes instead of 1.5)
mode=${MISUSE_MODE:-quick}
echo "valgrind: the misuse battery (all groups, $mode)"
(cd "$scratch" && LOUPE_DATA="$scratch/empty" LOUPE_MAX_BYTES=268435456 \
    $vg "$host" "$root/tests/lua/misuse_battery.lua" all "$scratch/log" "$mode" >"$scratch/out" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -a -q 'battery all: [0-9]* calls' "$scratch/out"; then
    grep -a -o 'battery all: [0-9]* calls' "$scratch/out"
else
    status=1
    echo "FAIL the battery under valgrind (exit status $rc); the last call: $(tail -n 1 "$scratch/log")"
    grep -a -v '^slow: ' "$scratch/out" | tail -n 80
fi

echo "valgrind: tests/lua/test_limits.lua (its children under valgrind)"
LOUPE="$vg $host" "$host" tests/run.lua tests/lua/test_limits.lua || status=1

echo "valgrind: $( [ $status = 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - start )) s"
exit $status
