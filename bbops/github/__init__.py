"""Everything GitHub: the runner protocol (outputs, summaries, masks), event payloads, the REST client,
and bbops' pull request comments (their markdown, the schema diff they show, publishing them)."""
