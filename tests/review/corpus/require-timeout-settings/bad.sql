ALTER TABLE "orders" ADD COLUMN "coupon" text; -- expect: require-timeout-settings
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "coupon_note" text;
