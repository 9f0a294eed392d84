"""The database: engine and sessions (db), the tables (models, job_models), the retried unit of work
(transaction), the schema and its Alembic migrations (schema, migrations/), and the installation's key files."""
