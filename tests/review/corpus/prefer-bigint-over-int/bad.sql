CREATE TABLE IF NOT EXISTS "coupons" ( -- expect: prefer-bigint-over-int
	"id" integer PRIMARY KEY NOT NULL,
	"code" text
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "coupon_uses" ( -- expect: prefer-bigint-over-int
	"coupon_id" integer NOT NULL,
	"order_id" bigint NOT NULL,
	CONSTRAINT "coupon_uses_pk" PRIMARY KEY("coupon_id","order_id")
);
