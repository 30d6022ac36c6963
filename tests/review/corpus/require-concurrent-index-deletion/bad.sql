SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
DROP INDEX IF EXISTS "orders_status_idx"; -- expect: require-concurrent-index-deletion
