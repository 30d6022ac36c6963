"""Backends: the Neon/Vercel cloud and the embedded local one, behind the Protocols of ``base``."""
