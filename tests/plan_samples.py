"""A minimal valid plan, for tests that mutate one thing at a time."""

MINIMAL = """\
version: 1
name: demo
neon:
  api_key: ${NEON_API_KEY}
  project:
    name: demo-project
    region: aws-eu-central-1
    pg_version: 16
    autoscaling: {min_cu: 0.25, max_cu: 4}
  database: neondb
  role: neondb_owner
  branches:
    main: {default: true, protected: true}
    development: {parent: main}
vercel:
  token: ${VERCEL_TOKEN}
  project: demo
  targets:
    production:
      branch: main
      env:
        DATABASE_URL: {connection: pooled, type: sensitive}
    preview:
      env:
        DATABASE_URL: {connection: pooled}
preview:
  parent: development
  ttl_days: 7
"""
