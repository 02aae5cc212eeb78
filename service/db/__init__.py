"""Database: engine and unit of work, models, Alembic migrations and the code that applies them."""
