import type { DescMessage, DescService, MessageShape } from '@bufbuild/protobuf';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

function serializer<T extends DescMessage>(schema: T): (value: MessageShape<T>) => Buffer {
  return (value) => Buffer.from(toBinary(schema, value));
}

function deserializer<T extends DescMessage>(schema: T): (bytes: Buffer) => MessageShape<T> {
  return (bytes) => fromBinary(schema, bytes);
}

/**
 * Turns a protobuf-es service descriptor into a grpc-js service definition, usable with
 * `server.addService()` and `makeGenericClientConstructor()`.
 */
export function grpcServiceDefinition<T extends GenServiceMethods>(
  service: GenService<T>,
): ServiceDefinition {
  const desc: DescService = service;
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of desc.methods) {
    definition[method.localName] = {
      path: `/${desc.typeName}/${method.name}`,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input) as (value: unknown) => Buffer,
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output) as (value: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
      originalName: method.localName,
    };
  }
  return definition;
}

export { create };
