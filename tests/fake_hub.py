"""A loopback stand-in for the few Hugging Face Hub endpoints that `HfApi.create_repo` and `upload_folder` call:
the Hub itself cannot be reached from the test machines. Files arrive inline (the server asks for every file in
"regular" mode), so huggingface_hub's LFS/Xet transfer of large files is the one part not exercised."""

import base64
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import yaml

REPO_CALL = re.compile(r"^/api/(model|dataset|space)s/([^/]+/[^/]+)/(preupload|commit|discussions)/?([^/?]*)")


class FakeHub:
    """`with FakeHub(folder) as hub:` serves on hub.endpoint and writes each repo's files under
    folder/TYPE/NS/NAME/REVISION (main, or refs_pr_N for a pull request)."""

    def __init__(self, folder: str):
        self.folder, self.requests, self.repos, self.fail_commits, self.pulls = folder, [], {}, 0, {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.do_POST()

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
        if self.fail_commits:
            self.fail_commits -= 1
            return 503, {"error": "Service Unavailable"}
        return 200, self.commit(repo_type, repo_id, unquote(revision), path, body)

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
