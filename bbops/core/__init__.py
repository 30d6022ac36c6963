"""What every feature uses: redaction of secrets, Postgres connections, the HTTP client with retries,
advisory locks, the console, the one poll/backoff helper, and schema ``bbops`` (``bookkeeping``)."""
