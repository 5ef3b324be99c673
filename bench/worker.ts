/**
 * Runs one case in a fresh process (started by run.ts with `--expose-gc`), so no case inherits
 * another's heap, JIT state or leftover sockets. Answers `run` with the measurement, then reports
 * what is still keeping the event loop alive once everything was closed.
 */
import { serve, sleep } from './ipc.js';

export type Job =
  | { case: 'requests'; args: Parameters<typeof import('./cases/requests.js').requestsCase>[0] }
  | { case: 'proxy'; args: Parameters<typeof import('./cases/proxyHop.js').proxyCase>[0] }
  | { case: 'notifications'; args: Parameters<typeof import('./cases/notifications.js').notificationsCase>[0] }
  | { case: 'cut'; args: Parameters<typeof import('./cases/failover.js').cutCase>[0] }
  | { case: 'failback'; args: Parameters<typeof import('./cases/failover.js').failbackCase>[0] }
  | { case: 'blackhole'; args: Parameters<typeof import('./cases/failover.js').blackholeCase>[0] }
  | { case: 'scale'; args: Parameters<typeof import('./cases/scale.js').scaleCase>[0] }
  | { case: 'retention'; args: Parameters<typeof import('./cases/retention.js').retentionCase>[0] }
  | { case: 'size'; args: Record<string, never> }
  | { case: 'http'; args: Parameters<typeof import('./cases/http.js').httpCase>[0] };

async function runJob(job: Job): Promise<unknown> {
  switch (job.case) {
    case 'requests':
      return (await import('./cases/requests.js')).requestsCase(job.args);
    case 'proxy':
      return (await import('./cases/proxyHop.js')).proxyCase(job.args);
    case 'notifications':
      return (await import('./cases/notifications.js')).notificationsCase(job.args);
    case 'cut':
      return (await import('./cases/failover.js')).cutCase(job.args);
    case 'failback':
      return (await import('./cases/failover.js')).failbackCase(job.args);
    case 'blackhole':
      return (await import('./cases/failover.js')).blackholeCase(job.args);
    case 'scale':
      return (await import('./cases/scale.js')).scaleCase(job.args);
    case 'retention':
      return (await import('./cases/retention.js')).retentionCase(job.args);
    case 'size':
      return (await import('./cases/size.js')).sizeCase();
    case 'http':
      return (await import('./cases/http.js')).httpCase(job.args);
  }
}

serve(
  {
    async run(job: Job) {
      const measurement = await runJob(job);
      // Sockets closed just now finish closing in a moment; what is left after that is a leak.
      await sleep(200);
      const leftovers = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
      return { measurement, leftovers };
    },
  },
  { pid: process.pid },
  () => {
    // The parent has its answer; the process ends on its own unless something was left open.
  },
);
