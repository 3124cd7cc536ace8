import { createController, loadControllerConfig, type Controller, type ControllerOverrides } from '@causeway/controller';
import { createLogger } from '@causeway/shared';
import { TEST_TOKEN } from './processes.ts';

export interface AdminController {
  readonly controller: Controller;
  /** `http://127.0.0.1:<admin port>` */
  readonly base: string;
  /** The global revision in `config_state`. */
  revision(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** A controller started in this process on ports the OS picks, against `databaseUrl`. */
export async function startAdminController(
  databaseUrl: string,
  env: Readonly<Record<string, string>> = {},
  overrides: Omit<ControllerOverrides, 'log'> = {},
): Promise<AdminController> {
  const config = loadControllerConfig({
    CAUSEWAY_DATABASE_URL: databaseUrl,
    CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN,
    CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0',
    CAUSEWAY_XDS_ADDR: '127.0.0.1:0',
    CAUSEWAY_XDS_INSECURE: 'true',
    ...env,
  });
  const controller = createController(config, { ...overrides, log: createLogger('controller', { level: 'silent' }) });
  await controller.start();
  return {
    controller,
    base: `http://127.0.0.1:${controller.adminAddress.port}`,
    async revision() {
      return (await controller.sql<{ revision: number }[]>`SELECT revision FROM config_state`)[0]?.revision;
    },
    close: () => controller.close(),
  };
}
