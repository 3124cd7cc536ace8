import { create } from '@bufbuild/protobuf';
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { CausewayError, grpcServiceDefinition } from '@causeway/shared';
import {
  IdentityService,
  IssueCertificateResponseSchema,
  type IssueCertificateRequest,
  type IssueCertificateResponse,
} from '@causeway/shared/gen/causeway/identity/v1/identity_pb.js';
import type { ExtraService } from '../xds-server/xds-server.ts';
import type { CertificateIssuer } from './certificate-issuer.ts';
import { peerCertificate } from './peer-certificate.ts';

/** IdentityService.IssueCertificate on the issuer: joins and renewals. */
export function identityService(issuer: CertificateIssuer): ExtraService {
  const issueCertificate = (call: ServerUnaryCall<IssueCertificateRequest, IssueCertificateResponse>, callback: sendUnaryData<IssueCertificateResponse>): void => {
    const { joinToken, csrPem, nodeId } = call.request;
    issuer.issue({ joinToken, csrPem, nodeId }, peerCertificate(call), call.getPeer()).then(
      (issued) =>
        callback(null, create(IssueCertificateResponseSchema, {
          certificatePem: issued.certificatePem,
          caPem: issued.caPem,
          notAfterUnixMs: BigInt(issued.notAfter.getTime()),
          spiffeId: issued.spiffeId,
        })),
      (error: unknown) => {
        const refusal = CausewayError.from(error);
        // An internal error says nothing of its cause to the caller; it is logged by the issuer.
        const details = refusal.code === 'internal' ? 'the controller could not issue a certificate' : refusal.message;
        callback({ code: refusal.grpcStatus ?? GrpcStatus.INTERNAL, details });
      },
    );
  };
  return { definition: grpcServiceDefinition(IdentityService), implementation: { issueCertificate } };
}
