import { describe, expect, it } from 'vitest';
import { bindApiMetrics, countResponse, createRuntimeMetrics, forgetApiMetrics } from './metrics.ts';

describe('runtime metrics', () => {
  it('adds request counts kept on the hot path to their series whenever the registry is read', async () => {
    const metrics = createRuntimeMetrics();
    const api = bindApiMetrics(metrics, 'acme/orders');
    countResponse(api.requests, 200);
    countResponse(api.requests, 204);
    countResponse(api.requests, 503);
    expect(await metrics.registry.metrics()).toContain('causeway_runtime_requests_total{api="acme/orders",code_class="2xx"} 2');
    countResponse(api.requests, 200);
    const text = await metrics.registry.metrics();
    expect(text).toContain('causeway_runtime_requests_total{api="acme/orders",code_class="2xx"} 3');
    expect(text).toContain('causeway_runtime_requests_total{api="acme/orders",code_class="5xx"} 1');
  });

  it('does not bring back the series of a removed API with a count still pending', async () => {
    const metrics = createRuntimeMetrics();
    countResponse(bindApiMetrics(metrics, 'acme/orders').requests, 200);
    forgetApiMetrics(metrics, 'acme/orders', []);
    expect(await metrics.registry.metrics()).not.toContain('acme/orders');
  });
});
