SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" RENAME COLUMN "note" TO "customer_note"; -- expect: renaming-column
