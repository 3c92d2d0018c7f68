#!/bin/sh
# make bench: mod_auth_clerk vs. no auth vs. mod_auth_openidc on 127.0.0.1.
# Everything is in bench/*.py (bench.py is the entry point, settings.py lists
# the knobs); this only checks the tools and runs it with Debian's python3
# (python3-jwt, python3-cryptography).  Output, configs, logs, tokens: build/bench/.
#   ./bench/run.sh               the benchmark (make bench)
#   ./bench/run.sh --callgrind   only the instructions-per-request part
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
[ -x "${APACHE2:-/usr/sbin/apache2}" ] || missing="$missing apache2"
[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ] || missing="$missing libapache2-mod-auth-openidc"
"$PY" -c 'import jwt, cryptography' 2>/dev/null || missing="$missing python3-jwt python3-cryptography"
if [ -n "$missing" ]; then
    echo "bench: missing Debian packages:$missing" >&2
    echo "bench: install them with: apt-get install$missing" >&2
    exit 1
fi
exec "$PY" bench/bench.py "$@"
