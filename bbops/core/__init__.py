"""What every feature uses: redaction of secrets, Postgres connections, the HTTP client with retries,
advisory locks, the write freeze, the console and its reporters, the one poll/backoff helper, and
schema ``bbops`` (``bookkeeping``)."""
