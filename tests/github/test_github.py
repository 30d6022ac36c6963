"""The GitHub client against a stateful fake: pagination, upsert in place, deletes, failures."""

from __future__ import annotations

import pytest

from bbops.core import redact
from bbops.errors import ProviderError, UsageError
from bbops.github.comment import PREVIEW_MARKER
from bbops.github.rest import GitHub
from tests.fakes.github import API, FakeGitHub

REPO = "better-being/bb-prodx"


@pytest.fixture
def token() -> str:
    return "ghs_" + "f" * 36


@pytest.fixture
def fake(token) -> FakeGitHub:
    return FakeGitHub(token=token, per_page_max=5)


@pytest.fixture
def gh(fake, token):
    client = GitHub(token, api_url=API, transport=fake.transport(), sleep=lambda _: None)
    yield client
    client.close()


def test_lists_every_page(fake, gh):
    for i in range(12):
        fake.seed(REPO, 42, f"comment {i}")
    fake.seed(REPO, 43, "another PR")
    bodies = [c.body for c in gh.iter_comments(REPO, 42)]
    assert bodies == [f"comment {i}" for i in range(12)]
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == 3 and gets[-1].params["page"] == "3"


def test_upsert_creates_once_then_updates_in_place(fake, gh):
    for i in range(7):  # the marked comment will be on the second page
        fake.seed(REPO, 42, f"chatter {i}")
    first, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, f"{PREVIEW_MARKER}\nv1")
    assert created
    second, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, f"{PREVIEW_MARKER}\nv2")
    assert not created and second.id == first.id
    marked = [c for c in fake.on(REPO, 42) if c["body"].startswith(PREVIEW_MARKER)]
    assert [c["body"] for c in marked] == [f"{PREVIEW_MARKER}\nv2"]
    assert len(fake.on(REPO, 42)) == 8


def test_unchanged_body_is_not_patched(fake, gh):
    gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "same")
    gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "same")
    assert fake.count("PATCH", ".*") == 0


def test_marker_is_added_when_missing_and_quotes_do_not_count(fake, gh):
    fake.seed(REPO, 42, f"> {PREVIEW_MARKER}\nsomeone quoting the bot")
    comment, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "hello")
    assert created and comment.body == f"{PREVIEW_MARKER}\nhello"


def test_duplicates_from_a_race_are_removed(fake, gh):
    a = fake.seed(REPO, 42, f"{PREVIEW_MARKER}\nA", user="github-actions[bot]")
    fake.seed(REPO, 42, f"{PREVIEW_MARKER}\nB", user="github-actions[bot]")
    comment, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "C")
    assert (comment.id, created) == (a, False)
    assert [c["body"] for c in fake.on(REPO, 42)] == [f"{PREVIEW_MARKER}\nC"]


def test_dropped_post_is_not_duplicated(fake, gh):
    fake.fail("POST", ".*", kind="drop_after")  # the comment is stored, the response never arrives
    comment, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "body")
    assert created
    assert len(fake.on(REPO, 42)) == 1 and fake.on(REPO, 42)[0]["id"] == comment.id


def test_5xx_on_get_and_patch_is_retried(fake, gh):
    gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "v1")
    fake.fail("GET", ".*", status=502)
    fake.fail("PATCH", ".*", status=503)
    comment, _ = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "v2")
    assert comment.body.endswith("v2")


def test_persistent_5xx_is_a_provider_error(fake, gh):
    fake.fail("GET", ".*", status=500, times=10)
    with pytest.raises(ProviderError) as info:
        list(gh.iter_comments(REPO, 42))
    assert info.value.status == 500 and info.value.exit_code == 4


def test_403_explains_the_permission(fake, gh, token):
    fake.fail("POST", ".*", status=403, message="Resource not accessible by integration")
    with pytest.raises(ProviderError) as info:
        gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "x")
    assert info.value.status == 403
    assert "Resource not accessible by integration" in str(info.value)
    assert "pull-requests: write" in info.value.hint
    assert token not in str(info.value) + info.value.hint


def test_delete_marked_and_already_gone(fake, gh):
    gh.upsert_marked(REPO, 42, PREVIEW_MARKER, "x")
    fake.seed(REPO, 42, "keep me")
    assert gh.delete_marked(REPO, 42, PREVIEW_MARKER) == 1
    assert gh.delete_marked(REPO, 42, PREVIEW_MARKER) == 0
    assert [c["body"] for c in fake.on(REPO, 42)] == ["keep me"]
    assert gh.delete_comment(REPO, 999999) is False


def test_404_on_update_is_an_error(fake, gh):
    with pytest.raises(ProviderError) as info:
        gh.update_comment(REPO, 999999, "x")
    assert info.value.status == 404


def test_wrong_token_is_401(fake):
    with GitHub("ghs_" + "w" * 36, api_url=API, transport=fake.transport(), sleep=lambda _: None) as client:
        with pytest.raises(ProviderError) as info:
            list(client.iter_comments(REPO, 1))
    assert info.value.status == 401


def test_token_is_registered_as_secret(token, fake):
    GitHub(token, api_url=API, transport=fake.transport()).close()
    assert redact.scrub(f"x {token} y") == "x *** y"


def test_from_env_and_bad_inputs(fake, token):
    with pytest.raises(UsageError, match="GITHUB_TOKEN"):
        GitHub.from_env({})
    client = GitHub.from_env({"GITHUB_TOKEN": token, "GITHUB_API_URL": API}, transport=fake.transport())
    with pytest.raises(UsageError, match="owner/name"):
        client.create_comment("not a repo", 1, "x")
    client.close()


def test_pagination_to_another_host_is_refused(token):
    import httpx

    def handler(request):
        return httpx.Response(200, json=[], headers={"Link": '<https://evil.test/x?page=2>; rel="next"'})

    with GitHub(token, api_url=API, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderError, match="another host"):
            list(client.iter_comments(REPO, 1))


def test_item16_marker_of_someone_elses_comment_is_ignored(fake, gh):
    # Anyone may post a comment starting with bbops' marker (say, with a phishing link).
    planted = fake.seed(REPO, 42, f"{PREVIEW_MARKER}\nclick https://evil.example", user="mallory")
    comment, created = gh.upsert_marked(REPO, 42, PREVIEW_MARKER, f"{PREVIEW_MARKER}\nreal")
    assert created and comment.id != planted
    assert fake.comments[planted]["body"].endswith("https://evil.example")  # neither edited...
    assert gh.delete_marked(REPO, 42, PREVIEW_MARKER) == 1
    assert planted in fake.comments  # ...nor deleted
    assert comment.id not in fake.comments


def test_item16_a_users_token_matches_its_own_comments_only(token):
    fake = FakeGitHub(token=token, token_user="bbops-ci")
    fake.seed(REPO, 7, f"{PREVIEW_MARKER}\nby the bot of another workflow", user="github-actions[bot]")
    mine = fake.seed(REPO, 7, f"{PREVIEW_MARKER}\nold", user="bbops-ci")
    with GitHub(token, api_url=API, transport=fake.transport(), sleep=lambda _: None) as gh:
        comment, created = gh.upsert_marked(REPO, 7, PREVIEW_MARKER, f"{PREVIEW_MARKER}\nnew")
    assert not created and comment.id == mine
    assert len([c for c in fake.on(REPO, 7) if c["body"].startswith(PREVIEW_MARKER)]) == 2
