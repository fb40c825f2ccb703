#!/usr/bin/env python3
"""Fault-injecting HTTP proxy for the ship tests (loopback only).

Sits between cramjet and a test server (nginx WebDAV or s3rver) and, per request, forwards it or
injects a fault. Rules are re-read from a JSON file whenever it changes, so a test can switch faults
without restarting the proxy:

  {"rules": [{"method": "PUT", "path": "sample1.cram", "action": "cut", "after": 300000, "times": 1}],
   "rate": 0}

action: "status" (answer `code`, default 503, without forwarding), "length" (answer 200 with the
header `Content-Length: <value>` and no body, without forwarding: a broken or hostile server's
HEAD), "stall" (never answer),
"cut" (forward `after` body bytes then drop both connections), "corrupt" (flip one body byte at
`after`), "pass". `times` limits how often a rule fires (default: always). `rate` throttles every
request body to that many bytes per second (0: no limit).

Also checks, for every request carrying a body, that Content-MD5 matches the bytes received, and,
for S3 requests, the AWS SigV4 signature (s3rver does neither). Each request is logged as one JSON
line to --log: method, path, query, body bytes, action, md5_ok, sig_ok.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {"mtime": None, "rules": [], "rate": 0, "fired": {}}


def load_rules(path):
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return [], 0
    with LOCK:
        if mtime != STATE["mtime"]:
            try:
                with open(path) as f:
                    cfg = json.load(f)
            except (OSError, ValueError):
                return STATE["rules"], STATE["rate"]
            STATE.update(mtime=mtime, rules=cfg.get("rules", []), rate=cfg.get("rate", 0), fired={})
        return STATE["rules"], STATE["rate"]


def pick_rule(rules, method, target):
    with LOCK:
        for i, r in enumerate(rules):
            if r.get("method") and r["method"] != method:
                continue
            if r.get("path") and r["path"] not in target:
                continue
            if r.get("query") and r["query"] not in target:
                continue
            fired = STATE["fired"].get(i, 0)
            if "times" in r and fired >= r["times"]:
                continue
            STATE["fired"][i] = fired + 1
            return r
    return {"action": "pass"}


def sigv4_ok(method, target, headers, secret):
    """Recomputes an AWS SigV4 header signature (UNSIGNED-PAYLOAD or a given payload hash)."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = parts["Credential"].split("/")
    date, region, service = cred[1], cred[2], cred[3]
    signed = parts["SignedHeaders"].split(";")
    url = urllib.parse.urlsplit(target)
    # Canonical query: each name and value URI-encoded, sorted.
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    query = "&".join(sorted(f"{enc(k)}={enc(v)}" for k, v in pairs))
    canon_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    payload = headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    canonical = "\n".join([method, url.path, query, canon_headers, ";".join(signed), payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for m in (date, region, service, "aws4_request"):
        key = hmac.new(key, m.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest() == parts["Signature"]


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        args = self.server.args
        client = self.request
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = client.recv(65536)
            if not chunk:
                return
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        rules, rate = load_rules(args.rules)
        rule = pick_rule(rules, method, target)
        action = rule.get("action", "pass")
        entry = {"method": method, "target": target, "action": action, "length": length}
        sig = sigv4_ok(method, target, headers, args.secret) if args.secret else None
        if sig is not None:
            entry["sig_ok"] = sig
        if "x-amz-security-token" in headers:
            entry["session_token"] = True

        if action == "stall":
            self.log(entry)
            try:
                while client.recv(65536):
                    pass
            except OSError:
                pass
            return

        # Read the body from the client (throttled), forwarding as it arrives unless answering here.
        upstream = None
        if action not in ("status", "length"):
            upstream = socket.create_connection((args.upstream_host, args.upstream_port))
            out_lines = [l for l in lines if not l.lower().startswith("connection:")]
            upstream.sendall(("\r\n".join(out_lines) + "\r\nConnection: close\r\n\r\n").encode("latin-1"))
        md5 = hashlib.md5()
        received = 0
        pending = rest
        start = time.monotonic()
        cut_after = rule.get("after", 0)
        try:
            while received < length:
                if not pending:
                    pending = client.recv(min(65536, length - received))
                    if not pending:
                        break
                chunk = pending[: length - received]
                pending = b""
                if action == "cut" and received + len(chunk) >= cut_after:
                    chunk = chunk[: max(0, cut_after - received)]
                    if upstream and chunk:
                        upstream.sendall(chunk)
                    received += len(chunk)
                    entry["cut_at"] = received
                    self.log(entry)
                    # Abrupt close (RST) on both sides: a connection cut mid-upload.
                    for s in (client, upstream):
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                        s.close()
                    return
                if action == "corrupt" and received <= rule.get("after", 0) < received + len(chunk):
                    i = rule.get("after", 0) - received
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
                    entry["corrupted_at"] = rule.get("after", 0)
                md5.update(chunk)  # what was forwarded
                if upstream:
                    upstream.sendall(chunk)
                received += len(chunk)
                if rate:
                    ahead = received / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            entry["client_gone"] = True
            self.log(entry)
            if upstream:
                upstream.close()
            return
        entry["received"] = received
        if "content-md5" in headers:
            entry["md5_ok"] = base64.b64encode(md5.digest()).decode() == headers["content-md5"]
        if action == "length":
            client.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {rule.get('value', '')}\r\n"
                           f"Connection: close\r\n\r\n".encode())
            entry["status"] = 200
            self.log(entry)
            client.close()
            return
        if action == "status":
            code = rule.get("code", 503)
            body = f"injected {code}\n".encode()
            client.sendall(f"HTTP/1.1 {code} Injected\r\nContent-Length: {len(body)}\r\n"
                           f"Connection: close\r\n\r\n".encode() + body)
            entry["status"] = code
            self.log(entry)
            client.close()
            return
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if "status" not in entry:
                    try:
                        entry["status"] = int(data.split(b" ", 2)[1])
                    except (IndexError, ValueError):
                        pass
                client.sendall(data)
        except OSError:
            entry["client_gone"] = True
        finally:
            upstream.close()
        self.log(entry)

    def log(self, entry):
        with LOCK:
            with open(self.server.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen-port", type=int, required=True)
    p.add_argument("--upstream-host", default="127.0.0.1")
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--secret", default="", help="S3 secret key: check SigV4 signatures")
    args = p.parse_args()
    server = Server(("127.0.0.1", args.listen_port), Handler)
    server.args = args
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
