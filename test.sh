#!/usr/bin/env bash
# The whole test suite: installs the real peers the interop tests use, builds, checks formatting,
# runs every test project and ends with one plain totals line ("N passed, N failed[, N skipped]").
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results" && mkdir -p "$results"

need_install=0
command -v prosody >/dev/null 2>&1 || need_install=1
command -v openssl >/dev/null 2>&1 || need_install=1
/usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
    echo "== installing prosody, python3-slixmpp, openssl"
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq prosody python3-slixmpp openssl >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prosody python3-slixmpp openssl >/dev/null
    fi || echo "warning: could not install the interop peers; interop tests will fail"
fi

finish() { # passed failed skipped
    if [ "$3" -gt 0 ]; then echo "$1 passed, $2 failed, $3 skipped"; else echo "$1 passed, $2 failed"; fi
}

echo "== restore and build (Release)"
if ! dotnet build XmppTransfer.slnx -c Release -nologo -v quiet -clp:ErrorsOnly; then
    echo "build failed"
    finish 0 1 0
    exit 1
fi

format_failed=0
echo "== dotnet format --verify-no-changes"
if ! dotnet format XmppTransfer.slnx --verify-no-changes --no-restore -v quiet; then
    echo "formatting differs from .editorconfig (run: dotnet format XmppTransfer.slnx)"
    format_failed=1
fi

export XMPPTRANSFER_INTEROP=1
passed=0; failed=$format_failed; skipped=0
for proj in tests/*.Tests/*.csproj; do
    name=$(basename "$proj" .csproj)
    dll="$(dirname "$proj")/bin/Release/net10.0/$name.dll"
    echo "== $name"
    # Every project is capped so a hung test cannot eat CI's 90 minutes.
    timeout --kill-after=30s 20m dotnet "$dll" -xml "$results/$name.xml" -noColor -parallel collections \
        || echo "$name exited with $?"
    if [ -f "$results/$name.xml" ]; then
        read -r p f s < <(/usr/bin/python3 - "$results/$name.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
a = ET.parse(sys.argv[1]).getroot().find('assembly')
print(a.get('passed', 0), int(a.get('failed', 0)) + int(a.get('errors', 0)), a.get('skipped', 0))
PY
        )
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    else
        echo "$name produced no results"
        failed=$((failed + 1))
    fi
done

finish "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
