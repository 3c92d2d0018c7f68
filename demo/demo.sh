#!/bin/sh
# mod_auth_clerk demo: a local httpd on 127.0.0.1 protecting sample CGI/PHP
# pages with the module, a development key pair, example tokens and the curl
# lines to try them.
#
#   ./demo/demo.sh start    (make demo)       build, (re)start, print the examples
#   ./demo/demo.sh stop     (make demo-stop)  stop it
#   ./demo/demo.sh status
#
# Environment: DEMO_PORT (default 8088), APACHE2 (default /usr/sbin/apache2),
# DEMO_DIR (default build/demo; the tests use another so a running demo is
# left alone), DEMO_RUNTIME_PARENT (default /tmp, see below).
#
# Two directories.  DEMO_DIR, in the checkout, has what only the user and the
# httpd parent (which starts as the user) need: httpd.conf, httpd.pid, logs/
# (opened by the parent), keys/ with the private key, tokens/.  What httpd's
# children and the CGI/PHP scripts read is staged in a fresh runtime directory,
# mktemp -d under DEMO_RUNTIME_PARENT, mode 0755: htdocs/, run/ (cgid socket),
# a copy of the module and the public key.  As root, httpd runs its children as
# www-data, which cannot read a checkout under /root or a 0700 home; staging
# only public things in a directory of its own works from any checkout without
# opening the checkout up, and without running children as the checkout's owner
# (who may be root, which Debian's apache2 refuses).  /tmp rather than $TMPDIR:
# libpam-tmpdir makes that a 0700 directory.  Pick another parent if /tmp is
# mounted noexec (the CGI scripts must run).  DEMO_DIR/runtime names the
# current one; stop and the next start remove it.
#
# Before it prints the curl lines, start runs each of them and fails (exit 1)
# if one does not answer with the status its comment says.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO=${DEMO_DIR:-$ROOT/build/demo}
case $DEMO in /*) ;; *) DEMO=$ROOT/$DEMO ;; esac
PORT=${DEMO_PORT:-8088}
HTTPD=${APACHE2:-/usr/sbin/apache2}
PIDFILE=$DEMO/httpd.pid
CONF=$DEMO/httpd.conf
RUNTIME_PARENT=${DEMO_RUNTIME_PARENT:-/tmp}
CLI=$ROOT/build/clerk-jwt
PHP_CGI=/usr/bin/php-cgi

FAPI_HOST=clerk.demo.localhost
ISSUER=https://$FAPI_HOST
# A publishable key is pk_test_ + base64("<frontend api host>$") without padding.
PK=pk_test_$(printf '%s$' "$FAPI_HOST" | base64 | tr -d '=\n')
ORIGIN=http://127.0.0.1:$PORT

die() {
    echo "demo: $*" >&2
    exit 1
}

# The pid in the pid file, if it is our httpd (started with our config).
running_pid() {
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONF" || return 1
    echo "$pid"
}

stop() {
    if ! pid=$(running_pid); then
        rm -f "$PIDFILE"
        remove_runtime
        echo "demo: not running"
        return 0
    fi
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 100 ] || die "httpd (pid $pid) did not stop within 10 s"
        sleep 0.1
    done
    rm -f "$PIDFILE"
    remove_runtime
    echo "demo: stopped (pid $pid)"
}

# The runtime directory of the last start, if it still looks like one we made.
remove_runtime() {
    [ -f "$DEMO/runtime" ] || return 0
    rt=$(cat "$DEMO/runtime")
    case $rt in
    /*/mod_auth_clerk-demo.*) rm -rf "$rt" ;;
    esac
    rm -f "$DEMO/runtime"
}

# A new runtime directory with the public part of the demo (see the top).
make_runtime() {
    remove_runtime
    RT=$(mktemp -d "$RUNTIME_PARENT/mod_auth_clerk-demo.XXXXXX") ||
        die "cannot make a runtime directory in $RUNTIME_PARENT"
    echo "$RT" >"$DEMO/runtime"
    mkdir "$RT/run" "$RT/keys"
    cp "$ROOT/build/mod_auth_clerk.so" "$RT/mod_auth_clerk.so"
    cp "$DEMO/keys/public.pem" "$RT/keys/public.pem"
    write_pages
    chmod -R u=rwX,go=rX "$RT"
}

status() {
    if pid=$(running_pid); then
        echo "demo: running, pid $pid ($CONF)"
    else
        echo "demo: not running"
        return 1
    fi
}

write_pages() {
    htdocs=$RT/htdocs
    mkdir -p "$htdocs/app" "$htdocs/admin" "$htdocs/reports" "$htdocs/php"

    cat >"$htdocs/index.html" <<'EOF'
<!doctype html>
<title>mod_auth_clerk demo</title>
<h1>mod_auth_clerk demo</h1>
<p>This page is public.  Protected: <a href="/app/">/app/</a> (any signed-in user),
<a href="/admin/">/admin/</a> (org role admin), <a href="/reports/">/reports/</a>
(permission org:reports:read), <a href="/php/">/php/</a> (PHP).</p>
EOF

    # One CGI that shows what the module gives the application.
    cat >"$htdocs/app/index.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\n\n'
echo "Hello from ${SCRIPT_NAME} (CGI)"
echo "REMOTE_USER=${REMOTE_USER:-}"
echo "AUTH_TYPE=${AUTH_TYPE:-}"
env | grep '^CLERK_' | sort
EOF
    chmod 755 "$htdocs/app/index.cgi"
    cp "$htdocs/app/index.cgi" "$htdocs/admin/index.cgi"
    cp "$htdocs/app/index.cgi" "$htdocs/reports/index.cgi"

    if [ -x "$PHP_CGI" ]; then
        # Run as a CGI script.  php-cgi refuses to run unless the request came
        # through an Action redirect (cgi.force_redirect); the shebang turns
        # that off for this script only.
        cat >"$htdocs/php/index.php" <<EOF
#!$PHP_CGI -dcgi.force_redirect=0
<?php
header('Content-Type: text/plain');
echo "Hello from PHP ", PHP_VERSION, "\n";
echo "REMOTE_USER=", \$_SERVER['REMOTE_USER'] ?? '', "\n";
\$vars = array_filter(\$_SERVER, fn(\$k) => strncmp(\$k, 'CLERK_', 6) === 0, ARRAY_FILTER_USE_KEY);
ksort(\$vars);
foreach (\$vars as \$k => \$v)
    echo "\$k=\$v\n";
EOF
        chmod 755 "$htdocs/php/index.php"
    fi
}

write_config() {
    moddir=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
    user_lines=""
    if [ "$(id -u)" -eq 0 ]; then
        user_lines="User www-data
Group www-data"
    fi
    php_block=""
    if [ -x "$PHP_CGI" ]; then
        php_block="<Directory \"$RT/htdocs/php\">
    Options +ExecCGI
    AddHandler cgi-script .php
    DirectoryIndex index.php
    AuthType Clerk
    AuthName \"Clerk demo\"
    Require valid-user
</Directory>"
    fi

    cat >"$CONF" <<EOF
# Generated by demo/demo.sh; rewritten on every 'make demo'.
ServerRoot "$DEMO"
DefaultRuntimeDir "$RT/run"
PidFile "$PIDFILE"
Listen 127.0.0.1:$PORT
ServerName 127.0.0.1:$PORT
$user_lines

LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authn_core_module $moddir/mod_authn_core.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule authz_user_module $moddir/mod_authz_user.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule dir_module $moddir/mod_dir.so
LoadModule cgid_module $moddir/mod_cgid.so
LoadModule auth_clerk_module $RT/mod_auth_clerk.so

StartServers 1
ServerLimit 2
ThreadsPerChild 10
MaxRequestWorkers 20
MinSpareThreads 5
MaxSpareThreads 20

ErrorLog "$DEMO/logs/error.log"
LogLevel warn auth_clerk:debug
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog "$DEMO/logs/access.log" common
ScriptSock "$RT/run/cgisock"
TypesConfig /etc/mime.types

# The Clerk instance: a made-up development instance whose tokens are minted
# locally with build/clerk-jwt and the dev key pair in keys/.
ClerkPublishableKey $PK
ClerkJWTKeyFile "$RT/keys/public.pem"
ClerkAuthorizedParties $ORIGIN http://localhost:$PORT

DocumentRoot "$RT/htdocs"
DirectoryIndex index.html index.cgi
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$RT/htdocs">
    Options None
    AllowOverride None
    Require all granted
</Directory>

# Any signed-in user; the CGI shows REMOTE_USER and the CLERK_* variables.
<Directory "$RT/htdocs/app">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    AuthType Clerk
    AuthName "Clerk demo"
    Require valid-user
</Directory>

# Organization admins only (admin and org:admin are the same).
<Directory "$RT/htdocs/admin">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    AuthType Clerk
    AuthName "Clerk demo"
    AuthzSendForbiddenOnFailure On
    Require clerk-org-role admin
</Directory>

# Members holding the permission org:reports:read.
<Directory "$RT/htdocs/reports">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    AuthType Clerk
    AuthName "Clerk demo"
    AuthzSendForbiddenOnFailure On
    Require clerk-org-permission org:reports:read
</Directory>

$php_block
EOF
}

mint() {
    "$CLI" mint --key "$DEMO/keys/private.pem" --issuer "$ISSUER" --azp "$ORIGIN" "$@"
}

# The examples, one a line: status|what it shows|the curl line as printed
# (run through sh, so \$(cat ...) reads the token then), in the order printed.
examples() {
    auth="-H \"Authorization: Bearer \$(cat $tok"
    cat <<EOF
200|public page, no token needed|curl -si $base/
401|protected CGI without a token (WWW-Authenticate: Bearer realm="Clerk demo")|curl -si $base/app/
200|the CGI shows REMOTE_USER and the CLERK_* variables|curl -si $auth/admin.jwt)" $base/app/
200|any signed-in user may see /app/|curl -si $auth/member.jwt)" $base/app/
401|expired token (error="invalid_token", error_description="token-expired")|curl -si $auth/expired.jwt)" $base/app/
200|/admin/ has Require clerk-org-role admin|curl -si $auth/admin.jwt)" $base/admin/
403|a member is not an admin (AuthzSendForbiddenOnFailure On)|curl -si $auth/member.jwt)" $base/admin/
200|/reports/ has Require clerk-org-permission org:reports:read|curl -si $auth/admin.jwt)" $base/reports/
403|the member lacks org:reports:read|curl -si $auth/member.jwt)" $base/reports/
EOF
    if [ -x "$PHP_CGI" ]; then
        cat <<EOF
200|PHP sees \$_SERVER['REMOTE_USER'] and \$_SERVER['CLERK_*']|curl -si $auth/admin.jwt)" $base/php/
401|PHP page without a token|curl -si $base/php/
EOF
    fi
}

# Every example must answer as its comment says before it is printed: one
# that does not stops the demo and fails the start.
self_check() {
    bad=$(examples | while IFS='|' read -r status what cmd; do
        first=$(sh -c "$cmd" 2>&1 </dev/null | head -n 1 | tr -d '\r')
        case $first in
        "HTTP/1.1 $status "*) ;;
        *) printf '  %s\n    expected %s, got: %s\n' "$cmd" "$status" "${first:-(no answer)}" ;;
        esac
    done)
    [ -z "$bad" ] && return 0
    echo "demo: these examples do not answer as they should:" >&2
    echo "$bad" >&2
    echo "demo: last lines of $DEMO/logs/error.log:" >&2
    tail -n 15 "$DEMO/logs/error.log" >&2
    stop >/dev/null
    die "self-check failed; httpd stopped (config $CONF)"
}

start() {
    ./scripts/install-deps.sh || die "install the packages above, then run 'make demo' again"
    make --no-print-directory -s all || die "the build failed"
    [ -x "$HTTPD" ] || die "$HTTPD not found"

    if running_pid >/dev/null; then
        echo "demo: already running; restarting"
        stop >/dev/null
    fi
    mkdir -p "$DEMO/logs" "$DEMO/tokens"

    # A development key pair, kept across restarts so old tokens stay valid.
    if [ ! -f "$DEMO/keys/private.pem" ] || [ ! -f "$DEMO/keys/public.pem" ]; then
        "$CLI" keygen --out "$DEMO/keys" --force >/dev/null || die "keygen failed"
    fi
    make_runtime
    write_config

    if ! out=$("$HTTPD" -t -f "$CONF" 2>&1); then
        echo "$out" >&2
        die "the generated configuration does not pass 'apache2 -t' ($CONF)"
    fi

    # Example tokens: minted now, valid for an hour.
    now=$(date +%s)
    v2_admin='{"o":{"id":"org_2demoAcme","slg":"acme","rol":"admin","per":"read,manage","fpm":"3"},"fea":"o:reports"}'
    v2_member='{"o":{"id":"org_2demoAcme","slg":"acme","rol":"member","per":"read,manage","fpm":"0,1"},"fea":"o:reports,o:dashboard"}'
    mint --ttl 3600 --v2 --sub user_2demoAdmin --claims "$v2_admin" >"$DEMO/tokens/admin.jwt"
    mint --ttl 3600 --v2 --sub user_2demoMember --claims "$v2_member" >"$DEMO/tokens/member.jwt"
    mint --ttl 60 --now $((now - 7200)) --v2 --sub user_2demoAdmin --claims "$v2_admin" \
        >"$DEMO/tokens/expired.jwt"

    : >"$DEMO/logs/error.log"
    if ! out=$("$HTTPD" -f "$CONF" -k start 2>&1); then
        echo "$out" >&2
        die "httpd did not start; see $DEMO/logs/error.log"
    fi
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$PORT/" && running_pid >/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            tail -n 20 "$DEMO/logs/error.log" >&2
            die "httpd is not answering on 127.0.0.1:$PORT"
        fi
        sleep 0.1
    done

    tok="$DEMO/tokens"
    base="http://127.0.0.1:$PORT"
    self_check
    cat <<EOF

mod_auth_clerk demo running on $base/ (pid $(running_pid))
  config      $CONF
  error log   $DEMO/logs/error.log (LogLevel auth_clerk:debug: why each token was refused)
  served      $RT/ (htdocs/, the module and the public key, readable by httpd's children)
  instance    ClerkPublishableKey $PK (issuer $ISSUER)
  key         ClerkJWTKeyFile $RT/keys/public.pem (private key in $DEMO/keys, for clerk-jwt mint)
  tokens      $tok/ (valid for 1 hour; 'make demo' mints fresh ones)
                admin.jwt    user_2demoAdmin, org acme, role org:admin, org:reports:read + manage
                member.jwt   user_2demoMember, org acme, role org:member, org:dashboard:read only
                expired.jwt  user_2demoAdmin, expired two hours ago

Try these; the comment above each says what it returns:

EOF
    examples | while IFS='|' read -r status what cmd; do
        printf '  # expect %s: %s\n  %s\n' "$status" "$what" "$cmd"
    done
    cat <<EOF

Inspect, check and verify a token:
  $CLI decode - < $tok/admin.jwt
  $CLI lint - < $tok/member.jwt
  $CLI verify - --pem $DEMO/keys/public.pem --publishable-key $PK --authorized-party $ORIGIN < $tok/expired.jwt

Stop with: make demo-stop
EOF
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status) status ;;
restart) start ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
