import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import { sendError } from './error-replies.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token. Every other route, and every path no route matches, needs one. */
    readonly public?: boolean;
  }
}

/** Route options of what anyone may read: health, readiness, metrics, the OpenAPI document. */
export const publicRoute = { config: { public: true } } as const;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

const bearer = /^bearer +(\S+) *$/i;

export interface Authenticator {
  /** Whether the request carries the admin token. */
  authenticated(request: FastifyRequest): boolean;
  /** Answers 401 with the challenge. */
  refuse(reply: FastifyReply): FastifyReply;
  /**
   * The one access decision, an onRequest hook: by the options of the route fastify
   * matched (after percent-decoding), never by the URL string. Unmatched paths are not
   * public, so without a token they answer 401, not 404.
   */
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
}

export function createAuthenticator(adminToken: string): Authenticator {
  const expected = digest(adminToken);
  const authenticated = (request: FastifyRequest): boolean => {
    const token = bearer.exec(request.headers.authorization ?? '')?.[1];
    // Digests have one length, so the comparison takes the same time whatever was sent.
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };
  const refuse = (reply: FastifyReply): FastifyReply => {
    reply.header('www-authenticate', 'Bearer realm="causeway"');
    return sendError(reply, new CausewayError('unauthenticated', 'a valid bearer token is required (Authorization: Bearer <token>)'));
  };
  return {
    authenticated,
    refuse,
    async onRequest(request, reply) {
      if (request.routeOptions.config.public === true || authenticated(request)) return undefined;
      return refuse(reply);
    },
  };
}
