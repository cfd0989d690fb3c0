#!/usr/bin/env bash
# Checks the project's test-only REGF writer (crates/test-support/src/regf_writer.rs) against
# hivex (Debian's libhivex-bin), a registry reader written independently of this project:
# the hives the tests build are written to a temporary folder together with a manifest of
# every key, subkey list and value put in them, and hivex must read back exactly that.
set -euo pipefail

cd "$(dirname "$0")/.."

fail() {
    echo "verify-hives: FAIL: $*" >&2
    exit 1
}

if ! command -v hivexget >/dev/null || ! command -v hivexsh >/dev/null || ! command -v hivexml >/dev/null; then
    sudo=
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
    $sudo apt-get update -qq && $sudo apt-get install -y -qq libhivex-bin >/dev/null
fi
command -v hivexget >/dev/null || fail "hivexget is still missing after installing libhivex-bin"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

SERVICING_DOCTOR_HIVE_OUT=$dir cargo test -q -p servicing-doctor-core --test hives -- --exact write_hives_for_ci

shopt -s nullglob
hives=("$dir"/*.hiv)
[[ ${#hives[@]} -ge 5 ]] || fail "expected at least 5 hives in $dir, found ${#hives[@]}"

total_keys=0
total_values=0

# check_key HIVE KEY SUBKEYS VALUES: hivex must list exactly SUBKEYS ('|'-separated) under
# KEY, and hivexget must print exactly VALUES (one line per value).
check_key() {
    local hive=$1 key=$2 want_subkeys=$3 want_values=$4 path got
    if [[ $key == '\' ]]; then path='\'; else path="\\$key"; fi
    got=$(hivexget "$hive" "$path") || fail "$(basename "$hive"): hivexget cannot read key '$key'"
    if [[ $got != "$want_values" ]]; then
        echo "--- written by the writer / +++ read by hivexget, key '$key' in $(basename "$hive"):" >&2
        diff <(printf '%s\n' "$want_values") <(printf '%s\n' "$got") >&2 || true
        fail "$(basename "$hive"): values of '$key' differ"
    fi
    got=$(printf 'cd %s\nls\n' "$path" | hivexsh "$hive" | paste -sd'|' -) ||
        fail "$(basename "$hive"): hivexsh cannot list key '$key'"
    [[ $got == "$want_subkeys" ]] ||
        fail "$(basename "$hive"): subkeys of '$key': writer '$want_subkeys', hivex '$got'"
}

for hive in "${hives[@]}"; do
    name=$(basename "$hive")
    manifest=$hive.manifest
    [[ -s $manifest ]] || fail "$name: no manifest"
    # hivexml walks every key and value of the hive; it fails on structural damage.
    hivexml "$hive" >/dev/null || fail "$name: hivexml cannot walk the hive"

    keys=0
    values=0
    key=
    subkeys=
    want=
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == '['*']' ]]; then
            if [[ -n $key ]]; then check_key "$hive" "$key" "$subkeys" "$want"; fi
            key=${line:1:${#line}-2}
            subkeys=
            want=
            keys=$((keys + 1))
        elif [[ $line == 'subkeys: '* ]]; then
            subkeys=${line#subkeys: }
        else
            want+=${want:+$'\n'}$line
            values=$((values + 1))
        fi
    done <"$manifest"
    if [[ -n $key ]]; then check_key "$hive" "$key" "$subkeys" "$want"; fi
    [[ $keys -gt 0 ]] || fail "$name: empty manifest"
    echo "verify-hives: $name: hivex read all $keys keys and $values values as written"
    total_keys=$((total_keys + keys))
    total_values=$((total_values + values))
done

# Spot checks written out here, independent of the manifests.
cbs='Microsoft\Windows\CurrentVersion\Component Based Servicing'
want='"10.0.19041.4597"=str(2):"%SystemRoot%\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4597_none_7e3b0c2d9a1f4e11"
"10.0.19041.4717"=str(2):"%SystemRoot%\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e1bd7147c8285b2"'
got=$(hivexget "$dir/software-two.hiv" "$cbs\\Version")
[[ $got == "$want" ]] || fail "software-two.hiv: Version key reads as: $got"
got=$(hivexget "$dir/software-one.hiv" "$cbs\\Version" 10.0.19041.4717)
[[ $got == '%SystemRoot%\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e1bd7147c8285b2' ]] ||
    fail "software-one.hiv: version 10.0.19041.4717 reads as: $got"
got=$(hivexget "$dir/software-one.hiv" 'Microsoft\Windows NT\CurrentVersion' UBR)
[[ $got == 4773 ]] || fail "software-one.hiv: UBR reads as '$got', not 4773"
got=$(hivexget "$dir/software-one.hiv" 'Microsoft\Windows NT\CurrentVersion' ProductName)
[[ $got == 'Windows 10 Pro' ]] || fail "software-one.hiv: ProductName reads as '$got'"
if hivexget "$dir/software-no-cbs.hiv" "$cbs" >/dev/null 2>&1; then
    fail "software-no-cbs.hiv: hivex finds the CBS key"
fi
got=$(hivexget "$dir/software-no-version.hiv" "$cbs")
[[ -z $got ]] || fail "software-no-version.hiv: the CBS key has values: $got"
got=$(printf 'cd \\%s\nls\n' "$cbs" | hivexsh "$dir/software-no-version.hiv")
[[ -z $got ]] || fail "software-no-version.hiv: the CBS key has subkeys: $got"

echo "verify-hives: OK: hivex read back ${#hives[@]} hives, $total_keys keys, $total_values values exactly as the writer wrote them"
