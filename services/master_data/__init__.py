"""master-data: serves the item contract over gRPC and Connect on the RPC layer
(`services.rpc`), from one ItemService over SQLite or PostgreSQL."""
