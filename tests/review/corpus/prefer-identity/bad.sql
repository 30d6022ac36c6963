CREATE TABLE IF NOT EXISTS "coupons" ( -- expect: prefer-identity
	"id" bigserial PRIMARY KEY NOT NULL,
	"code" text
);
