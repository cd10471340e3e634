"""Protobuf schemas parley speaks on the wire, with their committed generated modules.

The generated ``*_pb2`` modules are committed so that the server needs only the ``protobuf`` runtime;
``parley.proto.generate`` rebuilds them and a test fails when they drift from the ``.proto`` source.
"""
