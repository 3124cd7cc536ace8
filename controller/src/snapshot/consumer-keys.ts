import type { MessageInitShape } from '@bufbuild/protobuf';
import { hasPolicy } from '@causeway/shared';
import type { ConsumerSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { Model } from '../sync/model.ts';
import type { ApiRecord } from '../store/records.ts';

type ConsumerMessage = MessageInitShape<typeof ConsumerSchema>;

/**
 * The consumers an API with an apiKey policy carries (those of its org, with the digests
 * of their live keys), and the version that part adds to the API's: the revision that
 * last changed a consumer of the org. Made once per org for one snapshot build.
 */
export class OrgConsumers {
  private readonly model: Model;
  private readonly byOrg = new Map<string, ConsumerMessage[]>();

  constructor(model: Model) {
    this.model = model;
  }

  /** Undefined for an API without an apiKey policy: it carries no consumers. */
  of(api: ApiRecord): { readonly version: number; readonly consumers: () => ConsumerMessage[] } | undefined {
    if (!hasPolicy(api.spec.policies, 'apiKey')) return undefined;
    return { version: this.model.consumerRevisions.get(api.org) ?? 0, consumers: () => this.list(api.org) };
  }

  private list(org: string): ConsumerMessage[] {
    let list = this.byOrg.get(org);
    if (list === undefined) {
      list = [];
      for (const consumer of this.model.consumers.values()) {
        if (consumer.org === org) list.push({ name: consumer.name, keyDigests: [...consumer.keyDigests] });
      }
      this.byOrg.set(org, list);
    }
    return list;
  }
}
