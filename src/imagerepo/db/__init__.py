"""Everything that speaks SQL: engine, tables, repositories, migrations.

Only this package imports SQLAlchemy.
"""
