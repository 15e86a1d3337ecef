#!/bin/bash
# xm-test help/06_help_allcmds: every subcommand listed by `xm help --long` (lines
# "    name ...", 4 spaces) is run with 0 to 10 numeric arguments; none may crash.
# xmtest-timeout: 900
. "$(dirname "$0")/../../lib/xmtest.sh"

# xm-test looked for "Traceback" only (a Python xm). A C xm crashes differently: its output
# must not show a segfault, a core dump or a sanitizer report, and it must not die of a
# signal (exit status >= 128). Each run is bounded; the commands that follow a stream
# (console, top, events, serve) may run into the bound, the others may not. xm-test skipped
# top and log; both are bounded here instead. stdin is /dev/null, the cwd the case's temp
# dir (where a command taking a file name would put it).
MAX_ARGS=10
interactive=" console top events serve "

xm_status_output help --long
mapfile -t commands < <(printf '%s\n' "$output" | sed -n -E 's/^    ([a-z][^ ]+).*$/\1/p')
[ "${#commands[@]}" -gt 0 ] || FAIL "xm help --long listed no commands (lines '    <command> ...')"
echo "Commands: ${commands[*]}"

badcommands=()
for c in "${commands[@]}"; do
    if [[ "$interactive" == *" $c "* ]]; then
        limit=$(scaled 3)
    else
        limit=$(scaled 30)
    fi
    args=()
    for ((i = 0; i <= MAX_ARGS; i++)); do
        [ "$i" -gt 0 ] && args+=("$i")
        out=$(timeout -k 2 "$limit" "$XM" "$c" "${args[@]}" </dev/null 2>&1)
        rc=$?
        echo "[dom0] xm $c ${args[*]} -> $rc"
        why=
        case "$out" in
        *Traceback* | *"Segmentation fault"* | *"core dumped"* | *AddressSanitizer* | *"runtime error:"*)
            why="crash output" ;;
        esac
        if [ -z "$why" ]; then
            if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
                [[ "$interactive" == *" $c "* ]] || why="timed out after $limit s"
            elif [ "$rc" -ge 128 ]; then
                why="killed by signal $((rc - 128))"
            fi
        fi
        if [ -n "$why" ]; then
            badcommands+=("xm $c ${args[*]} ($why)")
            printf '%s\n' "$out" | head -n 20
        fi
    done
done

xmtest_destroy_all

[ "${#badcommands[@]}" = 0 ] || FAIL "Got a crash on: $(printf '[%s] ' "${badcommands[@]}")"
