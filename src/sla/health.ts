/** The health endpoint: 200 or 503 with the JSON report, for load balancers and canary analysis. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlaReport } from './report.js';

// JSON has no NaN or Infinity: "no data" and unbounded values are written as null.
const finite = (_key: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

export function healthResponse(
  req: IncomingMessage,
  res: ServerResponse,
  check: () => SlaReport,
  failOn: 'breach' | 'warning',
  onError: (e: unknown) => void,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  let body: string;
  let failing: boolean;
  try {
    const report = check();
    failing = report.status === 'breach' || (failOn === 'warning' && report.status === 'warning');
    body = `${JSON.stringify(report, finite)}\n`;
  } catch (e) {
    onError(e);
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('sla check failed\n');
    return;
  }
  res.writeHead(failing ? 503 : 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
