#!/bin/sh
# Run one libFuzzer target for $FUZZ_SECONDS seconds (default 10) from a scratch copy of its
# committed seed corpus, so the source tree is never written. On a crash, leak, timeout or
# OOM the reproducer stays in CRASH_DIR (under the build dir) and the exit status is non-zero.
#
# usage: run-fuzz.sh NAME TARGET CORPUS_DIR CRASH_DIR DICT...
#   Reproduce a finding with: TARGET CRASH_DIR/NAME-crash-...
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 NAME TARGET CORPUS_DIR CRASH_DIR DICT..." >&2
    exit 2
fi
name=$1
target=$(realpath "$2") || exit 2
corpus=$3
crashes=$4
shift 4

secs=${FUZZ_SECONDS:-10}
case $secs in
'' | *[!0-9]*)
    echo "run-fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
    exit 2
    ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/xend-$name-XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" || exit 2
cp "$corpus"/* "$work/corpus/" || exit 2
# libFuzzer takes one dictionary: join the ones given.
cat "$@" >"$work/dict" </dev/null || exit 2
mkdir -p "$crashes" || exit 2
: >"$work/stamp"

# UBSan only prints by default; a finding must stop the run and leave a reproducer.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

echo "run-fuzz: $name for ${secs}s ($(ls "$work/corpus" | wc -l) seeds)"
# The watchdog only matters if libFuzzer itself stops honouring -max_total_time.
timeout -k 10 $((secs * 2 + 120)) "$target" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -dict="$work/dict" \
    -artifact_prefix="$crashes/$name-" -print_final_stats=1 "$work/corpus"
rc=$?

if [ $rc -ne 0 ]; then
    found=$(find "$crashes" -newer "$work/stamp" -type f -name "$name-*" 2>/dev/null)
    echo "run-fuzz: $name FAILED (exit $rc)" >&2
    for f in $found; do
        echo "run-fuzz: reproducer kept: $f" >&2
        echo "run-fuzz: reproduce with: $target $f" >&2
    done
    exit 1
fi
echo "run-fuzz: $name: no finding in ${secs}s ($(ls "$work/corpus" | wc -l) inputs in the working corpus)"
