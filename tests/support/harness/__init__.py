"""The process harness the load lab and the test suite share: starting the real services on
port 0 over real databases (SQLite files, an embedded PostgreSQL), and reading their CPU and RSS
from /proc. Tools, not the product: nothing under services/ imports it."""
