#!/bin/sh
# Runs every C test binary given as arguments and the Lua suite, then prints the closing line
# "N passed, N failed" over all of them. $LOUPE is the host to use.
passed=0; failed=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
for t in "$@"; do
    "$t" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); echo "FAIL $t exited with $rc"; fi
done
"$LOUPE" tests/run.lua >"$log" 2>&1; rc=$?
cat "$log"
p=$(sed -n 's/^lua: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log")
f=$(sed -n 's/^lua: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log")
if [ -z "$p" ]; then failed=$((failed + 1)); echo "FAIL the Lua suite did not finish (exit $rc)"; fi
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
