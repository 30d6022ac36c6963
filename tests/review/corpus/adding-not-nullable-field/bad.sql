SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL; -- expect: adding-not-nullable-field
