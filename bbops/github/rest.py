"""GitHub REST over httpx: the pull request comments bbops keeps up to date.

A PR comment is created once and then edited in place: each run lists the
PR's comments (following ``Link: rel="next"`` pages), finds the one whose body
starts with a hidden marker, and updates it, or creates it when there is none.
Extra marked comments (two runs that raced to create one) are deleted.

Creating a comment is a POST, which ``ApiClient`` never repeats blindly; when
its outcome is uncertain we list again and only post if no marked comment
appeared. Timeouts, retries and error messages come from ``bbops.core.http``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx

from bbops.core.http import ApiClient, RequestUncertain, RetryPolicy
from bbops.errors import ProviderError, UsageError

DEFAULT_API_URL = "https://api.github.com"
# The retry policy GitHub calls use unless a caller passes another (frozen, so one shared instance is safe).
DEFAULT_RETRY = RetryPolicy(attempts=4)
API_VERSION = "2022-11-28"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class _SleepOverride(TypedDict, total=False):
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    html_url: str | None = None
    user: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Comment:
        user = data.get("user")
        return cls(
            id=int(data["id"]),
            body=str(data.get("body") or ""),
            html_url=data.get("html_url"),
            user=user.get("login") if isinstance(user, Mapping) else None,
        )


def check_repo(repo: str | None) -> str:
    if not repo or not _REPO.match(repo):
        raise UsageError(f"invalid repository {repo!r}: expected owner/name (or set GITHUB_REPOSITORY)")
    return repo


# The author of comments made with a workflow's GITHUB_TOKEN.
ACTIONS_BOT = "github-actions[bot]"


class GitHub:
    """The few GitHub REST calls bbops needs, with bbops' HTTP behaviour."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        if not token:
            raise UsageError("no GitHub token: set GITHUB_TOKEN (the workflow's token needs pull-requests: write)")
        kwargs: _SleepOverride = {"sleep": sleep} if sleep else {}
        self.api_url = api_url.rstrip("/")
        self._login: str | None = None
        self._api = ApiClient(
            self.api_url,
            token,
            service="GitHub",
            transport=transport,
            retry=retry,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
            **kwargs,
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> GitHub:
        """A client with ``GITHUB_TOKEN`` (or ``GH_TOKEN``) and ``GITHUB_API_URL``; HTTP via ``transport``."""
        env = os.environ if environ is None else environ
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
        return cls(token, api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL, transport=transport, sleep=sleep)

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plain calls -------------------------------------------------------------------

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._api.request(method, path, **kw)
        except RequestUncertain:
            raise
        except ProviderError as exc:
            if exc.status == 403 and exc.hint:
                exc.hint += "; the job needs `pull-requests: write` (fork PRs get a read-only token)"
            elif exc.status == 403:
                exc.hint = (
                    "the token may not write to this pull request: grant the job "
                    "`pull-requests: write`; a fork's PR gets a read-only token"
                )
            raise

    def iter_comments(self, repo: str, number: int) -> Iterator[Comment]:
        """Every comment on issue/PR ``number``, page by page."""
        url: str | None = f"/repos/{check_repo(repo)}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": 100}
        while url:
            response = self._call("GET", url, params=params)
            for item in response.json():
                yield Comment.from_api(item)
            url, params = self._next_page(response), None

    def _next_page(self, response: httpx.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        # Never follow a link (and send the token) to another host than the API's.
        if urlsplit(link).netloc != urlsplit(self.api_url).netloc:
            raise ProviderError(f"GitHub: pagination link points to another host: {urlsplit(link).netloc}")
        return link

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        response = self._call("POST", f"/repos/{check_repo(repo)}/issues/{number}/comments", json={"body": body})
        return Comment.from_api(response.json())

    def update_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        # Setting the whole body is idempotent, so a retry after a dropped connection is safe.
        response = self._call(
            "PATCH", f"/repos/{check_repo(repo)}/issues/comments/{comment_id}", json={"body": body}, idempotent=True
        )
        return Comment.from_api(response.json())

    def delete_comment(self, repo: str, comment_id: int) -> bool:
        """Delete a comment; False (not an error) when it was already gone."""
        response = self._call("DELETE", f"/repos/{check_repo(repo)}/issues/comments/{comment_id}", allow=(404,))
        return response.status_code != 404

    # -- the marked comment ------------------------------------------------------------

    def own_login(self) -> str:
        """Who this token comments as: ``GET /user`` for a user's token; the workflow's own
        ``GITHUB_TOKEN`` (an installation token) may not read ``/user`` (403) and comments as
        ``github-actions[bot]``."""
        if self._login is None:
            try:
                login = self._call("GET", "/user").json().get("login")
            except ProviderError as exc:
                if exc.status not in (401, 403):
                    raise
                login = None
            self._login = str(login) if login else ACTIONS_BOT
        return self._login

    def find_marked(self, repo: str, number: int, marker: str) -> list[Comment]:
        """bbops' own comments whose body starts with ``marker``.

        Anyone can post a comment starting with the marker; only one written by this token's
        user counts, so bbops never edits or deletes (or trusts) someone else's comment.
        """
        me = self.own_login()
        return [c for c in self.iter_comments(repo, number) if c.user == me and c.body.lstrip().startswith(marker)]

    def upsert_marked(self, repo: str, number: int, marker: str, body: str) -> tuple[Comment, bool]:
        """Update the PR's marked comment in place, or create it; returns (comment, created)."""
        if not body.lstrip().startswith(marker):
            body = f"{marker}\n{body}"
        found = self.find_marked(repo, number, marker)
        if found:
            keep, extra = found[0], found[1:]
            for duplicate in extra:
                self.delete_comment(repo, duplicate.id)
            if keep.body == body:
                return keep, False
            return self.update_comment(repo, keep.id, body), False
        try:
            return self.create_comment(repo, number, body), True
        except RequestUncertain:
            # The POST may have landed: look before posting again.
            found = self.find_marked(repo, number, marker)
            if found:
                return self.update_comment(repo, found[0].id, body), True
            return self.create_comment(repo, number, body), True

    def delete_marked(self, repo: str, number: int, marker: str) -> int:
        """Delete every marked comment on the PR; returns how many went."""
        return sum(self.delete_comment(repo, c.id) for c in self.find_marked(repo, number, marker))
