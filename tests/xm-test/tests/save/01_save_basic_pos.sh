#!/bin/bash
# xm-test save/01_save_basic_pos: `xm save D FILE` succeeds within 30 s and the domain is gone.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

# /tmp/test.state of xm-test: the case's temp dir instead.
XMTEST_CMD_TIMEOUT=30 xm_status_output save "$name" "$XMTEST_TMP/test.state"
[ "$status" != 124 ] || FAIL "xm save timed out after 30 s"
[ "$status" = 0 ] || FAIL "save command exited $status != 0"

! isDomainRunning "$name" || FAIL "Domain still running after save!"
