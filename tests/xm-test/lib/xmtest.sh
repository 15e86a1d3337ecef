# xm-test's XmTestLib for bash. Every case sources this file first; like importing
# XmTestLib, sourcing it destroys every domain but Domain-0.
#
# Environment (set by runtest.sh): XM (xm's path), XM_SERVER, XMTEST_KERNEL,
# XMTEST_RAMDISK, XMTEST_TMP (the case's own temp dir, also its cwd), XMTEST_SLOW (a
# factor for every bound), XMTEST_DRIVER and the knobs of lib/driver.sh.
#
# Exit codes as xm-test's: 0 pass, 255 FAIL, 77 SKIP; FAIL and SKIP print `REASON: msg`.

XMTEST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$XMTEST_LIB/driver.sh" || exit 255

XM=${XM:-xm}
XMTEST_SLOW=${XMTEST_SLOW:-1}
TEST_NAME=$(basename "$0" .sh)
if [ -z "${XMTEST_TMP:-}" ]; then
    XMTEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xmtest-case.XXXXXX")
    trap 'xmtest_loops_detach "$XMTEST_TMP"; rm -rf "$XMTEST_TMP"' EXIT
fi
export XM XMTEST_SLOW XMTEST_TMP
XMTEST_CMD_TIMEOUT=${XMTEST_CMD_TIMEOUT:-120}
_xmtest_start=$(date +%s)

# Inside $(...) stdout is captured: the REASON then goes to stderr, which runtest.sh logs
# too, and the subshell's status (255/77) is left for the caller to pass on.
# A message of several lines (xm's output) is printed on one, joined with " | ", so that the
# report's REASON line carries all of it.
_reason() {
    local msg=$*
    msg=${msg//$'\n'/ | }
    if [ "$BASH_SUBSHELL" = 0 ]; then echo "REASON: $msg"; else echo "REASON: $msg" >&2; fi
}

FAIL() {
    _reason "$@"
    exit 255
}

SKIP() {
    _reason "$@"
    exit 77
}

# scaled N: N seconds times XMTEST_SLOW (an integer).
scaled() {
    echo $(( $1 * ${XMTEST_SLOW%%.*} ))
}

# str_find HAYSTACK NEEDLE: the index of NEEDLE's first occurrence, or -1 (str.find).
str_find() {
    local before=${1%%"$2"*}
    if [ "$before" = "$1" ]; then
        echo -1
    else
        echo ${#before}
    fi
}

# xm_status_output ARG...: run xm (bounded by XMTEST_CMD_TIMEOUT) with stdout and stderr
# merged and the final newline stripped, as commands.getstatusoutput("xm ...") did. Sets
# $status and $output, and logs both (traceCommand).
xm_status_output() {
    echo "[dom0] Running \`xm $*'"
    output=$(timeout -k 5 "$(scaled "$XMTEST_CMD_TIMEOUT")" "$XM" "$@" </dev/null 2>&1; echo "~$?")
    status=${output##*~}
    output=${output%~*}
    output=${output%$'\n'}
    if [ "$status" = 124 ]; then
        output="${output}${output:+$'\n'}[xm-test: xm $* timed out after $(scaled "$XMTEST_CMD_TIMEOUT") s]"
    fi
    [ -n "$output" ] && printf '%s\n' "$output"
    [ "$status" = 0 ] || echo "[dom0] (exit status $status)"
    return 0
}

# ---- checks shared by the negative cases -------------------------------------------------
# After xm_status_output. xm-test's negative cases check `status != 0` and then look for an
# eye-catcher in the merged output; these mirror the two forms they use.

# neg_expect_at_start EYE WHAT: status != 0 and EYE found at the start of the output (the
# cases' `where > 1` / `where != 0` checks of output.find(EYE); the reference's ⇒E/⇒E:).
neg_expect_at_start() {
    local where
    [ "$status" != 0 ] || FAIL "$2 returned invalid $status == 0"
    where=$(str_find "$output" "$1")
    if [ "$where" -lt 0 ] || [ "$where" -gt 1 ]; then
        FAIL "$2 failed to report '$1' (output: $output)"
    fi
}

# neg_expect_anywhere EYE WHAT: status != 0 and EYE somewhere in the output (where == -1
# fails), with no stack dump at the start (where2 == 0 of "Traceback" fails).
neg_expect_anywhere() {
    [ "$status" != 0 ] || FAIL "$2 returned bad status, expected non 0, status is: $status"
    [ "$(str_find "$output" Traceback)" != 0 ] || \
        FAIL "$2 returned a stack dump, expected nice error message"
    [ "$(str_find "$output" "$1")" -ge 0 ] || \
        FAIL "$2 returned bad output, expected $1, output is: $output"
}

# ---- XmTestDomain ------------------------------------------------------------------------

# xmtest_name [SUFFIX]: XmTestDomain's default name `<test>-<unixtime>`; later calls in the
# same case get -2, -3, ... so that several default domains do not collide. The count is
# kept in a file of the case's temp dir: cases call this in $(...), a subshell.
xmtest_name() {
    local f=$XMTEST_TMP/.xmtest-names
    _xmtest_names=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 ))
    echo "$_xmtest_names" > "$f"
    if [ "$_xmtest_names" = 1 ]; then
        echo "${TEST_NAME}-${_xmtest_start}$1"
    else
        echo "${TEST_NAME}-${_xmtest_start}-${_xmtest_names}$1"
    fi
}

# xmtest_config NAME [KEY = VALUE ...]: write XmTestDomain's config file (xm python syntax)
# to $XMTEST_TMP/NAME.cfg; extra lines replace the default of the same key (extraConfig).
# Prints the file's path. Driver adaptations (lib/driver.sh): the default memory, no root
# where the guest needs none, the driver's kernel arguments in front of a case's `extra`,
# and the disks' Xen names mapped by xmtest_vdev.
xmtest_config() {
    local name=$1 line key i v
    shift
    local -a keys=(memory vcpus kernel ramdisk)
    local -A val=(
        [memory]=$XMTEST_DEFAULT_MEM
        [vcpus]=1
        [kernel]="\"$XMTEST_KERNEL\""
        [ramdisk]="\"$XMTEST_RAMDISK\""
        [name]="\"$name\""
    )
    if [ -n "$XMTEST_ROOT" ]; then
        keys+=(root)
        val[root]="\"$XMTEST_ROOT\""
    fi
    keys+=(name)
    if [ -n "$XMTEST_KERNEL_ARGS" ]; then
        keys+=(extra)
        val[extra]="\"$XMTEST_KERNEL_ARGS\""
    fi
    for line in "$@"; do
        key=${line%%=*}
        key=${key// /}
        [ -n "${val[$key]+set}" ] || keys+=("$key")
        v=${line#*=}
        v=${v# }
        case "$key" in
        extra)
            # A case's extra (e.g. mem=32M) comes after the console the guest needs.
            if [ -n "$XMTEST_KERNEL_ARGS" ] && [[ "$v" =~ ^\"(.*)\"$ ]]; then
                v="\"$XMTEST_KERNEL_ARGS ${BASH_REMATCH[1]}\""
            fi
            ;;
        disk)
            # 'TYPE:PATH,VDEV,MODE' entries: VDEV through xmtest_vdev.
            while [[ "$v" =~ ^(.*,)((/dev/)?(hd|sd)[a-z]+[0-9]*)(,.*)$ ]] &&
                [ "$(xmtest_vdev "${BASH_REMATCH[2]}")" != "${BASH_REMATCH[2]}" ]; do
                v="${BASH_REMATCH[1]}$(xmtest_vdev "${BASH_REMATCH[2]}")${BASH_REMATCH[5]}"
            done
            ;;
        esac
        val[$key]=$v
    done
    local cfg=$XMTEST_TMP/$name.cfg
    : > "$cfg"
    for key in "${keys[@]}"; do
        printf '%s = %s\n' "$key" "${val[$key]}" >> "$cfg"
    done
    echo "$cfg"
}

# xmtest_create NAME [KEY = VALUE ...]: XmTestDomain(name, extraConfig).start(): write the
# config and `xm create` it. Returns xm's status ($status, $output set); the config goes to
# the log.
xmtest_create() {
    local cfg
    cfg=$(xmtest_config "$@")
    echo "[dom0] $cfg:"
    sed 's/^/    /' "$cfg"
    xm_status_output create "$cfg"
    [ "$status" = 0 ]
}

# xmtest_destroy_all: destroy every domain but Domain-0 (the first word of each `xm list`
# line after the header), retrying `xm list` up to 10 times as destroyAllDomUs did.
xmtest_destroy_all() {
    local attempt d out rc
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        out=$(timeout -k 5 "$(scaled 60)" "$XM" list </dev/null 2>&1)
        rc=$?
        if [ "$rc" = 0 ] && [[ "$out" != *Traceback* ]]; then
            break
        fi
        [ "$attempt" = 10 ] && FAIL "XM-TEST: xm list not responding"
        sleep 1
    done
    for d in $(printf '%s\n' "$out" | tail -n +2 | awk '{print $1}'); do
        [ "$d" = Domain-0 ] && continue
        timeout -k 5 "$(scaled 60)" "$XM" destroy "$d" </dev/null >/dev/null 2>&1
    done
    return 0
}

# ---- Xm.py helpers -----------------------------------------------------------------------

# domid NAME: prints the id, or -1 when `xm domid` fails (domain gone).
domid() {
    local out rc
    out=$(timeout -k 5 "$(scaled 60)" "$XM" domid "$1" </dev/null 2>&1)
    rc=$?
    echo "[dom0] xm domid $1 -> $out (status $rc)" >&2
    if [ "$rc" != 0 ] || [[ "$out" == *Traceback* ]] || [ "$out" = None ]; then
        echo -1
        return 0
    fi
    [[ "$out" =~ ^[0-9]+$ ]] || FAIL "xm domid failed: $out"
    echo "$out"
}

isDomainRunning() {
    [ "$(domid "$1")" != -1 ]
}

# getDomMem DOMAIN: the Mem column of `xm list` for a name or numeric id (empty if absent).
getDomMem() {
    local out
    out=$("$XM" list 2>/dev/null) || return 0
    printf '%s\n' "$out" | awk -v d="$1" '
        { if ((d ~ /^[0-9]+$/ && $2 == d) || (d !~ /^[0-9]+$/ && $1 == d)) { print $3; exit } }'
}

# getDomInfo DOMAIN KEY [OPTS]: the column KEY of `xm list [OPTS]`, the header's "(...)"
# removed (Name ID Mem VCPUs State Time); empty if not found.
getDomInfo() {
    local out
    out=$("$XM" list ${3:-} 2>/dev/null) || return 0
    printf '%s\n' "$out" | awk -v d="$1" -v k="$2" '
        NR == 1 { gsub(/\([^)]+\)/, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == d && (k in col) { print $(col[k]); exit }'
}

# getVcpuInfo DOMAIN: fills the associative array VCPU_CPU: vcpu number -> CPU, or None
# for an offline vcpu (`-`), from `xm vcpu-list` columns 3 and 4.
declare -A VCPU_CPU
getVcpuInfo() {
    local out num cpu
    VCPU_CPU=()
    out=$("$XM" vcpu-list "$1" 2>&1)
    echo "[dom0] xm vcpu-list $1:"
    printf '%s\n' "$out"
    while read -r _ _ num cpu _; do
        [[ "$num" =~ ^[0-9]+$ ]] || continue
        if [ "$cpu" = - ]; then
            VCPU_CPU[$num]=None
        else
            VCPU_CPU[$num]=$cpu
        fi
    done < <(printf '%s\n' "$out" | tail -n +2)
}

# getInfo KEY: the value of KEY in `xm info` (lines matching ^([A-z_]+)[^:]*: (.*)$).
getInfo() {
    "$XM" info 2>/dev/null | sed -n -E "s/^$1[^:]*: (.*)\$/\\1/p" | head -n 1
}

smpConcurrencyLevel() {
    local c t s
    c=$(getInfo cores_per_socket)
    t=$(getInfo threads_per_core)
    s=$(getInfo sockets_per_node)
    echo $(( ${c:-1} * ${t:-1} * ${s:-1} ))
}

# ---- block devices (block_utils.py) ------------------------------------------------------

# blkdev_number VDEV: Xen's device number (xen.util.blkif.blkdev_name_to_number): xvdX
# 202*256 + 16*disk, hda/hdb 3*256, hdc/hdd 22*256 (64 a disk), sdX 8*256 + 16*disk, vdX
# 254*256 + 16*disk, plus the partition; a number stays as it is.
blkdev_number() {
    local dev=${1#/dev/} letters part disk=0 c i
    if [[ "$dev" =~ ^[0-9]+$ ]]; then
        echo "$dev"
        return
    fi
    if [[ "$dev" =~ ^(xvd|hd|sd|vd)([a-z]+)([0-9]*)$ ]]; then
        letters=${BASH_REMATCH[2]}
        part=${BASH_REMATCH[3]:-0}
        for ((i = 0; i < ${#letters}; i++)); do
            c=$(printf '%d' "'${letters:i:1}")
            disk=$((disk * 26 + c - 97 + (i < ${#letters} - 1 ? 1 : 0)))
        done
        case ${BASH_REMATCH[1]} in
        xvd) echo $((202 * 256 + disk * 16 + part)) ;;
        sd) echo $((8 * 256 + disk * 16 + part)) ;;
        vd) echo $((254 * 256 + disk * 16 + part)) ;;
        hd)
            local majors=(3 22 33 34 56 57 88 89 90 91)
            echo $((majors[disk / 2] * 256 + (disk % 2) * 64 + part))
            ;;
        esac
        return
    fi
    echo -1
}

# block_state DOMAIN VDEV: the state column of VDEV's `xm block-list` line, 0 if none.
block_state() {
    local num out st
    num=$(blkdev_number "$2")
    out=$("$XM" block-list "$1" 2>&1) || FAIL "block-list failed: $out"
    st=$(printf '%s\n' "$out" | awk "/^$num/ {print \$4}")
    echo "${st:-0}"
}

# block_attach DOMAIN BACKDEV VDEV: `xm block-attach D BACKDEV VDEV w`, then wait up to 10 s
# for the device's state to become 4 (Connected). VDEV goes through xmtest_vdev.
block_attach() {
    local dom=$1 vdev
    vdev=$(xmtest_vdev "$3")
    xm_status_output block-attach "$1" "$2" "$vdev" w
    [ "$status" = 0 ] || FAIL "xm block-attach returned invalid $status != 0"
    _block_connected() { [ "$(block_state "$dom" "$vdev")" = 4 ]; }
    poll_until 10 _block_connected || FAIL "block-attach failed: device did not switch to Connected state"
}

# block_detach DOMAIN VDEV: `xm block-detach D VDEV`, then wait up to 10 s for its line to
# disappear from block-list.
block_detach() {
    local dom=$1 vdev
    vdev=$(xmtest_vdev "$2")
    xm_status_output block-detach "$1" "$vdev"
    [ "$status" = 0 ] || FAIL "xm block-detach returned invalid $status != 0"
    _block_gone() { [ "$(block_state "$dom" "$vdev")" = 0 ]; }
    poll_until 10 _block_gone || FAIL "block-detach failed: device did not disappear"
}

# guest_partitions DOMAIN [NAME | !NAME ...]: what the guest shows of its disks, in
# $guest_output: /proc/partitions, or on QEMU a line "<Xen name> <guest name>" per virtio
# disk (lib/driver.sh: xmtest_guest_partitions_cmd). With NAMEs, polls up to 10 s until
# every NAME shows and no !NAME does: a Xen frontend was connected when xenbus said so,
# while a real guest probes a hot-plugged disk (or lets an ejected one go) a little after
# QEMU has answered. The case then checks $guest_output as xm-test did.
guest_partitions() {
    local dom=$1
    shift
    _partitions_as_wanted() {
        local w
        guest_run "$dom" "$(xmtest_guest_partitions_cmd)" || FAIL "$guest_error"
        for w in "$@"; do
            case "$w" in
            !*) [[ " $(echo $guest_output) " != *" ${w#!} "* ]] || return 1 ;;
            *) [[ " $(echo $guest_output) " == *" $w "* ]] || return 1 ;;
            esac
        done
    }
    if [ $# -gt 0 ]; then
        poll_until 10 _partitions_as_wanted "$@"
    else
        _partitions_as_wanted
    fi
    return 0
}

# guest_disk_dev DOMAIN VDEV: sets GUEST_DEV to the guest's device node for the disk the
# case attached as VDEV: /dev/VDEV on Xen and the simulated host, /dev/vdX on QEMU (found by
# its serial number, the target). FAILs if the guest has no such disk.
guest_disk_dev() {
    local vdev line
    vdev=$(xmtest_vdev "$2")
    if [ "$XMTEST_DRIVER" != qemu ]; then
        GUEST_DEV=/dev/$vdev
        return 0
    fi
    guest_partitions "$1" "$vdev"
    GUEST_DEV=
    while read -r line; do
        [ "${line%% *}" = "$vdev" ] && GUEST_DEV=/dev/${line##* }
    done <<< "$guest_output"
    [ -n "$GUEST_DEV" ] || FAIL "the guest has no disk $vdev ($guest_output)"
}

# xmtest_ramdisk_file NAME [MiB]: a stand-in for /dev/NAME (/dev/ram0, /dev/ram1 of
# xm-test's dom0) as a file: disk: a zero-filled regular file of MiB (default 4) in the
# case's temp dir. Prints its path.
xmtest_ramdisk_file() {
    local path=${XMTEST_DISK_DIR:-$XMTEST_TMP}/$1
    [ -e "$path" ] || truncate -s "${2:-4}M" "$path"
    echo "$path"
}

# xmtest_ramdisk NAME [MiB]: the stand-in for /dev/NAME as a phy: disk: the file of
# xmtest_ramdisk_file, or where a phy: disk must be a block device (XMTEST_PHY_BLOCK=1) a
# loop device over that file (the same one for the same NAME; runtest.sh detaches it after
# the case). SKIPs when no loop device can be set up (not root). Prints the path; use it as
# `ram1=$(xmtest_ramdisk ram1) || exit`, which passes the SKIP on.
xmtest_ramdisk() {
    local path dev
    path=$(xmtest_ramdisk_file "$@")
    if [ "$XMTEST_PHY_BLOCK" != 1 ]; then
        echo "$path"
        return 0
    fi
    dev=$(losetup -n -O NAME -j "$path" 2>/dev/null | head -n 1)
    if [ -z "$dev" ]; then
        dev=$(losetup -f --show "$path" 2>&1) ||
            SKIP "a phy: disk on driver $XMTEST_DRIVER must be a block device, and no loop device can be set up for $path: $dev"
    fi
    echo "$dev"
}

# ---- guest console (Console.py) ----------------------------------------------------------

# guest_run DOMAIN COMMAND: run COMMAND in the guest's shell through `xm console` (see
# lib/guest.py). Sets $guest_output (the command's output) and $guest_status (its exit
# status). Returns 0, or nonzero with $guest_error set on a ConsoleError (timeout, runaway
# console, xm console failing).
guest_run() {
    local rcf=$XMTEST_TMP/.guest-rc errf=$XMTEST_TMP/.guest-err rc
    rm -f "$rcf"
    echo "[$1] Sending \`$2'"
    guest_output=$(python3 "$XMTEST_LIB/guest.py" --rc-file "$rcf" "$1" "$2" 2>"$errf")
    rc=$?
    guest_error=$(cat "$errf" 2>/dev/null)
    if [ "$rc" = 0 ] && [ -s "$rcf" ]; then
        guest_status=$(cat "$rcf")
        [ -n "$guest_output" ] && printf '%s\n' "$guest_output" | sed "s/^/[$1] /"
        echo "[$1] (exit status $guest_status)"
        return 0
    fi
    guest_status=-1
    [ -n "$guest_error" ] || guest_error="ConsoleError: guest.py exited with $rc"
    echo "[$1] $guest_error"
    return 1
}

# guest_mem DOMAIN: sets GUEST_MEM to the guest's memory in MiB from /proc/xen/balloon's
# "Current allocation" (get_mem_from_domU); FAILs on a console error or a malformed line.
# A QEMU guest has no /proc/xen: there the guest's allocation is the memory it was started
# with (maxmem of `xm list --long`, QEMU's -m) less what its balloon driver holds for the
# host (balloon_inflate - balloon_deflate pages of 4 KiB in the guest's /proc/vmstat).
guest_mem() {
    local kb
    if [ "$XMTEST_DRIVER" = qemu ]; then
        local max inflate deflate
        max=$("$XM" list --long "$1" 2>/dev/null | sed -n -E 's/^[[:space:]]*\(maxmem ([0-9]+)\).*/\1/p' | head -n 1)
        [[ "$max" =~ ^[0-9]+$ ]] || FAIL "xm list --long $1 shows no maxmem"
        guest_run "$1" "grep -E '^balloon_(inflate|deflate) ' /proc/vmstat" || FAIL "$guest_error"
        inflate=$(printf '%s\n' "$guest_output" | sed -n -E 's/^balloon_inflate ([0-9]+)$/\1/p')
        deflate=$(printf '%s\n' "$guest_output" | sed -n -E 's/^balloon_deflate ([0-9]+)$/\1/p')
        [ -n "$inflate" ] && [ -n "$deflate" ] || FAIL "Invalid domU balloon counters"
        GUEST_MEM=$(( (max * 1024 - (inflate - deflate) * 4) / 1024 ))
        return 0
    fi
    guest_run "$1" "cat /proc/xen/balloon" || FAIL "$guest_error"
    kb=$(printf '%s\n' "$guest_output" | sed -n -E 's/^Current allocation:[[:space:]]+([0-9]+)[[:space:]]kB.*/\1/p' | head -n 1)
    [ -n "$kb" ] || FAIL "Invalid domU meminfo line"
    GUEST_MEM=$((kb / 1024))
}

# ---- network devices (network_utils.py) --------------------------------------------------

# count_eth DOMAIN: sets ETH_COUNT to how many ethN interfaces the guest has. xm-test ran
# `ifconfig -a | grep eth`; the simulated shell has neither ifconfig nor pipes, so the guest
# lists /sys/class/net (a busybox guest has it too) and dom0 counts the eth entries.
count_eth() {
    guest_run "$1" "ls /sys/class/net" || FAIL "$guest_error"
    ETH_COUNT=$(printf '%s\n' "$guest_output" | tr -s ' \t' '\n\n' | grep -c '^eth')
}

# net_state DOMAIN IDX: column 5 (state) of IDX's `xm network-list` line, 0 if none.
net_state() {
    local out st
    out=$("$XM" network-list "$1" 2>&1) || FAIL "network-list failed: $out"
    st=$(printf '%s\n' "$out" | awk "/^$2/ {print \$5}")
    echo "${st:-0}"
}

# network_attach DOMAIN: `xm network-attach D`; the guest must then have one more eth
# (polled up to 10 s: a real guest probes the new NIC a little after QEMU has answered).
network_attach() {
    local before dom=$1
    count_eth "$1"
    before=$ETH_COUNT
    xm_status_output network-attach "$1"
    [ "$status" = 0 ] || FAIL "xm network-attach returned invalid $status != 0"
    _eth_more() { count_eth "$dom"; [ "$ETH_COUNT" = $((before + 1)) ]; }
    poll_until 10 _eth_more || FAIL "Network device is not actually connected to domU"
}

# network_detach DOMAIN IDX: `xm network-detach D IDX`; wait up to 10 s for it to leave
# network-list; the guest must then have one eth less.
network_detach() {
    local before dom=$1 idx=$2
    count_eth "$1"
    before=$ETH_COUNT
    xm_status_output network-detach "$1" "$2"
    [ "$status" = 0 ] || FAIL "xm network-detach returned invalid $status != 0"
    _net_gone() { [ "$(net_state "$dom" "$idx")" = 0 ]; }
    poll_until 10 _net_gone || FAIL "network-detach failed: device did not disappear"
    _eth_less() { count_eth "$dom"; [ "$ETH_COUNT" = $((before - 1)) ]; }
    poll_until 10 _eth_less || FAIL "Network device was not actually disconnected from domU"
}

# ---- misc --------------------------------------------------------------------------------

# poll_until SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds or SECONDS
# (scaled) pass; xm-test's fixed sleeps become this bounded polling.
poll_until() {
    local end=$((SECONDS + $(scaled "$1")))
    shift
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.2
    done
    "$@"
}

# guest_mark_boot DOMAIN / wait_rebooted DOMAIN SECONDS: xm-test slept a fixed 15 or 20 s
# after `xm reboot` (which returns before the guest has rebooted). Instead, a shell variable
# is set in the guest before the reboot; the reboot is over once the console answers from a
# fresh shell that does not have it (polled up to SECONDS, at least XMTEST_REBOOT_TIMEOUT,
# scaled: a TCG guest takes 10-20 s to reboot on a busy machine).
guest_mark_boot() {
    guest_run "$1" "XMTEST_BOOTED=old" || FAIL "$guest_error"
}

wait_rebooted() {
    local dom=$1 secs=$2
    [ "$secs" -ge "$XMTEST_REBOOT_TIMEOUT" ] || secs=$XMTEST_REBOOT_TIMEOUT
    _fresh_shell() { guest_run "$dom" "echo x\$XMTEST_BOOTED" && [ "$guest_output" = x ]; }
    poll_until "$secs" _fresh_shell
}

# as_nobody COMMAND...: run COMMAND as user nobody (xm-test's becomeNonRoot); SKIP when not
# root or when no tool can switch users.
as_nobody() {
    if command -v setpriv >/dev/null; then
        setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --inh-caps=-all -- "$@"
    elif command -v runuser >/dev/null; then
        runuser -u nobody -- "$@"
    else
        su -s /bin/sh nobody -c "$(printf '%q ' "$@")"
    fi
}

cd "$XMTEST_TMP" || exit 255
xmtest_destroy_all
