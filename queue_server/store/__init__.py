"""Storage: SQLAlchemy tables, migrations, the event log and the hall's records."""
