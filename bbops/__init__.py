"""bbops: GitOps for Postgres on Neon with apps on Vercel."""

__version__ = "0.1.0"
