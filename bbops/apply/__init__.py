"""`bbops apply` and `bbops production apply`: the infrastructure, then the pending production steps.

``session.prepare`` works out everything an apply would do (the infrastructure's actions, the
env vars left to a production step, the steps that would run, or why they may not) while
holding the production lock, having read the production history once; the command shows it
and asks; ``ApplySession.execute`` does it under the same lock.
"""
