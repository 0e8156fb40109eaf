"""Everything that handles bytes on the wire, shared by master-data's endpoints and the cart's
transports: the message codecs (`codec`), gRPC framing and grpclib's codec (`grpc`), and the
Connect protocol's codes, statuses, headers and timeouts (`connect`)."""
