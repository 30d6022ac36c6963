SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ALTER COLUMN "total" SET DATA TYPE numeric(14, 2); -- expect: changing-column-type
