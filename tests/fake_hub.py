"""A loopback stand-in for the few Hugging Face Hub endpoints that `HfApi.create_repo`, `upload_folder` (and
CommitScheduler's commits) and `snapshot_download` call: the Hub itself cannot be reached from the test machines. Files arrive inline (the server asks for every file in
"regular" mode), so huggingface_hub's LFS/Xet transfer of large files is the one part not exercised."""

import base64
import hashlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import yaml

REPO_CALL = re.compile(r"^/api/(model|dataset|space)s/([^/]+/[^/]+)/(preupload|commit|discussions)/?([^/?]*)")
READ_CALL = re.compile(r"^/api/(model|dataset|space)s/([^/]+/[^/?]+)(?:/(revision|tree)/([^/?]+))?/?(?:\?|$)")
RESOLVE = re.compile(r"^/(?:(dataset|space)s/)?([^/]+/[^/]+)/resolve/([^/]+)/([^?]+)")


class FakeHub:
    """`with FakeHub(folder) as hub:` serves on hub.endpoint and writes each repo's files under
    folder/TYPE/NS/NAME/REVISION (main, or refs_pr_N for a pull request)."""

    def __init__(self, folder: str):
        self.folder, self.requests, self.repos, self.fail_commits, self.pulls = folder, [], {}, 0, {}
        self.commit_gate = threading.Event()  # cleared by a test: commits wait until it is set again
        self.commit_gate.set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                match = RESOLVE.match(self.path)
                if match:
                    return self.send_file(match, body=True)
                self.do_POST()

            def do_HEAD(self):
                match = RESOLVE.match(self.path)
                if match:
                    return self.send_file(match, body=False)
                self.send_response(404)
                self.end_headers()

            def send_file(self, match, body: bool):
                repo_type, repo_id, _, name = match.groups()
                path = os.path.join(hub.repo_path(repo_type or "model", repo_id), unquote(name))
                if not os.path.isfile(path):
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.end_headers()
                    return
                data = open(path, "rb").read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", hub.head(repo_type or "model", repo_id))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hub.requests.append({"method": self.command, "path": self.path,
                                     "authorization": self.headers.get("Authorization"), "body": body})
                status, answer = hub.answer(self.command, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def use(self, monkeypatch, token: str) -> None:
        """Point huggingface_hub in this process at the fake (the download URL template is fixed at import)."""
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", self.endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", self.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setenv("HF_TOKEN", token)

    def repo_path(self, repo_type: str, repo_id: str, revision: str = "main") -> str:
        return os.path.join(self.folder, repo_type, repo_id, revision.replace("/", "_"))

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        if path == "/api/repos/create":
            request = json.loads(body)
            repo_type = request.get("type") or "model"
            repo_id = f"{request['organization']}/{request['name']}"
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            if (repo_type, repo_id) in self.repos:
                return 409, {"error": "You already created this repo", "url": f"{self.endpoint}/{prefix}{repo_id}"}
            self.repos[repo_type, repo_id] = {"private": request.get("visibility") == "private", "commits": []}
            return 200, {"url": f"{self.endpoint}/{prefix}{repo_id}"}
        if path == "/api/validate-yaml":  # the Hub rejects a README whose front matter is not a YAML mapping
            front = json.loads(body)["content"].split("---")
            metadata = yaml.safe_load(front[1]) if len(front) > 2 else None
            return (200, {"errors": [], "warnings": []}) if isinstance(metadata, dict) and metadata else \
                (400, {"errors": [{"message": "README.md has no YAML metadata"}]})
        read = READ_CALL.match(path)
        if read:
            return self.read(*read.groups())
        match = REPO_CALL.match(path)
        if not match:
            return 404, {"error": f"not a Hub endpoint this fake knows: {path}"}
        repo_type, repo_id, action, revision = match.groups()
        if (repo_type, repo_id) not in self.repos:
            return 404, {"error": "Repository not found"}
        if action == "preupload":
            files = json.loads(body)["files"]
            return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        if action == "discussions":  # upload_folder(create_pr=True) opens the pull request, then commits to its ref
            if method == "POST":
                self.pulls[repo_type, repo_id] = number = len(self.pulls) + 1
                return 200, {"num": number}
            return 200, {"num": int(revision), "title": "marco", "isPullRequest": True, "status": "draft",
                         "createdAt": "2026-11-22T00:00:00.000Z", "repo": {"name": repo_id, "type": repo_type},
                         "changes": {"base": "refs/heads/main"}, "filesWithConflicts": [], "events": []}
        self.commit_gate.wait()
        if self.fail_commits:
            self.fail_commits -= 1
            return 503, {"error": "Service Unavailable"}
        return 200, self.commit(repo_type, repo_id, unquote(revision), path, body)

    def head(self, repo_type: str, repo_id: str) -> str:
        return f"{len(self.repos[repo_type, repo_id]['commits']):040d}"

    def read(self, repo_type: str, repo_id: str, call: str, revision: str) -> tuple[int, object]:
        """repo_info (`revision`) and list_repo_tree (`tree`, recursive) of the main branch."""
        if (repo_type, repo_id) not in self.repos:
            return 404, {"error": "Repository not found"}
        root = self.repo_path(repo_type, repo_id)
        files = sorted(os.path.relpath(os.path.join(r, f), root) for r, _, fs in os.walk(root) for f in fs)
        if call in ("revision", None):
            return 200, {"id": repo_id, "sha": self.head(repo_type, repo_id), "siblings": [{"rfilename": f} for f in files],
                         "private": self.repos[repo_type, repo_id]["private"]}
        return 200, [{"type": "file", "path": f, "size": os.path.getsize(os.path.join(root, f)),
                      "oid": hashlib.sha1(open(os.path.join(root, f), "rb").read()).hexdigest()} for f in files]

    def commit(self, repo_type: str, repo_id: str, revision: str, path: str, body: bytes) -> dict:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        root = self.repo_path(repo_type, repo_id, revision)
        for line in lines:
            if line["key"] == "file":
                target = os.path.join(root, line["value"]["path"])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as handle:
                    handle.write(base64.b64decode(line["value"]["content"]))
        commits = self.repos[repo_type, repo_id]["commits"]
        commits.append({"header": lines[0]["value"], "files": [line["value"]["path"] for line in lines[1:]]})
        url = f"{self.endpoint}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
        return {"commitUrl": f"{url}/commit/{len(commits):040d}", "commitOid": f"{len(commits):040d}",
                "pullRequestUrl": f"{url}/discussions/{len(commits)}" if "create_pr=1" in path else None}
