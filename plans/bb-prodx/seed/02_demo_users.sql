-- Better Being demo people and their activity: users, sign-in accounts and
-- sessions, orders with items, reviews and votes, carts and wishlists.
-- Every name, email, phone number and token here is invented (example.* domains,
-- reserved 555/drama phone ranges, tokens spelled "fake-..."); previews scrub
-- these columns anyway. Run after 01_catalogue.sql. Explicit ids keep the rows
-- linked; ON CONFLICT DO NOTHING makes a second run harmless, and the setval
-- calls at the end move each serial past the explicit ids.

INSERT INTO "users" ("id", "name", "email", "email_verified", "phone", "image", "password_hash", "role", "created_at", "updated_at") VALUES
  ('3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 'Thandiwe Mokoena', 'thandi.mokoena@example.com', '2024-09-14 10:12:00+00', '+27 82 555 0143', 'https://cdn.example.com/avatars/1.png', 'fake-password-hash-demo-user-01', 'customer', '2024-09-14 10:12:00+00', '2024-09-14 10:12:00+00'),
  ('b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 'James O''Connor', 'james.oconnor@example.org', '2024-09-21 16:40:00+00', '+44 7700 900461', 'https://cdn.example.com/avatars/2.png', 'fake-password-hash-demo-user-02', 'customer', '2024-09-21 16:40:00+00', '2024-09-21 16:40:00+00'),
  ('c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 'Priya Raman', 'priya.raman@example.net', NULL, '+1 415 555 0178', 'https://cdn.example.com/avatars/3.png', 'fake-password-hash-demo-user-03', 'customer', '2024-10-02 08:05:00+00', '2024-10-02 08:05:00+00'),
  ('d8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 'Lukas Becker', 'lukas.becker@example.com', '2024-10-11 19:27:00+00', '+49 30 5550 1234', 'https://cdn.example.com/avatars/4.png', 'fake-password-hash-demo-user-04', 'customer', '2024-10-11 19:27:00+00', '2024-10-11 19:27:00+00'),
  ('e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 'Sofia Martins', 'sofia.martins@example.org', NULL, '+351 21 555 0190', 'https://cdn.example.com/avatars/5.png', 'fake-password-hash-demo-user-05', 'customer', '2024-10-19 13:55:00+00', '2024-10-19 13:55:00+00'),
  ('f4c8d1a6-3e2b-4d9f-a6b7-8e1c3f5a7b06', 'Naledi Dube', 'naledi.dube@example.com', '2024-08-30 07:00:00+00', '+27 21 555 0102', 'https://cdn.example.com/avatars/6.png', 'fake-password-hash-demo-user-06', 'admin', '2024-08-30 07:00:00+00', '2024-08-30 07:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO "accounts" ("user_id", "type", "provider", "provider_account_id", "refresh_token", "access_token", "expires_at", "token_type", "scope", "id_token", "session_state") VALUES
  ('3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 'oidc', 'google', '100000000000000000001', 'fake-google-refresh-token-0001', 'fake-google-access-token-0001', 1767225600, 'bearer', 'openid email profile', 'fake-google-id-token-0001', NULL),
  ('d8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 'oauth', 'github', '90000004', NULL, 'fake-github-access-token-0004', NULL, 'bearer', 'read:user user:email', NULL, NULL),
  ('f4c8d1a6-3e2b-4d9f-a6b7-8e1c3f5a7b06', 'oidc', 'google', '100000000000000000006', 'fake-google-refresh-token-0006', 'fake-google-access-token-0006', 1767225600, 'bearer', 'openid email profile', 'fake-google-id-token-0006', NULL)
ON CONFLICT DO NOTHING;

INSERT INTO "sessions" ("session_token", "user_id", "expires") VALUES
  ('fake-session-token-0001', '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', now() + interval '30 days'),
  ('fake-session-token-0004', 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', now() + interval '30 days'),
  ('fake-session-token-0006', 'f4c8d1a6-3e2b-4d9f-a6b7-8e1c3f5a7b06', now() + interval '7 days')
ON CONFLICT DO NOTHING;

INSERT INTO "user_sessions" ("id", "user_id", "token_hash", "ip_address", "user_agent", "expires_at", "created_at") VALUES
  ('5a1e0c7d-4b2f-4e8a-9d3c-6f7b8a9c0d11', 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', encode(sha256('fake-user-session-0002'::bytea), 'hex'), '203.0.113.24', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148', now() + interval '14 days', now()),
  ('6b2f1d8e-5c3a-4f9b-8e4d-7a8c9b0d1e12', 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', encode(sha256('fake-user-session-0003'::bytea), 'hex'), '198.51.100.7', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', now() + interval '14 days', now())
ON CONFLICT DO NOTHING;

INSERT INTO "verification_tokens" ("identifier", "token", "expires") VALUES
  ('priya.raman@example.net', encode(sha256('fake-verification-0003'::bytea), 'hex'), now() + interval '1 day'),
  ('sofia.martins@example.org', encode(sha256('fake-verification-0005'::bytea), 'hex'), now() + interval '1 day')
ON CONFLICT DO NOTHING;

INSERT INTO "orders" ("id", "user_id", "status", "subtotal", "shipping", "total", "shipping_address", "notes", "created_at", "updated_at") VALUES
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e401', '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 'delivered', 87.85, 0.00, 87.85, '{"line1": "12 Bree Street", "city": "Cape Town", "postal_code": "8001", "country": "ZA"}'::jsonb, NULL, '2024-10-05 09:31:00+00', '2024-10-05 09:31:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e402', '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 'shipped', 69.00, 0.00, 69.00, '{"line1": "12 Bree Street", "city": "Cape Town", "postal_code": "8001", "country": "ZA"}'::jsonb, NULL, '2024-11-02 17:04:00+00', '2024-11-02 17:04:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e403', 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 'delivered', 50.00, 0.00, 50.00, '{"line1": "48 Fitzroy Road", "city": "London", "postal_code": "NW1 8TP", "country": "GB"}'::jsonb, NULL, '2024-10-12 11:22:00+00', '2024-10-12 11:22:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e404', 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 'cancelled', 28.00, 4.95, 32.95, '{"line1": "48 Fitzroy Road", "city": "London", "postal_code": "NW1 8TP", "country": "GB"}'::jsonb, NULL, '2024-10-28 20:45:00+00', '2024-10-28 20:45:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e405', 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 'paid', 120.00, 0.00, 120.00, '{"line1": "220 Valencia Street", "city": "San Francisco", "postal_code": "94103", "country": "US"}'::jsonb, NULL, '2024-11-14 08:10:00+00', '2024-11-14 08:10:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e406', 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 'delivered', 112.50, 0.00, 112.50, '{"line1": "Torstrasse 101", "city": "Berlin", "postal_code": "10119", "country": "DE"}'::jsonb, NULL, '2024-10-20 14:00:00+00', '2024-10-20 14:00:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e407', 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 'pending', 53.00, 0.00, 53.00, '{"line1": "Rua Augusta 150", "city": "Lisboa", "postal_code": "1100-053", "country": "PT"}'::jsonb, NULL, '2024-11-18 21:37:00+00', '2024-11-18 21:37:00+00'),
  ('9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e408', 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 'refunded', 24.00, 4.95, 28.95, '{"line1": "Torstrasse 101", "city": "Berlin", "postal_code": "10119", "country": "DE"}'::jsonb, NULL, '2024-11-01 10:09:00+00', '2024-11-01 10:09:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO "order_items" ("id", "order_id", "product_id", "product_size_id", "quantity", "unit_price") VALUES
  (1, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e401', 1, 1, 1, 24.95),
  (2, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e401', 4, 7, 1, 45.00),
  (3, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e401', 14, 19, 2, 8.95),
  (4, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e402', 19, 26, 1, 69.00),
  (5, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e403', 7, 10, 1, 21.00),
  (6, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e403', 9, 13, 1, 29.00),
  (7, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e404', 16, 22, 1, 28.00),
  (8, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e405', 18, 24, 2, 49.00),
  (9, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e405', 11, 15, 1, 22.00),
  (10, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e406', 18, 24, 1, 49.00),
  (11, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e406', 4, 6, 1, 26.00),
  (12, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e406', 12, 17, 3, 12.50),
  (13, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e407', 8, 11, 1, 19.00),
  (14, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e407', 8, 12, 1, 34.00),
  (15, '9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e408', 20, 27, 1, 24.00)
ON CONFLICT DO NOTHING;

INSERT INTO "reviews" ("id", "product_id", "user_id", "rating", "title", "body", "verified_purchase", "created_at") VALUES
  (1, 1, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 5, 'My winter staple', 'Easy to take in a smoothie and my levels came back up after three months.', true, '2024-11-01 08:00:00+00'),
  (2, 4, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 5, 'Sleeping better', 'Two capsules an hour before bed and I wake up far less during the night.', true, '2024-10-25 21:10:00+00'),
  (3, 12, 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 4, 'Lovely bedtime tea', 'Gentle and floral. I would buy the loose version next time.', true, '2024-11-05 19:30:00+00'),
  (4, 8, 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 5, 'Skin feels so soft', 'Absorbs quickly and does not break me out. A little goes a long way.', true, '2024-10-30 07:45:00+00'),
  (5, 4, 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 3, 'Good, large capsules', 'Works for cramps but the capsules are quite big to swallow.', false, '2024-11-16 12:00:00+00'),
  (6, 19, 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 4, 'Smooth, not chalky', 'Mixes well with oat milk. Vanilla is subtle, which I like.', true, '2024-11-03 16:20:00+00'),
  (7, 6, 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 2, 'Not for me', 'Made me drowsy during the day; switched to taking it at night.', false, '2024-11-19 09:05:00+00'),
  (8, 1, 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', 4, 'Handy dropper', 'Tasteless and easy to dose. Wish the bottle were larger.', true, '2024-11-10 10:40:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO "review_votes" ("review_id", "user_id", "helpful", "created_at") VALUES
  (1, 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', true, '2024-11-20 12:00:00+00'),
  (1, 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', true, '2024-11-20 12:00:00+00'),
  (2, 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', true, '2024-11-20 12:00:00+00'),
  (2, 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', false, '2024-11-20 12:00:00+00'),
  (4, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', true, '2024-11-20 12:00:00+00'),
  (5, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', false, '2024-11-20 12:00:00+00'),
  (6, 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', true, '2024-11-20 12:00:00+00'),
  (7, 'd8b3e6c4-1a7f-4e2d-b9c3-7f0a2e5d4c04', true, '2024-11-20 12:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO "cart" ("id", "user_id", "product_id", "product_size_id", "quantity", "added_at") VALUES
  (1, 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 12, 16, 2, now() - interval '2 days'),
  (2, 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 16, 21, 1, now() - interval '2 days'),
  (3, 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 8, 11, 1, now() - interval '2 days'),
  (4, 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 18, 24, 1, now() - interval '2 days'),
  (5, 'f4c8d1a6-3e2b-4d9f-a6b7-8e1c3f5a7b06', 20, 27, 1, now() - interval '2 days')
ON CONFLICT DO NOTHING;

INSERT INTO "wishlist" ("id", "user_id", "product_id", "created_at") VALUES
  (1, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 18, '2024-11-15 18:00:00+00'),
  (2, '3f6c2a1e-8b4d-4c7a-9e21-5d0b7a6f1c01', 8, '2024-11-15 18:00:00+00'),
  (3, 'b7e41d90-2f3a-4a6e-8c5b-1e9d4f7a2c02', 6, '2024-11-15 18:00:00+00'),
  (4, 'c2a9f5e3-6d1b-4f8c-a7e4-3b5c9d0e1f03', 19, '2024-11-15 18:00:00+00'),
  (5, 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 9, '2024-11-15 18:00:00+00'),
  (6, 'e1f7a2b5-9c3d-4b6e-8f1a-2c4d6e8f0a05', 11, '2024-11-15 18:00:00+00')
ON CONFLICT DO NOTHING;

-- Move each serial past the explicit ids (is_called = true: the next value is max + 1).
SELECT setval(pg_get_serial_sequence('"order_items"', 'id'), (SELECT coalesce(max("id"), 1) FROM "order_items"));
SELECT setval(pg_get_serial_sequence('"reviews"', 'id'), (SELECT coalesce(max("id"), 1) FROM "reviews"));
SELECT setval(pg_get_serial_sequence('"cart"', 'id'), (SELECT coalesce(max("id"), 1) FROM "cart"));
SELECT setval(pg_get_serial_sequence('"wishlist"', 'id'), (SELECT coalesce(max("id"), 1) FROM "wishlist"));
