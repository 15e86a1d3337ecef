#!/bin/bash
# xm-test info/02_info_compiledata_pos: every `xm info` line, spaces collapsed, is
# "key : value"; the numeric fields are all digits, cc_compiler starts with "gcc version"
# and cc_compile_by is a word.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output info
declare -A map
while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -s ' ')
    [[ "$line" == *" : "* ]] || FAIL "Found invalid line: [$line]"
    map[${line%% : *}]=${line#* : }
done <<< "$output"

for field in cores_per_socket threads_per_core cpu_mhz total_memory free_memory xen_major xen_minor xen_pagesize; do
    [[ "${map[$field]:-}" =~ ^[0-9]+$ ]] || FAIL "Numeric field $field not all-numbers: ${map[$field]:-}"
done

[[ "${map[cc_compiler]:-}" == "gcc version"* ]] || FAIL "Bad cc_compiler field: ${map[cc_compiler]:-}"
# re.match("[A-z0-9_]+", ...): Python's A-z range also takes [ \ ] ^ _ and `.
word='^[][A-Za-z0-9_\^`]'
[[ "${map[cc_compile_by]:-}" =~ $word ]] || FAIL "Bad cc_compile_by field: ${map[cc_compile_by]:-}"
