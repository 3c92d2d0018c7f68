#!/bin/sh
# Install the Debian 12 packages mod_auth_clerk needs to build, test, demo and
# benchmark, and to build and lint the Debian packages (make deb: debhelper,
# dpkg-dev, lintian; dh_apache2 comes with apache2-dev).  As root it installs
# what is missing; otherwise it prints the one apt-get line to run.  Used by
# .ci/run and by `make demo`.
#
# libapache2-mod-php8.2's postinst enables php8.2 in the system Apache and
# switches it to mpm_prefork.  The tests run httpd with configurations of their
# own and never read /etc/apache2, so both are undone: php8.2 disabled, the MPM
# enabled before (Debian's default, mpm_event, when apache2 came in the same run).
#
# redis-server (with redis-tools) and memcached are for the fleet tests
# (tests/integration/fleet), which start servers of their own on free ports;
# the services the packages start on 6379 and 11211 are never used.
set -e
PACKAGES="build-essential pkg-config apache2 apache2-dev libapr1-dev libaprutil1-dev
libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev clang libclang-rt-14-dev
python3 python3-pytest python3-jwt python3-cryptography python3-requests python3-h2
php-cgi php8.2-cli php8.2-fpm libapache2-mod-php8.2 curl openssl wrk
libapache2-mod-auth-openidc chromium redis-server memcached
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
mpm_before=$(ls /etc/apache2/mods-enabled/ 2>/dev/null | sed -n 's/^\(mpm_.*\)\.load$/\1/p')
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
case " $(echo $missing) " in
*" libapache2-mod-php8.2 "*)
    a2dismod -q php8.2 >/dev/null
    mpm=${mpm_before:-mpm_event}
    if [ ! -e "/etc/apache2/mods-enabled/$mpm.load" ]; then
        a2dismod -q mpm_prefork >/dev/null
        a2enmod -q "$mpm" >/dev/null
    fi
    ;;
esac
