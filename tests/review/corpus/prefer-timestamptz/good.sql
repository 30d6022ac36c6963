SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD COLUMN "shipped_at" timestamp with time zone;
