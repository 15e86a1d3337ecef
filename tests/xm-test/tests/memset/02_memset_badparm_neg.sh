#!/bin/bash
# xm-test memset/02_memset_badparm_neg: `xm mem-set`, `xm mem-set -x`, `xm mem-set 6666` and
# `xm mem-set 6666 64` each report Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output mem-set
neg_expect_at_start "Error:" "xm mem-set (no parm)"

xm_status_output mem-set -x
neg_expect_at_start "Error:" "xm mem-set -x"

xm_status_output mem-set 6666
neg_expect_at_start "Error:" "xm mem-set 6666"

xm_status_output mem-set 6666 64
neg_expect_at_start "Error:" "xm mem-set 6666 64"
