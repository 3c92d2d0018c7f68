#!/usr/bin/python3 -IS
# CGI: the whole environment as one JSON object (what PHP's $_SERVER would see).
import json
import os
import sys

# Drain a request body first: cgid resets the connection otherwise.
n = int(os.environ.get("CONTENT_LENGTH") or 0)
if n > 0:
    sys.stdin.buffer.read(n)

body = json.dumps(dict(os.environ), sort_keys=True)
sys.stdout.write("Content-Type: application/json\r\nCache-Control: no-store\r\n\r\n")
sys.stdout.write(body)
