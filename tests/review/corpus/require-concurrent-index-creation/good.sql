-- bbops:no-transaction
SET lock_timeout = '2s';
SET statement_timeout = '30s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_user_id_idx" ON "orders" USING btree ("user_id");
