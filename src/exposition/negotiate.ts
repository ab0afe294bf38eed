/**
 * Content negotiation for /metrics: OpenMetrics when the client accepts it at least as
 * much as the text format (Prometheus asks for it first), else text 0.0.4. Never throws
 * on odd headers.
 */
import type { ExpositionFormat } from './format.js';

export function negotiateFormat(accept: string | string[] | undefined): ExpositionFormat {
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  if (header === undefined || header === '' || header.length > 4096) return 'prometheus';
  let om = -1;
  let text = -1;
  for (const part of header.split(',')) {
    const [media = '', ...params] = part.split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() === 'q') {
        const n = Number(v);
        q = Number.isFinite(n) ? n : 0;
      }
    }
    const type = media.trim().toLowerCase();
    if (type === 'application/openmetrics-text') om = Math.max(om, q);
    else if (type === 'text/plain') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'prometheus';
}
