CREATE TABLE IF NOT EXISTS "coupons" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"code" text
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "coupon_uses" (
	"coupon_id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	CONSTRAINT "coupon_uses_pk" PRIMARY KEY("coupon_id","order_id")
);
