#!/bin/sh
# Install the Debian 12 packages mod_auth_clerk needs to build, test, demo and
# benchmark, and to build and lint the Debian packages (make deb: debhelper,
# dpkg-dev, lintian; dh_apache2 comes with apache2-dev).  As root it installs what is missing; otherwise it prints the one
# apt-get line to run.  Used by .ci/run and by `make demo`.
set -e
PACKAGES="build-essential pkg-config apache2 apache2-dev libapr1-dev libaprutil1-dev
libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev clang libclang-rt-14-dev
python3 python3-pytest python3-jwt python3-cryptography python3-requests
php-cgi curl wrk libapache2-mod-auth-openidc chromium
debhelper dpkg-dev lintian"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "mod_auth_clerk needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
