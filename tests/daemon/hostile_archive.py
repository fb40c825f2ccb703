#!/usr/bin/env python3
"""A hostile archive for cramjetd's tests: an HTTP server that answers every request (WebDAV or
S3 alike) with one of a list of malformed, lying or binary replies for its method, in a seeded
order. It never
stores anything, so no shipment can verify against it. Writes its port to --port-file and the
number of requests it answered to --count-file (rewritten after each one).

  hostile_archive.py --port-file P --count-file C [--seed N]
"""
import argparse
import random
import socket
import socketserver
import threading

MD5 = b"0123456789abcdef0123456789abcdef"
CLOSE = b"Connection: close\r\n"


def reply(status, headers, body):
    """A reply whose Content-Length is its body's (the lies are in the other fields)."""
    return (b"HTTP/1.1 " + status + b"\r\n" + headers + b"Content-Length: " + str(len(body)).encode() +
            b"\r\n" + CLOSE + b"\r\n" + body)
# Per method, so that each step of a shipment meets its own lies: a HEAD that says "absent" lets
# the upload start, whose answers are then malformed.
REPLIES = {
    b"HEAD": [
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 207 Multi-Status\r\nx-amz-meta-cramjet-md5: \xfd\xfd\r\nETag: \"" + b"\x01" * 40 + b"\"\r\n"
        b"Content-Length: 0\r\n" + CLOSE + b"\r\n",
        b"\xff\xfe this is not HTTP\r\n\r\n",
        b"",  # the connection closes without a word
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"\xff\"\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
    ],
    b"POST": [
        reply(b"200 OK", b"", b"<UploadId>\xfd\xff</UploadId>\r\n<Error></Err"),
        reply(b"200 OK", b"", b"<UploadId>a&b c</UploadId>"),
        reply(b"500 \xff\xfe", b"", b"\xff\xfe\x00\x01garbage!"),
        reply(b"200 OK", b"", b"<UploadId>u1</UploadId>"),
        reply(b"200 OK", b"Content-Type: application/xml\r\n",
              b"<Error><Code>\x00\x01</Code><Message>\xc3\x28</Message></Error>"),
    ],
    b"PUT": [
        b"HTTP/1.1 200 OK\r\nETag: \"\xe4\xfd\"\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: -5\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        b"HTTP/1.1 200 OK\r\nETag: \"" + MD5 + b"\"\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
    ],
    b"GET": [
        reply(b"200 OK", b"", b"abc"),
        b"HTTP/1.1 206 Partial\r\nContent-Length: 99999999999999999999999\r\n" + CLOSE + b"\r\n\xff",
        reply(b"500 \xff", b"", b"\xfe\xff"),
    ],
    b"": [  # MKCOL, DELETE and the rest
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n" + CLOSE + b"\r\n",
        reply(b"405 \xff", b"", b"\xff"),
        b"",
    ],
}


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and value.strip().isdigit():
                    length = int(value.strip())
            while len(body) < length:  # read the upload, so the reply is not a reset
                chunk = self.request.recv(min(65536, length - len(body)))
                if not chunk:
                    break
                body += chunk
            method = head.split(b" ", 1)[0]
            if method not in REPLIES:
                method = b""
            with self.server.lock:
                replies = self.server.order[method]
                n = self.server.per_method.get(method, 0)
                reply = replies[n % len(replies)]
                self.server.per_method[method] = n + 1
                self.server.count += 1
                with open(self.server.count_file, "w") as f:
                    f.write(str(self.server.count))
            if reply:
                self.request.sendall(reply)
            self.request.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--count-file", required=True)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.lock = threading.Lock()
    server.count = 0
    server.count_file = a.count_file
    rng = random.Random(a.seed)
    server.order = {m: rng.sample(r, len(r)) for m, r in REPLIES.items()}
    server.per_method = {}
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
