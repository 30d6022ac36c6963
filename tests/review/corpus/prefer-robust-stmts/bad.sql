-- bbops:no-transaction
SET lock_timeout = '2s';
SET statement_timeout = '30s';
CREATE INDEX CONCURRENTLY "orders_user_id_idx" ON "orders" ("user_id"); -- expect: prefer-robust-stmts
--> statement-breakpoint
DROP INDEX CONCURRENTLY "orders_status_idx"; -- expect: prefer-robust-stmts
