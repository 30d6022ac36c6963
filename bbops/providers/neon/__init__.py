"""The Neon API v2 backend: branches, operations, and the project's infrastructure settings."""
