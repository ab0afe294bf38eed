import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (p: string): string => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('README', () => {
  it('shows the quickstart region of examples/quickstart.ts verbatim', () => {
    const example = read('examples/quickstart.ts');
    const region = example.split('// #region readme\n')[1]?.split('// #endregion readme')[0];
    expect(region, 'quickstart.ts has a readme region').toBeTruthy();
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## 30-second example'));
    const block = section.slice(section.indexOf('```ts\n') + 6, section.indexOf('```\n', section.indexOf('```ts\n') + 6));
    expect(block).toBe(region);
  });

  it('gives the two set-up commands that package.json defines', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test ');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain('examples/agent-service/main.ts');
    expect(pkg.scripts.test).toBe('vitest run');
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });
});
