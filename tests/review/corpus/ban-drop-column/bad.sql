SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" DROP COLUMN "legacy_code"; -- expect: ban-drop-column
