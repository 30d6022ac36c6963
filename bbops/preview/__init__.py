"""The per-pull-request preview lifecycle: create/refresh, reset, delete, list, gc.

Everything here talks to a ``Backend`` (branches, env vars, deployments) through
the Protocols of ``bbops.providers.base``, so the same code runs on the embedded
local backend and on Neon + Vercel.
"""

from bbops.preview.cleanup import ORPHAN_GRACE, DeleteReport, GcReport, delete, gc, is_preview, list_previews
from bbops.preview.env import preview_env
from bbops.preview.lifecycle import PreviewReport, create, ensure_long_lived, reset
from bbops.preview.request import PullRequest, check_git_branch, check_pr

__all__ = [
    "ORPHAN_GRACE",
    "DeleteReport",
    "GcReport",
    "PreviewReport",
    "PullRequest",
    "check_git_branch",
    "check_pr",
    "create",
    "delete",
    "ensure_long_lived",
    "gc",
    "is_preview",
    "list_previews",
    "preview_env",
    "reset",
]
