-- bbops:ignore ban-drop-column contract step: the code stopped reading legacy_code two deploys ago (expand was 0007)
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" DROP COLUMN IF EXISTS "legacy_code";
