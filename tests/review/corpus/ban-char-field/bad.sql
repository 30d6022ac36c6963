CREATE TABLE IF NOT EXISTS "coupons" ( -- expect: ban-char-field
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"code" char(8) NOT NULL
);
