#!/bin/sh
# run.sh SECONDS TARGET... — runs each libFuzzer target (built in build-fuzz/ by `make fuzz`)
# for SECONDS, from its committed seed corpus tests/fuzz/corpus/<target>/ and the inputs that
# once crashed it, tests/fuzz/regressions/<target>/ (replayed first, like every seed), writing
# what it finds to build-fuzz/corpus/<target>/ and its log to build-fuzz/<target>.log. Prints one line
# per target from libFuzzer's last status line; a crash, a leak or a timeout leaves the
# input as build-fuzz/crash-* (leak-*, timeout-*) and makes the script fail once every target
# has run.
#
# -max_len fits each format: enough for a few records or a small image, small enough that
# runs stay fast. Inputs run with loupe's allocation limit lowered to 256 MiB (fuzz.h), under
# a 2 GiB RSS limit and a 10 s per-input timeout.
set -u
seconds=$1; shift
cd "$(dirname "$0")/../.."
status=0
for t in "$@"; do
    case $t in
        fuzz_cifar) max_len=8192 ;;       # two 3074-byte CIFAR-100 records
        fuzz_image) max_len=16384 ;;
        fuzz_mat) max_len=8192 ;;
        fuzz_tensor_table) max_len=2048 ;;
        *) max_len=4096 ;;
    esac
    dict="" regressions=""
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    [ -d "tests/fuzz/regressions/$t" ] && regressions="tests/fuzz/regressions/$t"
    mkdir -p "build-fuzz/corpus/$t"
    log="build-fuzz/$t.log"
    # shellcheck disable=SC2086
    "build-fuzz/$t" -max_total_time="$seconds" -max_len=$max_len -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/ $dict \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" $regressions >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    size=$(ls "build-fuzz/corpus/$t" | wc -l)
    if [ $rc -eq 0 ]; then
        echo "$t: ok, $runs runs, corpus $size files; $last"
    else
        status=1
        echo "$t: FAILED (exit $rc), see $log:"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 8
    fi
done
exit $status
