"""Small pieces both services share, importing nothing of ours: settings fields, caches,
SQLite on threads and PostgreSQL pools, migrations, sockets, workers, secrets, logging."""
