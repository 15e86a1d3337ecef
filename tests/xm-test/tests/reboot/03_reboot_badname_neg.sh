#!/bin/bash
# xm-test reboot/03_reboot_badname_neg: `xm reboot NOT-EXIST` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output reboot NOT-EXIST
neg_expect_anywhere "Error" "xm reboot"
