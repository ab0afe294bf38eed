/**
 * Content negotiation for /metrics: OpenMetrics when the client accepts it at least as
 * much as the text format (Prometheus asks for it first), else text 0.0.4. Never throws
 * on odd headers.
 */
import type { ExpositionFormat } from './format.js';

/** Splits a header into lower-cased tokens and their `q` (1 without one, 0 when unreadable). */
function weighted(header: string): { token: string; q: number }[] {
  const out: { token: string; q: number }[] = [];
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
    out.push({ token: media.trim().toLowerCase(), q });
  }
  return out;
}

function joined(h: string | string[] | undefined): string | undefined {
  const header = Array.isArray(h) ? h.join(',') : h;
  return header === undefined || header === '' || header.length > 4096 ? undefined : header;
}

export function negotiateFormat(accept: string | string[] | undefined): ExpositionFormat {
  const header = joined(accept);
  if (header === undefined) return 'prometheus';
  let om = -1;
  let text = -1;
  for (const { token, q } of weighted(header)) {
    if (token === 'application/openmetrics-text') om = Math.max(om, q);
    else if (token === 'text/plain') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'prometheus';
}

/**
 * Whether `Accept-Encoding` lets us answer gzip: `gzip` (or `x-gzip`) with q > 0, or `*`
 * with q > 0 unless gzip itself is refused with q=0 (RFC 9110, section 12.5.3).
 */
export function acceptsGzip(acceptEncoding: string | string[] | undefined): boolean {
  const header = joined(acceptEncoding);
  if (header === undefined) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const { token, q } of weighted(header)) {
    if (token === 'gzip' || token === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (token === '*') any = Math.max(any ?? 0, q);
  }
  return gzip !== undefined ? gzip > 0 : any !== undefined && any > 0;
}
