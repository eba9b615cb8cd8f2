#!/usr/bin/env python3
"""A loopback server that speaks the parts of the Hugging Face Hub protocol the clients use, serving model
folders from disk (standard library only). generate.py runs huggingface_hub against it to write a real cache.

  GET  /api/models/{repo}/revision/{rev}          → {"id", "sha", "siblings": [{"rfilename"}]}
  GET  /api/models/{repo}/tree/{rev}?recursive=1  → [{"type": "file", "path", "size", "oid", "lfs"?}]
  HEAD/GET /{repo}/resolve/{rev}/{path}           → X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size, body

Files named *.safetensors or *.bin are served as LFS files (etag = sha256), the rest as git blobs (etag = the git
blob sha1), as the Hub does.
"""
import hashlib
import http.server
import json
import os
import threading
import urllib.parse


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """repos: {repo_id: (folder, commit)}; aliases: {alias: repo_id} (e.g. "gpt2" → "openai-community/gpt2")."""

    def __init__(self, repos, aliases=None):
        self.repos = repos
        self.aliases = aliases or {}
        self.requests = []
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def files(self, repo):
        folder, _ = self.repos[repo]
        out = []
        for base, _, names in os.walk(folder):
            for name in sorted(names):
                path = os.path.relpath(os.path.join(base, name), folder)
                out.append(path)
        return sorted(out)

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

            def _handle(self, head):
                hub.requests.append((self.command, self.path))
                url = urllib.parse.urlparse(self.path)
                parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
                if parts[:2] == ["api", "models"]:
                    repo, rest = self._repo(parts[2:])
                    if repo is None or len(rest) < 2:
                        return self._send(404, b'{"error": "Repository not found"}')
                    _, commit = hub.repos[repo]
                    if rest[0] == "revision":
                        body = {"id": repo, "modelId": repo, "sha": commit, "private": False,
                                "siblings": [{"rfilename": f} for f in hub.files(repo)]}
                    elif rest[0] == "tree":
                        body = []
                        for f in hub.files(repo):
                            data = open(os.path.join(hub.repos[repo][0], f), "rb").read()
                            entry = {"type": "file", "path": f, "size": len(data), "oid": git_blob_sha1(data)}
                            if f.endswith((".safetensors", ".bin")):
                                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                                "pointerSize": 134}
                            body.append(entry)
                    else:
                        return self._send(404)
                    return self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)
                repo, rest = self._repo(parts)
                if repo is None or len(rest) < 3 or rest[0] != "resolve":
                    return self._send(404, b"Repository not found", {"X-Error-Code": "RepositoryNotFound"}, head)
                folder, commit = hub.repos[repo]
                path = os.path.join(folder, *rest[2:])
                if not os.path.isfile(path):
                    return self._send(404, b"Entry not found", {"X-Error-Code": "EntryNotFound"}, head)
                data = open(path, "rb").read()
                lfs = path.endswith((".safetensors", ".bin"))
                etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
                headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                if lfs:
                    headers["X-Linked-Etag"] = f'"{etag}"'
                    headers["X-Linked-Size"] = str(len(data))
                return self._send(200, data, headers, head)

            def do_GET(self):
                self._handle(head=False)

            def do_HEAD(self):
                self._handle(head=True)

        return Handler
