"""master-data: serves the item contract over gRPC (grpclib) and Connect (Starlette)."""
