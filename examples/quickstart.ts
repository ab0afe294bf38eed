/**
 * The 30-second example: instrument one tool and one LLM call, serve /metrics, call them.
 *
 *   node --import tsx examples/quickstart.ts          # keeps serving until Ctrl-C
 *   node --import tsx examples/quickstart.ts --once   # one round, prints the metrics, exits
 */
// #region readme
import { createObservability } from 'agent-observability';

const obs = createObservability();

// Your tool and your model client, unchanged (stand-ins here so the example runs offline).
async function webSearch(query: string): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 20));
  return [`Prometheus scrapes /metrics over HTTP (${query})`];
}
async function chat(prompt: string) {
  await new Promise((r) => setTimeout(r, 50));
  return { text: `Summary of: ${prompt}`, usage: { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: 42 } };
}

// Same signatures back; every call now records duration, errors and token usage.
const search = obs.instrumentTool(webSearch, { tool: 'web_search', agent: 'quickstart' });
const complete = obs.instrumentLlmCall(chat, {
  model: 'gpt-4o-mini',
  provider: 'openai',
  agent: 'quickstart',
  usage: (res) => ({ input: res.usage.prompt_tokens, output: res.usage.completion_tokens }),
});

const server = await obs.listen({ port: Number(process.env.PORT ?? 9464) });
console.log(`metrics: ${server.url}`);
// #endregion readme

async function answer(question: string): Promise<string> {
  const hits = await search(question);
  const reply = await complete(`${question}\n${hits.join('\n')}`);
  return reply.text;
}

if (process.argv.includes('--once')) {
  console.log(await answer('how does Prometheus collect metrics?'));
  const body = await (await fetch(server.url)).text(); // what Prometheus would scrape
  console.log(body.split('\n').filter((l) => /^gen_ai_\w+_(count|sum)\{/.test(l)).join('\n'));
  await new Promise((r) => setTimeout(r, 100));
  await obs.shutdown();
} else {
  const timer = setInterval(() => void answer('what is an SLO?'), 1000);
  process.once('SIGINT', () => {
    clearInterval(timer);
    void obs.shutdown();
  });
}
