#!/usr/bin/python3 -IS
# CGI for .htaccess-protected directories: the environment as JSON, tagged so
# a test can tell it from printenv.py.
import json
import os
import sys

# Drain a request body first: cgid resets the connection otherwise.
n = int(os.environ.get("CONTENT_LENGTH") or 0)
if n > 0:
    sys.stdin.buffer.read(n)

env = dict(os.environ)
env["_SCRIPT"] = "htenv"
sys.stdout.write("Content-Type: application/json\r\nCache-Control: no-store\r\n\r\n")
sys.stdout.write(json.dumps(env, sort_keys=True))
