"""Everything that handles bytes on the wire, for servers and clients alike: the message codecs
(`codec`), gRPC framing and grpclib's codecs (`grpc`), the Connect protocol's facts (`connect`),
error details (`status_details`), compression, and the HTTP/1.1 servers embedded with their
bounds (`http1`, `uvicorn_server`, `hypercorn_server`). It imports only `services.common`."""
