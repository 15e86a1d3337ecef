#!/bin/bash
# xm-test create/11_create_concurrent_pos: start min(free_memory / 32, 50) domains of 32 MiB
# (SKIP if fewer than 5 fit), each answering on its console, then run 'ls' on five of them
# picked at random. The driver may ask for more memory per domain (XMTEST_MIN_MEM, 72 MiB
# for a real kernel) and cap the count (XMTEST_MAX_GUESTS, 5 TCG guests on QEMU).
# xmtest-timeout: 900
. "$(dirname "$0")/../../lib/xmtest.sh"

MIN_DOMS=5
MAX_DOMS=50
MEM_PER_DOM=32
[ "$XMTEST_MIN_MEM" -le "$MEM_PER_DOM" ] || MEM_PER_DOM=$XMTEST_MIN_MEM
[ "$XMTEST_MAX_GUESTS" -ge "$MAX_DOMS" ] || MAX_DOMS=$XMTEST_MAX_GUESTS

free_mem=$(getInfo free_memory)
NUM_DOMS=$(( ${free_mem:-0} / MEM_PER_DOM ))
if [ "$NUM_DOMS" -lt "$MIN_DOMS" ]; then
    SKIP "Need $((MIN_DOMS * MEM_PER_DOM)) MB of RAM to start $MIN_DOMS@${MEM_PER_DOM}MB domains! (${free_mem:-0} MB avail)"
fi
[ "$NUM_DOMS" -le "$MAX_DOMS" ] || NUM_DOMS=$MAX_DOMS
echo "Creating $NUM_DOMS domains"

domains=()
for d in $(seq 0 $((NUM_DOMS - 1))); do
    name=11_create_$d
    xmtest_create "$name" "memory = $MEM_PER_DOM" || FAIL "[$d] Failed to create domain"
    # XmConsole's sendInput("foo") only woke the console up; guest.py does that itself.
    guest_run "$name" "ls" || FAIL "[$d] Failed to attach console to $name"
    domains+=("$name")
done

for i in 0 1 2 3 4; do
    c=$((RANDOM % NUM_DOMS))
    guest_run "${domains[$c]}" "ls" || FAIL "$guest_error"
    [ "$guest_status" = 0 ] || FAIL "'ls' returned invalid $guest_status != 0"
done
