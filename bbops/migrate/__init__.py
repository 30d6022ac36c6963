"""Moving schema and data: Drizzle-compatible migrations, the copy engine and verification."""
