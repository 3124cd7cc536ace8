import { create } from '@bufbuild/protobuf';
import { makeGenericClientConstructor, Metadata, status as GrpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { grpcServiceDefinition } from '@causeway/shared';
import {
  IdentityService,
  IssueCertificateRequestSchema,
  type IssueCertificateRequest,
  type IssueCertificateResponse,
} from '@causeway/shared/gen/causeway/identity/v1/identity_pb.js';

const definition = grpcServiceDefinition(IdentityService);
const IdentityClient = makeGenericClientConstructor(definition, 'IdentityService');
const maybeIssue = definition.issueCertificate;
if (maybeIssue === undefined) throw new Error('IdentityService has no IssueCertificate method');
const issueMethod = maybeIssue;

export type IssueOutcome =
  | { readonly ok: true; readonly response: IssueCertificateResponse }
  | { readonly ok: false; readonly code: GrpcStatus; readonly details: string };

/**
 * Codes by which a controller that was reached says no: asking again at once gets the
 * same answer (a revoked, unknown or expired token, a refused identity).
 */
const refusals: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.UNIMPLEMENTED,
]);

export function isRefusal(code: GrpcStatus): boolean {
  return refusals.has(code);
}

/**
 * Asks one controller for a client certificate: with a join token over TLS, or (empty
 * token) over mTLS with the certificate being renewed. Only the signing request leaves
 * this process, never the key.
 */
export function issueCertificate(
  controller: string,
  credentials: ChannelCredentials,
  request: Pick<IssueCertificateRequest, 'joinToken' | 'csrPem' | 'nodeId'>,
  timeoutMs: number,
): Promise<IssueOutcome> {
  const client = new IdentityClient(controller, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<IssueOutcome>((resolve) => {
    client.makeUnaryRequest<IssueCertificateRequest, IssueCertificateResponse>(
      issueMethod.path,
      issueMethod.requestSerialize,
      issueMethod.responseDeserialize,
      create(IssueCertificateRequestSchema, request),
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, response?: IssueCertificateResponse) => {
        if (error === null && response !== undefined) resolve({ ok: true, response });
        else resolve({ ok: false, code: error?.code ?? GrpcStatus.UNKNOWN, details: error?.details ?? 'no response' });
      },
    );
  }).finally(() => client.close());
}
