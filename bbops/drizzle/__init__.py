"""The Drizzle-compatible migration runner: the journal, the history table drizzle-kit shares with bbops,
splitting statements, and running migrations in or outside a transaction."""
