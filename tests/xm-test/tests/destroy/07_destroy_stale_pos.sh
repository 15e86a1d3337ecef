#!/bin/bash
# xm-test destroy/07_destroy_stale_pos: start a domain, destroy it, then every command that
# names it must fail with an error (no stale state left behind); once per command.
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

# "xm save D /tmp/foo" of xm-test: the file goes to the case's temp dir instead.
tests=(
    "mem-set|mem-set NAME 32"
    "pause|pause NAME"
    "unpause|unpause NAME"
    "reboot|reboot NAME"
    "save|save NAME $XMTEST_TMP/foo"
    "block-list|block-list NAME"
    "shutdown|shutdown NAME"
    "domid|domid NAME"
    "domname|domname NAME"
)

for t in "${tests[@]}"; do
    what=${t%%|*}
    name=$(xmtest_name)
    xmtest_create "$name" || FAIL "$output"
    guest_run "$name" "ls" || FAIL "$guest_error"
    xm_status_output destroy "$name"

    read -r -a args <<< "${t#*|}"
    args=("${args[@]/#NAME/$name}")
    xm_status_output "${args[@]}"
    [ "$status" != 0 ] || FAIL "$what worked after domain destroy!"
    [[ "$output" =~ [Ee]rror ]] || FAIL "$what failed to report error after destroy!"
done
