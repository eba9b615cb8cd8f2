#!/usr/bin/env python3
"""A loopback server that speaks the parts of the Hugging Face Hub protocol the clients use, serving model
folders from disk (standard library only), with fault injection for the downloader's tests.

  GET  /api/models/{repo}/revision/{rev}          → {"id", "sha", "siblings": [{"rfilename"}]}
  GET  /api/models/{repo}/tree/{rev}?recursive=1  → [{"type": "file", "path", "size", "oid", "lfs"?}]
  HEAD/GET /{repo}/resolve/{rev}/{path}           → X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size, body
                                                    (Range: bytes=N- answered with 206 and Content-Range)

Files named *.safetensors, *.bin or *.mhub are served as LFS files (etag = sha256), the rest as git blobs (etag =
the git blob sha1), as the Hub does. Errors carry the Hub's X-Error-Code (RepoNotFound, RevisionNotFound,
EntryNotFound, GatedRepo).

Run as a program (the Swift tests and `make demo` do):
  fake_hub.py --repo ORG/NAME=FOLDER[@COMMIT] ... [--alias NAME=ORG/NAME] [--gated ORG/NAME=TOKEN] [--forever]
prints one JSON line {"endpoint", "other_host", "other_port"} and serves until standard input closes (with
--forever: until killed, for `make demo`). Two more
listeners share the handler: one on 127.0.0.2 (another host) and one on another port of 127.0.0.1, as redirect
targets that must never receive the token.

Control, one command per line on standard input (each answered by one line on standard output):
  fault {"path": SUFFIX, "mode": MODE, "count": N, ...}   the next N requests whose path ends with SUFFIX get:
        cut        {"bytes": B}                 full Content-Length, B bytes of body, then the connection closes
        status     {"status": S, "headers": {}, "body": TEXT}   answer S (500, 429 with Retry-After, 401, 404…)
        stall      {"bytes": B, "seconds": T}   B bytes, then silence for T seconds
        throttle   {"rate": R}                  the body at about R bytes per second
        corrupt    {}                           the body with one byte changed (same size)
        extra      {"bytes": B}                 the body and B more bytes (Content-Length to match)
        ignore-range {}                         200 and the whole body even when a Range was asked for
        bad-range  {}                           206 with a Content-Range that starts one byte late
        redirect   {"to": "other-host"|"other-port"|"file"|URL}   302 with the Hub's headers
  log      every request so far as a JSON array of {"method", "path", "host", "range", "authorization"}
  reset    forget faults and the log
"""
import argparse
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

LFS_SUFFIXES = (".safetensors", ".bin", ".mhub", ".h5", ".msgpack", ".onnx")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_digests(path):
    """(size, git sha1, sha256) of a file, streamed."""
    size = os.path.getsize(path)
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    sha256 = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha1.update(chunk)
            sha256.update(chunk)
    return size, sha1.hexdigest(), sha256.hexdigest()


class FakeHub:
    """repos: {repo_id: (folder, commit)}; aliases: {alias: repo_id} (e.g. "gpt2" → "openai-community/gpt2");
    gated: {repo_id: token} (requests without that bearer token get 401, with another one 403)."""

    def __init__(self, repos, aliases=None, gated=None, extra_listeners=False):
        self.repos = repos
        self.aliases = aliases or {}
        self.gated = gated or {}
        self.requests = []
        self.log = []
        self.faults = []
        self.lock = threading.Lock()
        self.digests = {}
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.servers = [self.server]
        if extra_listeners:
            host = http.server.ThreadingHTTPServer(("127.0.0.2", 0), handler)
            port = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            host.daemon_threads = port.daemon_threads = True
            self.servers += [host, port]
            self.other_host = f"http://127.0.0.2:{host.server_address[1]}"
            self.other_port = f"http://127.0.0.1:{port.server_address[1]}"
        self.threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in self.servers]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shutdown()

    def files(self, repo):
        folder, _ = self.repos[repo]
        out = []
        for base, _, names in os.walk(folder):
            for name in sorted(names):
                out.append(os.path.relpath(os.path.join(base, name), folder))
        return sorted(out)

    def digest(self, path):
        key = (path, os.path.getmtime(path), os.path.getsize(path))
        if key not in self.digests:
            self.digests[key] = file_digests(path)
        return self.digests[key]

    def take_fault(self, path):
        with self.lock:
            for fault in self.faults:
                if path.endswith(fault["path"]) and fault.get("count", 1) > 0:
                    fault["count"] = fault.get("count", 1) - 1
                    return fault
        return None

    def _handler(self):
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _repo(self, parts):
                for length in (2, 1):
                    candidate = "/".join(parts[:length])
                    candidate = hub.aliases.get(candidate, candidate)
                    if candidate in hub.repos:
                        return candidate, parts[length:]
                return None, None

            def _send(self, status, body=b"", headers=None, head=False):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _error(self, status, code, message, head=False):
                self._send(status, json.dumps({"error": message}).encode(), {"X-Error-Code": code}, head)

            def _allowed(self, repo, revision, head):
                """False (after answering) when the token does not open a gated repo or the revision is unknown
                (main, the commit and tags starting with v exist)."""
                if not self._gate(repo, head):
                    return False
                if revision not in ("main", hub.repos[repo][1]) and not revision.startswith("v"):
                    self._error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
                    return False
                return True

            def _gate(self, repo, head):
                """False (after answering 401/403) when the repo is gated and the token is missing or wrong."""
                token = hub.gated.get(repo)
                if token is None:
                    return True
                sent = self.headers.get("Authorization")
                if sent is None:
                    self._error(401, "GatedRepo", "Access to this repo is restricted; log in", head)
                    return False
                if sent != f"Bearer {token}":
                    self._error(403, "GatedRepo", "Your token has no access to this gated repo", head)
                    return False
                return True

            def _handle(self, head):
                hub.requests.append((self.command, self.path))
                with hub.lock:
                    hub.log.append({"method": self.command, "path": self.path,
                                    "host": f"{self.server.server_address[0]}:{self.server.server_address[1]}",
                                    "range": self.headers.get("Range"),
                                    "authorization": self.headers.get("Authorization")})
                url = urllib.parse.urlparse(self.path)
                parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
                fault = hub.take_fault(url.path)
                if fault is not None and fault["mode"] == "status":
                    return self._send(fault["status"], fault.get("body", "").encode(), fault.get("headers"), head)
                if parts[:2] == ["api", "models"]:
                    return self._api(parts[2:], head)
                if parts and parts[0] == "cdn":  # a redirect target: /cdn/{repo...}/resolve/{rev}/{path}
                    parts = parts[1:]
                repo, rest = self._repo(parts)
                if repo is None or len(rest) < 3 or rest[0] != "resolve":
                    return self._error(404, "RepoNotFound", "Repository not found", head)
                if not self._allowed(repo, rest[1], head):
                    return
                folder, commit = hub.repos[repo]
                path = os.path.join(folder, *rest[2:])
                if ".." in rest[2:] or not os.path.isfile(path):
                    return self._error(404, "EntryNotFound", "Entry not found", head)
                self._file(path, commit, fault, head)

            def _api(self, parts, head):
                repo, rest = self._repo(parts)
                if repo is None or len(rest) < 2:
                    return self._error(404, "RepoNotFound", "Repository not found", head)
                if not self._allowed(repo, rest[1], head):
                    return
                folder, commit = hub.repos[repo]
                if rest[0] == "revision":
                    body = {"id": repo, "modelId": repo, "sha": commit, "private": False,
                            "siblings": [{"rfilename": f} for f in hub.files(repo)]}
                elif rest[0] == "tree":
                    body = []
                    for f in hub.files(repo):
                        size, sha1, sha256 = hub.digest(os.path.join(folder, f))
                        entry = {"type": "file", "path": f, "size": size, "oid": sha1}
                        if f.endswith(LFS_SUFFIXES):
                            entry["lfs"] = {"oid": sha256, "size": size, "pointerSize": 134}
                        body.append(entry)
                else:
                    return self._send(404)
                return self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)

            def _file(self, path, commit, fault, head):
                size, sha1, sha256 = hub.digest(path)
                lfs = path.endswith(LFS_SUFFIXES)
                etag = sha256 if lfs else sha1
                headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                if lfs:
                    headers["X-Linked-Etag"] = f'"{etag}"'
                    headers["X-Linked-Size"] = str(size)
                mode = fault["mode"] if fault else None
                if mode == "redirect":
                    target = fault["to"]
                    base = {"other-host": getattr(hub, "other_host", None),
                            "other-port": getattr(hub, "other_port", None)}.get(target)
                    if target == "file":
                        location = "file:///etc/passwd"
                    elif base is not None:
                        location = base + "/cdn" + urllib.parse.urlparse(self.path).path
                    else:
                        location = target
                    return self._send(302, b"", dict(headers, Location=location), head)
                start = 0
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes=") and mode != "ignore-range":
                    first = wanted[6:].split("-")[0]
                    start = int(first) if first.isdigit() else 0
                    if start >= size and size > 0:
                        return self._send(416, b"", {"Content-Range": f"bytes */{size}"}, head)
                    shown = start + 1 if mode == "bad-range" else start
                    headers["Content-Range"] = f"bytes {shown}-{size - 1}/{size}"
                    status = 206
                else:
                    status = 200
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                extra = fault.get("bytes", 0) if mode == "extra" else 0
                self.send_header("Content-Length", str(size - start + extra))
                self.end_headers()
                if head:
                    return
                with open(path, "rb") as f:
                    if mode is None:
                        self.wfile.flush()
                        self.connection.sendfile(f, start, size - start)
                        return
                    f.seek(start)
                    data = f.read()
                if mode == "cut":
                    self.wfile.write(data[: fault["bytes"]])
                    self.wfile.flush()
                    self.close_connection = True
                elif mode == "stall":
                    self.wfile.write(data[: fault["bytes"]])
                    self.wfile.flush()
                    time.sleep(fault["seconds"])
                    self.close_connection = True
                elif mode == "throttle":
                    step = max(1, fault["rate"] // 20)
                    for offset in range(0, len(data), step):
                        try:
                            self.wfile.write(data[offset: offset + step])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.05)
                elif mode == "extra":
                    self.wfile.write(data + b"\0" * fault["bytes"])
                elif mode == "corrupt":
                    body = bytearray(data)
                    if body:
                        body[len(body) // 2] ^= 0xFF
                    self.wfile.write(bytes(body))
                else:  # ignore-range, bad-range
                    self.wfile.write(data)

            def do_GET(self):
                self._handle(head=False)

            def do_HEAD(self):
                self._handle(head=True)

        return Handler


def main():
    parser = argparse.ArgumentParser(description="A loopback Hugging Face Hub for tests and the demo.")
    parser.add_argument("--repo", action="append", default=[], help="ORG/NAME=FOLDER[@COMMIT]")
    parser.add_argument("--alias", action="append", default=[], help="NAME=ORG/NAME")
    parser.add_argument("--gated", action="append", default=[], help="ORG/NAME=TOKEN")
    parser.add_argument("--forever", action="store_true", help="serve until killed, ignoring standard input")
    args = parser.parse_args()
    repos = {}
    for spec in args.repo:
        repo, _, rest = spec.partition("=")
        folder, _, commit = rest.partition("@")
        commit = commit or hashlib.sha1(repo.encode()).hexdigest()
        repos[repo] = (os.path.abspath(folder), commit)
    aliases = dict(spec.split("=", 1) for spec in args.alias)
    gated = dict(spec.split("=", 1) for spec in args.gated)
    with FakeHub(repos, aliases, gated, extra_listeners=True) as hub:
        print(json.dumps({"endpoint": hub.endpoint, "other_host": hub.other_host, "other_port": hub.other_port}),
              flush=True)
        if args.forever:
            threading.Event().wait()
        for line in sys.stdin:  # serve until the parent closes our standard input (or exits)
            command, _, argument = line.strip().partition(" ")
            with hub.lock:
                if command == "fault":
                    hub.faults.append(json.loads(argument))
                    answer = "ok"
                elif command == "reset":
                    hub.faults.clear()
                    hub.log.clear()
                    answer = "ok"
                elif command == "log":
                    answer = json.dumps(hub.log)
                else:
                    answer = json.dumps({"error": "unknown command " + command})
            print(answer, flush=True)


if __name__ == "__main__":
    main()
