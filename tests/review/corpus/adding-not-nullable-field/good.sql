SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD CONSTRAINT "orders_note_not_null" CHECK ("note" IS NOT NULL) NOT VALID;
-- next-migration
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_note_not_null";
-- next-migration
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "orders" DROP CONSTRAINT "orders_note_not_null";
