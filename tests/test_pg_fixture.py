import psycopg


def test_fresh_database_is_real_and_empty(database_url):
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()[0]
        assert tables == 0
        assert conn.execute("select 1 + 1").fetchone()[0] == 2
