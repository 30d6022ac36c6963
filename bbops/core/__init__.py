"""What every feature uses: redaction of secrets, Postgres connections, the HTTP client with retries,
advisory locks, the console, and the one poll/backoff helper."""
