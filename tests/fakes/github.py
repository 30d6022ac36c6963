"""A small stateful fake of GitHub's issue-comments REST API, as an ``httpx.MockTransport``.

Shaped on the documented endpoints:

- ``GET  /repos/{owner}/{repo}/issues/{number}/comments?per_page=&page=`` -> 200, a JSON array,
  and a ``Link`` header with ``rel="next"`` / ``rel="last"`` while more pages remain;
- ``POST /repos/{owner}/{repo}/issues/{number}/comments {body}`` -> 201, the comment;
- ``PATCH /repos/{owner}/{repo}/issues/comments/{id} {body}`` -> 200, the comment;
- ``DELETE /repos/{owner}/{repo}/issues/comments/{id}`` -> 204 (404 when gone);
- ``GET /user`` -> the token's user; a workflow's ``GITHUB_TOKEN`` is an installation token, which
  gets 403 "Resource not accessible by integration" and comments as ``github-actions[bot]``
  (docs.github.com/en/rest/users/users#get-the-authenticated-user; ``token_user=None``).

Errors are ``{"message": ..., "documentation_url": ...}``. Built on ``FakeServer`` like the Neon
and Vercel fakes: the same request log (``requests``, ``count``) and fault injection
(``fail(method, path_regex, status=..., kind="drop_after", message=...)``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests import leakcheck
from tests.fakes.base import FakeServer

API = "https://api.github.test"


class FakeGitHub(FakeServer):
    unauthorized = "Bad credentials"

    def __init__(
        self,
        token: str,
        *,
        per_page_max: int = 100,
        api: str = API,  # where pagination links point (a local server's URL in end-to-end tests)
        token_user: str | None = None,  # a user's token (PAT); None: the workflow's installation token
    ) -> None:
        super().__init__(token)
        self.per_page_max, self.api, self.token_user = per_page_max, api, token_user
        self.comments: dict[int, dict[str, Any]] = {}
        self._next_id = 1000

    # -- test hooks ---------------------------------------------------------------------

    def seed(self, repo: str, number: int, body: str, user: str = "someone") -> int:
        return self._store(repo, number, body, user)["id"]

    def on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_repo"] == repo and c["_number"] == number]

    # -- the server ---------------------------------------------------------------------

    def _store(self, repo: str, number: int, body: str, user: str) -> dict[str, Any]:
        leakcheck.record(f"PR comment on {repo}#{number}", body)
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.api}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.test/{repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.api}/repos/{repo}/issues/{number}",
            "body": body,
            "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
            "created_at": "2026-11-26T07:00:00Z",
            "updated_at": "2026-11-26T07:00:00Z",
            "_repo": repo,
            "_number": number,
        }
        self.comments[cid] = comment
        return comment

    @staticmethod
    def _public(comment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"message": message, "documentation_url": "https://docs.github.test/rest"}
        return httpx.Response(status, json=body, headers=headers)

    def handle(self, request: httpx.Request, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        if "application/vnd.github+json" not in request.headers.get("Accept", ""):
            return self.error(415, "Unsupported Media Type")
        return self._route(request, request.method, path)

    @property
    def author(self) -> str:
        return self.token_user or "github-actions[bot]"

    def _route(self, request: httpx.Request, method: str, path: str) -> httpx.Response:
        if path == "/user" and method == "GET":
            if self.token_user is None:
                return self.error(403, "Resource not accessible by integration")
            return httpx.Response(200, json={"login": self.token_user, "type": "User"})
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)
        if m:
            repo, number = m.group(1), int(m.group(2))
            if method == "GET":
                return self._list(request, repo, number)
            if method == "POST":
                body = json.loads(request.content).get("body")
                if not isinstance(body, str) or not body:
                    return self.error(422, "Validation Failed")
                return httpx.Response(201, json=self._public(self._store(repo, number, body, self.author)))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
        if m:
            comment = self.comments.get(int(m.group(2)))
            if comment is None or comment["_repo"] != m.group(1):
                return self.error(404, "Not Found")
            if method == "PATCH":
                comment["body"] = json.loads(request.content)["body"]
                leakcheck.record(f"PR comment on {comment['_repo']}#{comment['_number']} (edited)", comment["body"])
                leakcheck.record(f"PR comment {comment['id']} (edited)", comment["body"])
                comment["updated_at"] = "2026-11-26T08:00:00Z"
                return httpx.Response(200, json=self._public(comment))
            if method == "DELETE":
                del self.comments[comment["id"]]
                return httpx.Response(204)
        return self.error(404, "Not Found")

    def _list(self, request: httpx.Request, repo: str, number: int) -> httpx.Response:
        per_page = min(int(request.url.params.get("per_page", 30)), self.per_page_max)
        page = int(request.url.params.get("page", 1))
        items = sorted(self.on(repo, number), key=lambda c: c["id"])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            base = f"{self.api}/repos/{repo}/issues/{number}/comments?per_page={per_page}"
            headers["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
        return httpx.Response(200, json=[self._public(c) for c in chunk], headers=headers)


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[str]:
    """Serve ``fake`` over real HTTP on localhost (for a bbops run in a subprocess); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(
                self.command,
                fake.api + self.path,
                headers=dict(self.headers.items()),
                content=self.rfile.read(length) if length else b"",
            )
            try:
                response = fake(request)
            except httpx.TransportError:
                self.close_connection = True  # the request was processed; the client sees a dropped connection
                return
            body = response.read()
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.api = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake.api
    finally:
        server.shutdown()
        server.server_close()
