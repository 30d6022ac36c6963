SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD COLUMN "coupon" text;
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "coupon_note" text;
