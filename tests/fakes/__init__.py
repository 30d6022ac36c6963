"""Stateful fakes of the Neon and Vercel APIs (httpx.MockTransport handlers) and their fixtures."""
