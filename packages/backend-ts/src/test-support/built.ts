// Test-only: the built package, for tests that need real worker threads (they load dist/worker-node.js).
// Imported by URL so type-checking the sources does not depend on a build; typed as the sources.

/** The public API of the built package (`dist/index.js`), kept fresh by `build-dist.ts`. */
export async function importBuilt(): Promise<typeof import('../index.js')> {
  return (await import(/* @vite-ignore */ builtUrl('index.js'))) as typeof import('../index.js');
}

/** URL of a file of `dist`. */
export function builtUrl(file: string): string {
  return new URL(`../../dist/${file}`, import.meta.url).href;
}
