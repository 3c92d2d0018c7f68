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
# With your own Clerk instance:
#   make demo CLERK_PUBLISHABLE_KEY=pk_test_… CLERK_SECRET_KEY=sk_test_…
# configures the same pages against it instead of the made-up local one: keys
# from its Backend API (ClerkSecretKey file:, the secret written to
# DEMO_DIR/keys/clerk-secret-key, mode 0600, never printed), a browser section
# (ClerkSignedOutAction handshake) and /sign-in.html, which loads clerk-js
# from the instance's Frontend API and mounts Clerk's sign-in component.  The
# self-check then checks what works without a browser, and start fails if the
# Frontend API or the Backend API (the module's start-up key fetch) cannot be
# reached.  For tests: CLERK_API_URL (ClerkAPIURL, the Backend API base) and
# CLERK_PROXY_URL (ClerkProxyURL: where the browser reaches the Frontend API,
# and where the sign-in page loads clerk-js from).  Without the two keys the
# demo is local only and uses no network.
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

# The major versions of Clerk's browser bundles, as Clerk's JavaScript
# quickstart loads them with <script> tags: clerk-js 6 and its UI, @clerk/ui 1.
CLERK_JS_MAJOR=6
CLERK_UI_MAJOR=1

die() {
    echo "demo: $*" >&2
    # a start that failed leaves no secret behind (a running httpd keeps it)
    if [ -n "$REAL" ] && ! running_pid >/dev/null; then
        rm -f "$SECRET_FILE"
    fi
    exit 1
}

# Real-instance mode (see the top): REAL=1 and the instance's settings, or
# REAL= and nothing changes.  Called by start only; stop and status do not
# look at the keys.
SECRET_FILE=$DEMO/keys/clerk-secret-key
REAL=
real_instance_parse() {
    pk=${CLERK_PUBLISHABLE_KEY:-}
    sk=${CLERK_SECRET_KEY:-}
    if [ -z "$pk" ] && [ -z "$sk" ]; then
        return 0
    fi
    [ -n "$pk" ] && [ -n "$sk" ] ||
        die "your own instance needs both CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY (the dashboard's API keys page); unset both for the local demo"
    case $pk in
    pk_test_* | pk_live_*) ;;
    *) die "CLERK_PUBLISHABLE_KEY must start with pk_test_ or pk_live_" ;;
    esac
    case $pk in *[!A-Za-z0-9_+/=-]*) die "CLERK_PUBLISHABLE_KEY has characters a publishable key has not" ;; esac
    case $sk in
    sk_test_* | sk_live_*) ;;
    *) die "CLERK_SECRET_KEY must start with sk_test_ or sk_live_ (the secret key, not the publishable key)" ;;
    esac
    case $sk in *[!A-Za-z0-9_]*) die "CLERK_SECRET_KEY has characters a secret key has not" ;; esac
    case $pk:$sk in
    pk_test_*:sk_test_* | pk_live_*:sk_live_*) ;;
    *) die "CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY are not of the same kind of instance (pk_test_ goes with sk_test_, pk_live_ with sk_live_)" ;;
    esac
    # The Frontend API host: base64 of "<host>$" after pk_test_/pk_live_.
    b64=${pk#pk_*_}
    case $((${#b64} % 4)) in
    2) b64="$b64==" ;;
    3) b64="$b64=" ;;
    esac
    decoded=$(printf '%s' "$b64" | base64 -d 2>/dev/null) || decoded=
    FAPI=${decoded%\$}
    case $decoded in
    *\$) ;;
    *) die "CLERK_PUBLISHABLE_KEY does not decode to a Frontend API host: copy it again from the dashboard" ;;
    esac
    case $FAPI in '' | *[!A-Za-z0-9.-]*) die "CLERK_PUBLISHABLE_KEY names an odd Frontend API host" ;; esac
    API_URL=${CLERK_API_URL:-}
    PROXY_URL=${CLERK_PROXY_URL:-}
    for u in "$API_URL" "$PROXY_URL"; do
        case $u in
        '') ;;
        http://* | https://*) case $u in *[!A-Za-z0-9.:/_-]*) die "odd URL: $u" ;; esac ;;
        *) die "CLERK_API_URL and CLERK_PROXY_URL are http(s) URLs: $u" ;;
        esac
    done
    API_URL=${API_URL%/}
    PROXY_URL=${PROXY_URL%/}
    # Where the browser reaches the Frontend API (the handshake, clerk-js).
    FAPI_BASE=${PROXY_URL:-https://$FAPI}
    CLERK_UI_URL=$FAPI_BASE/npm/@clerk/ui@$CLERK_UI_MAJOR/dist/ui.browser.js
    CLERK_JS_URL=$FAPI_BASE/npm/@clerk/clerk-js@$CLERK_JS_MAJOR/dist/clerk.browser.js
    case $pk in pk_test_*) KIND=development ;; *) KIND=production ;; esac
    PK=$pk
    ISSUER=https://$FAPI
    REAL=1
    # From here on the secret is in no environment: not the build's, not
    # httpd's, not the self-check's; make's copy (MAKEFLAGS, when it was given
    # on make's command line) neither.
    SK=$sk
    unset CLERK_SECRET_KEY MAKEFLAGS MFLAGS MAKEOVERRIDES
}

# The secret goes to a file only this user can read: httpd's parent reads it
# at start-up, as this user (also as root: www-data, httpd's children, never
# need it).  stop removes it.
write_secret() {
    mkdir -p "$DEMO/keys"
    chmod 700 "$DEMO/keys"
    rm -f "$SECRET_FILE"
    (umask 077 && printf '%s\n' "$SK" >"$SECRET_FILE") || die "cannot write $SECRET_FILE"
}

# The Frontend API must answer for clerk-js before a browser is sent there.
check_frontend_api() {
    for url in "$CLERK_UI_URL" "$CLERK_JS_URL"; do
        code=$(curl -sS -L -o /dev/null --max-time 20 -w '%{http_code}' "$url" 2>"$DEMO/logs/fapi-check.err") || code=000
        case $code in
        200) ;;
        000) die "cannot reach your instance's Frontend API: $url: $(cat "$DEMO/logs/fapi-check.err") (is CLERK_PUBLISHABLE_KEY right? is this machine online?)" ;;
        *) die "your instance's Frontend API answered HTTP $code for $url (is CLERK_PUBLISHABLE_KEY the key of a live instance?)" ;;
        esac
    done
    rm -f "$DEMO/logs/fapi-check.err"
}

# The module fetched the instance's keys from the Backend API while httpd
# started (at LogLevel warn it logs only a failure, CLERK014, after the
# fetch's own error, CLERK011).
check_backend_api() {
    if grep -q 'CLERK014' "$DEMO/logs/error.log"; then
        echo "demo: the module could not load your instance's keys from the Backend API (${API_URL:-https://api.clerk.com}/v1/jwks):" >&2
        grep -E 'CLERK01[14]' "$DEMO/logs/error.log" | sed 's/^/  /' >&2
        echo "  (a 401 means CLERK_SECRET_KEY is not this instance's secret key; a fetch error, that the Backend API cannot be reached from here)" >&2
        stop >/dev/null
        die "cannot use your Clerk instance; httpd stopped (config $CONF)"
    fi
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
        rm -f "$PIDFILE" "$SECRET_FILE"
        remove_runtime
        echo "demo: not running"
        return 0
    fi
    kill -TERM "$pid"
    rm -f "$SECRET_FILE"
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
    [ -z "$REAL" ] || write_sign_in_page

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

# Real-instance mode: the sign-in page, Clerk's JavaScript quickstart with
# <script> tags (clerk-js and its UI bundle from the instance's Frontend API,
# Clerk.load, mountSignIn).  It is the ErrorDocument of the protected pages
# (a 401 keeps the address asked for, so the target after sign-in is the
# current URL) and /sign-in.html itself (target ?redirect_url= on this
# site, else /app/).
write_sign_in_page() {
    proxy_attr=""
    [ -z "$PROXY_URL" ] || proxy_attr="
  data-clerk-proxy-url=\"$PROXY_URL\""
    echo '<p>Signed out? <a href="/sign-in.html">Sign in with Clerk</a>.</p>' >>"$htdocs/index.html"
    cat >"$htdocs/sign-in.html" <<EOF
<!doctype html>
<meta charset="utf-8">
<title>Sign in: mod_auth_clerk demo</title>
<h1>mod_auth_clerk demo: sign in</h1>
<p id="note">Loading Clerk from your instance ($FAPI)&hellip;</p>
<div id="app"></div>
<p><a href="/">Demo home</a> &middot; protected: <a href="/app/">/app/</a>, <a href="/php/">/php/</a></p>
<script
  defer
  crossorigin="anonymous"
  src="$CLERK_UI_URL"
  type="text/javascript"></script>
<script
  defer
  crossorigin="anonymous"
  data-clerk-publishable-key="$PK"$proxy_attr
  src="$CLERK_JS_URL"
  type="text/javascript"></script>
<script>
window.addEventListener('load', async function () {
  var note = document.getElementById('note');
  var app = document.getElementById('app');
  if (!window.Clerk) {
    note.textContent = 'Clerk did not load from $FAPI_BASE: see the browser console.';
    return;
  }
  await Clerk.load({ ui: { ClerkUI: window.__internal_ClerkUICtor } });
  var here = location.pathname !== '/sign-in.html';
  var target = location.origin + '/app/';
  var asked = new URLSearchParams(location.search).get('redirect_url');
  if (here)
    target = location.href;
  else if (asked && asked.indexOf(location.origin + '/') === 0)
    target = asked;
  if (Clerk.isSignedIn) {
    note.textContent = here
      ? 'Clerk says you are signed in, but the server refused this page: its error log says why.'
      : 'You are signed in.';
    app.innerHTML = '<div id="user-button"></div><p><a id="go"></a></p>';
    var go = document.getElementById('go');
    go.href = target;
    go.textContent = 'Continue to ' + target;
    Clerk.mountUserButton(document.getElementById('user-button'));
  } else {
    note.textContent = 'Sign in with a user of your Clerk instance; you come back to ' + target + '.';
    app.innerHTML = '<div id="sign-in"></div>';
    Clerk.mountSignIn(document.getElementById('sign-in'),
                      { forceRedirectUrl: target, signUpForceRedirectUrl: target });
  }
});
</script>
EOF
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

    instance_block="# The Clerk instance: a made-up development instance whose tokens are minted
# locally with build/clerk-jwt and the dev key pair in keys/.
ClerkPublishableKey $PK
ClerkJWTKeyFile \"$RT/keys/public.pem\"
ClerkAuthorizedParties $ORIGIN http://localhost:$PORT"
    if [ -n "$REAL" ]; then
        instance_block="# Your Clerk instance ($KIND, Frontend API $FAPI): its keys come from the
# Backend API (fetched at start-up); the secret key is read from a file only
# the demo's user can read, never written here.
ClerkPublishableKey $PK
ClerkSecretKey \"file:$SECRET_FILE\"${API_URL:+
ClerkAPIURL $API_URL}

# Browser users: a page view without a valid session goes through Clerk's
# handshake with the Frontend API; a visitor who is not signed in gets 401
# with the sign-in page, which loads Clerk's JavaScript from the instance.
# No ClerkAuthorizedParties: tokens a handshake brings may carry no azp.
ClerkSignedOutAction handshake${PROXY_URL:+
ClerkProxyURL $PROXY_URL}
ErrorDocument 401 /sign-in.html"
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

$instance_block

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
# (run through sh, so \$(cat ...) reads the token then)[|a string the
# response must contain], in the order printed.
examples() {
    if [ -n "$REAL" ]; then
        real_examples
        return
    fi
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

# What works without a browser against your instance (no cookies: the
# self-check cannot sign in).
real_examples() {
    html="-H \"Accept: text/html\""
    cat <<EOF
200|public page|curl -si $base/
200|the sign-in page: clerk-js from your Frontend API with your publishable key|curl -si $base/sign-in.html|data-clerk-publishable-key="$PK"
307|a page view (Accept: text/html) without Clerk's cookies goes through Clerk's handshake|curl -si $html $base/app/|Location: $FAPI_BASE/v1/client/handshake?
401|the same page for a script or an API client (not a page view), with the sign-in page|curl -si $base/app/|WWW-Authenticate: Bearer realm="Clerk demo"
401|a malformed bearer token|curl -si -H "Authorization: Bearer not-a-token" $base/app/|error="invalid_token"
EOF
    if [ -x "$PHP_CGI" ]; then
        cat <<EOF
307|the PHP page: the same handshake|curl -si $html $base/php/|Location: $FAPI_BASE/v1/client/handshake?
EOF
    fi
}

# Every example must answer as its comment says before it is printed: one
# that does not stops the demo and fails the start.
self_check() {
    bad=$(examples | while IFS='|' read -r status what cmd must; do
        resp=$(sh -c "$cmd" 2>&1 </dev/null | tr -d '\r')
        first=$(printf '%s\n' "$resp" | head -n 1)
        case $first in
        "HTTP/1.1 $status "*)
            case $resp in
            *"$must"*) ;;
            *) printf '  %s\n    expected the answer to contain: %s\n' "$cmd" "$must" ;;
            esac
            ;;
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

print_examples() {
    examples | while IFS='|' read -r status what cmd must; do
        printf '  # expect %s: %s\n  %s\n' "$status" "$what" "$cmd"
    done
}

# What start prints with your own instance.
real_instance_report() {
    url=http://localhost:$PORT
    cat <<EOF

mod_auth_clerk demo running on $base/ (pid $(running_pid)), with your Clerk instance
  config      $CONF
  error log   $DEMO/logs/error.log (LogLevel auth_clerk:debug: why a session was refused)
  served      $RT/ (htdocs/ with sign-in.html, the module, readable by httpd's children)
  instance    ClerkPublishableKey $PK ($KIND; Frontend API $FAPI, issuer $ISSUER)
  secret key  ClerkSecretKey file:$SECRET_FILE (mode 0600; make demo-stop removes it)
  keys        loaded from the Backend API at start-up (${API_URL:-https://api.clerk.com}/v1/jwks)
  sign-in     $url/sign-in.html loads $CLERK_JS_URL
              (and its UI, $CLERK_UI_URL)

In a browser, open $url/app/ (localhost, as printed: Clerk's development
instances work on http://localhost; a production instance needs HTTPS on its own domain):
  1. the page view goes through Clerk's handshake at ${FAPI_BASE} and back (a few redirects);
  2. not signed in, you get the sign-in page (401): Clerk's sign-in component, from your instance;
  3. sign in with a user of your instance: you come back to /app/, which shows REMOTE_USER
     (your user id, user_…) and the CLERK_* variables; $url/php/ shows the same from PHP.
     /admin/ and /reports/ need an active organization with role admin / permission org:reports:read.
EOF
    if [ "$KIND" = production ]; then
        cat <<EOF

  Note: $PK is a production instance (pk_live_). Production instances work only over HTTPS
  on their own domain (Clerk's cookies are Secure and set for that domain), so the browser
  flow cannot work on http://localhost; use your development instance's keys (pk_test_/sk_test_).
EOF
    fi
    cat <<EOF

In the Clerk dashboard (https://dashboard.clerk.com, your application):
  - API keys: where the two keys come from (Publishable key, Secret key; the development instance);
  - a development instance accepts http://localhost:$PORT as it is; if you restricted the
    instance's allowed origins, add http://localhost:$PORT;
  - optional, under Paths: the sign-in URL http://localhost:$PORT/sign-in.html, so that Clerk's
    own links (e.g. the Account Portal's) come back here;
  - a production instance needs its domain under Domains and HTTPS on it: not for this demo.

Without a browser (no cookies, so no sign-in), these answer as their comment says:

EOF
    print_examples
    cat <<EOF

Stop with: make demo-stop (it also removes the secret key's file)
EOF
}

start() {
    real_instance_parse
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
    if [ -n "$REAL" ]; then
        check_frontend_api
        write_secret
    fi
    make_runtime
    write_config

    if ! out=$("$HTTPD" -t -f "$CONF" 2>&1); then
        echo "$out" >&2
        die "the generated configuration does not pass 'apache2 -t' ($CONF)"
    fi

    # Example tokens: minted now, valid for an hour (not for your instance:
    # only Clerk has its private keys).
    if [ -z "$REAL" ]; then
        now=$(date +%s)
        v2_admin='{"o":{"id":"org_2demoAcme","slg":"acme","rol":"admin","per":"read,manage","fpm":"3"},"fea":"o:reports"}'
        v2_member='{"o":{"id":"org_2demoAcme","slg":"acme","rol":"member","per":"read,manage","fpm":"0,1"},"fea":"o:reports,o:dashboard"}'
        mint --ttl 3600 --v2 --sub user_2demoAdmin --claims "$v2_admin" >"$DEMO/tokens/admin.jwt"
        mint --ttl 3600 --v2 --sub user_2demoMember --claims "$v2_member" >"$DEMO/tokens/member.jwt"
        mint --ttl 60 --now $((now - 7200)) --v2 --sub user_2demoAdmin --claims "$v2_admin" \
            >"$DEMO/tokens/expired.jwt"
    fi

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
    [ -z "$REAL" ] || check_backend_api
    self_check
    if [ -n "$REAL" ]; then
        real_instance_report
        return 0
    fi
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
    print_examples
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
