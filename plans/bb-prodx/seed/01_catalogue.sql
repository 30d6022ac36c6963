-- Better Being demo catalogue: categories, products with their sizes, benefits,
-- ingredients and tags, and a few Instagram posts. Explicit ids keep the demo
-- users' orders and reviews (02_demo_users.sql) pointing at the right products;
-- ON CONFLICT DO NOTHING lets the file run again without duplicating rows, and
-- the setval calls at the end move each serial past the explicit ids so the
-- app's own inserts do not collide with them.

INSERT INTO "categories" ("id", "name", "slug", "description", "sort_order") VALUES
  (1, 'Supplements', 'supplements', 'Daily vitamins, minerals and botanicals.', 1),
  (2, 'Skin Care', 'skin-care', 'Gentle, plant-based care for face and body.', 2),
  (3, 'Teas & Tonics', 'teas-and-tonics', 'Loose-leaf blends and functional drinks.', 3),
  (4, 'Aromatherapy', 'aromatherapy', 'Essential oils, diffusers and blends.', 4),
  (5, 'Fitness & Recovery', 'fitness-and-recovery', 'Protein, electrolytes and recovery aids.', 5)
ON CONFLICT DO NOTHING;

INSERT INTO "subcategories" ("id", "category_id", "name", "slug", "sort_order") VALUES
  (1, 1, 'Vitamins', 'vitamins', 1),
  (2, 1, 'Minerals', 'minerals', 2),
  (3, 1, 'Herbal Supplements', 'herbal', 3),
  (4, 2, 'Face', 'face', 4),
  (5, 2, 'Body', 'body', 5),
  (6, 3, 'Herbal Teas', 'herbal-teas', 6),
  (7, 3, 'Tonics', 'tonics', 7),
  (8, 4, 'Essential Oils', 'essential-oils', 8),
  (9, 4, 'Diffusers', 'diffusers', 9),
  (10, 5, 'Protein', 'protein', 10),
  (11, 5, 'Hydration', 'hydration', 11)
ON CONFLICT DO NOTHING;

INSERT INTO "products" ("id", "name", "slug", "description", "price", "compare_at_price", "stock", "featured", "image_url", "category_id", "subcategory_id", "created_at") VALUES
  (1, 'Vitamin D3 + K2 Drops', 'vitamin-d3-k2-drops', 'Liquid vitamin D3 with K2 (MK-7) in MCT oil for bone and immune support.', 24.95, NULL, 140, true, '/images/products/vitamin-d3-k2-drops.jpg', 1, 1, '2024-10-02 09:00:00+00'),
  (2, 'Methylated B-Complex', 'methylated-b-complex', 'All eight B vitamins in their active forms for steady energy.', 29.50, NULL, 85, false, '/images/products/methylated-b-complex.jpg', 1, 1, '2024-10-03 09:00:00+00'),
  (3, 'Vitamin C 1000 mg with Rosehip', 'vitamin-c-rosehip', 'Buffered vitamin C with rosehip and citrus bioflavonoids.', 18.00, 22.00, 200, false, '/images/products/vitamin-c-rosehip.jpg', 1, 1, '2024-10-04 09:00:00+00'),
  (4, 'Magnesium Glycinate', 'magnesium-glycinate', 'Gentle, highly absorbable magnesium for muscles and restful sleep.', 26.00, NULL, 160, true, '/images/products/magnesium-glycinate.jpg', 1, 2, '2024-10-05 09:00:00+00'),
  (5, 'Zinc Picolinate', 'zinc-picolinate', 'Zinc in picolinate form for skin, hair and immunity.', 14.50, NULL, 95, false, '/images/products/zinc-picolinate.jpg', 1, 2, '2024-10-06 09:00:00+00'),
  (6, 'Ashwagandha KSM-66', 'ashwagandha-ksm-66', 'Full-spectrum ashwagandha root extract to help the body adapt to stress.', 32.00, NULL, 70, true, '/images/products/ashwagandha-ksm-66.jpg', 1, 3, '2024-10-07 09:00:00+00'),
  (7, 'Turmeric & Black Pepper', 'turmeric-black-pepper', 'Curcumin with piperine for joint comfort.', 21.00, NULL, 110, false, '/images/products/turmeric-black-pepper.jpg', 1, 3, '2024-10-08 09:00:00+00'),
  (8, 'Rosehip Facial Oil', 'rosehip-facial-oil', 'Cold-pressed rosehip seed oil for radiance and even tone.', 34.00, NULL, 60, true, '/images/products/rosehip-facial-oil.jpg', 2, 4, '2024-10-09 09:00:00+00'),
  (9, 'Hyaluronic Hydration Serum', 'hyaluronic-hydration-serum', 'Three weights of hyaluronic acid with aloe for deep hydration.', 29.00, 35.00, 75, false, '/images/products/hyaluronic-hydration-serum.jpg', 2, 4, '2024-10-10 09:00:00+00'),
  (10, 'Calendula Gentle Cleanser', 'calendula-gentle-cleanser', 'A low-foam cream cleanser for sensitive skin.', 16.50, NULL, 130, false, '/images/products/calendula-gentle-cleanser.jpg', 2, 4, '2024-10-11 09:00:00+00'),
  (11, 'Magnesium Body Butter', 'magnesium-body-butter', 'Shea butter whipped with magnesium chloride for evening massage.', 22.00, NULL, 55, false, '/images/products/magnesium-body-butter.jpg', 2, 5, '2024-10-12 09:00:00+00'),
  (12, 'Chamomile & Lavender Sleep Tea', 'chamomile-lavender-sleep-tea', 'A caffeine-free evening blend of chamomile, lavender and lemon balm.', 9.95, NULL, 240, true, '/images/products/chamomile-lavender-sleep-tea.jpg', 3, 6, '2024-10-13 09:00:00+00'),
  (13, 'Rooibos Chai', 'rooibos-chai', 'Rooibos with cinnamon, cardamom, ginger and clove.', 8.50, NULL, 180, false, '/images/products/rooibos-chai.jpg', 3, 6, '2024-10-14 09:00:00+00'),
  (14, 'Peppermint & Fennel Digest', 'peppermint-fennel-digest', 'An after-meal blend for comfortable digestion.', 8.95, NULL, 150, false, '/images/products/peppermint-fennel-digest.jpg', 3, 6, '2024-10-15 09:00:00+00'),
  (15, 'Apple Cider Vinegar Tonic', 'apple-cider-vinegar-tonic', 'Raw apple cider vinegar with ginger and honey, ready to dilute.', 14.00, NULL, 90, false, '/images/products/apple-cider-vinegar-tonic.jpg', 3, 7, '2024-10-16 09:00:00+00'),
  (16, 'Lavender Essential Oil', 'lavender-essential-oil', 'Steam-distilled Lavandula angustifolia from Provence.', 12.00, NULL, 120, false, '/images/products/lavender-essential-oil.jpg', 4, 8, '2024-10-17 09:00:00+00'),
  (17, 'Eucalyptus & Mint Blend', 'eucalyptus-mint-blend', 'A clearing blend of eucalyptus, peppermint and rosemary.', 13.50, NULL, 100, false, '/images/products/eucalyptus-mint-blend.jpg', 4, 8, '2024-10-18 09:00:00+00'),
  (18, 'Ceramic Ultrasonic Diffuser', 'ceramic-ultrasonic-diffuser', 'A quiet stoneware diffuser with a soft amber light and auto shut-off.', 49.00, 59.00, 35, true, '/images/products/ceramic-ultrasonic-diffuser.jpg', 4, 9, '2024-10-19 09:00:00+00'),
  (19, 'Plant Protein Vanilla', 'plant-protein-vanilla', 'Pea and brown rice protein with 22 g protein per scoop.', 39.00, NULL, 65, true, '/images/products/plant-protein-vanilla.jpg', 5, 10, '2024-10-20 09:00:00+00'),
  (20, 'Electrolyte Hydration Powder', 'electrolyte-hydration-powder', 'Sugar-free electrolytes with sodium, potassium and magnesium.', 24.00, NULL, 0, false, '/images/products/electrolyte-hydration-powder.jpg', 5, 11, '2024-10-21 09:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO "product_sizes" ("id", "product_id", "label", "sku", "price", "stock") VALUES
  (1, 1, '30 ml', 'BB-VDK-01-30ML', 24.95, 90),
  (2, 1, '60 ml', 'BB-VDK-01-60ML', 42.00, 50),
  (3, 2, '60 capsules', 'BB-MBC-02-60CAPS', 29.50, 85),
  (4, 3, '90 tablets', 'BB-VCR-03-90TABL', 18.00, 120),
  (5, 3, '180 tablets', 'BB-VCR-03-180TAB', 32.00, 80),
  (6, 4, '90 capsules', 'BB-MG-04-90CAPS', 26.00, 100),
  (7, 4, '180 capsules', 'BB-MG-04-180CAP', 45.00, 60),
  (8, 5, '60 capsules', 'BB-ZP-05-60CAPS', 14.50, 95),
  (9, 6, '60 capsules', 'BB-AK6-06-60CAPS', 32.00, 70),
  (10, 7, '60 capsules', 'BB-TBP-07-60CAPS', 21.00, 110),
  (11, 8, '15 ml', 'BB-RFO-08-15ML', 19.00, 30),
  (12, 8, '30 ml', 'BB-RFO-08-30ML', 34.00, 30),
  (13, 9, '30 ml', 'BB-HHS-09-30ML', 29.00, 75),
  (14, 10, '150 ml', 'BB-CGC-10-150ML', 16.50, 130),
  (15, 11, '100 ml', 'BB-MBB-11-100ML', 22.00, 55),
  (16, 12, '20 bags', 'BB-CLS-12-20BAGS', 9.95, 160),
  (17, 12, '50 g loose', 'BB-CLS-12-50GLOO', 12.50, 80),
  (18, 13, '20 bags', 'BB-RC-13-20BAGS', 8.50, 180),
  (19, 14, '20 bags', 'BB-PFD-14-20BAGS', 8.95, 150),
  (20, 15, '500 ml', 'BB-ACV-15-500ML', 14.00, 90),
  (21, 16, '10 ml', 'BB-LEO-16-10ML', 12.00, 80),
  (22, 16, '30 ml', 'BB-LEO-16-30ML', 28.00, 40),
  (23, 17, '10 ml', 'BB-EMB-17-10ML', 13.50, 100),
  (24, 18, 'Standard', 'BB-CUD-18-STANDA', 49.00, 35),
  (25, 19, '500 g', 'BB-PPV-19-500G', 39.00, 40),
  (26, 19, '1 kg', 'BB-PPV-19-1KG', 69.00, 25),
  (27, 20, '20 sachets', 'BB-EHP-20-20SACH', 24.00, 0)
ON CONFLICT DO NOTHING;

INSERT INTO "product_benefits" ("id", "product_id", "benefit", "sort_order") VALUES
  (1, 1, 'Supports healthy bones', 0),
  (2, 1, 'Supports immune function', 1),
  (3, 2, 'Supports energy metabolism', 0),
  (4, 2, 'Reduces tiredness and fatigue', 1),
  (5, 3, 'Supports immune function', 0),
  (6, 3, 'Contributes to collagen formation', 1),
  (7, 4, 'Supports muscle function', 0),
  (8, 4, 'Supports restful sleep', 1),
  (9, 5, 'Supports healthy skin', 0),
  (10, 5, 'Supports immune function', 1),
  (11, 6, 'Helps manage everyday stress', 0),
  (12, 6, 'Supports calm focus', 1),
  (13, 7, 'Supports joint comfort', 0),
  (14, 8, 'Softens and hydrates', 0),
  (15, 8, 'Evens skin tone', 1),
  (16, 9, 'Deep hydration', 0),
  (17, 9, 'Plumps fine lines', 1),
  (18, 10, 'Cleanses without stripping', 0),
  (19, 11, 'Soothes tired muscles', 0),
  (20, 11, 'Nourishes dry skin', 1),
  (21, 12, 'Caffeine free', 0),
  (22, 12, 'Helps you unwind', 1),
  (23, 13, 'Caffeine free', 0),
  (24, 13, 'Rich in antioxidants', 1),
  (25, 14, 'Supports comfortable digestion', 0),
  (26, 15, 'Supports digestion', 0),
  (27, 16, 'Calming aroma', 0),
  (28, 17, 'Refreshing aroma', 0),
  (29, 18, 'Runs up to 8 hours', 0),
  (30, 18, 'Whisper quiet', 1),
  (31, 19, '22 g protein per serving', 0),
  (32, 19, 'Complete amino acid profile', 1),
  (33, 20, 'Supports hydration', 0),
  (34, 20, 'No added sugar', 1)
ON CONFLICT DO NOTHING;

INSERT INTO "product_ingredients" ("id", "product_id", "name", "amount", "sort_order") VALUES
  (1, 1, 'Vitamin D3 (cholecalciferol)', '1000 IU', 0),
  (2, 1, 'Vitamin K2 (MK-7)', '25 mcg', 1),
  (3, 1, 'MCT oil', NULL, 2),
  (4, 2, 'Methylcobalamin (B12)', '500 mcg', 0),
  (5, 2, 'Methylfolate', '400 mcg', 1),
  (6, 2, 'Pyridoxal-5-phosphate (B6)', '10 mg', 2),
  (7, 3, 'Vitamin C (calcium ascorbate)', '1000 mg', 0),
  (8, 3, 'Rosehip extract', '50 mg', 1),
  (9, 4, 'Magnesium bisglycinate', '200 mg', 0),
  (10, 5, 'Zinc picolinate', '15 mg', 0),
  (11, 6, 'Ashwagandha root extract (KSM-66)', '600 mg', 0),
  (12, 7, 'Turmeric root extract (95% curcuminoids)', '500 mg', 0),
  (13, 7, 'Black pepper extract', '5 mg', 1),
  (14, 8, 'Rosa canina seed oil', '100%', 0),
  (15, 9, 'Sodium hyaluronate', '2%', 0),
  (16, 9, 'Aloe barbadensis leaf juice', NULL, 1),
  (17, 10, 'Calendula officinalis flower extract', NULL, 0),
  (18, 10, 'Glycerin', NULL, 1),
  (19, 11, 'Butyrospermum parkii (shea) butter', NULL, 0),
  (20, 11, 'Magnesium chloride', '15%', 1),
  (21, 12, 'Chamomile flowers', '60%', 0),
  (22, 12, 'Lemon balm', '25%', 1),
  (23, 12, 'Lavender flowers', '15%', 2),
  (24, 13, 'Rooibos', '70%', 0),
  (25, 13, 'Cinnamon', '12%', 1),
  (26, 13, 'Ginger', '10%', 2),
  (27, 13, 'Cardamom', '5%', 3),
  (28, 13, 'Clove', '3%', 4),
  (29, 14, 'Peppermint leaf', '60%', 0),
  (30, 14, 'Fennel seed', '40%', 1),
  (31, 15, 'Raw apple cider vinegar', '85%', 0),
  (32, 15, 'Ginger juice', '10%', 1),
  (33, 15, 'Raw honey', '5%', 2),
  (34, 16, 'Lavandula angustifolia oil', '100%', 0),
  (35, 17, 'Eucalyptus globulus oil', '50%', 0),
  (36, 17, 'Mentha piperita oil', '30%', 1),
  (37, 17, 'Rosemary oil', '20%', 2),
  (38, 18, 'Stoneware', NULL, 0),
  (39, 19, 'Pea protein isolate', '70%', 0),
  (40, 19, 'Brown rice protein', '25%', 1),
  (41, 19, 'Natural vanilla flavour', NULL, 2),
  (42, 20, 'Sodium citrate', '500 mg', 0),
  (43, 20, 'Potassium chloride', '200 mg', 1),
  (44, 20, 'Magnesium citrate', '60 mg', 2)
ON CONFLICT DO NOTHING;

INSERT INTO "product_tags" ("product_id", "tag") VALUES
  (1, 'vegan'),
  (1, 'immunity'),
  (1, 'bestseller'),
  (2, 'energy'),
  (2, 'vegan'),
  (3, 'immunity'),
  (3, 'vegan'),
  (4, 'sleep'),
  (4, 'recovery'),
  (4, 'bestseller'),
  (5, 'immunity'),
  (5, 'skin'),
  (6, 'stress'),
  (6, 'adaptogen'),
  (6, 'vegan'),
  (7, 'joints'),
  (7, 'vegan'),
  (8, 'skin'),
  (8, 'organic'),
  (8, 'vegan'),
  (9, 'skin'),
  (9, 'hydration'),
  (10, 'skin'),
  (10, 'sensitive'),
  (11, 'recovery'),
  (11, 'sleep'),
  (12, 'sleep'),
  (12, 'organic'),
  (12, 'caffeine-free'),
  (13, 'caffeine-free'),
  (13, 'organic'),
  (14, 'digestion'),
  (14, 'organic'),
  (15, 'digestion'),
  (16, 'sleep'),
  (16, 'aromatherapy'),
  (16, 'organic'),
  (17, 'aromatherapy'),
  (17, 'focus'),
  (18, 'aromatherapy'),
  (18, 'gift'),
  (19, 'protein'),
  (19, 'vegan'),
  (19, 'recovery'),
  (20, 'hydration'),
  (20, 'sugar-free')
ON CONFLICT DO NOTHING;

INSERT INTO "instagram_posts" ("id", "instagram_id", "caption", "media_url", "permalink", "product_id", "posted_at") VALUES
  (1, 'bb_3187450012', 'Slow Sunday ritual: chamomile & lavender tea and a good book. #betterbeing #sleepwell', 'https://cdn.example.com/instagram/bb_3187450012.jpg', 'https://www.instagram.com/p/bb_3187450012/', 12, '2024-10-20 18:30:00+00'),
  (2, 'bb_3191177304', 'New in: the ceramic diffuser in sandstone. Eight quiet hours of eucalyptus & mint.', 'https://cdn.example.com/instagram/bb_3191177304.jpg', 'https://www.instagram.com/p/bb_3191177304/', 18, '2024-10-27 08:15:00+00'),
  (3, 'bb_3195528861', 'Post-run recovery: magnesium glycinate before bed, plant protein after training.', 'https://cdn.example.com/instagram/bb_3195528861.jpg', 'https://www.instagram.com/p/bb_3195528861/', 4, '2024-11-03 07:45:00+00'),
  (4, 'bb_3199032457', 'Behind the scenes at our packing studio: every order packed plastic-free.', 'https://cdn.example.com/instagram/bb_3199032457.jpg', 'https://www.instagram.com/p/bb_3199032457/', NULL, '2024-11-08 12:00:00+00')
ON CONFLICT DO NOTHING;

-- Move each serial past the explicit ids (is_called = true: the next value is max + 1).
SELECT setval(pg_get_serial_sequence('"categories"', 'id'), (SELECT coalesce(max("id"), 1) FROM "categories"));
SELECT setval(pg_get_serial_sequence('"subcategories"', 'id'), (SELECT coalesce(max("id"), 1) FROM "subcategories"));
SELECT setval(pg_get_serial_sequence('"products"', 'id'), (SELECT coalesce(max("id"), 1) FROM "products"));
SELECT setval(pg_get_serial_sequence('"product_sizes"', 'id'), (SELECT coalesce(max("id"), 1) FROM "product_sizes"));
SELECT setval(pg_get_serial_sequence('"product_benefits"', 'id'), (SELECT coalesce(max("id"), 1) FROM "product_benefits"));
SELECT setval(pg_get_serial_sequence('"product_ingredients"', 'id'), (SELECT coalesce(max("id"), 1) FROM "product_ingredients"));
SELECT setval(pg_get_serial_sequence('"instagram_posts"', 'id'), (SELECT coalesce(max("id"), 1) FROM "instagram_posts"));
