"""The RPC layer: serves any grpclib-style service (anything with `__mapping__()`) over gRPC and
the Connect protocol from one set of handlers.

- `grpc_server`: grpclib's Server with guarded connections (`grpc_connection`), per-call
  dispatch (`grpc_dispatch`) and each call's messages framed by us (`grpc_stream`).
- `connect_server`: the Connect protocol's unary rpcs and, in `connect_streaming`, its server
  streams, from the same method tables.
- `call_gate`: admission (token, drain), accounting and error hygiene in front of every handler.
- `call`: what a handler knows of its call (headers, deadline) and says beyond its messages.

It imports `services.wire` (bytes on the wire) and `services.common`, and nothing of the
services that use it.
"""
